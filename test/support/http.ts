import { request, type Dispatcher } from 'undici';

/** One whole HTTP answer as {@link get} read it. */
export type Answer = {
  status: number;
  /** Who served it: `x-lblab-backend`, undefined when the answer has none (the balancer's own 404, 502, 503). */
  backend: string | undefined;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  /** Every `Set-Cookie` of the answer, in order (empty when none). */
  setCookie: string[];
  /** From sending the request to the last byte of the body, ms. */
  ms: number;
};

export type GetOptions = {
  /** The undici dispatcher (agent) to send on; default undici's global keep-alive agent. */
  dispatcher?: Dispatcher;
  headers?: Record<string, string>;
  /** Aborts the request (and rejects, a `timeout` error) after this many ms; default no limit. */
  timeoutMs?: number;
};

/**
 * GETs `url` with undici's `request` and reads the whole body as text. Any
 * status resolves; a transport error or `timeoutMs` rejects. Opens no
 * connection of its own: it uses `dispatcher`, whose owner closes it.
 */
export async function get(url: string | URL, { dispatcher, headers = {}, timeoutMs }: GetOptions = {}): Promise<Answer> {
  const started = performance.now();
  const res = await request(url, { headers, ...(dispatcher && { dispatcher }), ...(timeoutMs !== undefined && { signal: AbortSignal.timeout(timeoutMs) }) });
  const body = await res.body.text();
  const backend = res.headers['x-lblab-backend'];
  const sc = res.headers['set-cookie'];
  return {
    status: res.statusCode,
    backend: typeof backend === 'string' ? backend : undefined,
    body,
    headers: res.headers,
    setCookie: sc === undefined ? [] : Array.isArray(sc) ? sc : [sc],
    ms: performance.now() - started,
  };
}

/** Header `name` of `answer` as one string (several values joined by `, `), or undefined. */
export function header(answer: Answer, name: string): string | undefined {
  const v = answer.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}

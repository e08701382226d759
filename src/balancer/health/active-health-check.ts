import { EventEmitter } from 'node:events';
import { Agent, request, type Dispatcher } from 'undici';
import { classifyError } from '../../metrics/error-kind.js';

/** Active health check settings (HAProxy `check inter … rise … fall …`, `timeout check`). Times in ms. */
export type HealthCheckConfig = {
  /** Time between two checks of one backend (HAProxy `inter`). */
  intervalMs: number;
  /** Time a check may take, connect included (HAProxy `timeout check`). */
  timeoutMs: number;
  /** Consecutive passed checks that bring a DOWN backend UP. */
  rise: number;
  /** Consecutive failed checks that take an UP backend DOWN. */
  fall: number;
  /** Path of the HTTP check, `GET` (HAProxy `option httpchk GET /health`). */
  path: string;
};

/** lblab's defaults: interval 1s, timeout 500ms, rise 2, fall 3, path /health. */
export const DEFAULT_HEALTH_CHECK: HealthCheckConfig = { intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3, path: '/health' };

/**
 * A check result, named as HAProxy's stats show them: L7OK (2xx/3xx), L7STS
 * (other status), L7TOUT (no response in time), L4CON (connection refused or
 * reset), L4TOUT (connect timed out), SOCKERR (anything else).
 */
export type CheckResult = {
  status: 'L7OK' | 'L7STS' | 'L7TOUT' | 'L4CON' | 'L4TOUT' | 'SOCKERR';
  code?: number;
  durationMs: number;
  /** The `load` the backend reported in a JSON body (in-flight ÷ capacity, ≥ 0), as HAProxy's `agent-check` reports a server's state; absent otherwise. */
  load?: number;
};

/** A check result as HAProxy's stats page writes it: `L7STS 503`, `L4CON`. */
export function formatCheckResult(result: CheckResult): string {
  return result.code !== undefined ? `${result.status} ${result.code}` : result.status;
}

/** One backend a health checker looks after: the origin (`http://127.0.0.1:8001`). */
export type CheckTarget = { readonly origin: string };

/** Largest check body read for a reported load; bigger bodies are discarded unread. */
const MAX_REPORT_BYTES = 4096;

/**
 * Reads the `load` field of a small JSON check body (lblab backends answer
 * `{"load": 0.25, …}`), with or without a content-length (chunked bodies
 * too); undefined for any other body, which is discarded. A body over
 * {@link MAX_REPORT_BYTES} is cut and ignored.
 */
async function reportedLoad(res: Dispatcher.ResponseData): Promise<number | undefined> {
  const type = String(res.headers['content-type'] ?? '');
  const length = Number(res.headers['content-length'] ?? 0);
  if (!type.includes('json') || length > MAX_REPORT_BYTES) {
    await res.body.dump();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REPORT_BYTES) {
      res.body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  try {
    const load = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { load?: unknown }).load;
    return typeof load === 'number' && Number.isFinite(load) && load >= 0 ? load : undefined;
  } catch {
    return undefined;
  }
}

type CheckerEvents = { result: [target: CheckTarget, result: CheckResult] };

/**
 * Runs HTTP `GET <path>` against every target every `intervalMs`, each check
 * on a fresh connection (as HAProxy opens one per check) with `timeoutMs` for
 * connect and response. It only reports results; the rise/fall counting is
 * done by whoever listens (see `RiseFall`).
 */
export class ActiveHealthChecker extends EventEmitter<CheckerEvents> {
  private readonly timers = new Map<CheckTarget, NodeJS.Timeout>();
  private readonly agent: Agent;
  private stopped = false;

  constructor(private readonly config: HealthCheckConfig) {
    super();
    this.agent = new Agent({ connectTimeout: config.timeoutMs, headersTimeout: config.timeoutMs, bodyTimeout: config.timeoutMs });
  }

  /** Starts checking `target`: the first check runs after one interval. */
  watch(target: CheckTarget): void {
    this.schedule(target);
  }

  /** Stops checking `target` (a check under way still reports). */
  unwatch(target: CheckTarget): void {
    clearTimeout(this.timers.get(target));
    this.timers.delete(target);
  }

  /** Runs one check now and returns its result (also emitted as `result`). */
  async check(target: CheckTarget): Promise<CheckResult> {
    const started = performance.now();
    let result: CheckResult;
    try {
      const res = await request(target.origin + this.config.path, {
        dispatcher: this.agent,
        method: 'GET',
        reset: true,
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      const load = await reportedLoad(res);
      const ok = res.statusCode >= 200 && res.statusCode < 400;
      result = { status: ok ? 'L7OK' : 'L7STS', code: res.statusCode, durationMs: performance.now() - started, ...(load !== undefined ? { load } : {}) };
    } catch (err) {
      const kind = classifyError(err);
      const connectTimeout = (err as { code?: string }).code === 'UND_ERR_CONNECT_TIMEOUT';
      result = {
        status: kind === 'refused' || kind === 'reset' ? 'L4CON' : kind === 'timeout' ? (connectTimeout ? 'L4TOUT' : 'L7TOUT') : 'SOCKERR',
        durationMs: performance.now() - started,
      };
    }
    if (!this.stopped) this.emit('result', target, result);
    return result;
  }

  /** Stops every timer and closes the check connections. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.agent.destroy();
  }

  private schedule(target: CheckTarget): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      void this.check(target).finally(() => {
        if (this.timers.get(target) === timer) this.schedule(target);
      });
    }, this.config.intervalMs);
    this.timers.set(target, timer);
  }
}

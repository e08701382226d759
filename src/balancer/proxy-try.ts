import { responseGone, type ClientRequest, type ClientResponse } from './front-end.js';
import type { Writable } from 'node:stream';
import { errors, type Dispatcher } from 'undici';
import { clientResponseHeaders } from './headers.js';
import type { StickyPin } from './sticky/sticky-sessions.js';
import type { Pool } from './pool.js';
import type { UpstreamBackend, UpstreamConnectionConfig } from './upstream-backend.js';

/** One client request on its way through the proxy. `started` is `performance.now()` at arrival (ms). */
export type ProxiedRequest = {
  /** The client's request: HTTP/1.1, or one HTTP/2 stream. */
  req: ClientRequest;
  res: ClientResponse;
  /** The pool its route chose: every try, retries included, picks within it. */
  pool: Pool;
  method: string;
  headers: Record<string, string | string[]>;
  hasBody: boolean;
  retryable: boolean;
  /** How many more times it may be sent again after a kept-alive connection closed under it (see {@link failedOnReusedConnection}). */
  staleResends: number;
  /** Set once it was sent again that way. */
  resent: boolean;
  started: number;
  /** Set once the client went away before its response was complete. */
  clientGone: boolean;
  /** The try under way, if any, so a departing client can cancel it. */
  current: ProxyTry | undefined;
  /** Its sticky-session pin, when `--sticky` is on. */
  sticky?: StickyPin;
};

/** Why a try was cancelled: the client closed its connection first. */
export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
  constructor() {
    super('the client went away before the response was complete');
  }
}

/**
 * Why a try was cut: its backend's health checks marked it DOWN while it held
 * the request, and `--on-marked-down shutdown-sessions` is on (HAProxy logs
 * such a session with termination code D). Its `code` makes it a `reset`
 * in {@link classifyError}, described as what it is.
 */
export class MarkedDownError extends Error {
  override readonly name = 'MarkedDownError';
  readonly code = 'LBLAB_MARKED_DOWN';
  constructor(backend: string) {
    super(`${backend} was marked DOWN while it held the request`);
  }
}

/**
 * Why a try ended without relaying its response: the backend answered with
 * a status the retry policy retries (nginx `proxy_next_upstream http_503`),
 * and another backend is there to try. The response was read and dropped.
 */
export class RetryableStatusError extends Error {
  override readonly name = 'RetryableStatusError';
  constructor(readonly status: number) {
    super(`answered ${status}`);
  }
}

/**
 * One try of a client request on one backend: the undici dispatch handler
 * that streams the upstream response into the client's response, with
 * backpressure (a slow client pauses the upstream read). `onEnd` is called
 * exactly once, with no error when the response was relayed whole, or with
 * the error that ended the try; the client response's `headersSent` then
 * says whether the client already has a status line. The status line and headers are
 * written together with the first body byte (or the end of an empty body),
 * so a try that fails between the upstream's headers and its body has sent
 * the client nothing. When `retryOnStatus` says a status is worth a
 * retry, the response is read to its end (keeping the connection) and
 * dropped, and the try ends with a {@link RetryableStatusError}.
 *
 * The try owns its timeouts, on one precise timer (undici's header and body
 * timeouts tick on a coarse clock, up to ~1 s late, so the pool keeps them
 * only as a backstop): from {@link start} until the request is written on a
 * connected socket, the connect timeout; then until the response headers,
 * and between two body chunks, the response timeout (nginx
 * `proxy_connect_timeout` / `proxy_read_timeout`, HAProxy `timeout connect`
 * / `timeout server`). While the client's backpressure pauses the upstream
 * read, the response timer waits: a slow client is not the backend's fault.
 * A timeout ends the try with undici's own error (`UND_ERR_CONNECT_TIMEOUT`,
 * `UND_ERR_HEADERS_TIMEOUT`, `UND_ERR_BODY_TIMEOUT`), so it is classified,
 * described and retried as before.
 */
export class ProxyTry implements Dispatcher.DispatchHandler {
  /** Upstream status, 0 until the response headers arrived. */
  status = 0;
  private controller: Dispatcher.DispatchController | undefined;
  private ended = false;
  /** Set when this response is dropped for a retry. */
  private dropping = false;
  /** Whether this try is its backend's half-open circuit breaker probe. */
  probe = false;
  /** The client response headers, from the upstream's, until they are written with the first body byte. */
  private head: Record<string, string | string[]> | undefined;
  /** The connect timer, then the response timer (see the class docs). */
  private timer: NodeJS.Timeout | undefined;
  /** Set while the client's backpressure pauses the upstream read: the response timer then waits. */
  private paused = false;
  /** Why the try was cut before undici handed it a socket: the request is aborted as soon as it is. */
  private cutBeforeStart: Error | undefined;

  constructor(
    readonly request: ProxiedRequest,
    readonly backend: UpstreamBackend,
    readonly attempt: number,
    /** When the try was sent (`performance.now()`, ms). */
    readonly startedAt: number,
    private readonly onEnd: (t: ProxyTry, err: Error | undefined) => void,
    private readonly retryOnStatus: (status: number) => boolean = () => false,
    /** The per-try timeouts (ms); default: none (the pool's own, if any). */
    private readonly limits?: UpstreamConnectionConfig,
  ) {}

  /** Arms the connect timer; the caller dispatches the try right after. */
  start(): void {
    if (this.limits) this.timer = setTimeout(() => this.cut(new errors.ConnectTimeoutError(`connect timed out after ${this.limits!.connectTimeoutMs} ms`)), this.limits.connectTimeoutMs);
  }

  /** Cancels the try because the client went away; `onEnd` follows with a {@link ClientGoneError}. */
  cancel(): void {
    this.cut(new ClientGoneError());
  }

  /**
   * Ends the try with `err` now: aborts the undici request if it has
   * started, else ends the try at once and aborts the request when undici
   * starts it. `onEnd` follows with `err`. No-op once ended.
   */
  cut(err: Error): void {
    if (this.ended) return;
    if (this.controller && !this.controller.aborted) this.controller.abort(err);
    else if (!this.controller) {
      this.cutBeforeStart = err;
      this.end(err);
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.cutBeforeStart) {
      controller.abort(this.cutBeforeStart);
      return;
    }
    if (this.request.clientGone) {
      controller.abort(new ClientGoneError());
      return;
    }
    if (this.limits) {
      // Connected (or on a kept-alive socket): from now on the response timeout runs.
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.responseTimedOut(), this.limits.responseTimeoutMs);
    }
  }

  /** The response timer fired: cut the try, unless the client's backpressure holds the read (then it re-arms on resume). */
  private responseTimedOut(): void {
    if (this.paused) return;
    const ms = this.limits!.responseTimeoutMs;
    this.cut(this.status === 0 ? new errors.HeadersTimeoutError(`no response headers within ${ms} ms`) : new errors.BodyTimeoutError(`no body data within ${ms} ms`));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.timer?.refresh();
    // 1xx informational responses are the proxy's business, not the client's.
    if (statusCode < 200) return;
    this.status = statusCode;
    if (this.retryOnStatus(statusCode)) {
      this.dropping = true;
      return;
    }
    const out = clientResponseHeaders(headers, this.backend.name);
    this.request.sticky?.answered(this.backend, out);
    // Held until the first byte of the body (or its end): a backend that
    // closes after its headers then leaves the client with nothing sent,
    // so it can still get a 502 or a retry, as nginx does.
    this.head = out;
  }

  private writeHead(): void {
    if (this.head === undefined) return;
    const { res } = this.request;
    if (!res.headersSent && !responseGone(res)) res.writeHead(this.status, this.head);
    this.head = undefined;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.timer?.refresh();
    const { res } = this.request;
    if (this.dropping || responseGone(res)) return;
    this.writeHead();
    // Both kinds of response are Writables: write's overloads differ only in their callbacks.
    const out: Writable = res;
    if (!out.write(chunk)) {
      controller.pause();
      this.paused = true;
      res.once('drain', () => {
        this.paused = false;
        this.timer?.refresh();
        controller.resume();
      });
    }
  }

  onResponseEnd(): void {
    if (this.dropping) {
      this.end(new RetryableStatusError(this.status));
      return;
    }
    this.writeHead();
    this.request.res.end();
    this.end(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.end(err);
  }

  private end(err: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    this.onEnd(this, err);
  }
}

/**
 * Whether a try failed on a kept-alive connection that had already carried
 * traffic, closed by the backend before any byte of this response: the race
 * of a backend's idle timeout with a new request. nginx and HAProxy send an
 * idempotent request again on a fresh connection then (nginx does not count
 * it against `proxy_next_upstream_tries`). undici's socket error carries the
 * socket's byte counts; `bytesRead > 0` means earlier responses came on it.
 */
export function failedOnReusedConnection(err: unknown, t: ProxyTry): boolean {
  if (t.status !== 0) return false;
  const e = err as { code?: unknown; socket?: { bytesRead?: unknown } } | undefined;
  return e?.code === 'UND_ERR_SOCKET' && typeof e.socket?.bytesRead === 'number' && e.socket.bytesRead > 0;
}

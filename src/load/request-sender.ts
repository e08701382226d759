import { SESSION_HEADER, SESSION_OUTCOME_CODES } from '../backend/sessions.js';
import { classifyError } from '../metrics/error-kind.js';
import { ERROR_KIND_CODES } from './protocol.js';
import { REGION_HEADER } from '../scenario/regions.js';
import type { SampleBatcher } from './sample-batcher.js';
import type { CookieJar } from './cookie-jar.js';
import type { VirtualClients } from './virtual-clients.js';

/** How long requests still in flight at the end may take before they are cut (ms). */
const STOP_GRACE_MS = 2000;

/**
 * Sends a load worker's requests, each as the next virtual client in turn,
 * and records each into the batch when its response has been read to the
 * end (or has failed). Shared by the closed and the open model, which only
 * decide when to call {@link send}.
 */
export class RequestSender {
  private sentCount = 0;
  private abandoning = false;
  /** Set by {@link cutAfterGrace}: a warm-up under way ends. */
  private stopped = false;
  /** While {@link warmUp} runs: responses are not recorded. */
  private warming = false;

  /**
   * `thread` and `threads` number the requests (`{seq}`); `open` says that
   * latency counts from the scheduled time, so the send's delay behind it is
   * recorded too.
   */
  constructor(
    private readonly clients: VirtualClients,
    private readonly batcher: SampleBatcher,
    private readonly thread: number,
    private readonly threads: number,
    private readonly open: boolean,
  ) {
    this.deferNext = !clients.ownClient;
  }

  /** Whether the next request after a response waits two event-loop turns: undici's dispatchers (see `VirtualClients.ownClient`). */
  readonly deferNext: boolean;

  /** Requests this thread sent so far. */
  get sent(): number {
    return this.sentCount;
  }

  /**
   * Sends one request as the next client and records it, latency (µs)
   * counted from `fromMs` (`performance.now()` ms): the moment of sending
   * in the closed model, the scheduled time in the open one, corrected for
   * coordinated omission as in wrk2 (then the send's delay behind schedule
   * is recorded too). Request k of this thread gets `{seq}` = thread + 1 +
   * k × threads, unique in the run. Never rejects: a transport error is
   * recorded with its kind.
   */
  async send(fromMs: number): Promise<void> {
    // No locals beyond the old worker's: an async function's frame keeps every register across the await, per request.
    const local = this.clients.take();
    const client = this.clients.first + local;
    const seq = this.thread + 1 + this.sentCount++ * this.threads;
    const path = this.clients.nextPath(local);
    const delayUs = this.open ? Math.max(0, (performance.now() - fromMs) * 1000) : 0;
    const jar = this.clients.jarFor(local);
    let headers = this.clients.headersFor(local, seq, jar?.cookieHeader(path, this.clients.secure));
    const region = this.clients.regionOf(local);
    if (region) {
      // The GSLB tier's answer names the region's pool; the distance to it is waited out, counted in the latency.
      headers = [...headers, REGION_HEADER, region.name];
      if (region.rttMs > 0) await new Promise((resolve) => setTimeout(resolve, region.rttMs));
    }
    // A dispatch with a handler of undici's raw API (lblab's own HTTP/1.1 pool takes the same): no response
    // stream, no headers object, no promise chain per request (bench/load-vs-autocannon.mjs: the generator's own CPU).
    await new Promise<void>((resolve) => {
      this.clients.dispatcherFor(local).dispatch({ path, method: 'GET', headers, reset: !this.clients.keepAlive }, new ResponseReader(this, fromMs, client, delayUs, jar, path, resolve));
    });
  }

  /**
   * Sends up to `requests` requests, `concurrency` at a time, for at most
   * `maxMs` (ms), as the run would (the clients in turn, their paths and
   * headers), but records none and counts none in {@link sent}: a warm-up
   * before the open model's schedule, so that its first requests find open
   * connections and compiled code. Resolves with the requests that
   * completed (responses or transport errors); never rejects.
   */
  async warmUp(requests: number, concurrency: number, maxMs: number): Promise<number> {
    const until = performance.now() + maxMs;
    const sentBefore = this.sentCount;
    let issued = 0;
    let done = 0;
    this.warming = true;
    const loop = async (): Promise<void> => {
      while (issued < requests && !this.stopped && performance.now() < until) {
        issued++;
        await this.send(performance.now());
        done++;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, loop));
    this.warming = false;
    this.sentCount = sentBefore;
    return done;
  }

  /** Records a completed request (see {@link ResponseReader}); a failed one as a timeout once the run cut it after the grace period. Nothing during a warm-up. */
  recordDone(fromMs: number, servedBy: string | undefined, status: number, err: unknown, client: number, delayUs: number, session: number): void {
    if (this.warming) return;
    const latencyUs = (performance.now() - fromMs) * 1000;
    if (err === undefined) this.batcher.record(latencyUs, servedBy, status, 0, client, delayUs, session);
    else this.batcher.record(latencyUs, servedBy, 0, ERROR_KIND_CODES.indexOf(this.abandoning ? 'timeout' : classifyError(err)), client, delayUs);
  }

  /**
   * Lets the requests in flight finish, but cuts those still pending after
   * {@link STOP_GRACE_MS} (destroying every dispatcher) and records them as
   * timeouts. Called once, when sending stops.
   */
  cutAfterGrace(): void {
    this.stopped = true;
    setTimeout(() => {
      this.abandoning = true;
      void this.clients.destroy();
    }, STOP_GRACE_MS).unref();
  }
}

/** `x-lblab-backend`, `set-cookie` and `x-lblab-session` as raw headers carry names (Buffers from undici over HTTP/1.1, strings over HTTP/2 and from lblab's own HTTP/1.1 pool). */
const BACKEND_NAME = 'x-lblab-backend';
const SET_COOKIE = 'set-cookie';

/**
 * One response read through undici's raw handler API (`onConnect`,
 * `onHeaders` with the raw header list, `onData`, `onComplete`, `onError`):
 * the status and the three headers lblab reads are taken from the raw
 * list, the body is read to its end and dropped, and the request is
 * recorded once, when the body has ended or the request failed. A body cut
 * short fails (`onError`), and counts against the backend that sent the
 * headers — its failure, not a backendless one. Cookies are stored when the
 * headers arrive, as a browser does, even if the body fails later.
 */
class ResponseReader {
  private status = 0;
  private servedBy: string | undefined;
  private session = 0;
  private done = false;

  constructor(
    private readonly sender: RequestSender,
    private readonly fromMs: number,
    private readonly client: number,
    private readonly delayUs: number,
    private readonly jar: CookieJar | undefined,
    private readonly path: string,
    private readonly resolve: () => void,
  ) {}

  onConnect(): void {}

  onHeaders(statusCode: number, raw: Array<Buffer | string>): boolean {
    this.status = statusCode;
    let cookies: string[] | undefined;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      // Only names of the lengths wanted are decoded: most headers are skipped on their length.
      const n = name.length;
      if (n !== 15 && n !== 10) continue;
      const text = typeof name === 'string' ? name.toLowerCase() : name.toString('latin1').toLowerCase();
      if (text === BACKEND_NAME) this.servedBy = raw[i + 1]!.toString();
      else if (text === SESSION_HEADER) this.session = sessionCode(raw[i + 1]!.toString());
      else if (text === SET_COOKIE && this.jar) (cookies ??= []).push(raw[i + 1]!.toString());
    }
    if (cookies) this.jar!.store(cookies.length === 1 ? cookies[0] : cookies, this.path);
    return true;
  }

  onData(): boolean {
    return true;
  }

  onComplete(): void {
    this.finish(undefined);
  }

  onError(err: Error): void {
    this.finish(err);
  }

  private finish(err: Error | undefined): void {
    if (this.done) return;
    this.done = true;
    this.sender.recordDone(this.fromMs, this.servedBy, this.status, err, this.client, this.delayUs, err === undefined ? this.session : 0);
    // lblab's HTTP/1.1 pool has the connection idle already: the next request may go now. undici lets a
    // keep-alive connection take its next request only in the event-loop turn after the response (its own
    // setImmediate, queued after this call returns, with pipelining 1): there the next request waits two
    // turns, or the pool finds the connection busy and opens another.
    if (this.sender.deferNext) setImmediate(() => setImmediate(this.resolve));
    else this.resolve();
  }
}

/** The code (`SESSION_OUTCOME_CODES`) of an `x-lblab-session` value: 0 when absent or not one of new, found, lost. */
function sessionCode(value: string | string[] | undefined): number {
  if (typeof value !== 'string') return 0;
  const i = (SESSION_OUTCOME_CODES as readonly string[]).indexOf(value);
  return i > 0 ? i : 0;
}

import { finished as streamFinished } from 'node:stream/promises';
import { SESSION_HEADER, SESSION_OUTCOME_CODES } from '../backend/sessions.js';
import { classifyError } from '../metrics/error-kind.js';
import { ERROR_KIND_CODES } from './protocol.js';
import { REGION_HEADER } from '../scenario/regions.js';
import type { SampleBatcher } from './sample-batcher.js';
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
  ) {}

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
    // Who sent the headers: a body cut after them is that backend's failure (a reset mid-response), not a backendless one.
    let servedBy: string | undefined;
    try {
      const res = await this.clients.dispatcherFor(local).request({ path, method: 'GET', headers, reset: !this.clients.keepAlive });
      const header = res.headers['x-lblab-backend'];
      servedBy = typeof header === 'string' ? header : undefined;
      // Stored when the headers arrive, as a browser does, even if the body fails later.
      jar?.store(res.headers['set-cookie'], path);
      // Read the body to its end: a body cut short must throw, not count as a success.
      res.body.resume();
      await streamFinished(res.body);
      this.batcher.record((performance.now() - fromMs) * 1000, servedBy, res.statusCode, 0, client, delayUs, sessionCode(res.headers[SESSION_HEADER]));
    } catch (err) {
      // Cut at the end of the run after the grace period: it timed out.
      const kind = this.abandoning ? 'timeout' : classifyError(err);
      this.batcher.record((performance.now() - fromMs) * 1000, servedBy, 0, ERROR_KIND_CODES.indexOf(kind), client, delayUs);
    }
  }

  /**
   * Lets the requests in flight finish, but cuts those still pending after
   * {@link STOP_GRACE_MS} (destroying every dispatcher) and records them as
   * timeouts. Called once, when sending stops.
   */
  cutAfterGrace(): void {
    setTimeout(() => {
      this.abandoning = true;
      void this.clients.destroy();
    }, STOP_GRACE_MS).unref();
  }
}

/** The code (`SESSION_OUTCOME_CODES`) of an `x-lblab-session` value: 0 when absent or not one of new, found, lost. */
function sessionCode(value: string | string[] | undefined): number {
  if (typeof value !== 'string') return 0;
  const i = (SESSION_OUTCOME_CODES as readonly string[]).indexOf(value);
  return i > 0 ? i : 0;
}

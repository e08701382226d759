import type { MessagePort } from 'node:worker_threads';
import type { ConnectTally } from './ha-connector.js';
import type { FromWorker, SampleBatch } from './protocol.js';

/** Samples a batch holds before it is posted early, whatever the interval. */
const CAPACITY = 4096;

type Arrays = Omit<SampleBatch, 'type' | 'newNames' | 'count' | 'waitedForSlot' | 'connects'>;

function allocate(): Arrays {
  return {
    latencyUs: new Float64Array(CAPACITY),
    backend: new Int16Array(CAPACITY),
    status: new Uint16Array(CAPACITY),
    kind: new Uint8Array(CAPACITY),
    atMs: new Float64Array(CAPACITY),
    client: new Uint16Array(CAPACITY),
    sendDelayUs: new Float64Array(CAPACITY),
    session: new Uint8Array(CAPACITY),
  };
}

/**
 * A load worker's completed requests on their way to the main thread: each
 * sample is written into preallocated typed arrays (no object per request)
 * and every interval, or when the arrays are full, the filled part is posted
 * as one {@link SampleBatch} with its buffers transferred, not copied, so
 * recording costs the main thread's event loop (the balancer's) almost
 * nothing. Backend names travel once, as indexes into a per-worker name
 * table that `newNames` extends.
 */
export class SampleBatcher {
  private readonly names = new Map<string, number>();
  private newNames: string[] = [];
  private readonly batch = allocate();
  private count = 0;
  private waitedForSlot = 0;
  private ticker: NodeJS.Timeout | undefined;

  /** What `connects` said last time it was posted (a change posts a batch). */
  private connectsPosted = 0;

  /**
   * `originOffsetMs` turns this thread's `performance.now()` into ms since
   * the run started: `performance.timeOrigin − epochStartMs` (see
   * `LoadWorkerData.epochStartMs`). `connects`: the thread's connect tally
   * with a balancer pair, posted in every batch it changed in.
   */
  constructor(
    private readonly port: MessagePort,
    private readonly originOffsetMs: number,
    private readonly connects?: ConnectTally,
  ) {}

  /** Posts a batch every `intervalMs` (ms) until {@link close}. */
  postEvery(intervalMs: number): void {
    this.ticker = setInterval(() => this.flush(), intervalMs);
  }

  /**
   * Records one completed request: latency in µs, the `x-lblab-backend`
   * that answered (undefined when none did), HTTP status (0 for a transport
   * error), error kind code (`ERROR_KIND_CODES`), the run-wide virtual client
   * index, how late the send was (µs behind schedule; 0 in the closed
   * model) and the session's outcome code (`SESSION_OUTCOME_CODES`, 0 =
   * none). The completion time is taken now.
   */
  record(latencyUs: number, backendName: string | undefined, status: number, kind: number, client: number, sendDelayUs: number, session = 0): void {
    let idx = -1;
    if (backendName !== undefined) {
      const known = this.names.get(backendName);
      if (known === undefined) {
        idx = this.names.size;
        this.names.set(backendName, idx);
        this.newNames.push(backendName);
      } else idx = known;
    }
    const batch = this.batch;
    const count = this.count;
    batch.latencyUs[count] = latencyUs;
    batch.backend[count] = idx;
    batch.status[count] = status;
    batch.kind[count] = kind;
    batch.atMs[count] = this.originOffsetMs + performance.now();
    batch.client[count] = client;
    batch.sendDelayUs[count] = sendDelayUs;
    batch.session[count] = session;
    this.count = count + 1;
    if (this.count === CAPACITY) this.flush();
  }

  /** Counts one send that was due while the open model's in-flight cap was reached (see `SampleBatch.waitedForSlot`). */
  countWaitedForSlot(): void {
    this.waitedForSlot++;
  }

  /** Posts the samples gathered so far, if any: copies of just the filled part, transferred. */
  flush(): void {
    const count = this.count;
    const c = this.connects;
    const connectsNow = c ? c.opened + c.retried + c.retransmitted : 0;
    if (count === 0 && this.newNames.length === 0 && this.waitedForSlot === 0 && connectsNow === this.connectsPosted) return;
    this.connectsPosted = connectsNow;
    const batch = this.batch;
    const out: Arrays = {
      latencyUs: batch.latencyUs.slice(0, count),
      backend: batch.backend.slice(0, count),
      status: batch.status.slice(0, count),
      kind: batch.kind.slice(0, count),
      atMs: batch.atMs.slice(0, count),
      client: batch.client.slice(0, count),
      sendDelayUs: batch.sendDelayUs.slice(0, count),
      session: batch.session.slice(0, count),
    };
    const message: FromWorker = { type: 'batch', newNames: this.newNames, count, waitedForSlot: this.waitedForSlot, ...out, ...(c ? { connects: { ...c } } : {}) };
    this.port.postMessage(message, [out.latencyUs.buffer, out.backend.buffer, out.status.buffer, out.kind.buffer, out.atMs.buffer, out.client.buffer, out.sendDelayUs.buffer, out.session.buffer]);
    this.count = 0;
    this.newNames = [];
    this.waitedForSlot = 0;
  }

  /** Stops the interval and posts what is left, so the last batch comes before the worker's `done`. */
  close(): void {
    clearInterval(this.ticker);
    this.flush();
  }
}

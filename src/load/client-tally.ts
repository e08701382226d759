/**
 * One stretch of a run: from `startMs` (ms since the run started) to the
 * next epoch's start. `perClient` maps a virtual client index (0-based) to
 * the backends that served it (by `x-lblab-backend`) and how many responses
 * each gave it.
 */
export type ClientEpoch = { startMs: number; perClient: Map<number, Map<string, number>> };

/** How many backends the clients of an epoch met. */
export type BackendsPerClient = {
  /** Clients that got at least one response from a named backend. */
  clients: number;
  /** Of those, clients every one of whose responses came from the same backend (stuck to one). */
  singleBackend: number;
  /** The most distinct backends one client met. */
  maxBackends: number;
};

/** Recent samples kept so that an epoch started in the past (ms) can claim samples already tallied. */
const RECENT = 65_536;

/**
 * Who served whom: per virtual client, how many responses each backend gave
 * it, split into epochs (e.g. before and after a backend was removed) to see
 * stickiness (`ip-hash`, consistent hashing) and how it breaks.
 *
 * A sample belongs to the epoch that covers its send time (the mapping in
 * force when the balancer picked), not to when it reached the main thread
 * (batches arrive up to a batch interval late), except that a request still
 * in flight when an epoch starts belongs to that epoch: the balancer may
 * have picked it before or after the change the epoch marks (the request
 * can wait in the balancer's queue), so only a request that completed before
 * an epoch's start is known to have met the epoch before it.
 *
 * An epoch may start in the recent past: samples already tallied that were
 * sent at or after its start, or were in flight across it, move to it, as
 * long as they are among the last 65 536 tallied.
 */
export class ClientTally {
  /** Epochs in order of `startMs`; the first starts at 0. */
  readonly epochs: ClientEpoch[] = [{ startMs: 0, perClient: new Map() }];
  private readonly names: string[] = [];
  private readonly nameIndex = new Map<string, number>();
  private readonly recentSentMs = new Float64Array(RECENT);
  private readonly recentDoneMs = new Float64Array(RECENT);
  private readonly recentClient = new Uint16Array(RECENT);
  private readonly recentBackend = new Int32Array(RECENT);
  private readonly recentEpoch = new Int32Array(RECENT);
  private recentCount = 0;
  private recentNext = 0;

  /**
   * Counts one response `backend` gave client `client` (0-based) to a
   * request sent at `sentMs` that completed at `doneMs` (both ms since the
   * run started; `doneMs` defaults to `sentMs`): in the epoch that covers
   * `sentMs`, or in the next one if it started while the request was in flight.
   */
  record(sentMs: number, client: number, backend: string, doneMs: number = sentMs): void {
    let e = this.epochs.length - 1;
    while (e > 0 && this.epochs[e]!.startMs > sentMs) e--;
    if (e + 1 < this.epochs.length && this.epochs[e + 1]!.startMs <= doneMs) e++;
    bump(this.epochs[e]!, client, backend, 1);
    let b = this.nameIndex.get(backend);
    if (b === undefined) {
      b = this.names.length;
      this.names.push(backend);
      this.nameIndex.set(backend, b);
    }
    const i = this.recentNext;
    this.recentSentMs[i] = sentMs;
    this.recentDoneMs[i] = doneMs;
    this.recentClient[i] = client;
    this.recentBackend[i] = b;
    this.recentEpoch[i] = e;
    this.recentNext = (i + 1) % RECENT;
    if (this.recentCount < RECENT) this.recentCount++;
  }

  /**
   * Starts a new epoch at `atMs` (ms since the run started). Samples sent at
   * or after it count there, and so do those in flight across it, including
   * samples already tallied (see the class comment).
   * @throws {RangeError} when `atMs` is before the last epoch's start.
   */
  startEpoch(atMs: number): ClientEpoch {
    const last = this.epochs[this.epochs.length - 1]!;
    if (atMs < last.startMs) throw new RangeError(`a client epoch cannot start at ${atMs}ms, before the last one (${last.startMs}ms)`);
    const epoch: ClientEpoch = { startMs: atMs, perClient: new Map() };
    const index = this.epochs.push(epoch) - 1;
    for (let i = 0; i < this.recentCount; i++) {
      const sent = this.recentSentMs[i]!;
      const from = this.recentEpoch[i]!;
      // In flight across the start, and sent in its own epoch (not already moved there for crossing that one's start).
      const crossed = this.recentDoneMs[i]! >= atMs && from === index - 1 && sent >= last.startMs;
      if (sent < atMs && !crossed) continue;
      const client = this.recentClient[i]!;
      const backend = this.names[this.recentBackend[i]!]!;
      bump(this.epochs[from]!, client, backend, -1);
      bump(epoch, client, backend, 1);
      this.recentEpoch[i] = index;
    }
    return epoch;
  }

  /** The epoch `epoch` (an index or the epoch itself); default: the current (last) one. */
  epoch(epoch: ClientEpoch | number = this.epochs.length - 1): ClientEpoch {
    if (typeof epoch !== 'number') return epoch;
    const e = this.epochs[epoch];
    if (!e) throw new RangeError(`no client epoch ${epoch} (there are ${this.epochs.length})`);
    return e;
  }

  /** How many clients an epoch saw, how many stuck to one backend, and the most backends one client met. */
  backendsPerClient(epoch: ClientEpoch | number = this.epochs.length - 1): BackendsPerClient {
    const out: BackendsPerClient = { clients: 0, singleBackend: 0, maxBackends: 0 };
    for (const backends of this.epoch(epoch).perClient.values()) {
      out.clients++;
      if (backends.size === 1) out.singleBackend++;
      out.maxBackends = Math.max(out.maxBackends, backends.size);
    }
    return out;
  }

  /**
   * The backend that served most of client `client`'s responses in the
   * epoch (ties go to the name that sorts first), or undefined if it got none.
   */
  dominantBackend(epoch: ClientEpoch | number, client: number): string | undefined {
    let best: string | undefined;
    let bestCount = 0;
    for (const [name, count] of this.epoch(epoch).perClient.get(client) ?? []) {
      if (count > bestCount || (count === bestCount && best !== undefined && name < best)) {
        best = name;
        bestCount = count;
      }
    }
    return best;
  }
}

/** Adds `delta` to the count of `backend` for `client`, dropping entries that fall to 0. */
function bump(epoch: ClientEpoch, client: number, backend: string, delta: number): void {
  let backends = epoch.perClient.get(client);
  if (!backends) {
    backends = new Map();
    epoch.perClient.set(client, backends);
  }
  const next = (backends.get(backend) ?? 0) + delta;
  if (next > 0) backends.set(backend, next);
  else {
    backends.delete(backend);
    if (backends.size === 0) epoch.perClient.delete(client);
  }
}

import type { RequestSender } from './request-sender.js';
import type { SampleBatcher } from './sample-batcher.js';
import { armDeadline } from './run-deadline.js';

/**
 * The open model's share on one thread: the run-wide `rate` (req/s), this
 * thread's position among `threads`, its share of the in-flight cap
 * (`maxInFlight`), at most `limit` requests (its share of `--requests`;
 * Infinity for none) and `durationMs` of sending (0: until stopped).
 */
export type OpenModelOptions = { rate: number; maxInFlight: number; thread: number; threads: number; limit: number; durationMs: number };

/**
 * The open model on one load worker thread: requests go out on a fixed
 * schedule whatever the responses do, this thread's request j at
 * anchor + (j × threads + thread) / rate (see `LoadWorkerData.open`), so the
 * threads together send request i of the run at anchor + i / rate. Latency
 * counts from the scheduled time, not from the real send: corrected for
 * coordinated omission as wrk2 does, so a server that stalls is charged for
 * the requests it kept waiting. At most `maxInFlight` are outstanding; a
 * request due while the cap is reached waits for a slot and is counted
 * (`SampleBatch.waitedForSlot`). What was due and never sent (at the end, a
 * pause or a rate change) is counted in {@link unsent}, not sent in a burst.
 */
export class OpenModel {
  private rate: number;
  /** Requests due before the end (or a pause, or a rate change) that never went out. */
  private unsentCount = 0;
  private begun = false;
  private paused = false;
  private stopping = false;
  /** When sending ends (`performance.now()` ms); set when sending begins. */
  private deadline = Infinity;
  /** The schedule's origin (`performance.now()` ms) and the index of this thread's request due then (plus this thread's offset). */
  private anchorMs = 0;
  private anchorJ = 0;
  /** This thread's next request to send (0-based among its own). */
  private nextJ = 0;
  private inFlight = 0;
  /** Whether a request was due while the in-flight cap was reached: those sent before the schedule is caught up waited for a slot. */
  private blocked = false;
  private wake: NodeJS.Timeout | undefined;

  /** `onDone` is called once nothing is left in flight after the schedule is over or stopped (possibly more than once; the caller ignores repeats). */
  constructor(
    private readonly sender: RequestSender,
    private readonly batcher: SampleBatcher,
    private readonly options: OpenModelOptions,
    private readonly onDone: () => void,
  ) {
    this.rate = options.rate;
  }

  /** Requests due before the end, a pause or a rate change that were never sent. */
  get unsent(): number {
    return this.unsentCount;
  }

  /** Starts the schedule at `atMs` (`performance.now()` ms); the duration counts from there too. Ignored once begun or stopped. */
  begin(atMs: number): void {
    if (this.begun || this.stopping) return;
    this.begun = true;
    // At the end, what fell due before it and waits only for a timer (up to a ms late) still goes out, late;
    // only what the in-flight cap holds back is left unsent.
    this.deadline = armDeadline(atMs, this.options.durationMs, () => {
      this.pump();
      this.stop();
    });
    this.anchorMs = atMs;
    this.wake = setTimeout(this.pump, Math.max(0, atMs - performance.now()));
  }

  /** Changes the run-wide rate (req/s, > 0; anything else is ignored): the schedule restarts now at the new rate. */
  setRate(value: number): void {
    if (this.stopping || !(value > 0)) return;
    if (!this.paused) this.unsentCount += this.backlog(performance.now());
    this.rate = value;
    if (this.begun) {
      this.reanchor();
      this.pump();
    }
  }

  /** Stops sending until {@link resume}; what is due meanwhile is counted unsent. */
  pause(): void {
    if (!this.paused && !this.stopping) this.unsentCount += this.backlog(performance.now());
    this.paused = true;
  }

  /** Restarts the schedule from now. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.begun) {
      this.reanchor();
      this.pump();
    }
  }

  /** Stops sending, counting the backlog unsent; requests in flight may finish within the grace period. */
  stop(): void {
    if (this.stopping) return;
    if (!this.paused) this.unsentCount += this.backlog(performance.now());
    this.stopping = true;
    if (this.wake !== undefined) clearTimeout(this.wake);
    this.sender.cutAfterGrace();
    this.paused = false;
    if (this.inFlight === 0) this.onDone();
  }

  /** When this thread's request j is due (`performance.now()` ms): request i = j × threads + thread of the run at anchor + i / rate. */
  private dueAt(j: number): number {
    return this.anchorMs + (((j - this.anchorJ) * this.options.threads + this.options.thread) * 1000) / this.rate;
  }

  /** How many of this thread's requests were due before `atMs` and are not sent yet (at most what `limit` allows). */
  private backlog(atMs: number): number {
    if (!this.begun) return 0;
    const { thread, threads, limit } = this.options;
    const end = Math.min(atMs, this.deadline);
    const periods = ((end - this.anchorMs) * this.rate) / 1000;
    const due = this.anchorJ + Math.max(0, Math.ceil((periods - thread) / threads));
    return Math.max(0, Math.min(due, limit) - this.nextJ);
  }

  /** Restarts the schedule now from the next request; what was due and not sent is counted unsent, not sent in a burst. */
  private reanchor(): void {
    this.anchorMs = performance.now();
    this.anchorJ = this.nextJ;
    this.blocked = false;
  }

  /** Whether the schedule has nothing left to send: the request limit or the end of the run is reached. */
  private scheduleOver(): boolean {
    return this.nextJ >= this.options.limit || this.dueAt(this.nextJ) >= this.deadline;
  }

  /**
   * Sends every request that is due, then sleeps until the next one is.
   * When the in-flight cap is reached it stops; the next response calls it
   * again (the requests due meanwhile then go out late, counted). An arrow
   * field, so that it can be a timer callback without a closure per timer.
   */
  private readonly pump = (): void => {
    if (this.wake !== undefined) {
      clearTimeout(this.wake);
      this.wake = undefined;
    }
    if (this.stopping || this.paused) return;
    const cap = this.options.maxInFlight;
    while (!this.scheduleOver()) {
      const at = this.dueAt(this.nextJ);
      const now = performance.now();
      if (at > now) {
        this.blocked = false;
        this.wake = setTimeout(this.pump, at - now);
        return;
      }
      if (this.inFlight >= cap) {
        this.blocked = true;
        return;
      }
      if (this.blocked) this.batcher.countWaitedForSlot();
      this.nextJ++;
      this.inFlight++;
      void this.sender.send(at).finally(() => {
        this.inFlight--;
        if (this.blocked) this.pump();
        if (this.inFlight === 0 && (this.stopping || this.scheduleOver())) this.onDone();
      });
    }
    if (this.inFlight === 0) this.onDone();
  };
}

import type { RequestSender } from './request-sender.js';
import { armDeadline } from './run-deadline.js';

/**
 * The closed model's limits on one thread: `concurrency` workers to start
 * with, at most `limit` requests (its share of `--requests`; Infinity for
 * none) and `durationMs` of sending (0: until stopped).
 */
export type ClosedModelOptions = { concurrency: number; limit: number; durationMs: number };

/**
 * The closed model on one load worker thread: `concurrency` workers, each
 * sending a request, waiting for the whole response and sending the next,
 * so the rate is whatever the server's latency allows (as autocannon and
 * wrk). The number of workers can change while running; workers past the
 * new number end after their current request.
 */
export class ClosedModel {
  /** The closed model never leaves a due request unsent: nothing is due until a worker is free. */
  readonly unsent = 0;
  private wanted: number;
  /** Ids of the workers running now. */
  private readonly active = new Set<number>();
  private begun = false;
  private paused = false;
  private stopping = false;
  /** When sending ends (`performance.now()` ms); set when sending begins. */
  private deadline = Infinity;
  private resumeWaiters: Array<() => void> = [];

  /** `onDone` is called once the last worker has ended (possibly more than once; the caller ignores repeats). */
  constructor(
    private readonly sender: RequestSender,
    private readonly options: ClosedModelOptions,
    private readonly onDone: () => void,
  ) {
    this.wanted = options.concurrency;
  }

  /** Starts the workers; the duration counts from `atMs` (`performance.now()` ms). Ignored once begun or stopped. */
  begin(atMs: number): void {
    if (this.begun || this.stopping) return;
    this.begun = true;
    this.deadline = armDeadline(atMs, this.options.durationMs, () => this.stop());
    for (let id = 0; id < this.options.concurrency; id++) void this.loop(id);
  }

  /** Changes the number of workers: those with id ≥ `value` end after their current request; missing ids start now. */
  setConcurrency(value: number): void {
    this.wanted = value;
    for (let id = 0; id < value; id++) if (!this.active.has(id)) void this.loop(id);
  }

  /** Holds every worker before its next request; requests in flight complete. */
  pause(): void {
    this.paused = true;
  }

  /** Lets the paused workers go on. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.releaseWaiters();
  }

  /** Stops sending: no worker starts another request; those in flight may finish within the grace period. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.sender.cutAfterGrace();
    this.paused = false;
    this.releaseWaiters();
    if (this.active.size === 0) this.onDone();
  }

  private releaseWaiters(): void {
    const waiters = this.resumeWaiters;
    this.resumeWaiters = [];
    for (const w of waiters) w();
  }

  private async loop(id: number): Promise<void> {
    const sender = this.sender;
    const limit = this.options.limit;
    this.active.add(id);
    try {
      while (!this.stopping && id < this.wanted && performance.now() < this.deadline && sender.sent < limit) {
        if (this.paused) {
          await new Promise<void>((resolve) => this.resumeWaiters.push(resolve));
          continue;
        }
        await sender.send(performance.now());
      }
    } finally {
      this.active.delete(id);
      if (this.active.size === 0 && (this.stopping || performance.now() >= this.deadline || sender.sent >= limit)) this.onDone();
    }
  }
}

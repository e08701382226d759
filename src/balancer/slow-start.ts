import type { UpstreamBackend } from './upstream-backend.js';

/** The share of its weight a backend starts from. */
const SLOW_START_FLOOR = 0.05;
/** How often the ramp is updated (ms). */
const SLOW_START_TICK_MS = 100;

/** A weight that may be fractional during slow start, as a short number: `0.15`, `3`. */
function formatWeight(w: number): string {
  return Number.isInteger(w) ? String(w) : w.toFixed(2);
}

/** Says what a ramp did: started (`slow-start`) or reached full weight (`slow-start-done`). */
export type SlowStartNotice = (backend: UpstreamBackend, type: 'slow-start' | 'slow-start-done', detail: string) => void;

/**
 * Slow start as in HAProxy `slowstart`: a backend that comes back UP starts
 * at 5% of its weight and ramps linearly to full weight over `ms`, updated
 * every 100 ms by one timer for the whole upstream (unref'd, so it never
 * keeps the process alive). It only scales
 * {@link UpstreamBackend.slowStartFactor}; whether a backend may ramp at all
 * (not under an algorithm that hashes whole weights) is the upstream's call.
 */
export class SlowStart<B extends UpstreamBackend> {
  /** Backends whose ramp is under way, with when it began (run clock, ms). */
  private readonly since = new Map<B, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    /** The ramp's length (ms); 0 or less = off. */
    private readonly ms: number,
    /** The run's clock (ms). */
    private readonly nowMs: () => number,
    private readonly notice: SlowStartNotice,
  ) {}

  /** Whether slow start is configured at all. */
  get on(): boolean {
    return this.ms > 0;
  }

  /** The backends ramping now, as a copy (ending a ramp while iterating it is safe). */
  ramping(): B[] {
    return [...this.since.keys()];
  }

  /** Starts ramping `backend` from the floor; nothing when slow start is off. */
  start(backend: B): void {
    if (!this.on) return;
    this.since.set(backend, this.nowMs());
    backend.slowStartFactor = SLOW_START_FLOOR;
    this.notice(backend, 'slow-start', `weight ramps from ${formatWeight(backend.weight)} to ${backend.configuredWeight} over ${this.ms}ms`);
    this.timer ??= setInterval(() => this.tick(), SLOW_START_TICK_MS);
    this.timer.unref();
  }

  /** Ends a ramp: at full weight (`done`, logged) or because the backend went DOWN, was removed or the algorithm changed. */
  end(backend: B, done: boolean): void {
    if (!this.since.delete(backend)) return;
    backend.slowStartFactor = 1;
    if (done) this.notice(backend, 'slow-start-done', `full weight ${backend.configuredWeight}`);
    if (this.since.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Stops the ramp timer (the balancer is closing); factors stay where they are. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const now = this.nowMs();
    for (const [b, since] of this.since) {
      const factor = Math.max(SLOW_START_FLOOR, (now - since) / this.ms);
      if (factor >= 1) this.end(b, true);
      else b.slowStartFactor = factor;
    }
  }
}

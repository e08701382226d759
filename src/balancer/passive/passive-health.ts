import type { UpstreamBackend } from '../upstream-backend.js';
import type { BreakerConfig, OutlierConfig, PassiveChange } from './passive-checks.js';

/** Where a passive change of one backend is told: the upstream's event log. */
export type PassiveNotice = (backend: UpstreamBackend, type: PassiveChange['type'], detail: string) => void;

/**
 * The upstream's side of passive health: feeds each try's outcome to the
 * backend's {@link OutlierDetector} and circuit breaker, caps ejections
 * within the backend's group (Envoy `max_ejection_percent`; nginx has no
 * cap), and arms one timer per backend for its next change (ejection over,
 * breaker half-open). With nothing configured (the default) {@link observe}
 * returns at once: no clock read, no work on the request path.
 */
export class PassiveHealth<B extends UpstreamBackend> {
  /** Whether outlier ejection or a circuit breaker is configured. */
  readonly on: boolean;
  /** Per backend, the timer of its next passive state change. */
  private readonly timers = new Map<B, NodeJS.Timeout>();

  constructor(
    private readonly config: { outlier?: OutlierConfig; breaker?: BreakerConfig } | undefined,
    /** The run's clock (ms). */
    private readonly nowMs: () => number,
    /** The group a backend's ejections are counted in (its pool's primaries or backups). */
    private readonly groupOf: (backend: B) => readonly B[],
    private readonly notice: PassiveNotice,
  ) {
    this.on = (config?.outlier !== undefined && config.outlier.mode !== 'off') || config?.breaker !== undefined;
  }

  /** Feeds a try's outcome (`ok`: no transport failure, status below 500; `probe`: the breaker's half-open trial) to the backend's checks; logs and times what changed. */
  observe(backend: B, ok: boolean, probe: boolean): void {
    if (!this.on) return;
    const now = this.nowMs();
    // The cap on ejections is counted only when a failure could eject (not on the hot path of successes).
    let mayEject = true;
    if (!ok) {
      // Counted within the backend's own group of its pool: a backup does not use up a primary's slot.
      const group = this.groupOf(backend);
      let ejected = 0;
      for (const b of group) if (b.outlier.ejected) ejected++;
      mayEject = ejected === 0 || (ejected + 1) / Math.max(1, group.length) <= this.maxEjectionFraction();
    }
    const fromOutlier = backend.outlier.observe(ok, now, mayEject);
    const fromBreaker = backend.breaker?.observe(ok, now, probe);
    if (fromOutlier) this.notice(backend, fromOutlier.type, fromOutlier.detail);
    if (fromBreaker) this.notice(backend, fromBreaker.type, fromBreaker.detail);
    if (fromOutlier || fromBreaker) this.schedule(backend);
  }

  /** Drops the backend's timer (it was removed from the upstream). */
  forget(backend: B): void {
    clearTimeout(this.timers.get(backend));
    this.timers.delete(backend);
  }

  /** Drops every timer (the balancer is closing). */
  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private maxEjectionFraction(): number {
    const o = this.config?.outlier;
    return o?.mode === 'envoy' ? o.maxEjectionPercent / 100 : 1;
  }

  /** Arms the timer for the backend's next passive change (ejection over, breaker half-open). */
  private schedule(backend: B): void {
    this.forget(backend);
    const next = Math.min(backend.outlier.nextChangeAtMs() ?? Infinity, backend.breaker?.nextChangeAtMs() ?? Infinity);
    if (!Number.isFinite(next)) return;
    const timer = setTimeout(() => {
      this.timers.delete(backend);
      const now = this.nowMs();
      for (const c of [backend.outlier.tick(now), backend.breaker?.tick(now)]) if (c) this.notice(backend, c.type, c.detail);
      this.schedule(backend);
    }, Math.max(0, next - this.nowMs()));
    timer.unref();
    this.timers.set(backend, timer);
  }
}

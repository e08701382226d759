import { LatencyHistogram } from './latency-histogram.js';

/**
 * Why a request failed without an HTTP status: connection refused, reset
 * (socket closed mid-request), timeout, or anything else.
 */
export type ErrorKind = 'refused' | 'reset' | 'timeout' | 'other';

/** Counters and latency of the requests one backend answered. */
export class BackendTraffic {
  constructor(readonly name: string) {}

  /** Responses this backend served, those cut after their headers included. */
  requests = 0;
  /** Of those, responses with status ≥ 500 or cut after their headers (a reset mid-body): the backend's failures as the client saw them. */
  errors = 0;
  readonly latency = new LatencyHistogram();
  readonly statusCodes = new Map<number, number>();
  /** Responses per second of the run: element i is second [i, i+1). */
  readonly perSecond: number[] = [];
}

/**
 * Everything measured about a stream of requests: totals, status codes,
 * transport errors by kind, latency overall and per backend (attributed by
 * `x-lblab-backend`), and per-second counts. Used both by the load
 * generator's side (client-seen) and by the balancer alone (proxy-seen).
 */
export class TrafficStats {
  /** Requests completed: every response plus every transport error. */
  requests = 0;
  /** Status ≥ 500 or transport error. */
  errors = 0;
  readonly latency = new LatencyHistogram();
  readonly statusCodes = new Map<number, number>();
  readonly errorKinds = new Map<ErrorKind, number>();
  readonly backends = new Map<string, BackendTraffic>();
  /** Completed requests per second (element i is second [i, i+1) of the run). */
  readonly perSecond: number[] = [];
  /** Errors per second, same indexing as {@link perSecond}. */
  readonly errorsPerSecond: number[] = [];
  /** Periods of the run also recorded on their own, oldest first; see {@link startPeriod}. */
  readonly periods: Array<{ startMs: number; stats: TrafficStats }> = [];

  /**
   * Starts a period of the run (an algorithm, weight or membership period)
   * that is also recorded on its own: every request sent at or after `atMs` (ms since the run
   * started; send time = completion time − latency) goes into the returned
   * stats too, until the next period starts. Requests are attributed by when
   * they were sent — the algorithm in force then picked their backend — not
   * by when their sample reached the main thread.
   */
  startPeriod(atMs: number): TrafficStats {
    const stats = new TrafficStats();
    this.periods.push({ startMs: atMs, stats });
    return stats;
  }

  /** The per-backend stats for `name`, created on first use. */
  backend(name: string): BackendTraffic {
    let b = this.backends.get(name);
    if (!b) {
      b = new BackendTraffic(name);
      this.backends.set(name, b);
    }
    return b;
  }

  /**
   * Records one completed request.
   * @param backend who answered (`x-lblab-backend`), or undefined; with status 0, the backend whose response was cut after its headers
   * @param latencyUs latency in µs
   * @param status HTTP status, or 0 for a transport error (then `errorKind` says which)
   * @param atMs when it completed, ms since the run started
   */
  record(backend: BackendTraffic | undefined, latencyUs: number, status: number, errorKind: ErrorKind | undefined, atMs: number): void {
    if (this.periods.length > 0) this.recordInPeriod(backend, latencyUs, status, errorKind, atMs);
    const second = atMs < 0 ? 0 : Math.floor(atMs / 1000);
    const failed = status === 0 || status >= 500;
    this.requests++;
    bump(this.perSecond, second);
    if (failed) {
      this.errors++;
      bump(this.errorsPerSecond, second);
    }
    if (status === 0) {
      const kind = errorKind ?? 'other';
      this.errorKinds.set(kind, (this.errorKinds.get(kind) ?? 0) + 1);
      // A transport error with a backend: its response was cut after the headers named it, which is its failure.
      if (backend) {
        backend.requests++;
        backend.errors++;
        bump(backend.perSecond, second);
      }
      return;
    }
    this.latency.record(latencyUs);
    this.statusCodes.set(status, (this.statusCodes.get(status) ?? 0) + 1);
    if (backend) {
      backend.requests++;
      if (failed) backend.errors++;
      backend.latency.record(latencyUs);
      backend.statusCodes.set(status, (backend.statusCodes.get(status) ?? 0) + 1);
      bump(backend.perSecond, second);
    }
  }

  private recordInPeriod(backend: BackendTraffic | undefined, latencyUs: number, status: number, errorKind: ErrorKind | undefined, atMs: number): void {
    const period = periodAt(this.periods, atMs - latencyUs / 1000);
    period.record(backend ? period.backend(backend.name) : undefined, latencyUs, status, errorKind, atMs);
  }
}

/** The period a request sent at `atMs` belongs to: the last one started at or before it (else the first). */
function periodAt(periods: ReadonlyArray<{ startMs: number; stats: TrafficStats }>, atMs: number): TrafficStats {
  for (let i = periods.length - 1; i > 0; i--) if (periods[i]!.startMs <= atMs) return periods[i]!.stats;
  return periods[0]!.stats;
}

function bump(series: number[], index: number): void {
  while (series.length <= index) series.push(0);
  series[index]! += 1;
}

/**
 * Rate per second over the last second, from per-second counts (index =
 * second of the run): the current partial second plus the matching part of
 * the one before. `nowMs` is ms since the run started.
 */
export function lastSecondRate(perSecond: readonly number[], nowMs: number): number {
  const sec = Math.floor(nowMs / 1000);
  const frac = (nowMs - sec * 1000) / 1000;
  const current = perSecond[sec] ?? 0;
  if (sec === 0) return frac > 0.05 ? current / frac : 0;
  return current + (perSecond[sec - 1] ?? 0) * (1 - frac);
}

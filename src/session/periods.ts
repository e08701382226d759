import type { AlgorithmName } from '../balancer/algorithms/index.js';
import { pooledExpectedShares } from '../balancer/routes.js';
import type { PeriodInfo } from '../metrics/run-record.js';
import type { TrafficStats } from '../metrics/traffic-stats.js';
import type { RunScenario } from '../scenario/scenario.js';

/**
 * One period of a run: from `startMs` (ms since the run started) until the
 * next algorithm, weight, membership or health change, with the upstream as
 * it was then and the traffic counted in it. `out` are the backends that
 * could take no requests then (DOWN, draining, ejected, behind an open or
 * half-open breaker).
 */
export type Period = { startMs: number; algo: AlgorithmName; weights: number[]; removed: ReadonlySet<string>; out: ReadonlySet<string>; stats: TrafficStats };

/**
 * The periods of a run, oldest first, and what each should have looked
 * like: the expected share of every backend under the period's algorithm
 * and weights, pool by pool (see `pooledExpectedShares`).
 */
export class PeriodLog {
  private readonly list: Period[] = [];

  constructor(private readonly scenario: Pick<RunScenario, 'backends' | 'routing' | 'backups'>) {}

  /** Opens a period (it runs until the next one opens). */
  open(period: Period): void {
    this.list.push(period);
  }

  /** The period under way; undefined before the first opens. */
  get current(): Period | undefined {
    return this.list[this.list.length - 1];
  }

  /**
   * The share each backend should get in `p`, in backend order: by its
   * pool's algorithm (the period's, unless the pool has its own) over the
   * pool's members that may take requests, times the pool's part of the
   * period's responses — as HAProxy and nginx share a backend's weight
   * among the others while it is DOWN. Removed backends, backends out of
   * rotation (`p.out`) and backups expect 0, except that backups share a
   * pool whose every primary is out (HAProxy `backup`).
   */
  expectedShares(p: Period): number[] {
    const { scenario } = this;
    const names = scenario.backends.map((b) => b.name);
    const pools = scenario.routing ? scenario.routing.pools.map((pool) => ({ backends: pool.backends, algo: pool.algo ?? p.algo })) : [{ backends: names, algo: p.algo }];
    const traffic = pools.map((pool) => pool.backends.reduce((n, name) => n + (p.stats.backends.get(name)?.requests ?? 0), 0));
    const usable = (name: string): boolean => !p.removed.has(name) && !p.out.has(name);
    const members = new Set<string>();
    for (const pool of pools) {
      const primaries = pool.backends.filter((name) => usable(name) && !scenario.backups.includes(name));
      const serving = primaries.length > 0 ? primaries : pool.backends.filter((name) => usable(name) && scenario.backups.includes(name));
      for (const name of serving) members.add(name);
    }
    return pooledExpectedShares(
      names,
      pools,
      (name) => p.weights[names.indexOf(name)]!,
      (name) => members.has(name),
      traffic,
    );
  }

  /** Every period as the run record keeps it; the last ends at `durationMs`. */
  infos(durationMs: number): PeriodInfo[] {
    return this.list.map((p, i) => ({
      fromMs: p.startMs,
      toMs: Math.max(p.startMs, this.list[i + 1]?.startMs ?? durationMs),
      algo: p.algo,
      weights: [...p.weights],
      ...(p.out.size > 0 ? { out: [...p.out] } : {}),
      expectedShares: this.expectedShares(p),
      stats: p.stats,
    }));
  }
}

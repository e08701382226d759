import { LatencyHistogram } from '../metrics/latency-histogram.js';
import type { GslbRecord } from '../metrics/run-record.js';
import type { GslbConfig } from '../scenario/regions.js';

/**
 * What the clients of each region got, as the load generator sees it: the
 * requests they completed, how many a backend of their own region served
 * (local) or of another (remote: the GSLB tier sent them away), errors
 * (status ≥ 500 or a transport error) and the latency, all together and
 * local and remote apart, in µs with hdr-histogram. A request is placed by
 * the backend that answered (`x-lblab-backend`); one without is neither
 * local nor remote.
 */
export class RegionTally {
  private readonly regionOfBackend = new Map<string, number>();
  private readonly rows: Array<{ requests: number; local: number; remote: number; errors: number; all: LatencyHistogram; localHist: LatencyHistogram; remoteHist: LatencyHistogram }>;
  private readonly clients: number[];
  private readonly served: number[];

  /** `homes[i]` is the home region of run-wide client i (index into `config.regions`). */
  constructor(
    private readonly config: GslbConfig,
    private readonly homes: readonly number[],
  ) {
    config.regions.forEach((r, i) => {
      for (const b of r.backends) this.regionOfBackend.set(b, i);
    });
    this.rows = config.regions.map(() => ({ requests: 0, local: 0, remote: 0, errors: 0, all: new LatencyHistogram(), localHist: new LatencyHistogram(), remoteHist: new LatencyHistogram() }));
    this.clients = config.regions.map((_, i) => homes.filter((h) => h === i).length);
    this.served = config.regions.map(() => 0);
  }

  /** Counts one completed request of run-wide `client`: who answered (undefined: nobody said), its latency (µs) and status (0: a transport error). */
  record(client: number, backend: string | undefined, latencyUs: number, status: number): void {
    const home = this.homes[client];
    if (home === undefined) return;
    const row = this.rows[home]!;
    row.requests++;
    row.all.record(latencyUs);
    if (status === 0 || status >= 500) row.errors++;
    const at = backend === undefined ? undefined : this.regionOfBackend.get(backend);
    if (at === undefined) return;
    this.served[at]!++;
    if (at === home) {
      row.local++;
      row.localHist.record(latencyUs);
    } else {
      row.remote++;
      row.remoteHist.record(latencyUs);
    }
  }

  /** The record's `gslb`: policy, RTTs by pair, what each region served and what each region's clients got (latency in ms). */
  summary(): GslbRecord {
    const { config } = this;
    const names = config.regions.map((r) => r.name);
    const rttMs: Record<string, number> = {};
    for (let a = 0; a < names.length; a++) for (let b = a; b < names.length; b++) rttMs[`${names[a]}-${names[b]}`] = config.rttMs[a]![b]!;
    const ms = (h: LatencyHistogram) => (h.count === 0 ? undefined : { p50: round(h.percentileMs(50)), p99: round(h.percentileMs(99)) });
    return {
      policy: config.policy,
      rttMs,
      regions: config.regions.map((r, i) => ({ name: r.name, backends: [...r.backends], requests: this.served[i]! })),
      clientRegions: this.rows.map((row, i) => ({
        name: names[i]!,
        clients: this.clients[i]!,
        requests: row.requests,
        local: row.local,
        remote: row.remote,
        errors: row.errors,
        latencyMs: ms(row.all) ?? { p50: 0, p99: 0 },
        ...(ms(row.localHist) ? { localMs: ms(row.localHist)! } : {}),
        ...(ms(row.remoteHist) ? { remoteMs: ms(row.remoteHist)! } : {}),
      })),
    };
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

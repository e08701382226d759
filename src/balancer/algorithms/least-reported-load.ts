import { isCandidate, type PickableBackend, type PickContext, type Picker } from './picker.js';

/**
 * Resource-based picking (the seeds' "resource-based"; the idea of HAProxy's
 * `agent-check`, where an agent on each server reports how loaded it is):
 * the usable backend with the lowest `reportedLoad` (in-flight ÷ capacity
 * from its last `/health` answer) wins; a backend that reports no load counts
 * as 0, so it is not shunned for saying nothing. Ties go to fewer in-flight
 * requests (what the balancer itself sees), then round robin (the scan
 * starts after the last pick).
 *
 * The report is only as fresh as the last active health check
 * (`--health-interval`, 1 s by default). Between two checks every backend
 * keeps the load it had at the last one, so the one that looked idlest takes
 * every request until the next check, then the next idlest does: the picks
 * herd. The in-flight tie-break softens this only between backends reporting
 * exactly the same load. Weights are ignored.
 */
export class LeastReportedLoad implements Picker {
  private next = 0;

  pick(backends: readonly PickableBackend[], ctx: PickContext): PickableBackend | undefined {
    const n = backends.length;
    let best: PickableBackend | undefined;
    let bestLoad = 0;
    for (let i = 0; i < n; i++) {
      const b = backends[(this.next + i) % n]!;
      if (!isCandidate(b, ctx)) continue;
      const load = b.reportedLoad ?? 0;
      if (best === undefined || load < bestLoad || (load === bestLoad && b.inFlight < best.inFlight)) {
        best = b;
        bestLoad = load;
      }
    }
    if (best !== undefined) this.next = (best.index + 1) % n;
    return best;
  }
}

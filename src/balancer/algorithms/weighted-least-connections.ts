import { isCandidate, type PickableBackend, type PickContext, type Picker } from './picker.js';
import { smoothWeightedStep } from './smooth-weighted-round-robin.js';

/**
 * Weighted least connections as nginx `least_conn` with weights
 * (`ngx_http_upstream_least_conn_module.c`): the usable backend with the
 * lowest in-flight ÷ weight wins. Ratios are compared by cross-multiplying,
 * `a.inFlight × b.weight` against `b.inFlight × a.weight`, as nginx does
 * (`peer->conns * best->weight < best->conns * peer->weight`). That is
 * nginx's integer habit, not a fix for rounding: with integer counts and
 * weights a division would pick the same (equal ratios divide to the same
 * double). When several backends share the lowest ratio, one step of smooth
 * weighted round robin runs over the tied backends only (their nginx
 * `current_weight` moves, the others' does not), so idle backends with
 * weights 2,1,1 are picked a b c a, not a a b c.
 *
 * HAProxy `balance leastconn` with weights follows the same ratio but breaks
 * ties round robin and counts queued requests too; lblab has no queue.
 */
export class WeightedLeastConnections implements Picker {
  /** nginx's `current_weight` by backend index, for the tie-break; reset when the array changes. */
  private current: number[] = [];
  private currentFor: readonly PickableBackend[] | undefined;

  pick(backends: readonly PickableBackend[], ctx: PickContext): PickableBackend | undefined {
    if (backends !== this.currentFor) {
      this.currentFor = backends;
      this.current = backends.map(() => 0);
    }
    let best: PickableBackend | undefined;
    let many = false;
    for (const b of backends) {
      if (!isCandidate(b, ctx)) continue;
      if (best === undefined || b.inFlight * best.weight < best.inFlight * b.weight) {
        best = b;
        many = false;
      } else if (b.inFlight * best.weight === best.inFlight * b.weight) {
        many = true;
      }
    }
    if (best === undefined || !many) return best;
    // One smooth weighted round robin step (nginx's) over the tied backends only.
    const lowest = best;
    return smoothWeightedStep(backends, this.current, ctx, (b) => b.inFlight * lowest.weight === lowest.inFlight * b.weight);
  }
}

import { isCandidate, type PickableBackend, type PickContext, type Picker } from './picker.js';

/**
 * Smooth weighted round robin as in nginx's `ngx_http_upstream_round_robin.c`
 * (`ngx_http_upstream_get_peer`): every pick adds each usable backend's weight
 * to its current weight and to a running total; the largest current weight
 * wins and gives back the total. Picks are interleaved, not in blocks:
 * weights 5,1,1 pick a a b a c a a.
 *
 * nginx also keeps an effective weight lowered by failures (`max_fails`);
 * lblab's passive checks are not part of this picker, so the configured weight
 * is used as the effective weight.
 */
export class SmoothWeightedRoundRobin implements Picker {
  /** nginx's `current_weight`, by backend index. */
  private current: number[] = [];

  pick(backends: readonly PickableBackend[], ctx: PickContext): PickableBackend | undefined {
    if (this.current.length !== backends.length) this.current = backends.map(() => 0);
    let best: PickableBackend | undefined;
    let total = 0;
    for (const b of backends) {
      if (!isCandidate(b, ctx)) continue;
      this.current[b.index]! += b.weight;
      total += b.weight;
      if (best === undefined || this.current[b.index]! > this.current[best.index]!) best = b;
    }
    if (best !== undefined) this.current[best.index]! -= total;
    return best;
  }
}

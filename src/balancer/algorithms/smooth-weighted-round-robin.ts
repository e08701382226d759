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
    return smoothWeightedStep(backends, this.current, ctx);
  }
}

/**
 * One smooth weighted round robin step (nginx's) over the candidates of
 * `backends` (and of those, only the ones `among` admits, e.g. the tied
 * ones of a least-connections pick): each adds its weight to its current
 * weight in `current` (by backend index) and to a total; the largest wins
 * and gives back the total. Undefined when no backend takes part.
 */
export function smoothWeightedStep(
  backends: readonly PickableBackend[],
  current: number[],
  ctx: PickContext,
  among?: (b: PickableBackend) => boolean,
): PickableBackend | undefined {
  let best: PickableBackend | undefined;
  let total = 0;
  for (const b of backends) {
    if (!isCandidate(b, ctx) || (among !== undefined && !among(b))) continue;
    current[b.index]! += b.weight;
    total += b.weight;
    if (best === undefined || current[b.index]! > current[best.index]!) best = b;
  }
  if (best !== undefined) current[best.index]! -= total;
  return best;
}

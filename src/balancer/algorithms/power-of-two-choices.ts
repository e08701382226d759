import { candidateWeight, weightedDraw, type PickableBackend, type PickContext, type Picker } from './picker.js';

/**
 * Power of two random choices, as HAProxy `balance random(2)`
 * (`get_server_rnd` in `src/backend.c`) and Envoy `LEAST_REQUEST`
 * (`choice_count` 2): draw two usable backends at random, with replacement
 * (both draws may land on the same backend), and keep the second only if
 * its load relative to its weight is strictly lower,
 * `second.inFlight × first.weight < first.inFlight × second.weight`, i.e.
 * in-flight ÷ weight compared by cross-multiplying, as HAProxy compares
 * `served × cur_eweight`; on a tie the first draw wins, as in Envoy (HAProxy
 * keeps the later draw; the two draws are alike, so shares do not change).
 *
 * Each draw is weighted (probability weight ÷ total weight of the usable
 * backends), as HAProxy draws from its weighted hash ring. Weighted draws
 * alone are not enough: comparing raw in-flight counts pulls the heavier
 * backend's share toward the lighter one's once requests queue up (weights
 * 3:1 got 60 %, not 75 %, with ~20 in flight), while comparing in-flight ÷
 * weight keeps in-flight, and so the share, in proportion to weight. With
 * equal weights it is the plain rule, fewer in flight wins, and the draws
 * are uniform: Envoy's case. Envoy with unequal weights switches to an
 * earliest-deadline schedule on `weight ÷ (in_flight + 1)` instead; lblab
 * follows HAProxy so one rule covers both.
 *
 * `random` is injectable for tests; it must return values in [0, 1).
 */
export class PowerOfTwoChoices implements Picker {
  constructor(private readonly random: () => number = Math.random) {}

  pick(backends: readonly PickableBackend[], ctx: PickContext): PickableBackend | undefined {
    const total = candidateWeight(backends, ctx);
    if (total === 0) return undefined;
    const first = weightedDraw(backends, ctx, total, this.random);
    const second = weightedDraw(backends, ctx, total, this.random);
    return second.inFlight * first.weight < first.inFlight * second.weight ? second : first;
  }
}

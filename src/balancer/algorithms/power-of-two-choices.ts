import { isCandidate, type PickableBackend, type PickContext, type Picker } from './picker.js';

/**
 * Power of two random choices, as Envoy `LEAST_REQUEST` (`choice_count` 2)
 * and HAProxy `balance random(2)`: draw two usable backends at random, with
 * replacement as Envoy does (both draws may land on the same backend), and
 * keep the second only if it has strictly fewer in-flight requests; on a tie
 * the first draw wins.
 *
 * Each draw is weighted (probability weight ÷ total weight of the usable
 * backends), as HAProxy's `random(2)` honours weights; with equal weights
 * the draws are uniform, which is Envoy's case. Envoy with unequal weights
 * switches to an earliest-deadline schedule on `weight ÷ (in_flight + 1)`
 * instead; lblab keeps the weighted draws so one rule covers both.
 *
 * `random` is injectable for tests; it must return values in [0, 1).
 */
export class PowerOfTwoChoices implements Picker {
  constructor(private readonly random: () => number = Math.random) {}

  pick(backends: readonly PickableBackend[], ctx: PickContext): PickableBackend | undefined {
    let total = 0;
    for (const b of backends) if (isCandidate(b, ctx)) total += b.weight;
    if (total === 0) return undefined;
    const first = this.draw(backends, ctx, total);
    const second = this.draw(backends, ctx, total);
    return second.inFlight < first.inFlight ? second : first;
  }

  /** One weighted draw among the candidates, whose weights add up to `total` (> 0). */
  private draw(backends: readonly PickableBackend[], ctx: PickContext, total: number): PickableBackend {
    let r = this.random() * total;
    let last: PickableBackend | undefined;
    for (const b of backends) {
      if (!isCandidate(b, ctx)) continue;
      last = b;
      r -= b.weight;
      if (r < 0) return b;
    }
    // Only reached through float rounding at r ≈ total: the last candidate.
    return last!;
  }
}

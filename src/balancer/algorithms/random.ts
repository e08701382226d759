import { isCandidate, type PickableBackend, type PickContext, type Picker } from './picker.js';

/**
 * Random: a usable backend drawn with probability proportional to its weight
 * (uniform when weights are equal), as nginx `random` without `two`.
 * `random` is injectable for tests; it must return values in [0, 1).
 */
export class RandomPicker implements Picker {
  constructor(private readonly random: () => number = Math.random) {}

  pick(backends: readonly PickableBackend[], ctx: PickContext): PickableBackend | undefined {
    let total = 0;
    for (const b of backends) if (isCandidate(b, ctx)) total += b.weight;
    if (total === 0) return undefined;
    let r = this.random() * total;
    let last: PickableBackend | undefined;
    for (const b of backends) {
      if (!isCandidate(b, ctx)) continue;
      last = b;
      r -= b.weight;
      if (r < 0) return b;
    }
    return last;
  }
}

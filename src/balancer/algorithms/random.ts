import { candidateWeight, weightedDraw, type PickableBackend, type PickContext, type Picker } from './picker.js';

/**
 * Random: a usable backend drawn with probability proportional to its weight
 * (uniform when weights are equal), as nginx `random` without `two`.
 * `random` is injectable for tests; it must return values in [0, 1).
 */
export class RandomPicker implements Picker {
  constructor(private readonly random: () => number = Math.random) {}

  pick(backends: readonly PickableBackend[], ctx: PickContext): PickableBackend | undefined {
    const total = candidateWeight(backends, ctx);
    return total === 0 ? undefined : weightedDraw(backends, ctx, total, this.random);
  }
}

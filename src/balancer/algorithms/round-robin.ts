import { isCandidate, type PickableBackend, type PickContext, type Picker } from './picker.js';

/**
 * Round robin: each usable backend in turn, weights ignored (use `weighted`
 * for weights). Backends that are DOWN are skipped without disturbing the
 * order of the rest. As nginx's default upstream with equal weights and
 * HAProxy `balance roundrobin`.
 */
export class RoundRobin implements Picker {
  private next = 0;

  pick(backends: readonly PickableBackend[], ctx: PickContext): PickableBackend | undefined {
    const n = backends.length;
    for (let i = 0; i < n; i++) {
      const b = backends[(this.next + i) % n]!;
      if (isCandidate(b, ctx)) {
        this.next = (b.index + 1) % n;
        return b;
      }
    }
    return undefined;
  }
}

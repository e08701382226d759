import { isCandidate, type PickableBackend, type PickContext, type Picker } from './picker.js';

/**
 * Least connections: the usable backend with the fewest in-flight requests;
 * ties are broken round robin (the scan starts after the last pick), as
 * HAProxy `balance leastconn` and nginx `least_conn` with equal weights.
 * Weights are ignored here (`weighted-least-conn` divides by them).
 */
export class LeastConnections implements Picker {
  private next = 0;

  pick(backends: readonly PickableBackend[], ctx: PickContext): PickableBackend | undefined {
    const n = backends.length;
    let best: PickableBackend | undefined;
    for (let i = 0; i < n; i++) {
      const b = backends[(this.next + i) % n]!;
      if (isCandidate(b, ctx) && (best === undefined || b.inFlight < best.inFlight)) best = b;
    }
    if (best !== undefined) this.next = (best.index + 1) % n;
    return best;
  }
}

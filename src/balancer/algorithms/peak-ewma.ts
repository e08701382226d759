import { isCandidate, type PickableBackend, type PickContext, type Picker, type TryOutcome } from './picker.js';

/** The cost a backend starts with before any RTT is seen (ms), linkerd2's default. */
export const PEAK_EWMA_INITIAL_COST_MS = 30;
/** Decay time τ of the moving average (ms), linkerd2's default. */
export const PEAK_EWMA_DECAY_MS = 10_000;
/** Load of a backend with tries in flight and no RTT yet, as Finagle's `Penalty`: above any real load. */
export const PEAK_EWMA_PENALTY = 2 ** 47;

/** One backend's cost (ms) and when it was last updated (ms of the picker's clock). */
type Ewma = { costMs: number; stampMs: number; observed: boolean };

/**
 * Peak EWMA as Finagle's `PeakEwma` balancer (`PeakEwma.scala`) with
 * linkerd2's defaults (tower `peak_ewma`): each backend has a cost, an RTT
 * estimate in ms, starting at 30 ms. On each observation of an RTT, Δt ms
 * after the previous update, `w = exp(−Δt / τ)` with τ = 10 s: an RTT above
 * the cost replaces it at once (the peak), otherwise
 * `cost = cost·w + rtt·(1 − w)`. Reading a backend's load first observes an
 * RTT of 0, as Finagle's `Metric.get` and tower's `load` do, so the cost of a
 * backend nobody has tried lately decays toward 0 and it gets probed again
 * instead of being shunned forever after one slow answer.
 *
 * Load = cost × (in-flight + 1); a backend with tries in flight and no RTT
 * observed yet gets a large penalty instead (Finagle's `Penalty + pending`),
 * so a new or slow-to-start backend is not flooded before it has answered
 * once. A pick draws two distinct usable backends at random (uniformly, as
 * Finagle's and tower's p2c; weights are ignored) and takes the lower load,
 * the first drawn on a tie.
 *
 * RTTs are the try latencies the balancer reports (`TryOutcome.latencyMs`);
 * failed tries count too, as Finagle observes every finished request. A
 * latency that is not a finite number ≥ 0 is ignored: a NaN would stick in
 * the cost forever, and so would Infinity (the peak is taken at once).
 * `random` (values in [0, 1)) and `now` (ms) are injectable for tests.
 */
export class PeakEwma implements Picker {
  private readonly byBackend = new WeakMap<PickableBackend, Ewma>();
  /** Scratch list of candidate positions, reused across picks. */
  private candidates = new Int32Array(0);

  constructor(
    private readonly random: () => number = Math.random,
    private readonly now: () => number = () => performance.now(),
  ) {}

  pick(backends: readonly PickableBackend[], ctx: PickContext): PickableBackend | undefined {
    if (this.candidates.length < backends.length) this.candidates = new Int32Array(backends.length);
    let n = 0;
    for (let i = 0; i < backends.length; i++) if (isCandidate(backends[i]!, ctx)) this.candidates[n++] = i;
    if (n === 0) return undefined;
    if (n === 1) return backends[this.candidates[0]!];
    const i = Math.floor(this.random() * n);
    let j = Math.floor(this.random() * (n - 1));
    if (j >= i) j++;
    const a = backends[this.candidates[i]!]!;
    const b = backends[this.candidates[j]!]!;
    const now = this.now();
    return this.loadOf(b, now) < this.loadOf(a, now) ? b : a;
  }

  onRequestEnd(backend: PickableBackend, outcome: TryOutcome): void {
    if (!(outcome.latencyMs >= 0 && outcome.latencyMs < Infinity)) return;
    const e = this.ewmaOf(backend);
    observe(e, outcome.latencyMs, this.now());
    e.observed = true;
  }

  /** `backend`'s current cost (ms), decayed to now, without updating it. */
  costMs(backend: PickableBackend): number {
    const e = this.ewmaOf(backend);
    return e.costMs * Math.exp(-Math.max(this.now() - e.stampMs, 0) / PEAK_EWMA_DECAY_MS);
  }

  /**
   * `backend`'s load as a pick sees it, in ms × (in-flight + 1): its cost
   * decayed to now (as Finagle's `Metric.get`, which updates it) times its
   * in-flight count plus one, or {@link PEAK_EWMA_PENALTY} + in-flight while it
   * has tries in flight and no RTT observed yet.
   */
  load(backend: PickableBackend): number {
    return this.loadOf(backend, this.now());
  }

  private loadOf(b: PickableBackend, now: number): number {
    const e = this.ewmaOf(b);
    observe(e, 0, now);
    if (!e.observed && b.inFlight > 0) return PEAK_EWMA_PENALTY + b.inFlight;
    return e.costMs * (b.inFlight + 1);
  }

  private ewmaOf(b: PickableBackend): Ewma {
    let e = this.byBackend.get(b);
    if (e === undefined) {
      e = { costMs: PEAK_EWMA_INITIAL_COST_MS, stampMs: this.now(), observed: false };
      this.byBackend.set(b, e);
    }
    return e;
  }
}

/** Finagle's `observe`: the peak is taken at once, anything lower is averaged in by how long ago the last update was. */
function observe(e: Ewma, rttMs: number, now: number): void {
  const w = Math.exp(-Math.max(now - e.stampMs, 0) / PEAK_EWMA_DECAY_MS);
  e.costMs = rttMs > e.costMs ? rttMs : e.costMs * w + rttMs * (1 - w);
  e.stampMs = now;
}

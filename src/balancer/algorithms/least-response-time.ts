import { isCandidate, type PickableBackend, type PickContext, type Picker, type TryOutcome } from './picker.js';
import { smoothWeightedStep } from './smooth-weighted-round-robin.js';

/** Weight of a new sample in the moving average, as nginx `least_time`: avg = 0.05·v + 0.95·avg. */
export const RESPONSE_TIME_ALPHA = 0.05;

/**
 * The least a failed try counts as (ms) while its backend has not answered
 * once: lblab's choice, about a connect timeout's worth, so a backend that
 * refuses connections in 0.1 ms scores as slow instead of as the fastest.
 */
export const FAILED_TRY_PENALTY_MS = 1000;

/**
 * Start times are summed in ticks of 1/1024 ms, as integers, so adding one
 * and later subtracting it is exact (while the sum stays below 2^53: with
 * `performance.now()` under a day, some 100 000 tries open at once).
 */
const TICKS_PER_MS = 1024;

/** What the picker knows of one backend. Times in ms of the picker's clock. */
type ResponseTime = {
  /** Moving average of try latency (ms); 0 until the first sample. */
  avgMs: number;
  samples: number;
  /** Whether a try to it has been answered (not failed) yet. */
  answered: boolean;
  /** Tries this picker saw start and not yet end, and the sum of their start times (integer ticks, see {@link TICKS_PER_MS}). */
  open: number;
  openStartTicks: number;
};

/**
 * Least response time as nginx `least_time` (NGINX Plus
 * `ngx_http_upstream_least_time_module`, documented, not open source) and
 * the seeds' "response time × active connections": each usable backend
 * scores `rt × (1 + inFlight)` and the lowest score ÷ weight wins, compared by
 * cross-multiplying (`scoreA × weightB` against `scoreB × weightA`). Ties
 * (every backend before any sample, all scoring 0) get one step of smooth
 * weighted round robin over the tied backends only, as `least_conn`.
 *
 * `rt` is a moving average of try latency (`TryOutcome.latencyMs`, send to
 * end of response, ms) with α = 0.05 (`avg = 0.05·v + 0.95·avg`); the first
 * sample sets it, and a backend with no sample yet has rt 0. A latency that is
 * not a finite number ≥ 0 is ignored, so one bad sample cannot poison the
 * average. While tries to a backend are in flight rt is at least their
 * elapsed time, so a backend that has gone slow (or hangs) is noticed before
 * its slow answers arrive. nginx speaks of the elapsed time of the requests
 * in flight; lblab, to stay O(1) per try, uses the mean age of the tries it
 * saw start (a running sum of the `startedAtMs` given to `onRequestStart`,
 * less each `TryOutcome.startedAtMs` when the try ends, kept exact in integer
 * ticks of 1/1024 ms), so one very old try counts less than it would as a
 * maximum. A try whose start time is not finite is left out of that estimate.
 *
 * Failed tries (transport errors) are lblab's choice; nginx measures only
 * responses. Until a backend has answered once, a failed try counts as a
 * sample of at least {@link FAILED_TRY_PENALTY_MS} (1000 ms), and the first
 * answer then replaces that placeholder as a first sample does: a backend
 * that refuses in 0.1 ms before it ever answered would otherwise score
 * 0.1 ms and draw nearly every pick. It gets tried again when the others'
 * scores reach that much, or on a retry when it is the last candidate. Once it
 * has answered, a failed try counts as at least the current average: a
 * timeout raises it, a fast refusal leaves it as it was.
 *
 * `now` is the clock in ms (injectable for tests); the balancer's start times
 * come from `performance.now()`, the default.
 */
export class LeastResponseTime implements Picker {
  private readonly byBackend = new WeakMap<PickableBackend, ResponseTime>();
  /** The state of `backends[i]`, cached against the array's identity with the tie-break's current weights. */
  private states: ResponseTime[] = [];
  private current: number[] = [];
  private scores = new Float64Array(0);
  private statesFor: readonly PickableBackend[] | undefined;

  constructor(private readonly now: () => number = () => performance.now()) {}

  pick(backends: readonly PickableBackend[], ctx: PickContext): PickableBackend | undefined {
    if (backends !== this.statesFor) {
      this.statesFor = backends;
      this.states = backends.map((b) => this.stateOf(b));
      this.current = backends.map(() => 0);
      this.scores = new Float64Array(backends.length);
    }
    const now = this.now();
    const scores = this.scores;
    let best: PickableBackend | undefined;
    let many = false;
    for (const b of backends) {
      if (!isCandidate(b, ctx)) continue;
      const score = responseTimeMs(this.states[b.index]!, now) * (1 + b.inFlight);
      scores[b.index] = score;
      if (best === undefined || score * best.weight < scores[best.index]! * b.weight) {
        best = b;
        many = false;
      } else if (score * best.weight === scores[best.index]! * b.weight) {
        many = true;
      }
    }
    if (best === undefined || !many) return best;
    // One smooth weighted round robin step (nginx's) over the tied backends only.
    const lowest = best;
    const lowestScore = scores[lowest.index]!;
    return smoothWeightedStep(backends, this.current, ctx, (b) => scores[b.index]! * lowest.weight === lowestScore * b.weight);
  }

  onRequestStart(backend: PickableBackend, startedAtMs: number): void {
    if (!Number.isFinite(startedAtMs)) return;
    const s = this.stateOf(backend);
    s.open++;
    s.openStartTicks += Math.round(startedAtMs * TICKS_PER_MS);
  }

  onRequestEnd(backend: PickableBackend, outcome: TryOutcome): void {
    const s = this.stateOf(backend);
    if (Number.isFinite(outcome.startedAtMs) && s.open > 0) {
      s.open--;
      // Exact integer arithmetic; reset at 0 anyway, so a caller's mismatched start time cannot linger.
      s.openStartTicks = s.open === 0 ? 0 : s.openStartTicks - Math.round(outcome.startedAtMs * TICKS_PER_MS);
    }
    const latencyMs = outcome.latencyMs;
    if (!(latencyMs >= 0 && latencyMs < Infinity)) return;
    let v = latencyMs;
    let first = s.samples === 0;
    if (outcome.ok) {
      first ||= !s.answered;
      s.answered = true;
    } else {
      v = Math.max(v, s.answered ? s.avgMs : FAILED_TRY_PENALTY_MS);
    }
    s.avgMs = first ? v : RESPONSE_TIME_ALPHA * v + (1 - RESPONSE_TIME_ALPHA) * s.avgMs;
    s.samples++;
  }

  /** The response time (ms) `backend` is scored with now: the average, or the mean age of its tries in flight if larger. */
  responseTimeMs(backend: PickableBackend): number {
    return responseTimeMs(this.stateOf(backend), this.now());
  }

  private stateOf(b: PickableBackend): ResponseTime {
    let s = this.byBackend.get(b);
    if (s === undefined) {
      s = { avgMs: 0, samples: 0, answered: false, open: 0, openStartTicks: 0 };
      this.byBackend.set(b, s);
    }
    return s;
  }
}

function responseTimeMs(s: ResponseTime, now: number): number {
  if (s.open === 0) return s.avgMs;
  return Math.max(s.avgMs, now - s.openStartTicks / TICKS_PER_MS / s.open);
}

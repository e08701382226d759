/**
 * The one small interface every balancing algorithm implements. An algorithm
 * never does I/O: it sees the upstream's backends and picks one. Compare
 * undici's `lib/dispatcher/balanced-pool.js` for how little a picker needs.
 */

/** What a picker may read of a backend. `weight` ≥ 1; `inFlight` = requests sent and not yet answered. */
export interface PickableBackend {
  /** Position in the array given to {@link Picker.pick}, 0-based; stable until the upstream's membership changes. */
  readonly index: number;
  /** The backend's name as lblab shows it (`b1`, `b2`, …). */
  readonly name: string;
  /** Scheme, host and port, e.g. `http://127.0.0.1:8001`: what hash rings place (nginx hashes the server address). */
  readonly origin: string;
  /** Relative share of traffic, an integer ≥ 1 (nginx's `weight=`); may change in place, with a new array passed after (see {@link Picker}). */
  readonly weight: number;
  /** Tries sent to it and not yet ended (answered or failed), across all pickers. */
  readonly inFlight: number;
  /** False while health checks hold the backend DOWN (or passive checks, a circuit breaker or draining keep it out). */
  readonly usable: boolean;
  /**
   * False while an operator keeps it out (draining): never picked, not even
   * in panic mode; undefined counts as true.
   */
  readonly adminUp?: boolean;
  /**
   * Load the backend last reported in its `/health` JSON (in-flight ÷
   * capacity, 0..1+), refreshed by each active check; undefined when it
   * reports none.
   */
  readonly reportedLoad: number | undefined;
}

/**
 * Per-request input to a pick. `clientIp` is the client's address as the
 * balancer saw it (IPv4 dotted or IPv6); `hashKey` is the request's key for
 * the hash algorithms as `--hash-key` chose it (undefined when the request
 * has none, e.g. a missing header); `exclude` holds the backends already
 * tried for this request (retries), by identity, so a re-index after a
 * removal cannot shut out the wrong one.
 */
export type PickContext = {
  clientIp: string;
  hashKey?: string | undefined;
  exclude: ReadonlySet<PickableBackend> | undefined;
  /** Panic mode (Envoy's panic threshold): health is ignored, every backend may be picked. */
  panic?: boolean;
};

/**
 * How a try ended, for algorithms that learn from responses. `startedAtMs`
 * is the `performance.now()` value given to {@link Picker.onRequestStart}
 * for this try; `latencyMs` runs from then to the end of the response (ms);
 * `ok` is false on a transport error.
 */
export type TryOutcome = { startedAtMs: number; latencyMs: number; ok: boolean };

/**
 * A balancing algorithm. `pick` returns a usable backend not in
 * `ctx.exclude`, or undefined when there is none. The hooks let stateful
 * algorithms see requests start and end.
 *
 * The balancer passes the same `backends` array on every call until the
 * upstream's membership or weights change, and a new array after; an
 * algorithm that precomputes (a hash ring, a lookup table) may cache it
 * against the array's identity.
 */
export interface Picker {
  pick(backends: readonly PickableBackend[], ctx: PickContext): PickableBackend | undefined;
  /** Called when a try is sent to `backend` (after its in-flight count went up); `startedAtMs` is `performance.now()` then. */
  onRequestStart?(backend: PickableBackend, startedAtMs: number): void;
  /** Called once when that try ended, answered or failed (after its in-flight count went down), on the same picker that saw it start. */
  onRequestEnd?(backend: PickableBackend, outcome: TryOutcome): void;
}

/** Whether `b` may take this request: healthy and not already tried. */
export function isCandidate(b: PickableBackend, ctx: PickContext): boolean {
  return (b.usable || (ctx.panic === true && b.adminUp !== false)) && (ctx.exclude === undefined || !ctx.exclude.has(b));
}

/** The summed weight of the candidates for this request (0 when there are none). */
export function candidateWeight(backends: readonly PickableBackend[], ctx: PickContext): number {
  let total = 0;
  for (const b of backends) if (isCandidate(b, ctx)) total += b.weight;
  return total;
}

/**
 * One draw among the candidates with probability proportional to weight;
 * `total` is {@link candidateWeight} (> 0), `random` returns values in [0, 1).
 */
export function weightedDraw(backends: readonly PickableBackend[], ctx: PickContext, total: number, random: () => number): PickableBackend {
  let r = random() * total;
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

/**
 * The one small interface every balancing algorithm implements. An algorithm
 * never does I/O: it sees the upstream's backends and picks one. Compare
 * undici's `lib/dispatcher/balanced-pool.js` for how little a picker needs.
 */

/** What a picker may read of a backend. `weight` ≥ 1; `inFlight` = requests sent and not yet answered. */
export interface PickableBackend {
  /** Position in the array given to {@link Picker.pick}, 0-based; stable until the upstream's membership changes. */
  readonly index: number;
  readonly name: string;
  /** Scheme, host and port, e.g. `http://127.0.0.1:8001`: what hash rings place (nginx hashes the server address). */
  readonly origin: string;
  readonly weight: number;
  readonly inFlight: number;
  /** False while health checks hold the backend DOWN. */
  readonly usable: boolean;
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
 * has none, e.g. a missing header); `exclude` holds indexes already tried
 * for this request (retries).
 */
export type PickContext = { clientIp: string; hashKey?: string | undefined; exclude: ReadonlySet<number> | undefined };

/** How a try ended, for algorithms that learn from responses. `latencyMs` from send to the end of the response (ms); `ok` false on a transport error. */
export type TryOutcome = { latencyMs: number; ok: boolean };

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
  /** Called when a try is sent to `backend` (after its in-flight count went up). */
  onRequestStart?(backend: PickableBackend): void;
  /** Called when that try ended, answered or failed (after its in-flight count went down). */
  onRequestEnd?(backend: PickableBackend, outcome: TryOutcome): void;
}

/** Whether `b` may take this request: healthy and not already tried. */
export function isCandidate(b: PickableBackend, ctx: PickContext): boolean {
  return b.usable && (ctx.exclude === undefined || !ctx.exclude.has(b.index));
}

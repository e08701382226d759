/**
 * The one small interface every balancing algorithm implements. An algorithm
 * never does I/O: it sees the upstream's backends and picks one. Compare
 * undici's `lib/dispatcher/balanced-pool.js` for how little a picker needs.
 */

/** What a picker may read of a backend. `weight` ≥ 1; `inFlight` = requests sent and not yet answered. */
export interface PickableBackend {
  /** Position in the upstream, 0-based and stable for the run. */
  readonly index: number;
  readonly name: string;
  readonly weight: number;
  readonly inFlight: number;
  /** False while health checks hold the backend DOWN. */
  readonly usable: boolean;
}

/** Per-request input to a pick. `exclude` holds indexes already tried for this request (retries). */
export type PickContext = { clientIp: string; exclude: ReadonlySet<number> | undefined };

/**
 * A balancing algorithm. `pick` returns a usable backend not in
 * `ctx.exclude`, or undefined when there is none. The hooks let stateful
 * algorithms see requests start and end.
 */
export interface Picker {
  pick(backends: readonly PickableBackend[], ctx: PickContext): PickableBackend | undefined;
  /** Called when a try is sent to `backend` (after its in-flight count went up). */
  onRequestStart?(backend: PickableBackend): void;
  /** Called when that try ended, answered or failed (after its in-flight count went down). */
  onRequestEnd?(backend: PickableBackend): void;
}

/** Whether `b` may take this request: healthy and not already tried. */
export function isCandidate(b: PickableBackend, ctx: PickContext): boolean {
  return b.usable && (ctx.exclude === undefined || !ctx.exclude.has(b.index));
}

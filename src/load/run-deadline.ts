/**
 * The end of a load run that lasts `durationMs` from `atMs` (both ms on the
 * `performance.now()` clock; 0 = no time limit, Infinity), with a timer
 * that calls `stop` then. Shared by the closed and the open model.
 */
export function armDeadline(atMs: number, durationMs: number, stop: () => void): number {
  if (durationMs <= 0) return Infinity;
  const deadline = atMs + durationMs;
  setTimeout(stop, Math.max(0, deadline - performance.now()));
  return deadline;
}

/** The part of a rise/fall counter the check schedule depends on (see `RiseFall`). */
export type HealthCounter = { readonly counter: number; readonly rise: number; readonly fall: number };

/** The three check intervals of HAProxy's `check`, in ms: `inter`, `fastinter`, `downinter`. */
export type CheckIntervals = { intervalMs: number; fastinterMs: number; downinterMs: number };

/**
 * Time to wait before the next check of a backend, in ms, chosen from its
 * rise/fall counter as HAProxy's `srv_getinter()` (src/check.c) does:
 * fully UP (counter at the top, rise+fall−1) → `inter`; fully DOWN
 * (counter 0) → `downinter`; anywhere in between — UP but having failed at
 * least one check, or DOWN but having passed at least one — the state is
 * changing → `fastinter`.
 */
export function checkIntervalMs(health: HealthCounter, intervals: CheckIntervals): number {
  if (health.counter >= health.rise + health.fall - 1) return intervals.intervalMs;
  if (health.counter <= 0) return intervals.downinterMs;
  return intervals.fastinterMs;
}

/** Small number formatters shared by the report and the live views. */

/** A latency in ms with sensible precision: `0.42ms`, `12.3ms`, `1204ms`. */
export function formatMs(ms: number): string {
  if (ms === 0) return '0ms';
  if (ms < 1) return `${ms.toFixed(2)}ms`;
  if (ms < 100) return `${ms.toFixed(1)}ms`;
  return `${Math.round(ms)}ms`;
}

/** A share 0..1 as a percentage: `33.3%`. */
export function formatPct(share: number, digits = 1): string {
  return `${(share * 100).toFixed(digits)}%`;
}

/** A duration in ms as `1.2s`, `2m05s` or `350ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return `${m}m${String(s).padStart(2, '0')}s`;
}

/** A time since start as `+12.3s`, as event logs show it. */
export function formatAt(ms: number): string {
  return `+${(ms / 1000).toFixed(1)}s`;
}

/** A count with its thousands apart, as the issue tracker and the report write them: `12 000`, `950`. */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** A rate in req/s, rounded: `4521`. */
export function formatRate(rps: number): string {
  return rps >= 100 ? String(Math.round(rps)) : rps.toFixed(1);
}

/**
 * A bar of `width` cells filled to `share` (0..1), with a marker `|` at
 * `expected` (0..1): e.g. `█████|··` . Cells are characters, no colour.
 */
export function shareBar(share: number, expected: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, share)) * width);
  const mark = Math.min(width - 1, Math.round(Math.min(1, Math.max(0, expected)) * width));
  let out = '';
  for (let i = 0; i < width; i++) {
    if (i === mark && expected > 0) out += '|';
    else out += i < filled ? '█' : '·';
  }
  return out;
}

/**
 * A fault and the sessions it cost, in a line: `kill b2 → 13 of 40 users
 * logged out (b2 served 13 last)`; `short` is `kill b2 → 13 of 40 logged out` (the
 * dashboard), `withEvent` false the `kill b2` (a caption that names it). See `SessionLoss`.
 */
export function formatSessionLoss(l: { type: string; target: string; users: number; targetUsers: number; loggedOut: number }, short = false, withEvent = true): string {
  const words = short ? `→ ${l.loggedOut} of ${l.users} logged out` : `→ ${l.loggedOut} of ${l.users} users logged out (${l.target} served ${l.targetUsers} last)`;
  return withEvent ? `${l.type} ${l.target} ${words}` : words;
}

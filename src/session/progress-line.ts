import type { RunEvent } from '../metrics/run-record.js';
import { formatAt, formatMs, formatPct, formatRate } from '../report/format.js';
import type { RunSnapshot } from './snapshot.js';

/**
 * The headless view's line, printed once a second on stderr: elapsed, req/s,
 * error rate, p99, the stick table's entries, the 429s of the rate limit and
 * the sessions lost when those are on, then per backend its state and share, e.g.
 * `+3.0s  1520 req/s  err 0.00%  p99 14.2ms  b1 UP 50.2%  b2 DOWN 0.0%  b3 UP 16.6%`;
 * in tcp mode each backend also shows its open connections (`b1 UP 50.2% 1 conn`).
 * With `--protocol ws` the line is the WebSockets': open now, connects/s,
 * drops, echo round trip p50/p99, then per backend its open WebSockets and
 * their share: `+3.0s  ws 60 open  2.0 conn/s  drops 20  rtt p50 0.4ms p99 1.2ms  b1 UP 30 ws 50.0%`.
 */
export function formatProgressLine(s: RunSnapshot): string {
  if (s.webSockets) return webSocketLine(s, s.webSockets);
  const parts = [
    formatAt(s.elapsedMs).padStart(7),
    `${formatRate(s.rps).padStart(6)} req/s`,
    `err ${formatPct(s.errorRate, 2)}`,
    `p99 ${formatMs(s.latency.p99)}`,
  ];
  if (s.paused) parts.push('PAUSED');
  if (s.sticky?.config.mode === 'ip') parts.push(`stick ${s.sticky.entries}`);
  if (s.rateLimit) parts.push(`429s ${s.rateLimit.limited}`);
  if (s.sessions) parts.push(`sessions lost ${s.sessions.totals.lost}`);
  for (const b of s.backends) parts.push(`${b.name} ${stateWord(b)} ${formatPct(b.share)}${b.connections ? ` ${b.connections.active} conn` : ''}`);
  return parts.join('  ');
}

function webSocketLine(s: RunSnapshot, ws: NonNullable<RunSnapshot['webSockets']>): string {
  const parts = [
    formatAt(s.elapsedMs).padStart(7),
    `ws ${String(ws.open).padStart(3)} open`,
    `${formatRate(ws.rate)} conn/s`,
    `drops ${ws.drops}`,
    `rtt p50 ${formatMs(ws.p50Ms)} p99 ${formatMs(ws.p99Ms)}`,
  ];
  for (const b of s.backends) parts.push(`${b.name} ${stateWord(b)} ${b.webSockets?.open ?? 0} ws ${formatPct(b.webSockets?.share ?? 0)}`);
  return parts.join('  ');
}

/** A backend's state as the headless line says it: UP, DOWN, PASSIVE, and `(exited)` when its process is gone but checks have not yet noticed. */
function stateWord(b: RunSnapshot['backends'][number]): string {
  const word = b.unchecked ? 'PASSIVE' : b.state.toUpperCase();
  return b.process === 'exited' && b.state === 'up' ? `${word}(exited)` : word;
}

/** An event as the headless view prints it: `+10.0s kill b2  SIGKILL pid 1234 (event)`. */
export function formatEventLine(e: RunEvent): string {
  return `${formatAt(e.atMs).padStart(7)}  ${e.type}${e.target ? ` ${e.target}` : ''}${e.detail ? `  ${e.detail}` : ''}`;
}

import type { WebSocketLive } from '../load/websocket-load.js';
import type { LatencyHistogram } from '../metrics/latency-histogram.js';
import { lastSecondRate } from '../metrics/traffic-stats.js';

/**
 * One backend's WebSockets as the live views show them with `--protocol
 * ws` (by the backend's hello message): `open` now, `share` of the
 * WebSockets open now (0..1), `rate` connects per second over the last
 * second, `connects` and `drops` since the start, and the echo round trip
 * of its messages (ms).
 */
export type BackendWebSocketSnapshot = { open: number; share: number; rate: number; connects: number; drops: number; p50Ms: number; p99Ms: number };

/**
 * The WebSocket clients of a `--protocol ws` run as the live views show
 * them: the clients and their message rate (per second each), WebSockets
 * open now, connects per second over the last second, and the counts of
 * the run so far (see `WebSocketLoadResult`); echo round trip in ms.
 */
export type WebSocketRunSnapshot = {
  clients: number;
  messageRate: number;
  open: number;
  rate: number;
  connects: number;
  reconnects: number;
  expired: number;
  drops: number;
  sent: number;
  echoed: number;
  unanswered: number;
  p50Ms: number;
  p99Ms: number;
};

/**
 * The run's and each backend's WebSocket view from the load's live state;
 * `atMs` is ms since the load started (its per-second counts' time 0),
 * `names` the backends in order; `echo` is the load's live echo histogram (µs).
 */
export function webSocketSnapshots(
  live: WebSocketLive,
  config: { clients: number; messageRate: number },
  names: readonly string[],
  atMs: number,
): { run: WebSocketRunSnapshot; backends: BackendWebSocketSnapshot[]; echo: LatencyHistogram } {
  let open = 0;
  for (const b of live.backends.values()) open += b.open;
  const backends = names.map((name): BackendWebSocketSnapshot => {
    const b = live.backends.get(name);
    if (!b) return { open: 0, share: 0, rate: 0, connects: 0, drops: 0, p50Ms: 0, p99Ms: 0 };
    return {
      open: b.open,
      share: open > 0 ? b.open / open : 0,
      rate: lastSecondRate(b.connectsPerSecond, atMs),
      connects: b.connects,
      drops: b.drops,
      p50Ms: b.echo.percentileMs(50),
      p99Ms: b.echo.percentileMs(99),
    };
  });
  const c = live.counts;
  return {
    run: {
      ...config,
      open: live.open,
      rate: backends.reduce((n, b) => n + b.rate, 0),
      connects: c.connects,
      reconnects: c.reconnects,
      expired: c.expired,
      drops: c.drops,
      sent: c.sent,
      echoed: c.echoed,
      unanswered: c.unanswered,
      p50Ms: live.echo.percentileMs(50),
      p99Ms: live.echo.percentileMs(99),
    },
    backends,
    echo: live.echo,
  };
}

/** What a kill's follow-up compares: the killed backend's drops and where its dropped clients went, at one moment. */
export type DropMark = { drops: number; moved: Readonly<Record<string, number>> };

/** Backend `name`'s {@link DropMark} now (copied). */
export function dropMark(live: WebSocketLive, name: string): DropMark {
  return { drops: live.backends.get(name)?.drops ?? 0, moved: { ...live.movedAfterDrop[name] } };
}

/**
 * What happened to backend `name`'s WebSockets between two marks: `dropped`
 * of them, `reconnected` per backend (largest first), and the words the
 * event log shows: `dropped 20 WebSockets; reconnected: b1 10, b3 10`
 * (`…; 2 not reconnected yet` when some are still away).
 */
export function dropsSince(before: DropMark, after: DropMark): { dropped: number; reconnected: Array<[string, number]>; words: string } {
  const dropped = after.drops - before.drops;
  const reconnected = Object.entries(after.moved)
    .map(([to, n]): [string, number] => [to, n - (before.moved[to] ?? 0)])
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const back = reconnected.reduce((n, [, k]) => n + k, 0);
  const where = reconnected.length > 0 ? `; reconnected: ${reconnected.map(([to, n]) => `${to} ${n}`).join(', ')}` : '';
  const away = dropped > back ? `; ${dropped - back} not reconnected yet` : '';
  return { dropped, reconnected, words: `dropped ${dropped} WebSocket${dropped === 1 ? '' : 's'}${where}${away}` };
}

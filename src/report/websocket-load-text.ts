import type { WebSocketLoadResult } from '../load/websocket-load.js';
import { formatDuration, formatMs } from './format.js';

/**
 * The plain-text report of `lblab load ws://…`: the run's shape, messages
 * (sent, echoed, unanswered on a dropped connection, pending at the end,
 * pushes), the echo round trip's percentiles, the connections (connects,
 * reconnects, drops, failed handshakes) and one row per backend that
 * greeted a client (by its hello message). A pure function of the result.
 */
export function formatWebSocketLoad(r: WebSocketLoadResult): string {
  const lines = [
    `lblab load ${r.url} · ${r.clients} WebSocket clients · ${r.messageRate} msg/s each · ${formatDuration(r.durationMs)}`,
    '',
    `Messages sent ${r.sent}  echoed ${r.echoed}  unanswered ${r.unanswered}  pending at end ${r.pendingAtEnd}  pushes ${r.pushes}`,
    `Echo round trip p50 ${formatMs(r.echo.p50)}  p90 ${formatMs(r.echo.p90)}  p99 ${formatMs(r.echo.p99)}  max ${formatMs(r.echo.max)}  (${r.echo.count} echoes)`,
    `Connections connects ${r.connects}  reconnects ${r.reconnects}  expired ${r.expired}  drops ${r.drops}  failed handshakes ${r.failedConnects}`,
  ];
  const names = Object.keys(r.backends).sort();
  if (names.length > 0) {
    const width = Math.max(7, ...names.map((n) => n.length));
    lines.push('', `${'backend'.padEnd(width)}  connects  drops  open at end`);
    for (const n of names) {
      const b = r.backends[n]!;
      lines.push(`${n.padEnd(width)}  ${String(b.connects).padStart(8)}  ${String(b.drops).padStart(5)}  ${String(b.openAtEnd).padStart(11)}`);
    }
    lines.push('connects and drops by the backend that greeted the client ({"backend":"b1"})');
  }
  lines.push('unanswered: sent on a connection that dropped (or expired) before its echo came back · expired: closed by the client at --ws-lifetime');
  return `${lines.join('\n')}\n`;
}

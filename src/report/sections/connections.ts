import { KEEP_ALIVE_NOTE } from '../../balancer/tcp/tcp-mode.js';
import type { RunRecord } from '../../metrics/run-record.js';
import type { Block, Section, Span } from '../blocks.js';
import { formatBytes } from '../format-bytes.js';
import { formatPct } from '../format.js';

/** A share (0..1) off its expected value by more than this is marked, as in the backend table. */
const OFF = 0.05;

/**
 * The report's section for an L4 run (`config.mode` `tcp`): per backend the
 * connections the balancer gave it, their share against the expected share,
 * the share of responses it served (counted by the clients), connections
 * still open, bytes in (client → backend) and out (backend → client), and
 * connect errors; then, when the request shares stray from what the
 * algorithm expects or there were fewer connections than backends, one note
 * on why (keep-alive pins a connection to one backend). Undefined for HTTP
 * runs and records without connection counts.
 */
export function connectionsSection(r: RunRecord): Section | undefined {
  if (r.config.mode !== 'tcp' || !r.backends.some((b) => b.connections)) return undefined;
  const total = r.backends.reduce((n, b) => n + (b.connections?.total ?? 0), 0);
  // `balance` has no client side: no request shares to set beside the connections.
  const requests = r.totals.requests > 0;
  let strayed = false;
  const rows = r.backends.map((b): Span[] => {
    const conn = b.connections;
    const share = conn && total > 0 ? conn.total / total : 0;
    const exp = b.expectedShare;
    const connOff = exp > 0 && Math.abs(share - exp) > OFF;
    const reqOff = requests && exp > 0 && Math.abs(b.share - exp) > OFF;
    strayed ||= reqOff;
    return [
      { text: b.name },
      { text: conn ? String(conn.total) : '-' },
      { text: `${formatPct(share)}/${exp > 0 ? formatPct(exp) : '-'}`, ...(connOff ? { tone: 'warn' as const } : {}) },
      { text: !requests ? '-' : formatPct(b.share), ...(reqOff ? { tone: 'warn' as const } : {}) },
      { text: conn?.active !== undefined ? String(conn.active) : '-' },
      { text: conn ? formatBytes(conn.bytesIn) : '-' },
      { text: conn ? formatBytes(conn.bytesOut) : '-' },
      conn && conn.connectErrors > 0 ? { text: String(conn.connectErrors), tone: 'warn' } : { text: conn ? '0' : '-' },
    ];
  });
  const blocks: Block[] = [
    {
      kind: 'table',
      head: ['backend', 'conns', 'conn share/exp', 'req share', 'open', 'bytes in', 'bytes out', 'conn err'],
      align: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
      rows,
    },
    { kind: 'note', text: 'bytes in: client → backend · bytes out: backend → client · conn err: connects refused, reset or timed out' },
  ];
  const members = r.backends.filter((b) => b.expectedShare > 0).length;
  if (strayed || total < members) blocks.push({ kind: 'note', text: KEEP_ALIVE_NOTE });
  return {
    id: 'connections',
    title: 'Connections',
    subtitle: `L4: a backend per TCP connection, ${total} in all${requests ? '; requests counted by the clients' : ''}`,
    blocks,
  };
}

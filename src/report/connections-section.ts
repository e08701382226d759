import type { ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import { KEEP_ALIVE_NOTE } from '../balancer/tcp/tcp-mode.js';
import type { RunRecord } from '../metrics/run-record.js';
import { formatBytes } from './format-bytes.js';
import { formatPct } from './format.js';

/** A share (0..1) off its expected value by more than this is shown in yellow, as in the backend table. */
const OFF = 0.05;

/**
 * The report's section for an L4 run (`config.mode` `tcp`): per backend the
 * connections the balancer gave it, their share against the expected share,
 * the share of responses it served (counted by the clients), connections
 * still open, bytes in (client → backend) and out (backend → client), and
 * connect errors; then, when the request shares stray from what the
 * algorithm expects or there were fewer connections than backends, one line
 * on why (keep-alive pins a connection to one backend). Empty for HTTP
 * runs and records without connection counts.
 */
export function connectionLines(r: RunRecord, c: ChalkInstance): string[] {
  if (r.config.mode !== 'tcp' || !r.backends.some((b) => b.connections)) return [];
  const total = r.backends.reduce((n, b) => n + (b.connections?.total ?? 0), 0);
  // `balance` has no client side: no request shares to set beside the connections.
  const requests = r.totals.requests > 0;
  const table = new Table({
    head: ['backend', 'conns', 'conn share/exp', 'req share', 'open', 'bytes in', 'bytes out', 'conn err'],
    style: { head: c.level > 0 ? ['cyan'] : [], border: [], 'padding-left': 0, 'padding-right': 0 },
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
    },
    colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  });
  let strayed = false;
  for (const b of r.backends) {
    const conn = b.connections;
    const share = conn && total > 0 ? conn.total / total : 0;
    const exp = b.expectedShare;
    const connOff = exp > 0 && Math.abs(share - exp) > OFF;
    const reqOff = requests && exp > 0 && Math.abs(b.share - exp) > OFF;
    strayed ||= reqOff;
    table.push([
      b.name,
      conn ? String(conn.total) : '-',
      `${connOff ? c.yellow(formatPct(share)) : formatPct(share)}/${exp > 0 ? formatPct(exp) : '-'}`,
      !requests ? '-' : reqOff ? c.yellow(formatPct(b.share)) : formatPct(b.share),
      conn?.active !== undefined ? String(conn.active) : '-',
      conn ? formatBytes(conn.bytesIn) : '-',
      conn ? formatBytes(conn.bytesOut) : '-',
      conn && conn.connectErrors > 0 ? c.yellow(String(conn.connectErrors)) : conn ? '0' : '-',
    ]);
  }
  const lines = [
    c.bold('Connections') + c.dim(` (L4: the balancer picked a backend per TCP connection, ${total} in all${requests ? '; requests counted by the clients' : ''})`),
    table.toString(),
    c.dim('bytes in: client → backend · bytes out: backend → client · conn err: connects refused, reset or timed out'),
  ];
  const members = r.backends.filter((b) => b.expectedShare > 0).length;
  if (strayed || total < members) lines.push(c.yellow(KEEP_ALIVE_NOTE));
  return lines;
}

import type { RunRecord } from '../../metrics/run-record.js';
import type { Block, Section, Span } from '../blocks.js';
import { formatMs, formatPct } from '../format.js';

/**
 * The report's section for global server load balancing (`--region`):
 * per region what its backends served, then per client region how many
 * clients, their requests served at home (local) and elsewhere (remote:
 * the GSLB tier sent them away), errors, and latency p50/p99 in all, at
 * home and away, so the price of a failover — about the round trip — reads
 * off the two columns. Undefined without regions.
 */
export function regionsSection(r: RunRecord): Section | undefined {
  const g = r.totals.gslb;
  if (!g) return undefined;
  const total = g.regions.reduce((n, x) => n + x.requests, 0);
  const served: Span[][] = g.regions.map((x) => [{ text: x.name }, { text: x.backends.join(',') }, { text: String(x.requests) }, { text: formatPct(total > 0 ? x.requests / total : 0) }]);
  const ms = (m: { p50: number; p99: number } | undefined, of: 'p50' | 'p99') => (m ? formatMs(m[of]) : '-');
  const clients: Span[][] = g.clientRegions.map((c) => [
    { text: c.name },
    { text: String(c.clients) },
    { text: String(c.requests) },
    { text: String(c.local) },
    c.remote > 0 ? { text: String(c.remote), tone: 'warn' } : { text: '0' },
    c.errors > 0 ? { text: String(c.errors), tone: 'warn' } : { text: '0' },
    { text: ms(c.latencyMs, 'p50') },
    { text: ms(c.latencyMs, 'p99') },
    { text: ms(c.localMs, 'p50') },
    { text: ms(c.remoteMs, 'p50') },
  ]);
  const rtt = Object.entries(g.rttMs)
    .map(([pair, ms]) => `${pair} ${formatMs(ms)}`)
    .join(', ');
  const blocks: Block[] = [
    { kind: 'table', head: ['region', 'backends', 'served', 'share'], align: ['left', 'left', 'right', 'right'], rows: served },
    {
      kind: 'table',
      head: ['clients in', 'clients', 'requests', 'local', 'remote', 'errors', 'p50', 'p99', 'local p50', 'remote p50'],
      align: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
      rows: clients,
    },
    { kind: 'note', text: `local: served by a backend of the clients' own region · remote: sent to another region by the GSLB tier, paying the round trip (${rtt}; simulated distance, real servers)` },
  ];
  return { id: 'regions', title: 'Regions (GSLB)', subtitle: `${g.policy}: ${g.policy === 'geo' ? 'each client to the nearest region with a healthy backend' : g.policy === 'failover' ? 'everyone to the first healthy region listed' : 'clients over the healthy regions by their backends’ weights'}`, blocks };
}

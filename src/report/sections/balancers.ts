import type { RunRecord } from '../../metrics/run-record.js';
import type { Block, Section, Span } from '../blocks.js';
import { formatMs } from '../format.js';

/**
 * The report's section for two balancers (`--balancers 2`): each one's
 * address, requests and state at the end, then per kill of a balancer what
 * it held, the takeover time against its budget (`interval × fall +
 * timeout`), the client errors it cost, when the clients next got a good
 * response, and their new connections since (dns-rr: how many went to the
 * dead address first and were retried on the other; active-passive: SYNs
 * retransmitted while nobody held the virtual address). Undefined with one
 * balancer.
 */
export function balancersSection(r: RunRecord): Section | undefined {
  const ha = r.ha;
  if (!ha) return undefined;
  const total = ha.balancers.reduce((n, b) => n + b.requests, 0);
  const members: Span[][] = ha.balancers.map((b) => [
    { text: b.name },
    { text: `${b.address}${ha.mode === 'dns-rr' ? `:${ha.port}` : ''}` },
    { text: String(b.requests) },
    { text: total > 0 ? `${((100 * b.requests) / total).toFixed(1)}%` : '-' },
    b.state === 'down' ? { text: 'down', tone: 'bad' } : { text: b.state },
  ]);
  // At L4 a balancer counts the connections it accepted: each is one "request".
  const blocks: Block[] = [{ kind: 'table', head: ['balancer', 'own address', r.config.mode === 'tcp' ? 'connections' : 'requests', 'share', 'at the end'], align: ['left', 'left', 'right', 'right', 'left'], rows: members }];
  const rows: Span[][] = ha.failovers.map((f) => {
    const takeover: Span =
      f.takeoverMs === null
        ? { text: f.wasActive && ha.mode === 'active-passive' ? 'none' : '-', ...(f.wasActive && ha.mode === 'active-passive' ? { tone: 'bad' as const } : {}) }
        : { text: formatMs(f.takeoverMs), tone: f.takeoverMs <= ha.budgetMs ? 'good' : 'warn' };
    const c = f.connects;
    const connects = ha.mode === 'dns-rr' ? `${c.retried} of ${c.opened} refused first, retried` : `${c.opened} opened, ${c.retransmitted} SYNs retransmitted`;
    return [
      { text: `+${(f.atMs / 1000).toFixed(1)}s` },
      { text: `${f.balancer} (${f.wasActive ? 'active' : 'passive'})` },
      { text: String(f.inFlight) },
      takeover,
      f.clientErrors > 0
        ? { text: f.errorsSentAfter > 0 ? `${f.clientErrors} (${f.errorsSentAfter} sent after)` : String(f.clientErrors), tone: f.clientErrors <= Math.max(f.inFlight, f.connections) ? 'warn' : 'bad' }
        : { text: '0', tone: 'good' },
      { text: f.firstResponseMs === null ? 'none' : formatMs(f.firstResponseMs) },
      { text: connects },
    ];
  });
  if (rows.length > 0) {
    blocks.push({
      kind: 'table',
      head: ['kill', 'balancer', 'in flight', 'takeover', 'client errors', 'next response', 'new connections since'],
      align: ['right', 'left', 'right', 'right', 'right', 'right', 'left'],
      rows,
    });
  }
  const how =
    ha.mode === 'active-passive'
      ? `takeover: from the kill until the passive balancer held ${ha.addresses[0]} (it checks the active one every ${formatMs(ha.intervalMs)} and takes over after ${ha.fall} failed checks; budget ${formatMs(ha.budgetMs)}) · next response: to the first request sent after the kill; a SYN to the address while nobody holds it is retransmitted after 1 s, 2 s, 4 s, as TCP does`
      : `dns-rr: the clients hold both addresses and take the next one per new connection; one refused is retried on the other at once, so a dead balancer costs what it held in flight and a refused connect for half the new connections`;
  blocks.push({ kind: 'note', text: `${how} · client errors: responses that failed from the kill to the next one, about what the killed balancer held (sent after: requests sent after the kill on a kept-alive connection the client had not yet seen closed)` });
  return { id: 'balancers', title: 'Balancers', subtitle: `two, ${ha.mode}${ha.mode === 'active-passive' ? ` on ${ha.addresses[0]}:${ha.port}` : ` on ${ha.balancers.map((b) => b.address).join(' and ')}, port ${ha.port}`}`, blocks };
}

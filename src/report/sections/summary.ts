import { formatRateLimit } from '../../balancer/rate-limit.js';
import { formatSticky } from '../../balancer/sticky/sticky-sessions.js';
import type { RunRecord } from '../../metrics/run-record.js';
import { plain, type Block, type FactsBlock, type Section } from '../blocks.js';
import { formatDuration, formatMs, formatPct, formatRate } from '../format.js';

/** Totals: requests, rate, errors, retries, percentiles, status codes, transport errors, and the balancer's settings in one note. */
export function summarySection(r: RunRecord): Section {
  const t = r.totals;
  const errRate = t.requests > 0 ? t.errors / t.requests : 0;
  const ws = r.webSocketClients;
  // WebSocket clients send no requests: their line says what they held instead (the WebSockets section has the rest).
  const first: FactsBlock['lines'][number] = ws
    ? [
        { label: 'WebSockets', value: plain(`${ws.connects} connects`) },
        { label: 'drops', value: { text: String(ws.drops), tone: ws.drops > 0 ? 'warn' : 'good' } },
        { label: 'echo p99', value: plain(formatMs(ws.echoMs.p99)) },
      ]
    : [
        { label: 'Requests', value: plain(String(t.requests)) },
        { label: 'req/s', value: plain(formatRate(t.rps)) },
        { label: 'errors', value: { text: `${t.errors} (${formatPct(errRate, 2)})`, tone: t.errors > 0 ? 'bad' : 'good' } },
      ];
  if (t.retries?.total) first.push({ label: 'retries', value: plain(`${t.retries.total} (${t.retries.succeeded} answered)`) });
  if (t.clientAborts) first.push({ label: 'client aborts', value: plain(String(t.clientAborts)) });
  if (t.rateLimited !== undefined) first.push({ label: 'rate-limited', value: plain(`${t.rateLimited} (429)`) });
  const scheduled = t.uncorrectedLatencyMs ? '  (from the scheduled send)' : '';
  // p99.99 of `lblab load` when it means something: below 10 000 requests it is the max.
  const lines: FactsBlock['lines'] = [
    first,
    ...(ws ? [] : [[{ label: 'Latency', value: plain(`p50 ${formatMs(t.latencyMs.p50)}  p90 ${formatMs(t.latencyMs.p90)}  p99 ${formatMs(t.latencyMs.p99)}  p99.9 ${formatMs(t.latencyMs.p999)}${t.latencyMs.p9999 !== undefined && r.config.command === 'load' && t.requests >= 10_000 ? `  p99.99 ${formatMs(t.latencyMs.p9999)}` : ''}  max ${formatMs(t.latencyMs.max)}${scheduled}`) }]]),
  ];
  const floor = r.generatorFloor;
  if (floor) {
    lines.push([
      {
        label: 'Generator floor',
        value: plain(`p50 ${floor.p50Us}µs  p99 ${floor.p99Us}µs against a zero-latency target (${floor.requests} requests one at a time before the run): a latency near it is lblab's own, not the server's`),
      },
    ]);
  }
  const u = t.uncorrectedLatencyMs;
  if (u) {
    const open: FactsBlock['lines'][number] = [
      { label: 'Uncorrected', value: plain(`p50 ${formatMs(u.p50)}  p99 ${formatMs(u.p99)}  max ${formatMs(u.max)}`) },
      { label: 'late sends', value: { text: String(t.lateSends ?? 0), ...(t.lateSends ? { tone: 'warn' as const } : {}) } },
    ];
    if (t.waitedForSlot) open.push({ label: 'waited for a slot', value: plain(String(t.waitedForSlot)) });
    if (t.unsent) open.push({ label: 'never sent', value: { text: String(t.unsent), tone: 'warn' } });
    lines.push(open);
    if (t.warmUpRequests) lines.push([{ label: 'Warm-up', value: plain(`${t.warmUpRequests} requests before the schedule started, counted in none of the figures: connections opened, code compiled`) }]);
  }
  const codes = Object.entries(t.statusCodes);
  if (codes.length > 0) lines.push([{ label: 'Status', value: plain(codes.map(([k, v]) => `${k}: ${v}`).join('  ')) }]);
  const kinds = Object.entries(t.errorKinds);
  if (kinds.length > 0) lines.push([{ label: 'Transport errors', value: plain(kinds.map(([k, v]) => `${k}: ${v}`).join('  ')) }]);
  if (t.tls) lines.push([{ label: 'TLS', value: plain(tlsWords(r)) }]);
  if (t.http2) lines.push([{ label: 'HTTP/2', value: plain(http2Words(t.http2)) }]);
  if (r.clients) lines.push(...clientsFacts(r.clients));
  const blocks: Block[] = [{ kind: 'facts', lines }];
  if (r.config.routes) blocks.push(...routeBlocks(r.config.routes));
  const p = r.config.proxy;
  if (p) {
    const retries = p.retries === 0 ? 'no retries' : `${p.retries} ${p.retries === 1 ? 'retry' : 'retries'} on ${p.retryOn.join(',') || 'nothing'}${p.retryNonIdempotent ? ' (non-idempotent too)' : ''}`;
    // At L4 there is no response to time: only the connect is bounded.
    const parts = [retries, `timeouts connect ${formatDuration(p.connectTimeoutMs)}${r.config.mode === 'tcp' ? '' : `, response ${formatDuration(p.responseTimeoutMs)}`}`];
    if (p.outlier?.mode === 'nginx') parts.push(`max_fails ${p.outlier.maxFails} fail_timeout ${formatDuration(p.outlier.failTimeoutMs)}`);
    if (p.outlier?.mode === 'envoy') parts.push(`ejection after ${p.outlier.consecutive} failures in a row, ${formatDuration(p.outlier.baseEjectionMs)} × n, ≤${p.outlier.maxEjectionPercent}%`);
    if (p.breaker) parts.push(`breaker ${p.breaker.failures} failures, cool-down ${formatDuration(p.breaker.cooldownMs)}`);
    if (p.backups) parts.push(`backup ${p.backups.join(',')}`);
    if (p.slowStartMs) parts.push(`slow start ${formatDuration(p.slowStartMs)}`);
    if (p.panicThreshold) parts.push(`panic below ${p.panicThreshold}%`);
    if (p.onMarkedDown) parts.push(`on-marked-down ${p.onMarkedDown} (a DOWN cuts what the backend holds)`);
    if (p.sticky) parts.push(`sticky ${formatSticky(p.sticky)}${p.sticky.mode === 'cookie' ? ' (insert indirect nocache)' : ` (stick table of ${p.sticky.size})`}`);
    if (p.rateLimit) parts.push(`rate limit ${formatRateLimit(p.rateLimit)} per client IP`);
    const engine = r.config.engine ? ` (a real ${r.config.engine === 'haproxy' ? 'HAProxy' : 'nginx'}, --engine ${r.config.engine})` : '';
    blocks.push({ kind: 'note', text: `Balancer${engine}: ${parts.join(' · ')}` });
  }
  const h = r.config.health;
  if (h && r.config.engine === 'nginx') {
    const passive = p?.outlier?.mode === 'nginx' ? `max_fails ${p.outlier.maxFails} fail_timeout ${formatDuration(p.outlier.failTimeoutMs)}` : 'max_fails 1 fail_timeout 10s, its defaults';
    blocks.push({ kind: 'note', text: `Health checks: none (nginx OSS has no active checks; it skips a backend after failed tries: ${passive})` });
  } else if (h) {
    const every = h.fastinterMs !== undefined && h.fastinterMs !== h.intervalMs ? `every ${formatDuration(h.intervalMs)} (fastinter ${formatDuration(h.fastinterMs)})` : `every ${formatDuration(h.intervalMs)}`;
    const what = h.mode === 'tcp' ? 'TCP connect' : `GET ${h.path}`;
    blocks.push({ kind: 'note', text: `Health checks: ${what} ${every}, timeout ${formatDuration(h.timeoutMs)}, rise ${h.rise}, fall ${h.fall}` });
  }
  return { id: 'summary', title: 'Summary', lead: true, blocks };
}

/**
 * TLS handshakes at the balancer, requests per handshake (a keep-alive
 * connection pays once), their time p50/p99/max from TCP accept to secure
 * connection (waiting for the balancer's CPU included, as a client feels
 * it), failed ones; plain HTTP has no handshake to pay.
 */
function tlsWords(r: RunRecord): string {
  const t = r.totals.tls!;
  const per = t.handshakes > 0 && r.totals.requests > 0 ? ` (1 per ${formatRate(r.totals.requests / t.handshakes)} requests)` : '';
  const times = t.handshakes > 0 ? `, p50 ${formatMs(t.handshakeMs.p50)}, p99 ${formatMs(t.handshakeMs.p99)}, max ${formatMs(t.handshakeMs.max)}` : '';
  const failed = t.failed > 0 ? `, ${t.failed} failed` : '';
  return `${t.handshakes} handshake${t.handshakes === 1 ? '' : 's'}${per}${times}${failed}; plain HTTP: none`;
}

/**
 * `1 connection carried 3 000 streams (64 at once at most), each balanced
 * on its own`: what HTTP/2 multiplexing put on the balancer's client side.
 */
function http2Words(h: NonNullable<RunRecord['totals']['http2']>): string {
  if (h.connections === 0) return 'no client spoke it (every request came over HTTP/1.1)';
  const conns = `${h.connections} connection${h.connections === 1 ? '' : 's'}`;
  return `${conns} carried ${h.streams} stream${h.streams === 1 ? '' : 's'} (${h.maxConcurrentStreams} at once at most on one), each balanced on its own`;
}

/** `Clients 50 · met 1 backend: 48, 2 backends: 2 · stickiness 96.0%`: how many backends the virtual clients met. */
function clientsFacts(cl: NonNullable<RunRecord['clients']>): FactsBlock['lines'] {
  const touched = Object.entries(cl.touched)
    .sort((a, b) => Number(a[0]) - Number(b[0]))
    .map(([n, count]) => `${n} backend${n === '1' ? '' : 's'}: ${count}`)
    .join(', ');
  return [[{ label: 'Clients', value: plain(`${cl.total} · met ${touched} · stickiness ${formatPct(cl.stickiness)} (served clients that met one backend)`) }]];
}

/** The routes in the order they are tried, each with its pool, backends and the pool's own algorithm; then where unmatched requests go. */
function routeBlocks(routes: NonNullable<RunRecord['config']['routes']>): Block[] {
  const words = (x: (typeof routes)[number]): string => `${x.match} → ${x.pool} (${x.backends.join(',')}${x.algo ? ` ${x.algo}` : ''})`;
  const plainRoutes = routes.filter((x) => x.match !== 'default');
  const fallback = routes.find((x) => x.match === 'default');
  const fallbackWords = fallback ? words(fallback).slice(`${fallback.match} → `.length) : '404 (no default pool)';
  return [
    {
      kind: 'list',
      items: [{ line: [{ text: 'Routes', tone: 'strong' }, { text: ` (first match wins) ${plainRoutes.map(words).join(' · ')}` }], sub: [[{ text: `no match → ${fallbackWords}` }]] }],
    },
  ];
}

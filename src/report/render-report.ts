import { Chalk, type ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import { deriveDetections, type BackendRecord, type Detection, type RunEvent, type RunRecord } from '../metrics/run-record.js';
import { formatRateLimit } from '../balancer/rate-limit.js';
import { formatSticky } from '../balancer/sticky/sticky-sessions.js';
import { renderVerdict } from './render-verdict.js';
import { formatAt, formatDuration, formatMs, formatPct, formatRate } from './format.js';
import { connectionLines } from './connections-section.js';

/** Options of {@link renderReport}. `color`: force colour on or off; default follows chalk's detection (NO_COLOR / FORCE_COLOR / TTY). */
export type ReportOptions = { color?: boolean };

const SPARK = '▁▂▃▄▅▆▇█';

/**
 * Renders a run record as the end-of-run metrics report: a header, totals,
 * routes and TLS handshakes when configured, the per-backend table (grouped
 * by pool with routes; requests, share vs expected, errors,
 * p50/p90/p99/max, final state, time down, health state changes), the
 * balancer's tries (served, retried, lost) and active check results per
 * backend, the failures (each fault, what noticed it and after how long,
 * what it cost), each algorithm period when the run switched algorithm or
 * weights, the overall latency histogram, per-backend req/s sparklines, the
 * event log, the dip in req/s and errors around each fault, and the lab's
 * verdict when the run was a lab (`record.lab`). A pure function
 * of the record (cli-table3 + chalk), so `lblab report run.json` prints it
 * again exactly.
 */
export function renderReport(record: RunRecord, options: ReportOptions = {}): string {
  const c: ChalkInstance = options.color === undefined ? new Chalk() : new Chalk({ level: options.color ? 1 : 0 });
  const out: string[] = [];
  out.push(c.bold(headerLine(record)));
  out.push('');
  out.push(totalsLines(record, c).join('\n'));
  // `balance --mode tcp` counts no requests: its connections table says everything.
  if (record.backends.length > 0 && !(record.config.mode === 'tcp' && record.config.command === 'balance')) {
    out.push('');
    out.push(backendTable(record, c));
  }
  const connections = connectionLines(record, c);
  if (connections.length > 0) out.push('', ...connections);
  if (record.clients) {
    out.push('');
    out.push(clientsLine(record.clients, c));
  }
  if (record.backends.some((b) => b.tries || b.checks)) {
    out.push('');
    out.push(c.bold('Tries and checks') + c.dim(' (at the balancer)'));
    out.push(triesTable(record, c));
  }
  const failures = failureLines(record, c);
  if (failures.length > 0) {
    out.push('');
    out.push(c.bold('Failures') + c.dim(' (each fault, what noticed it and after how long)'));
    out.push(...failures);
  }
  if (record.periods && record.periods.length > 1) {
    out.push('');
    out.push(c.bold('Algorithm periods') + c.dim(' (a new one at each algorithm, weight or membership change)'));
    out.push(periodTable(record, c));
  }
  const hist = histogramLines(record, c);
  if (hist.length > 0) {
    out.push('');
    out.push(c.bold('Latency'));
    out.push(...hist);
  }
  const sparks = sparklineLines(record);
  if (sparks.length > 0) {
    out.push('');
    out.push(c.bold('Requests per second') + c.dim(` (one cell per second, ${record.timeline.length}s)`));
    out.push(...sparks);
  }
  const events = eventLines(record, c);
  if (events.length > 0) {
    out.push('');
    out.push(c.bold('Events'));
    out.push(...events);
  }
  const dips = dipLines(record, c);
  if (dips.length > 0) {
    out.push('');
    out.push(c.bold('Around each fault') + c.dim(' (per second from 3s before to 5s after; column 0 is the second it fell in)'));
    out.push(...dips);
  }
  if (record.lab) {
    out.push('');
    out.push(renderVerdict(record.lab, options).trimEnd());
  }
  return out.join('\n') + '\n';
}

/** `Clients 50 · met 1 backend: 48, 2 backends: 2 · stickiness 96.0%`: how many backends the virtual clients met. */
function clientsLine(cl: NonNullable<RunRecord['clients']>, c: ChalkInstance): string {
  const touched = Object.entries(cl.touched)
    .sort((a, b) => Number(a[0]) - Number(b[0]))
    .map(([n, count]) => `${n} backend${n === '1' ? '' : 's'}: ${count}`)
    .join(', ');
  return `${c.bold('Clients')} ${cl.total} · met ${touched} · ${c.bold('stickiness')} ${formatPct(cl.stickiness)} ${c.dim('(served clients that met one backend)')}`;
}

function headerLine(r: RunRecord): string {
  const parts = [`lblab ${r.config.command}`];
  if (r.config.mode === 'tcp') parts.push('tcp (L4)');
  if (r.config.algo) {
    const weighted = r.config.weights?.some((w) => w !== 1);
    parts.push(weighted ? `${r.config.algo} (weights ${r.config.weights!.join(',')})` : r.config.algo);
  }
  if (r.config.target) parts.push(r.config.target);
  if (r.config.routes) parts.push(`${new Set(r.config.routes.map((x) => x.pool)).size} pools`);
  if (r.config.tls) parts.push('TLS');
  if (r.config.concurrency) parts.push(`concurrency ${r.config.concurrency}`);
  if (r.config.rate) parts.push(`rate ${formatRate(r.config.rate)} req/s`);
  parts.push(formatDuration(r.durationMs));
  return parts.join(' · ');
}

function totalsLines(r: RunRecord, c: ChalkInstance): string[] {
  const t = r.totals;
  const errRate = t.requests > 0 ? t.errors / t.requests : 0;
  const lines = [
    `${c.bold('Requests')} ${t.requests}  ${c.bold('req/s')} ${formatRate(t.rps)}  ${c.bold('errors')} ${(t.errors > 0 ? c.red : c.green)(`${t.errors} (${formatPct(errRate, 2)})`)}` +
      (t.retries?.total ? `  ${c.bold('retries')} ${t.retries.total} (${t.retries.succeeded} answered)` : '') +
      (t.clientAborts ? `  ${c.bold('client aborts')} ${t.clientAborts}` : '') +
      (t.rateLimited !== undefined ? `  ${c.bold('rate-limited')} ${t.rateLimited} (429)` : ''),
    `${c.bold('Latency')} p50 ${formatMs(t.latencyMs.p50)}  p90 ${formatMs(t.latencyMs.p90)}  p99 ${formatMs(t.latencyMs.p99)}  p99.9 ${formatMs(t.latencyMs.p999)}  max ${formatMs(t.latencyMs.max)}` +
      (t.uncorrectedLatencyMs ? c.dim('  (from the scheduled send)') : ''),
  ];
  const u = t.uncorrectedLatencyMs;
  if (u) {
    lines.push(
      `${c.bold('Uncorrected')} p50 ${formatMs(u.p50)}  p99 ${formatMs(u.p99)}  max ${formatMs(u.max)}  ${c.bold('late sends')} ${(t.lateSends ? c.yellow : (s: string) => s)(String(t.lateSends ?? 0))}` +
        (t.waitedForSlot ? `  waited for a slot ${t.waitedForSlot}` : '') +
        (t.unsent ? `  ${c.yellow(`never sent ${t.unsent}`)}` : ''),
    );
  }
  const codes = Object.entries(t.statusCodes);
  if (codes.length > 0) lines.push(`${c.bold('Status')} ${codes.map(([k, v]) => `${k}: ${v}`).join('  ')}`);
  const kinds = Object.entries(t.errorKinds);
  if (kinds.length > 0) lines.push(`${c.bold('Transport errors')} ${kinds.map(([k, v]) => `${k}: ${v}`).join('  ')}`);
  if (t.tls) lines.push(tlsLine(r, c));
  if (r.config.routes) lines.push(...routeLines(r, c));
  const p = r.config.proxy;
  if (p) {
    const retries = p.retries === 0 ? 'no retries' : `${p.retries} ${p.retries === 1 ? 'retry' : 'retries'} on ${p.retryOn.join(',') || 'nothing'}${p.retryNonIdempotent ? ' (non-idempotent too)' : ''}`;
    // At L4 there is no response to time: only the connect is bounded.
    const timeouts = `timeouts connect ${formatDuration(p.connectTimeoutMs)}${r.config.mode === 'tcp' ? '' : `, response ${formatDuration(p.responseTimeoutMs)}`}`;
    const parts = [retries, timeouts];
    if (p.outlier?.mode === 'nginx') parts.push(`max_fails ${p.outlier.maxFails} fail_timeout ${formatDuration(p.outlier.failTimeoutMs)}`);
    if (p.outlier?.mode === 'envoy') parts.push(`ejection after ${p.outlier.consecutive} failures in a row, ${formatDuration(p.outlier.baseEjectionMs)} × n, ≤${p.outlier.maxEjectionPercent}%`);
    if (p.breaker) parts.push(`breaker ${p.breaker.failures} failures, cool-down ${formatDuration(p.breaker.cooldownMs)}`);
    if (p.backups) parts.push(`backup ${p.backups.join(',')}`);
    if (p.slowStartMs) parts.push(`slow start ${formatDuration(p.slowStartMs)}`);
    if (p.panicThreshold) parts.push(`panic below ${p.panicThreshold}%`);
    if (p.sticky) parts.push(`sticky ${formatSticky(p.sticky)}${p.sticky.mode === 'cookie' ? ' (insert indirect nocache)' : ` (stick table of ${p.sticky.size})`}`);
    if (p.rateLimit) parts.push(`rate limit ${formatRateLimit(p.rateLimit)} per client IP`);
    // Greedy lines of at most 100 columns, parts kept whole.
    const wrapped: string[] = [];
    for (const part of parts) {
      const last = wrapped.length - 1;
      if (last >= 0 && wrapped[last]!.length + 3 + part.length <= 100) wrapped[last] += ` · ${part}`;
      else wrapped.push(last < 0 ? `Balancer: ${part}` : `  ${part}`);
    }
    lines.push(...wrapped.map((l) => c.dim(l)));
  }
  return lines;
}

/**
 * The TLS line: handshakes at the balancer, requests per handshake (a
 * keep-alive connection pays once), their time p50/p99/max from TCP accept
 * to secure connection (waiting for the balancer's CPU included, as a
 * client feels it), failed ones; plain HTTP has no handshake to pay.
 */
function tlsLine(r: RunRecord, c: ChalkInstance): string {
  const t = r.totals.tls!;
  const per = t.handshakes > 0 && r.totals.requests > 0 ? ` (1 per ${formatRate(r.totals.requests / t.handshakes)} requests)` : '';
  const times = t.handshakes > 0 ? `, p50 ${formatMs(t.handshakeMs.p50)}, p99 ${formatMs(t.handshakeMs.p99)}, max ${formatMs(t.handshakeMs.max)}` : '';
  const failed = t.failed > 0 ? `, ${c.red(`${t.failed} failed`)}` : '';
  return `${c.bold('TLS')} ${t.handshakes} handshake${t.handshakes === 1 ? '' : 's'}${per}${times}${failed}${c.dim('; plain HTTP: none')}`;
}

/** The routes in the order they are tried, each with its pool, backends and the pool's own algorithm; then where unmatched requests go. */
function routeLines(r: RunRecord, c: ChalkInstance): string[] {
  const routes = r.config.routes!;
  const words = (x: (typeof routes)[number]): string => `${x.match} → ${x.pool} (${x.backends.join(',')}${x.algo ? ` ${x.algo}` : ''})`;
  const plain = routes.filter((x) => x.match !== 'default');
  const fallback = routes.find((x) => x.match === 'default');
  return [
    `${c.bold('Routes')} ${c.dim('(first match wins)')} ${plain.map(words).join(' · ')}`,
    `  ${c.dim('no match →')} ${fallback ? `${fallback.pool} (${fallback.backends.join(',')}${fallback.algo ? ` ${fallback.algo}` : ''})` : '404 (no default pool)'}`,
  ];
}

function backendTable(r: RunRecord, c: ChalkInstance): string {
  const pooled = r.backends.some((b) => b.pool !== undefined);
  const table = new Table(
    borderless(
      c,
      [...(pooled ? ['pool'] : []), 'backend', 'wght', 'served', 'share/exp', 'errors', 'failed', 'p50', 'p90', 'p99', 'max', 'state', 'down', 'chg'],
      [...(pooled ? ['left' as const] : []), 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left', 'right', 'right'],
    ),
  );
  // With routes, backends grouped by pool (in the order pools first appear); the pool named on its first row.
  const pools = [...new Set(r.backends.map((b) => b.pool ?? ''))];
  const rows = pooled ? pools.flatMap((p) => r.backends.filter((b) => (b.pool ?? '') === p)) : r.backends;
  rows.forEach((b, i) => {
    const off = b.expectedShare > 0 ? b.share - b.expectedShare : 0;
    const share = formatPct(b.share);
    table.push([
      ...(pooled ? [b.pool === rows[i - 1]?.pool ? '' : (b.pool ?? '-')] : []),
      b.name,
      String(b.weight),
      String(b.requests),
      `${b.expectedShare > 0 && Math.abs(off) > 0.05 ? c.yellow(share) : share}/${b.expectedShare > 0 ? formatPct(b.expectedShare) : '-'}`,
      b.errors > 0 ? c.red(String(b.errors)) : '0',
      b.failedTries === undefined ? '-' : b.failedTries > 0 ? c.yellow(String(b.failedTries)) : '0',
      formatMs(b.latencyMs.p50),
      formatMs(b.latencyMs.p90),
      formatMs(b.latencyMs.p99),
      formatMs(b.latencyMs.max),
      b.removed ? c.dim('REMOVED') : b.health.state === 'up' ? c.green('UP') : c.red('DOWN'),
      b.health.downMs > 0 ? formatDuration(b.health.downMs) : '-',
      String(b.health.transitions.length),
    ]);
  });
  const exp = pooled ? '\nexp: its share within its pool × the pool\'s part of the requests' : '';
  return table.toString() + '\n' + c.dim(`failed: tries refused, reset, timed out or answered with a retried status\ndown: time DOWN · chg: health changes · latency ${r.config.command === 'balance' ? 'balancer' : 'client'}-side${exp}`);
}

/** Options of a borderless cli-table3 table, columns two spaces apart. */
function borderless(c: ChalkInstance, head: string[], colAligns: Array<'left' | 'right'>): ConstructorParameters<typeof Table>[0] {
  return {
    head,
    style: { head: c.level > 0 ? ['cyan'] : [], border: [], 'padding-left': 0, 'padding-right': 0 },
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
    },
    colAligns,
  };
}

/**
 * One row per algorithm period: when, algorithm (and weights when they
 * matter), req/s, p50/p99, errors and the largest gap between a backend's
 * share and its expected share; then each backend's share/expected per
 * period, seven backends to a table so it stays within 100 columns.
 */
function periodTable(r: RunRecord, c: ChalkInstance): string {
  const periods = r.periods ?? [];
  const when = (p: (typeof periods)[number]): string => `${formatAt(p.fromMs)}–${formatAt(p.toMs)}`;
  const table = new Table(borderless(c, ['period', 'algorithm', 'req/s', 'p50', 'p99', 'errors', 'max dev'], ['left', 'left', 'right', 'right', 'right', 'right', 'right']));
  for (const p of periods) {
    const weighted = p.weights.some((w) => w !== 1);
    const dev = Math.max(0, ...p.backends.filter((b) => b.expectedShare > 0).map((b) => Math.abs(b.share - b.expectedShare)));
    table.push([
      when(p),
      weighted ? `${p.algo} (${p.weights.join(',')})` : p.algo,
      formatRate(p.rps),
      formatMs(p.latencyMs.p50),
      formatMs(p.latencyMs.p99),
      p.errors > 0 ? c.red(String(p.errors)) : '0',
      p.requests > 0 ? (dev > 0.05 ? c.yellow(formatPct(dev)) : formatPct(dev)) : '-',
    ]);
  }
  const out = [table.toString(), '', c.dim('share/expected per period (%; - = not in the upstream)')];
  const names = r.backends.map((b) => b.name);
  for (let i = 0; i < names.length; i += 7) {
    const chunk = names.slice(i, i + 7);
    const shares = new Table(borderless(c, ['period', ...chunk], ['left', ...chunk.map(() => 'right' as const)]));
    for (const p of periods) {
      shares.push([
        when(p),
        ...chunk.map((name) => {
          const b = p.backends.find((x) => x.name === name);
          if (!b) return '-';
          const cell = b.expectedShare > 0 ? `${pct(b.share)}/${pct(b.expectedShare)}` : `${pct(b.share)}/-`;
          return b.expectedShare > 0 && Math.abs(b.share - b.expectedShare) > 0.05 ? c.yellow(cell) : cell;
        }),
      ]);
    }
    out.push(shares.toString());
  }
  return out.join('\n');
}

/** A share 0..1 as a bare percentage with one decimal: `33.3`. */
function pct(share: number): string {
  return (share * 100).toFixed(1);
}

function histogramLines(r: RunRecord, c: ChalkInstance): string[] {
  const { edgesMs, counts } = r.totals.latencyBuckets;
  const first = counts.findIndex((n) => n > 0);
  if (first < 0) return [];
  let last = counts.length - 1;
  while (counts[last] === 0) last--;
  const max = Math.max(...counts);
  const total = counts.reduce((a, b) => a + b, 0);
  const lines: string[] = [];
  for (let i = first; i <= last; i++) {
    const label = i < edgesMs.length ? `≤${edgesMs[i]}ms` : `>${edgesMs[edgesMs.length - 1]}ms`;
    const n = counts[i]!;
    const width = Math.round((n / max) * 40);
    lines.push(`${label.padStart(9)} ${c.cyan('█'.repeat(width))}${' '.repeat(40 - width)} ${String(n).padStart(8)} ${formatPct(n / total).padStart(6)}`);
  }
  return lines;
}

function sparklineLines(r: RunRecord): string[] {
  if (r.timeline.length === 0 || r.backends.length === 0) return [];
  const width = Math.max(...r.backends.map((b) => b.name.length));
  const points = r.timeline.slice(-60);
  return r.backends.map((b) => {
    const series = points.map((p) => p.perBackend[b.name] ?? 0);
    const max = Math.max(1, ...series);
    const line = series.map((v) => (v === 0 ? ' ' : SPARK[Math.min(7, Math.floor((v / max) * 7.999))])).join('');
    return `${b.name.padEnd(width)} ${line} peak ${max}/s`;
  });
}

function eventLines(r: RunRecord, c: ChalkInstance): string[] {
  const all: RunEvent[] = [...r.events];
  for (const b of r.backends) {
    for (const t of b.health.transitions) {
      if (!all.some((e) => e.type === t.to && e.target === b.name && Math.abs(e.atMs - t.atMs) < 1)) {
        all.push({ atMs: t.atMs, type: t.to, target: b.name, detail: t.reason });
      }
    }
  }
  all.sort((a, b) => a.atMs - b.atMs);
  return all.map((e) => {
    const type = e.type === 'down' || e.type === 'kill' || e.type === 'exit' || e.type === 'error' ? c.red(e.type) : e.type === 'up' ? c.green(e.type) : e.type;
    return `${formatAt(e.atMs).padStart(8)}  ${type}${e.target ? ` ${e.target}` : ''}${e.detail ? c.dim(`  ${e.detail}`) : ''}`;
  });
}

/**
 * Per backend: what became of the balancer's tries (served below 500,
 * retried on another backend, lost: the client saw the failure) and its
 * active check results by HAProxy's name ("L7OK 5, L4CON 3").
 */
function triesTable(r: RunRecord, c: ChalkInstance): string {
  const table = new Table(borderless(c, ['backend', 'served', 'retried', 'lost', 'checks'], ['left', 'right', 'right', 'right', 'left']));
  for (const b of r.backends) {
    const t = b.tries;
    table.push([
      b.name,
      t ? String(t.served) : '-',
      t ? (t.retried > 0 ? c.yellow(String(t.retried)) : '0') : '-',
      t ? (t.lost > 0 ? c.red(String(t.lost)) : '0') : '-',
      checkWords(b.checks) || '-',
    ]);
  }
  const rows = table.toString().split('\n').map((l) => l.trimEnd());
  return rows.join('\n') + '\n' + c.dim('retried: failed, then sent to another backend · lost: the failure reached the client');
}

/** Check results by name, passes first: `L7OK 5, L4CON 3`. */
function checkWords(checks: Record<string, number> | undefined): string {
  if (!checks) return '';
  const order = ['L7OK', 'L4OK', 'L7STS', 'L4CON', 'L7TOUT', 'L4TOUT', 'SOCKERR'];
  const rank = (k: string): number => (order.includes(k) ? order.indexOf(k) : order.length);
  return Object.entries(checks)
    .sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

const DETECTED_WORDS: Record<NonNullable<Detection['detectedBy']>, string> = { down: 'DOWN', ejected: 'ejected', 'breaker-open': 'circuit breaker open' };

/**
 * One entry per fault (see `deriveDetections`): "+2.0s kill b2 → DOWN after
 * 2.9s (3 failed checks, last L4CON)", then what it cost: client errors
 * (all backends) in the whole seconds from the fault to its detection, from
 * the time line, and the backend's retried and lost tries — over the run,
 * as the record counts tries per backend, not per second. A record without
 * `detections` (older runs) has them derived from its events.
 */
function failureLines(r: RunRecord, c: ChalkInstance): string[] {
  const items: Array<{ b: BackendRecord; d: Detection }> = [];
  // Records written before detections existed: derive them from the same events.
  for (const b of r.backends) for (const d of b.detections ?? deriveDetections(b.name, r.events, b.health.transitions)) items.push({ b, d });
  items.sort((x, y) => x.d.atMs - y.d.atMs);
  const lines: string[] = [];
  for (const { b, d } of items) {
    const what = `${formatAt(d.atMs)} ${c.red(d.fault)} ${b.name}`;
    if (d.detectedBy === null || d.afterMs === null) {
      lines.push(`${what} → ${c.yellow('not noticed')} (no DOWN, ejection or open circuit before the end or a recover)`);
    } else {
      lines.push(`${what} → ${c.bold(DETECTED_WORDS[d.detectedBy])} after ${formatDuration(d.afterMs)}${d.reason ? ` (${d.reason})` : ''}`);
    }
    const cost: string[] = [];
    if (d.afterMs !== null && r.timeline.length > 0) {
      const from = Math.floor(d.atMs / 1000);
      const to = Math.min(r.timeline.length - 1, Math.floor((d.atMs + d.afterMs) / 1000));
      let errors = 0;
      for (let s = from; s <= to; s++) errors += r.timeline[s]?.errors ?? 0;
      cost.push(`client errors +${from}s–+${to + 1}s (all backends): ${errors > 0 ? c.red(String(errors)) : '0'}`);
    }
    if (b.tries) cost.push(`${b.name} over the run: retried ${b.tries.retried}, lost ${b.tries.lost}`);
    if (cost.length > 0) lines.push(`  ${cost.join(' · ')}`);
  }
  return lines;
}

/** Events whose effect on traffic the report shows second by second. */
const DIP_EVENTS: ReadonlySet<string> = new Set(['kill', 'exit', 'hang', 'errors', 'reset', 'health-fail', 'degrade', 'remove', 'drain', 'draining']);

/**
 * For each fault-like event, a small table of the seconds from 3 before to
 * 5 after the one it fell in: req/s, client errors and the target backend's
 * responses, from the time line (one point per second).
 */
function dipLines(r: RunRecord, c: ChalkInstance): string[] {
  if (r.timeline.length === 0) return [];
  const lines: string[] = [];
  for (const e of [...r.events].sort((a, b) => a.atMs - b.atMs)) {
    if (!DIP_EVENTS.has(e.type)) continue;
    const at = Math.min(r.timeline.length - 1, Math.floor(e.atMs / 1000));
    const offsets: number[] = [];
    for (let k = -3; k <= 5; k++) if (at + k >= 0 && at + k < r.timeline.length) offsets.push(k);
    const rows: Array<[string, number[]]> = [
      ['req/s', offsets.map((k) => r.timeline[at + k]!.rps)],
      ['errors', offsets.map((k) => r.timeline[at + k]!.errors)],
    ];
    if (e.target && r.backends.some((b) => b.name === e.target)) rows.push([e.target, offsets.map((k) => r.timeline[at + k]!.perBackend[e.target!] ?? 0)]);
    const labelWidth = Math.max(6, ...rows.map(([l]) => l.length));
    const cell = Math.max(5, ...rows.flatMap(([, v]) => v.map((n) => String(n).length + 1)));
    lines.push(`${formatAt(e.atMs)} ${e.type}${e.target ? ` ${e.target}` : ''}`);
    lines.push(c.dim(`  ${'second'.padEnd(labelWidth)}${offsets.map((k) => (k > 0 ? `+${k}` : String(k)).padStart(cell)).join('')}`));
    for (const [label, values] of rows) {
      const cells = values.map((n) => {
        const text = String(n).padStart(cell);
        return label === 'errors' && n > 0 ? c.red(text) : text;
      });
      lines.push(`  ${label.padEnd(labelWidth)}${cells.join('')}`);
    }
  }
  return lines;
}

import { faultDefinitions } from '../backend/faults.js';
import { byTime, deriveDetections, unloggedTransitions, type BackendRecord, type Detection, type LabVerdict, type RunEvent, type RunRecord } from '../metrics/run-record.js';
import { formatRateLimit } from '../balancer/rate-limit.js';
import { formatSticky } from '../balancer/sticky/sticky-sessions.js';
import { connectionsSection } from './connections-section.js';
import { formatAt, formatDuration, formatMs, formatPct, formatRate } from './format.js';

/** How a piece of text should stand out; each renderer maps it to its own means (chalk colour, Markdown bold, a CSS class). */
export type Tone = 'good' | 'bad' | 'warn' | 'dim' | 'strong';

/** A piece of text with an optional tone. Text is raw (never escaped): renderers escape it for their format. */
export type Span = { text: string; tone?: Tone };

/** Column alignment in a {@link TableBlock}. */
export type Align = 'left' | 'right';

/** Label/value pairs, several to a line: `Requests 6000  req/s 1000`. */
export type FactsBlock = { kind: 'facts'; lines: Array<Array<{ label: string; value: Span }>> };

/** A short explanation under a table or chart (dim in the terminal). */
export type NoteBlock = { kind: 'note'; text: string };

/**
 * A table: a head row, an alignment per column, rows of cells. `caption` is
 * a line above it (e.g. which event it is about); `timeLine` marks one whose
 * columns after the first are points in time, drawn equally wide in text so
 * that it reads as a time line.
 */
export type TableBlock = { kind: 'table'; caption?: Span[]; head: string[]; align: Align[]; rows: Span[][]; timeLine?: true };

/** A list of items, each one line of spans and optional indented lines under it. */
export type ListBlock = { kind: 'list'; items: Array<{ line: Span[]; sub: Span[][] }> };

/** The latency histogram: one bar per non-empty stretch of buckets, `share` 0..1 of all requests. */
export type HistogramBlock = { kind: 'histogram'; bars: Array<{ label: string; count: number; share: number }> };

/**
 * An event marked on a time chart. `key` is one character (1-9, a-z, or `+`
 * when they run out), `cell` the cell of the chart it falls in, `atMs` ms
 * since the run started, `label` what happened (`kill b2`).
 */
export type Marker = { key: string; atMs: number; cell: number; label: string };

/**
 * Requests per second per backend over time, one cell per `cellMs` starting
 * at `startMs` (ms since the run started); each value is the mean req/s of
 * its cell. `max` is the largest value of every series (one scale for all,
 * so heights compare across backends); `peak`/`mean` per series in req/s.
 */
export type SeriesBlock = {
  kind: 'series';
  caption?: Span[];
  startMs: number;
  cellMs: number;
  cells: number;
  max: number;
  series: Array<{ name: string; values: number[]; peak: number; mean: number }>;
  markers: Marker[];
};

/**
 * What the balancer made of a backend: `up` taking traffic, `down` failed
 * its active checks, `out` ejected by passive checks or circuit open,
 * `drain` draining (no new requests), `removed` taken out of the upstream.
 */
export type StripState = 'up' | 'down' | 'out' | 'drain' | 'removed';

/** Each {@link StripState} in words, for legends and tooltips. */
export const STATE_WORDS: Record<StripState, string> = { up: 'UP', down: 'DOWN', out: 'ejected or circuit open', drain: 'draining', removed: 'removed' };

/**
 * The health timeline: one strip per backend. `segments` are exact (ms since
 * the run started, `toMs` exclusive); `cells` sample them per `cellMs` (the
 * state at the end of the cell, `changed` when it changed inside the cell);
 * `changes` are the state changes with the event that caused them.
 */
export type HealthBlock = {
  kind: 'health';
  startMs: number;
  cellMs: number;
  cells: number;
  durationMs: number;
  strips: Array<{
    name: string;
    segments: Array<{ fromMs: number; toMs: number; state: StripState }>;
    cells: Array<{ state: StripState; changed: boolean; blind: boolean }>;
    /**
     * When its process was not running (from a kill or exit to the next
     * `started`), ms. A cell is `blind` when the balancer still had it UP at
     * the cell's end although the process was dead in that cell: the time to
     * detect, as the learner sees it.
     */
    dead: Array<{ fromMs: number; toMs: number }>;
    changes: Array<{ atMs: number; from: StripState; to: StripState; reason: string }>;
    /** Time spent in each state other than UP, ms, in the order first entered. */
    away: Array<{ state: StripState; ms: number }>;
  }>;
  markers: Marker[];
};

/** One piece of a section. */
export type Block = FactsBlock | NoteBlock | TableBlock | ListBlock | HistogramBlock | SeriesBlock | HealthBlock;

/**
 * One section of the report. `id` is stable (tests, HTML anchors);
 * `lead` marks the summary that sits right under the title, without a
 * heading in the terminal; `subtitle` says how to read it.
 */
export type Section = { id: string; title: string; subtitle?: string; lead?: boolean; blocks: Block[] };

/**
 * The report as data: what every renderer (text, Markdown, HTML) shows, in
 * order. `verdict` is the lab's verdict, rendered last, when the run was a lab.
 */
export type ReportModel = { title: string; sections: Section[]; verdict?: LabVerdict };

/** Runs longer than this many seconds are drawn with cells of several seconds, so a chart stays within 100 columns. */
export const MAX_CELLS = 60;

/**
 * Builds the report model of a run record: a pure function, one helper per
 * section, each returning undefined when the record has nothing for it. The
 * order is the reading order: summary, backends, tries and checks, algorithm
 * periods, latency, requests per second per backend with the events marked,
 * health per backend, failures, the seconds around each fault, the event log;
 * the lab verdict (when present) comes after all of them.
 */
export function buildReportModel(record: RunRecord): ReportModel {
  const markers = eventMarkers(record);
  const sections = [
    summarySection(record),
    backendsSection(record),
    connectionsSection(record),
    triesSection(record),
    periodsSection(record),
    latencySection(record),
    trafficSection(record, markers),
    healthSection(record, markers),
    failuresSection(record),
    aroundFaultsSection(record),
    eventsSection(record),
  ].filter((s): s is Section => s !== undefined);
  return { title: titleLine(record), sections, ...(record.lab ? { verdict: record.lab } : {}) };
}

function titleLine(r: RunRecord): string {
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

const plain = (text: string): Span => ({ text });

/** Totals: requests, rate, errors, retries, percentiles, status codes, transport errors, and the balancer's settings in one note. */
function summarySection(r: RunRecord): Section {
  const t = r.totals;
  const errRate = t.requests > 0 ? t.errors / t.requests : 0;
  const first: FactsBlock['lines'][number] = [
    { label: 'Requests', value: plain(String(t.requests)) },
    { label: 'req/s', value: plain(formatRate(t.rps)) },
    { label: 'errors', value: { text: `${t.errors} (${formatPct(errRate, 2)})`, tone: t.errors > 0 ? 'bad' : 'good' } },
  ];
  if (t.retries?.total) first.push({ label: 'retries', value: plain(`${t.retries.total} (${t.retries.succeeded} answered)`) });
  if (t.clientAborts) first.push({ label: 'client aborts', value: plain(String(t.clientAborts)) });
  if (t.rateLimited !== undefined) first.push({ label: 'rate-limited', value: plain(`${t.rateLimited} (429)`) });
  const scheduled = t.uncorrectedLatencyMs ? '  (from the scheduled send)' : '';
  const lines: FactsBlock['lines'] = [
    first,
    [{ label: 'Latency', value: plain(`p50 ${formatMs(t.latencyMs.p50)}  p90 ${formatMs(t.latencyMs.p90)}  p99 ${formatMs(t.latencyMs.p99)}  p99.9 ${formatMs(t.latencyMs.p999)}  max ${formatMs(t.latencyMs.max)}${scheduled}`) }],
  ];
  const u = t.uncorrectedLatencyMs;
  if (u) {
    const open: FactsBlock['lines'][number] = [
      { label: 'Uncorrected', value: plain(`p50 ${formatMs(u.p50)}  p99 ${formatMs(u.p99)}  max ${formatMs(u.max)}`) },
      { label: 'late sends', value: { text: String(t.lateSends ?? 0), ...(t.lateSends ? { tone: 'warn' as const } : {}) } },
    ];
    if (t.waitedForSlot) open.push({ label: 'waited for a slot', value: plain(String(t.waitedForSlot)) });
    if (t.unsent) open.push({ label: 'never sent', value: { text: String(t.unsent), tone: 'warn' } });
    lines.push(open);
  }
  const codes = Object.entries(t.statusCodes);
  if (codes.length > 0) lines.push([{ label: 'Status', value: plain(codes.map(([k, v]) => `${k}: ${v}`).join('  ')) }]);
  const kinds = Object.entries(t.errorKinds);
  if (kinds.length > 0) lines.push([{ label: 'Transport errors', value: plain(kinds.map(([k, v]) => `${k}: ${v}`).join('  ')) }]);
  if (t.tls) lines.push([{ label: 'TLS', value: plain(tlsWords(r)) }]);
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
    if (p.sticky) parts.push(`sticky ${formatSticky(p.sticky)}${p.sticky.mode === 'cookie' ? ' (insert indirect nocache)' : ` (stick table of ${p.sticky.size})`}`);
    if (p.rateLimit) parts.push(`rate limit ${formatRateLimit(p.rateLimit)} per client IP`);
    blocks.push({ kind: 'note', text: `Balancer: ${parts.join(' · ')}` });
  }
  const h = r.config.health;
  if (h) {
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

/** The per-backend table: weight, responses, share vs expected, errors, failed tries, latency, final state, time down, health changes. */
function backendsSection(r: RunRecord): Section | undefined {
  // `balance --mode tcp` counts no requests: its connections table says everything.
  if (r.backends.length === 0 || (r.config.mode === 'tcp' && r.config.command === 'balance')) return undefined;
  const pooled = r.backends.some((b) => b.pool !== undefined);
  // With routes, backends grouped by pool (in the order pools first appear), the pool named on its first row.
  const pools = [...new Set(r.backends.map((b) => b.pool ?? ''))];
  const ordered = pooled ? pools.flatMap((p) => r.backends.filter((b) => (b.pool ?? '') === p)) : r.backends;
  const rows = ordered.map((b, i): Span[] => {
    const off = b.expectedShare > 0 ? b.share - b.expectedShare : 0;
    return [
      ...(pooled ? [plain(b.pool === ordered[i - 1]?.pool ? '' : (b.pool ?? '-'))] : []),
      plain(b.name),
      plain(String(b.weight)),
      plain(String(b.requests)),
      { text: `${formatPct(b.share)}/${b.expectedShare > 0 ? formatPct(b.expectedShare) : '-'}`, ...(b.expectedShare > 0 && Math.abs(off) > 0.05 ? { tone: 'warn' as const } : {}) },
      b.errors > 0 ? { text: String(b.errors), tone: 'bad' } : plain('0'),
      b.failedTries === undefined ? plain('-') : b.failedTries > 0 ? { text: String(b.failedTries), tone: 'warn' } : plain('0'),
      plain(formatMs(b.latencyMs.p50)),
      plain(formatMs(b.latencyMs.p90)),
      plain(formatMs(b.latencyMs.p99)),
      plain(formatMs(b.latencyMs.max)),
      finalState(b),
      plain(b.health.downMs > 0 ? formatDuration(b.health.downMs) : '-'),
      plain(String(b.health.transitions.length)),
    ];
  });
  return {
    id: 'backends',
    title: 'Backends',
    blocks: [
      {
        kind: 'table',
        head: [...(pooled ? ['pool'] : []), 'backend', 'wght', 'served', 'share/exp', 'errors', 'failed', 'p50', 'p90', 'p99', 'max', 'state', 'down', 'chg'],
        align: [...(pooled ? ['left' as const] : []), 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left', 'right', 'right'],
        rows,
      },
      { kind: 'note', text: 'failed: tries refused, reset, timed out or answered with a retried status' },
      { kind: 'note', text: `down: time DOWN · chg: health changes · latency ${r.config.command === 'balance' ? 'balancer' : 'client'}-side` },
      ...(pooled ? [{ kind: 'note' as const, text: "exp: its share within its pool × the pool's part of the requests" }] : []),
    ],
  };
}

function finalState(b: BackendRecord): Span {
  if (b.removed) return { text: 'REMOVED', tone: 'warn' };
  return b.health.state === 'up' ? { text: 'UP', tone: 'good' } : { text: 'DOWN', tone: 'bad' };
}

/** Per backend: the balancer's tries (served, retried elsewhere, lost) and active check results by HAProxy's name. */
function triesSection(r: RunRecord): Section | undefined {
  if (!r.backends.some((b) => b.tries || b.checks)) return undefined;
  const rows = r.backends.map((b): Span[] => {
    const t = b.tries;
    return [
      plain(b.name),
      plain(t ? String(t.served) : '-'),
      t ? (t.retried > 0 ? { text: String(t.retried), tone: 'warn' } : plain('0')) : plain('-'),
      t ? (t.lost > 0 ? { text: String(t.lost), tone: 'bad' } : plain('0')) : plain('-'),
      plain(checkWords(b.checks) || '-'),
    ];
  });
  return {
    id: 'tries',
    title: 'Tries and checks',
    subtitle: 'at the balancer',
    blocks: [
      { kind: 'table', head: ['backend', 'served', 'retried', 'lost', 'checks'], align: ['left', 'right', 'right', 'right', 'left'], rows },
      { kind: 'note', text: 'retried: failed, then sent to another backend · lost: the failure reached the client' },
    ],
  };
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

/**
 * One row per algorithm period (when, algorithm and weights, req/s, p50/p99,
 * errors, largest share deviation), then each backend's share/expected per
 * period, seven backends to a table so it stays within 100 columns. Only when
 * the run switched algorithm, weights or membership.
 */
function periodsSection(r: RunRecord): Section | undefined {
  const periods = r.periods ?? [];
  if (periods.length <= 1) return undefined;
  const when = (p: (typeof periods)[number]): Span => plain(`${formatAt(p.fromMs)}–${formatAt(p.toMs)}`);
  const rows = periods.map((p): Span[] => {
    const weighted = p.weights.some((w) => w !== 1);
    const dev = Math.max(0, ...p.backends.filter((b) => b.expectedShare > 0).map((b) => Math.abs(b.share - b.expectedShare)));
    return [
      when(p),
      plain(weighted ? `${p.algo} (${p.weights.join(',')})` : p.algo),
      plain(formatRate(p.rps)),
      plain(formatMs(p.latencyMs.p50)),
      plain(formatMs(p.latencyMs.p99)),
      p.errors > 0 ? { text: String(p.errors), tone: 'bad' } : plain('0'),
      p.requests > 0 ? { text: formatPct(dev), ...(dev > 0.05 ? { tone: 'warn' as const } : {}) } : plain('-'),
    ];
  });
  const blocks: Block[] = [
    { kind: 'table', head: ['period', 'algorithm', 'req/s', 'p50', 'p99', 'errors', 'max dev'], align: ['left', 'left', 'right', 'right', 'right', 'right', 'right'], rows },
  ];
  const names = r.backends.map((b) => b.name);
  for (let i = 0; i < names.length; i += 7) {
    const chunk = names.slice(i, i + 7);
    blocks.push({
      kind: 'table',
      caption: [{ text: 'share/expected per period (%; - = not in the upstream)', tone: 'dim' }],
      head: ['period', ...chunk],
      align: ['left', ...chunk.map(() => 'right' as const)],
      rows: periods.map((p) => [
        when(p),
        ...chunk.map((name): Span => {
          const b = p.backends.find((x) => x.name === name);
          if (!b) return plain('-');
          const text = b.expectedShare > 0 ? `${pct(b.share)}/${pct(b.expectedShare)}` : `${pct(b.share)}/-`;
          return b.expectedShare > 0 && Math.abs(b.share - b.expectedShare) > 0.05 ? { text, tone: 'warn' } : plain(text);
        }),
      ]),
    });
  }
  return { id: 'periods', title: 'Algorithm periods', subtitle: 'a new one at each algorithm, weight or membership change', blocks };
}

/** A share 0..1 as a bare percentage with one decimal: `33.3`. */
function pct(share: number): string {
  return (share * 100).toFixed(1);
}

/** The overall latency histogram from the record's buckets, empty buckets at either end left out. */
function latencySection(r: RunRecord): Section | undefined {
  const { edgesMs, counts } = r.totals.latencyBuckets;
  const first = counts.findIndex((n) => n > 0);
  if (first < 0) return undefined;
  let last = counts.length - 1;
  while (counts[last] === 0) last--;
  const total = counts.reduce((a, b) => a + b, 0);
  const bars: HistogramBlock['bars'] = [];
  for (let i = first; i <= last; i++) {
    const label = i < edgesMs.length ? `≤${edgesMs[i]}ms` : `>${edgesMs[edgesMs.length - 1]}ms`;
    const count = counts[i]!;
    bars.push({ label, count, share: count / total });
  }
  return { id: 'latency', title: 'Latency', subtitle: 'requests per latency bucket, all backends', blocks: [{ kind: 'histogram', bars }] };
}

/**
 * Events a learner or a lab caused (kill, restart, faults, drain, weight,
 * algorithm, load changes), as opposed to the balancer's reactions to them
 * (DOWN/UP, ejections, breaker changes), which the health timeline shows.
 */
const REACTIONS: ReadonlySet<string> = new Set([
  'up',
  'down',
  'started',
  'ejected',
  'readmitted',
  'breaker-open',
  'breaker-half-open',
  'breaker-closed',
  'drained',
  'slow-start',
  'slow-start-done',
  'panic',
  'panic-over',
  'error',
]);

const MARKER_KEYS = '123456789abcdefghijklmnopqrstuvwxyz';

type TimedEvent = { atMs: number; label: string };

/** The events worth marking on the time charts, in time order, each with its key (1-9, a-z, then `+`). */
function eventMarkers(r: RunRecord): TimedEvent[] {
  return r.events
    .filter((e) => !REACTIONS.has(e.type) && e.atMs <= r.durationMs)
    .sort(byTime)
    .map((e) => ({ atMs: e.atMs, label: markerLabel(e) }));
}

/** Events whose detail says what changed to: `algo round-robin → least-conn`, `weight b1 1 → 5`, `concurrency 32 workers`. */
const DETAILED: ReadonlySet<string> = new Set(['algo', 'weight', 'concurrency']);

/** What a marker says: the event and its backend, plus the new value of a setting change (its detail without the `(source)`). */
function markerLabel(e: RunEvent): string {
  const base = `${e.type}${e.target ? ` ${e.target}` : ''}`;
  if (!DETAILED.has(e.type) || !e.detail) return base;
  const what = e.detail.replace(/\s*\([^)]*\)$/, '').replace(/^weight /, '');
  return what ? `${base} ${what}` : base;
}

function placeMarkers(events: readonly TimedEvent[], startMs: number, cellMs: number, cells: number): Marker[] {
  const out: Marker[] = [];
  events.forEach((e, i) => {
    const cell = Math.floor((e.atMs - startMs) / cellMs);
    if (cell < 0 || cell >= cells) return;
    out.push({ key: MARKER_KEYS[i] ?? '+', atMs: e.atMs, cell, label: e.label });
  });
  return out;
}

/** The cell size (ms) that fits a run of `seconds` seconds into {@link MAX_CELLS} cells: 1 s, 2 s, … */
function cellSizeMs(seconds: number): number {
  return 1000 * Math.max(1, Math.ceil(seconds / MAX_CELLS));
}

/** Per-backend req/s series over `[fromS, fromS + cells × cellS)` seconds of the time line, one mean per cell. */
function seriesBlock(r: RunRecord, events: readonly TimedEvent[], fromS: number, cells: number, cellS: number, caption?: Span[]): SeriesBlock {
  const series = r.backends.map((b) => {
    const values: number[] = [];
    for (let c = 0; c < cells; c++) {
      let sum = 0;
      let n = 0;
      for (let s = fromS + c * cellS; s < Math.min(r.timeline.length, fromS + (c + 1) * cellS); s++) {
        sum += r.timeline[s]?.perBackend[b.name] ?? 0;
        n++;
      }
      values.push(n > 0 ? Math.round(sum / n) : 0);
    }
    const own = r.timeline.slice(fromS, fromS + cells * cellS).map((p) => p.perBackend[b.name] ?? 0);
    const peak = Math.max(0, ...own);
    const mean = own.length > 0 ? Math.round(own.reduce((a, v) => a + v, 0) / own.length) : 0;
    return { name: b.name, values, peak, mean };
  });
  const max = Math.max(0, ...series.flatMap((s) => s.values));
  return { kind: 'series', ...(caption ? { caption } : {}), startMs: fromS * 1000, cellMs: cellS * 1000, cells, max, series, markers: placeMarkers(events, fromS * 1000, cellS * 1000, cells) };
}

/**
 * Requests per second per backend over the whole run, with the events
 * marked; a run longer than {@link MAX_CELLS} seconds gets cells of several
 * seconds, and then also a window per marked event, from 3 s before to 5 s
 * after it, one cell per second.
 */
function trafficSection(r: RunRecord, events: readonly TimedEvent[]): Section | undefined {
  if (r.timeline.length === 0 || r.backends.length === 0) return undefined;
  const seconds = r.timeline.length;
  const cellMs = cellSizeMs(seconds);
  const cellS = cellMs / 1000;
  const blocks: Block[] = [seriesBlock(r, events, 0, Math.ceil(seconds / cellS), cellS)];
  if (cellS > 1) {
    for (const e of events) {
      const at = Math.floor(e.atMs / 1000);
      const from = Math.max(0, at - 3);
      const to = Math.min(seconds, at + 6);
      if (to <= from) continue;
      blocks.push(seriesBlock(r, [e], from, to - from, 1, [{ text: `${formatAt(e.atMs)} ${e.label}`, tone: 'strong' }, { text: ` (from ${formatAt(from * 1000)} to ${formatAt(to * 1000)})`, tone: 'dim' }]));
    }
  }
  const cell = cellS === 1 ? 'one cell per second' : `one cell per ${cellS}s (their mean)`;
  return { id: 'traffic', title: 'Requests per second', subtitle: `per backend, ${cell}, one scale for all; events marked`, blocks };
}

/** How a backend's balancer-side state evolves: the flags each event sets, and which one shows. */
type Flags = { down: boolean; out: boolean; drain: boolean; removed: boolean };

function stateOf(f: Flags): StripState {
  if (f.removed) return 'removed';
  if (f.down) return 'down';
  if (f.out) return 'out';
  if (f.drain) return 'drain';
  return 'up';
}

/** Applies one event of a backend to its flags; returns whether it touched them. */
function applyEvent(f: Flags, type: string): boolean {
  switch (type) {
    case 'down':
      f.down = true;
      return true;
    case 'up':
      f.down = false;
      return true;
    case 'ejected':
    case 'breaker-open':
    case 'breaker-half-open':
      f.out = true;
      return true;
    case 'readmitted':
    case 'breaker-closed':
      f.out = false;
      return true;
    case 'draining':
    case 'drain':
      f.drain = true;
      return true;
    case 'undrained':
      f.drain = false;
      return true;
    case 'remove':
      f.removed = true;
      return true;
    default:
      return false;
  }
}

/**
 * The balancer's view of each backend over the run: UP, DOWN (active checks),
 * out (ejected or circuit open), draining, removed — from its health
 * transitions and the events on it (a transition not also logged as an
 * event counts as one). A backend starts UP, as the balancer starts it.
 */
function healthSection(r: RunRecord, events: readonly TimedEvent[]): Section | undefined {
  // `lblab load` runs no health checks: it has no view of a backend's health to draw.
  if (r.config.command === 'load' || r.backends.length === 0 || r.durationMs <= 0) return undefined;
  const seconds = Math.max(1, Math.ceil(r.durationMs / 1000));
  const cellMs = cellSizeMs(seconds);
  const cells = Math.ceil(r.durationMs / cellMs);
  const strips: HealthBlock['strips'] = r.backends.map((b) => {
    const mine = r.events.filter((e) => e.target === b.name && e.atMs <= r.durationMs);
    const ordered = [...mine, ...unloggedTransitions(b.name, mine, b.health.transitions)].sort(byTime);
    const flags: Flags = { down: false, out: false, drain: false, removed: false };
    const changes: HealthBlock['strips'][number]['changes'] = [];
    for (const e of ordered) {
      const before = stateOf(flags);
      if (!applyEvent(flags, e.type)) continue;
      const after = stateOf(flags);
      if (after !== before) changes.push({ atMs: e.atMs, from: before, to: after, reason: e.detail ? `${e.type}: ${e.detail}` : e.type });
    }
    const segments: HealthBlock['strips'][number]['segments'] = [];
    let from = 0;
    let state: StripState = 'up';
    for (const ch of changes) {
      if (ch.atMs > from) segments.push({ fromMs: from, toMs: ch.atMs, state });
      from = Math.max(from, ch.atMs);
      state = ch.to;
    }
    segments.push({ fromMs: from, toMs: r.durationMs, state });
    const dead: Array<{ fromMs: number; toMs: number }> = [];
    let diedAt: number | undefined;
    for (const e of ordered) {
      if ((e.type === 'kill' || e.type === 'exit') && diedAt === undefined) diedAt = e.atMs;
      if (e.type === 'started' && diedAt !== undefined) {
        dead.push({ fromMs: diedAt, toMs: e.atMs });
        diedAt = undefined;
      }
    }
    if (diedAt !== undefined) dead.push({ fromMs: diedAt, toMs: r.durationMs });
    const stripCells = [];
    for (let c = 0; c < cells; c++) {
      const a = c * cellMs;
      const z = Math.min(r.durationMs, (c + 1) * cellMs);
      const inside = changes.filter((ch) => ch.atMs >= a && (ch.atMs < z || (c === cells - 1 && ch.atMs <= z)));
      const last = [...changes].reverse().find((ch) => ch.atMs < z || (c === cells - 1 && ch.atMs <= z));
      const state = last ? last.to : 'up';
      const blind = state === 'up' && dead.some((d) => d.fromMs < z && d.toMs > a);
      stripCells.push({ state, changed: inside.length > 0, blind });
    }
    const away: Array<{ state: StripState; ms: number }> = [];
    for (const seg of segments) {
      if (seg.state === 'up') continue;
      const known = away.find((a) => a.state === seg.state);
      if (known) known.ms += seg.toMs - seg.fromMs;
      else away.push({ state: seg.state, ms: seg.toMs - seg.fromMs });
    }
    return { name: b.name, segments, cells: stripCells, changes, away, dead };
  });
  return {
    id: 'health',
    title: 'Health',
    subtitle: `the balancer's view of each backend, one cell per ${cellMs === 1000 ? 'second' : `${cellMs / 1000}s`}; events marked`,
    blocks: [{ kind: 'health', startMs: 0, cellMs, cells, durationMs: r.durationMs, strips, markers: placeMarkers(events, 0, cellMs, cells) }],
  };
}

const DETECTED_WORDS: Record<NonNullable<Detection['detectedBy']>, string> = { down: 'DOWN', ejected: 'ejected', 'breaker-open': 'circuit breaker open' };

/**
 * One item per fault (see `deriveDetections`): "+2.0s kill b2 → DOWN after
 * 2.9s (3 failed checks, last L4CON)", then what it cost: client errors (all
 * backends) in the whole seconds from the fault to its detection, from the
 * time line, and the backend's retried and lost tries — over the run, as the
 * record counts tries per backend, not per second. A record without
 * `detections` (older runs) has them derived from its events.
 */
function failuresSection(r: RunRecord): Section | undefined {
  const found: Array<{ b: BackendRecord; d: Detection }> = [];
  for (const b of r.backends) for (const d of b.detections ?? deriveDetections(b.name, r.events, b.health.transitions)) found.push({ b, d });
  if (found.length === 0) return undefined;
  found.sort((x, y) => x.d.atMs - y.d.atMs);
  const items: ListBlock['items'] = found.map(({ b, d }) => {
    const line: Span[] = [plain(`${formatAt(d.atMs)} `), { text: d.fault, tone: 'bad' }, plain(` ${b.name} → `)];
    if (d.detectedBy === null || d.afterMs === null) {
      line.push({ text: 'not noticed', tone: 'warn' }, plain(' (no DOWN, ejection or open circuit before the end or a recover)'));
    } else {
      line.push({ text: DETECTED_WORDS[d.detectedBy], tone: 'strong' }, plain(` after ${formatDuration(d.afterMs)}${d.reason ? ` (${d.reason})` : ''}`));
    }
    const cost: Span[] = [];
    if (d.afterMs !== null && r.timeline.length > 0) {
      const from = Math.floor(d.atMs / 1000);
      const to = Math.min(r.timeline.length - 1, Math.floor((d.atMs + d.afterMs) / 1000));
      let errors = 0;
      for (let s = from; s <= to; s++) errors += r.timeline[s]?.errors ?? 0;
      cost.push(plain(`client errors +${from}s–+${to + 1}s (all backends): `), errors > 0 ? { text: String(errors), tone: 'bad' } : plain('0'));
    }
    if (b.tries) cost.push(plain(`${cost.length > 0 ? ' · ' : ''}${b.name} over the run: retried ${b.tries.retried}, lost ${b.tries.lost}`));
    return { line, sub: cost.length > 0 ? [cost] : [] };
  });
  return { id: 'failures', title: 'Failures', subtitle: 'each fault, what noticed it and after how long', blocks: [{ kind: 'list', items }] };
}

/** Events whose effect on traffic the report shows second by second. */
const DIP_EVENTS: ReadonlySet<string> = new Set([
  'kill',
  'exit',
  ...faultDefinitions().filter((f) => f.aroundInReport).map((f) => f.name),
  'remove',
  'drain',
  'draining',
]);

/** Up to this many backends get a row each in the tables around a fault; beyond, only the fault's target. */
const DIP_ALL_BACKENDS = 6;

/**
 * For each fault-like event, a table of the seconds from 3 before to 5 after
 * the one it fell in: req/s, client errors, and each backend's responses
 * (only the target's beyond {@link DIP_ALL_BACKENDS} backends), from the time
 * line (one point per second).
 */
function aroundFaultsSection(r: RunRecord): Section | undefined {
  if (r.timeline.length === 0) return undefined;
  const blocks: Block[] = [];
  for (const e of [...r.events].sort((a, b) => a.atMs - b.atMs)) {
    if (!DIP_EVENTS.has(e.type)) continue;
    const at = Math.min(r.timeline.length - 1, Math.floor(e.atMs / 1000));
    const offsets: number[] = [];
    for (let k = -3; k <= 5; k++) if (at + k >= 0 && at + k < r.timeline.length) offsets.push(k);
    const point = (k: number) => r.timeline[at + k]!;
    const rows: Span[][] = [
      [plain('req/s'), ...offsets.map((k) => plain(String(point(k).rps)))],
      [plain('errors'), ...offsets.map((k): Span => (point(k).errors > 0 ? { text: String(point(k).errors), tone: 'bad' } : plain('0')))],
    ];
    const names = r.backends.length <= DIP_ALL_BACKENDS ? r.backends.map((b) => b.name) : r.backends.filter((b) => b.name === e.target).map((b) => b.name);
    for (const name of names) {
      rows.push([{ text: name, ...(name === e.target ? { tone: 'strong' as const } : {}) }, ...offsets.map((k) => plain(String(point(k).perBackend[name] ?? 0)))]);
    }
    blocks.push({
      kind: 'table',
      caption: [{ text: `${formatAt(e.atMs)} ${e.type}${e.target ? ` ${e.target}` : ''}`, tone: 'strong' }],
      head: ['second', ...offsets.map((k) => (k > 0 ? `+${k}` : String(k)))],
      align: ['left', ...offsets.map(() => 'right' as const)],
      rows,
      timeLine: true,
    });
  }
  if (blocks.length === 0) return undefined;
  return { id: 'around', title: 'Around each fault', subtitle: 'per second from 3s before to 5s after; column 0 is the second it fell in', blocks };
}

/** The event log: user and lab actions, process events and the balancer's reactions, each once, in time order. */
function eventsSection(r: RunRecord): Section | undefined {
  const ordered = [...r.events, ...r.backends.flatMap((b) => unloggedTransitions(b.name, r.events, b.health.transitions))].sort(byTime);
  if (ordered.length === 0) return undefined;
  const bad = new Set(['down', 'kill', 'exit', 'error', 'ejected', 'breaker-open']);
  const rows = ordered.map((e): Span[] => [
    plain(formatAt(e.atMs)),
    { text: e.type, ...(bad.has(e.type) ? { tone: 'bad' as const } : e.type === 'up' ? { tone: 'good' as const } : {}) },
    plain(e.target ?? ''),
    { text: e.detail ?? '', tone: 'dim' },
  ]);
  return { id: 'events', title: 'Events', blocks: [{ kind: 'table', head: ['at', 'event', 'backend', 'detail'], align: ['right', 'left', 'left', 'left'], rows }] };
}

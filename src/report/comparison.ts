import type { LatencyProfile } from '../scenario/latency-profile.js';
import { formatLatency } from '../backend/latency.js';
import { isAdaptive, isAlgorithmName } from '../balancer/algorithms/index.js';
import type { Span, TableBlock } from './blocks.js';
import { chalkFor, fitTable, spanText } from './text-table.js';
import { reportWidth, wrapText } from './text-width.js';
import type { ScheduledEvent } from '../scenario/timeline.js';
import type { KeysMoved } from '../metrics/keys-moved.js';
import type { RunRecord } from '../metrics/run-record.js';
import { formatDuration, formatMs, formatPct, formatRate } from './format.js';
import { visibleStrings } from './visible-text.js';

/** One algorithm's run in a comparison. Latency in ms, rates in req/s, shares 0..1. */
export type CompareResult = Pick<RunRecord['totals'], 'requests' | 'rps' | 'errors' | 'latencyMs'> & {
  /** The run's name in a lab of several runs (`runs[].name`), which heads its column; absent in `lblab compare`, where the algorithm does. */
  name?: string;
  algo: string;
  /** The real balancer of this run (`--engines`); absent: lblab's own. */
  engine?: string;
  errorRate: number;
  /** Share of responses per backend, and what the algorithm should give each. */
  shares: Record<string, number>;
  expectedShares: Record<string, number>;
  /** The largest |share − expected| over the backends. */
  maxShareDeviation: number;
  /** Before any removal: virtual clients seen and how many of them met one backend only (present with --clients ≥ 2). */
  clients?: { seen: number; singleBackend: number; maxBackends: number };
  keysMoved?: KeysMoved;
  /** The whole run record of this run. */
  record: RunRecord;
};

/** What `lblab compare --json` prints: the scenario and one result per algorithm, in the order run. */
export type Comparison = {
  schemaVersion: 1;
  /** True when the comparison was cut short (Ctrl-C): some algorithms are missing. */
  partial: boolean;
  scenario: {
    backends: Array<{ name: string; weight: number; latency: LatencyProfile; capacity: number | null; errorRate: number }>;
    concurrency: number;
    durationMs: number;
    clients?: number;
    remove?: string;
    events: ScheduledEvent[];
  };
  results: CompareResult[];
};

/**
 * Condenses one run record into a comparison column. `perClient` is the
 * client tally of the run's first epoch (before any removal); it is kept
 * only when the run had virtual clients (`withClients`).
 */
export function summarizeRun(
  record: RunRecord,
  perClient: { clients: number; singleBackend: number; maxBackends: number },
  keysMoved: KeysMoved | undefined,
  withClients: boolean,
): CompareResult {
  const shares: Record<string, number> = {};
  const expected: Record<string, number> = {};
  let dev = 0;
  for (const b of record.backends) {
    shares[b.name] = b.share;
    expected[b.name] = b.expectedShare;
    dev = Math.max(dev, Math.abs(b.share - b.expectedShare));
  }
  const t = record.totals;
  return {
    algo: record.config.algo ?? '',
    ...(record.config.engine ? { engine: record.config.engine } : {}),
    requests: t.requests,
    rps: t.rps,
    errors: t.errors,
    errorRate: t.requests > 0 ? t.errors / t.requests : 0,
    latencyMs: t.latencyMs,
    shares,
    expectedShares: expected,
    maxShareDeviation: Math.round(dev * 10_000) / 10_000,
    ...(withClients ? { clients: { seen: perClient.clients, singleBackend: perClient.singleBackend, maxBackends: perClient.maxBackends } } : {}),
    ...(keysMoved ? { keysMoved } : {}),
    record,
  };
}

/**
 * The comparison as data, for the text and HTML renderers alike: `title`
 * (what ran, how long, at what concurrency), `scenario` (the backends' line),
 * whether it was cut short, the table — one column per run and one row per
 * measure (req/s, p50/p90/p99/max, errors, each backend's share against its
 * expected share, the largest share deviation, clients that met one
 * backend, keys moved by a removal), the lowest latency of a row `strong`,
 * errors `bad` — and notes that explain a surprising column. `table` is
 * undefined when no run finished.
 */
export type ComparisonModel = { title: string; scenario: string; partial: boolean; table?: TableBlock; notes: string[] };

/** Builds the {@link ComparisonModel} of a comparison; its strings are made visible first (a comparison may come from a file). */
export function buildComparisonModel(written: Comparison): ComparisonModel {
  const cmp = visibleStrings(written);
  const { scenario: s, results } = cmp;
  const profile = s.backends
    .map((b) => `${b.name} ${formatLatency(b.latency)}${b.capacity !== null ? ` cap ${b.capacity}` : ''}${b.errorRate > 0 ? ` err ${formatPct(b.errorRate)}` : ''}${b.weight !== 1 ? ` w${b.weight}` : ''}`)
    .join(', ');
  const what = results.some((r) => r.engine || r.name !== undefined) ? 'run' : 'algorithm';
  const ws = results[0]?.record.config.webSocket;
  const load = ws ? `${ws.clients} WebSocket clients, ${formatRate(ws.messageRate)} msg/s each` : `concurrency ${s.concurrency}${s.clients ? ` · ${s.clients} clients` : ''}`;
  const title = `lblab compare · ${results.length} ${what}${results.length === 1 ? '' : 's'} · ${formatDuration(s.durationMs)} each · ${load}`;
  const scenario = `backends: ${profile}${s.remove ? ` · ${s.remove} removed at ${formatDuration(s.durationMs / 2)}` : ''}`;
  const model: ComparisonModel = { title, scenario, partial: cmp.partial, notes: [] };
  if (results.length === 0) return model;

  const plain = (text: string): Span => ({ text });
  const rows: Span[][] = [];
  /** A row whose lowest value is best, shown strong when the algorithms differ. */
  const lowestBest = (label: string, values: number[], fmt: (v: number) => string): Span[] => {
    const min = Math.min(...values);
    const differ = values.some((v) => v !== min);
    return [plain(label), ...values.map((v): Span => (differ && v === min ? { text: fmt(v), tone: 'strong' } : plain(fmt(v))))];
  };
  const row = (label: string, cells: Array<string | Span>): Span[] => [plain(label), ...cells.map((x) => (typeof x === 'string' ? plain(x) : x))];
  if (results.every((r) => r.record.webSocketClients)) {
    rows.push(...webSocketRows(results.map((r) => r.record.webSocketClients!), s.backends.map((b) => b.name), row, lowestBest));
  } else rows.push(...httpRows());
  model.table = {
    kind: 'table',
    head: ['', ...results.map((r) => (cutShort(r, s.durationMs) ? `${column(r, results)}*` : column(r, results)))],
    align: ['left', ...results.map(() => 'right' as const)],
    rows,
  };
  model.notes = comparisonNotes(cmp);
  return model;

  /** The rows of runs of HTTP clients: req/s, latency, errors, shares of the responses, clients, keys moved. */
  function httpRows(): Span[][] {
    const rows: Span[][] = [];
    rows.push(row('req/s', results.map((r) => formatRate(r.rps))));
    rows.push(lowestBest('p50', results.map((r) => r.latencyMs.p50), formatMs));
    rows.push(lowestBest('p90', results.map((r) => r.latencyMs.p90), formatMs));
    rows.push(lowestBest('p99', results.map((r) => r.latencyMs.p99), formatMs));
    rows.push(lowestBest('max', results.map((r) => r.latencyMs.max), formatMs));
    rows.push(row('errors', results.map((r) => (r.errors > 0 ? { text: `${r.errors} (${formatPct(r.errorRate, 2)})`, tone: 'bad' as const } : '0'))));
    for (const b of s.backends) {
      rows.push(row(`${b.name} share/exp`, results.map((r) => `${formatPct(r.shares[b.name] ?? 0)}/${formatPct(r.expectedShares[b.name] ?? 0)}`)));
    }
    rows.push(row('max share dev', results.map((r) => formatPct(r.maxShareDeviation))));
    if (results.some((r) => r.clients)) {
      rows.push(row('clients on 1 backend', results.map((r) => (r.clients ? `${r.clients.singleBackend}/${r.clients.seen}` : '-'))));
    }
    if (results.some((r) => r.keysMoved)) {
      rows.push(lowestBest('keys moved', results.map((r) => r.keysMoved?.movedFraction ?? Number.NaN), (v) => (Number.isNaN(v) ? '-' : formatPct(v))));
      rows.push(row(`  ${s.remove ?? 'removed'}'s own clients`, results.map((r) => (r.keysMoved ? `${r.keysMoved.ownClients}/${r.keysMoved.clients}` : '-'))));
      rows.push(row('  from kept backends', results.map((r) => (r.keysMoved ? `${r.keysMoved.movedFromKept}/${r.keysMoved.clients}` : '-'))));
    }
    return rows;
  }
}

/**
 * The rows of runs of WebSocket clients (`--protocol ws`, no requests): each
 * backend's WebSockets open at the end with their share against the
 * algorithm's, connects, drops, messages lost (neither echoed, nor in
 * flight at a drop, nor pending at the end) and the echo round trip p99.
 */
function webSocketRows(
  runs: ReadonlyArray<NonNullable<RunRecord['webSocketClients']>>,
  names: readonly string[],
  row: (label: string, cells: string[]) => Span[],
  lowestBest: (label: string, values: number[], fmt: (v: number) => string) => Span[],
): Span[][] {
  const rows: Span[][] = names.map((name) =>
    row(`${name} open share/exp`, runs.map((c) => {
      const b = c.backends[name];
      return b ? `${b.openAtEnd} ${formatPct(b.openShare)}/${formatPct(b.expectedShare)}` : '-';
    })),
  );
  rows.push(row('connects', runs.map((c) => String(c.connects))));
  rows.push(row('drops', runs.map((c) => String(c.drops))));
  rows.push(row('messages lost', runs.map((c) => String(c.sent - c.echoed - c.unansweredAtDrop - c.pendingAtEnd))));
  rows.push(lowestBest('echo p99', runs.map((c) => c.echoMs.p99), formatMs));
  return rows;
}

/**
 * The comparison as text ({@link buildComparisonModel}): the title and the
 * scenario line, then the table, then the notes. No line is wider than
 * `width` columns (default 100: see {@link reportWidth}): the table's
 * columns narrow and their cells wrap, the prose wraps (wrap-ansi).
 */
export function renderComparison(written: Comparison, options: { color?: boolean; width?: number } = {}): string {
  const c = chalkFor(options.color);
  const width = reportWidth(options.width);
  const model = buildComparisonModel(written);
  const lines: string[] = [...wrapText(c.bold(model.title), width, '  '), ...wrapText(c.dim(model.scenario), width, '  ')];
  if (model.partial) lines.push(...wrapText(c.yellow('partial: interrupted before every algorithm ran'), width));
  lines.push('');
  if (!model.table) return lines.join('\n') + '\n';
  const t = model.table;
  lines.push(...fitTable(c, { head: t.head, rows: t.rows.map((r) => r.map((x) => spanText(x, c))), align: t.align, width }));
  if (model.notes.length > 0) {
    lines.push('');
    lines.push(...model.notes.flatMap((n) => wrapText(c.dim(n), width, '  ')));
  }
  return lines.join('\n') + '\n';
}

/** A result's column name: its algorithm, with its engine when some run was on a real engine (`weighted (haproxy)`). */
function column(r: CompareResult, all: readonly CompareResult[]): string {
  if (r.name !== undefined) return r.name;
  return all.some((x) => x.engine) ? `${r.algo} (${r.engine ?? 'lblab'})` : r.algo;
}

/** Whether a run ended before its planned duration (Ctrl-C). */
function cutShort(r: CompareResult, plannedMs: number): boolean {
  return r.record.durationMs < plannedMs - 100;
}

/** Plain-words notes under the table: what each figure means, and the traps a learner may fall into. */
function comparisonNotes(cmp: Comparison): string[] {
  const notes: string[] = [];
  const { results, scenario: s } = cmp;
  // WebSocket clients send no requests: the notes on latency and response shares say nothing of them.
  if (results.length > 0 && results.every((r) => r.record.webSocketClients)) {
    return ['open share: of the WebSockets open at the end, by the backend that greeted each client · exp: the algorithm\'s share at the end · lost: neither echoed, nor in flight at a drop, nor pending at the end'];
  }
  if (results.length > 1) {
    const best = results.reduce((a, b) => (b.latencyMs.p99 < a.latencyMs.p99 ? b : a));
    const worst = results.reduce((a, b) => (b.latencyMs.p99 > a.latencyMs.p99 ? b : a));
    // Only a clear gap is worth a line: run-to-run noise is some tens of percent.
    if (worst.latencyMs.p99 > 0 && worst.latencyMs.p99 >= 1.5 * best.latencyMs.p99) {
      notes.push(`lowest p99: ${column(best, results)} ${formatMs(best.latencyMs.p99)}, highest: ${column(worst, results)} ${formatMs(worst.latencyMs.p99)} (${(worst.latencyMs.p99 / Math.max(best.latencyMs.p99, 0.001)).toFixed(1)}×)`);
    }
  }
  const adaptive = results.filter((r) => isAlgorithmName(r.algo) && isAdaptive(r.algo) && r.maxShareDeviation > 0.05).map((r) => r.algo);
  if (adaptive.length > 0) {
    notes.push(`${adaptive.join(', ')}: the expected share assumes equal backends; these algorithms leave it on purpose when one is slower or busier.`);
  }
  for (const r of results.filter((x) => cutShort(x, s.durationMs))) {
    notes.push(`${column(r, results)}*: cut short after ${formatDuration(r.record.durationMs)} of ${formatDuration(s.durationMs)}.`);
  }
  if (results.some((r) => r.engine)) {
    notes.push('engines: each column is one balancer — lblab, or a real HAProxy or nginx from a generated config (lblab export) — in front of the same backends and load; shares and latency are measured at the clients for every one of them.');
    if (results.some((r) => r.engine === 'nginx')) notes.push('nginx OSS has no active health checks: it finds a dead backend by failing requests on it (max_fails, fail_timeout) and retrying them (proxy_next_upstream).');
  }
  const moved = results.find((r) => r.keysMoved)?.keysMoved;
  if (moved) {
    notes.push(
      `keys moved: share of clients whose backend changed when ${moved.removed} left. Its own clients must move (${formatPct(moved.idealFraction)} of keys by weight); "from kept backends" moved although their backend stayed.`,
    );
  }
  const ipHash = results.find((r) => r.algo === 'ip-hash' && r.clients);
  if (ipHash?.clients && ipHash.clients.seen > 1) {
    const used = Object.values(ipHash.shares).filter((v) => v > 0.01).length;
    if (used === 1) {
      notes.push(
        `ip-hash: nginx hashes only the first three octets of an IPv4 address, and all ${ipHash.clients.seen} clients share 127.0.0.0/24, so one backend takes them all; give each client its own /24 with --spread-clients, or hash the whole address with consistent-hash --hash-key ip.`,
      );
    }
  }
  if (s.events.some((e) => e.action === 'kill')) notes.push('a killed backend counts against the share deviation until it is marked DOWN.');
  return notes;
}

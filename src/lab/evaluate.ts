import { addSessions, noSessions, type ExpectationVerdict, type RunRecord, type SessionCounts, type WebSocketClientsRecord } from '../metrics/run-record.js';
import { formatSessionLoss } from '../report/format.js';
import type { KeysMoved } from '../metrics/keys-moved.js';
import { formatDuration, formatMs, formatPct, formatRate } from '../report/format.js';
import type { ClientMeasure, CompareMetric, ConnectionMeasure, Expectation, SessionMeasure, WindowStart } from './lab.js';
import type { UpstreamConnectionsRecord } from '../balancer/upstream-backend.js';

/** What one run of a lab measured: its record, and the keys moved when it removed a backend. */
export type LabRunResult = { name: string; record: RunRecord; keysMoved?: KeysMoved };

/**
 * Judges each expectation against the runs' records, in the order given:
 * ✓ or ✗ with what was expected and what was measured, both in words with
 * units. A measure the record lacks (no `sequence`, no `clients`, a run that
 * never ran, an event that never happened) fails, saying so — an
 * expectation is never passed for want of data. `severalRuns` prefixes each
 * line with its run's name.
 */
export function evaluateExpectations(expectations: readonly Expectation[], results: readonly LabRunResult[], severalRuns = results.length > 1): ExpectationVerdict[] {
  return expectations.map((e) => {
    const verdict = judge(e, results);
    return severalRuns && e.kind !== 'compare' ? { ...verdict, text: `${e.run}: ${verdict.text}` } : verdict;
  });
}

function judge(e: Expectation, results: readonly LabRunResult[]): ExpectationVerdict {
  const result = results.find((r) => r.name === e.run);
  const text = describe(e);
  if (!result) return { text, expected: expectedWords(e), measured: `not measured (run ${e.run} did not run)`, pass: false };
  const r = result.record;
  // Only the time to detect is measured without traffic (WebSocket clients send no requests, their measures need echoes): every other measure of an empty run would pass by default.
  if (e.kind === 'websockets' && (r.webSocketClients?.echoed ?? 0) === 0) return { text, expected: expectedWords(e), measured: `not measured (run ${e.run} got no echo)`, pass: false };
  if (e.kind !== 'detected' && e.kind !== 'websockets' && r.totals.requests === 0) return { text, expected: expectedWords(e), measured: `not measured (run ${e.run} got no responses)`, pass: false };
  switch (e.kind) {
    case 'share': {
      let share: number;
      let of = '';
      if (e.from) {
        const w = windowOf(r, e.from, e.backend);
        if ('missing' in w) return { text, expected: expectedWords(e), measured: w.missing, pass: false };
        if (w.served === 0) return { text, expected: expectedWords(e), measured: 'not measured (no backend served a request in that window)', pass: false };
        share = w.backendRequests / w.served;
        of = ` (${w.backendRequests} of ${w.served})`;
      } else {
        share = r.backends.find((x) => x.name === e.backend)?.share ?? 0;
      }
      return { text, expected: expectedWords(e), measured: `${formatPct(share)}${of}`, pass: Math.abs(share - e.is) <= e.within + 1e-9 };
    }
    case 'max-share-deviation': {
      let worst: { name: string; share: number; expected: number; dev: number } | undefined;
      for (const b of r.backends) {
        const dev = Math.abs(b.share - b.expectedShare);
        if (!worst || dev > worst.dev) worst = { name: b.name, share: b.share, expected: b.expectedShare, dev };
      }
      if (!worst) return { text, expected: expectedWords(e), measured: 'not measured (no backends in the record)', pass: false };
      return {
        text,
        expected: expectedWords(e),
        measured: `${formatPct(worst.dev)} (${worst.name} ${formatPct(worst.share)} vs ${formatPct(worst.expected)})`,
        pass: worst.dev <= e.max + 1e-9,
      };
    }
    case 'detected': {
      const b = r.backends.find((x) => x.name === e.backend);
      const d = b?.detections?.find((x) => x.fault === e.fault);
      if (!b?.detections) return { text, expected: expectedWords(e), measured: 'not measured (the record has no detections)', pass: false };
      if (!d) return { text, expected: expectedWords(e), measured: `no ${e.fault} of ${e.backend} in the run`, pass: false };
      if (d.detectedBy === null || d.afterMs === null) return { text, expected: expectedWords(e), measured: 'not noticed before the run ended (or the fault was cleared)', pass: false };
      const measured = `${DETECTED_WORDS[d.detectedBy]} after ${formatDuration(d.afterMs)}${d.reason ? ` (${d.reason})` : ''}`;
      const pass = d.afterMs <= e.withinMs && d.afterMs >= (e.atLeastMs ?? 0) && (e.by === undefined || d.detectedBy === e.by);
      return { text, expected: expectedWords(e), measured, pass };
    }
    case 'error-rate': {
      const w = windowOf(r, e.from);
      if ('missing' in w) return { text, expected: expectedWords(e), measured: w.missing, pass: false };
      if (w.requests === 0) return { text, expected: expectedWords(e), measured: 'not measured (no requests in that window)', pass: false };
      const rate = w.errors / w.requests;
      const pass = (e.max === undefined || rate <= e.max + 1e-12) && (e.min === undefined || rate >= e.min - 1e-12);
      return { text, expected: expectedWords(e), measured: `${formatPct(rate, 2)} (${w.errors} of ${w.requests})`, pass };
    }
    case 'latency': {
      const b = e.backend ? r.backends.find((x) => x.name === e.backend) : undefined;
      if (e.backend && !b?.requests) return { text, expected: expectedWords(e), measured: `not measured (${e.backend} served no requests)`, pass: false };
      const v = (b ? b.latencyMs : r.totals.latencyMs)[e.of];
      const pass = (e.maxMs === undefined || v <= e.maxMs) && (e.minMs === undefined || v >= e.minMs);
      return { text, expected: expectedWords(e), measured: formatMs(v), pass };
    }
    case 'largest-share': {
      const top = r.backends.reduce<(typeof r.backends)[number] | undefined>((a, b) => (!a || b.share > a.share ? b : a), undefined);
      if (!top) return { text, expected: expectedWords(e), measured: 'not measured (no backends in the record)', pass: false };
      const pass = (e.min === undefined || top.share >= e.min - 1e-9) && (e.max === undefined || top.share <= e.max + 1e-9);
      return { text, expected: expectedWords(e), measured: `${formatPct(top.share)} (${top.name})`, pass };
    }
    case 'backends-per-client': {
      if (!r.clients) return { text, expected: expectedWords(e), measured: 'not measured (the run record has no clients)', pass: false };
      const most = Math.max(0, ...Object.entries(r.clients.touched).filter(([, n]) => n > 0).map(([k]) => Number(k)));
      const many = Object.entries(r.clients.touched).filter(([k, n]) => Number(k) > e.max && n > 0).reduce((sum, [, n]) => sum + n, 0);
      return { text, expected: expectedWords(e), measured: many > 0 ? `${most} (${many} of ${r.clients.total} clients met more than ${e.max})` : `${most}`, pass: many === 0 };
    }
    case 'stickiness': {
      if (!r.clients) return { text, expected: expectedWords(e), measured: 'not measured (the run record has no clients.stickiness)', pass: false };
      const { stickiness, total } = r.clients;
      return { text, expected: expectedWords(e), measured: `${formatPct(stickiness)} of ${total} clients`, pass: stickiness >= e.min - 1e-9 };
    }
    case 'sequence': {
      if (!r.sequence) return { text, expected: expectedWords(e), measured: 'not measured (the run record has no sequence)', pass: false };
      const want = wantedSequence(e);
      const got = r.sequence.slice(0, e.count);
      const pass = got.length === want.length && got.every((b, i) => b === want[i]);
      return { text, expected: expectedWords(e), measured: got.length > 0 ? got.join(' ') : 'no responses', pass };
    }
    case 'requests': {
      let n: number;
      if (e.from) {
        const w = windowOf(r, e.from, e.backend);
        if ('missing' in w) return { text, expected: expectedWords(e), measured: w.missing, pass: false };
        n = w.backendRequests;
      } else {
        n = r.backends.find((x) => x.name === e.backend)?.requests ?? 0;
      }
      return { text, expected: expectedWords(e), measured: String(n), pass: (e.min === undefined || n >= e.min) && (e.max === undefined || n <= e.max) };
    }
    case 'requests-spread': {
      const served = r.backends.filter((b) => !b.removed);
      if (served.length === 0) return { text, expected: expectedWords(e), measured: 'not measured (no backends in the record)', pass: false };
      const most = served.reduce((a, b) => (b.requests > a.requests ? b : a));
      const fewest = served.reduce((a, b) => (b.requests < a.requests ? b : a));
      const spread = most.requests - fewest.requests;
      return { text, expected: expectedWords(e), measured: spread === 0 ? `0 (every backend ${most.requests})` : `${spread} (${most.name} ${most.requests}, ${fewest.name} ${fewest.requests})`, pass: spread <= e.max };
    }
    case 'keys-moved':
    case 'keys-moved-from-kept': {
      const k = result.keysMoved;
      if (!k) return { text, expected: expectedWords(e), measured: 'not measured (the run ended before the new mapping settled)', pass: false };
      const moved = e.kind === 'keys-moved' ? k.moved : k.movedFromKept;
      const fraction = k.clients > 0 ? moved / k.clients : 0;
      return {
        text,
        expected: expectedWords(e),
        measured: `${formatPct(fraction)} (${moved}/${k.clients} clients)`,
        pass: (e.min === undefined || fraction >= e.min - 1e-9) && (e.max === undefined || fraction <= e.max + 1e-9),
      };
    }
    case 'upstream-connections': {
      const b = r.backends.find((x) => x.name === e.backend);
      const c = b?.upstreamConnections;
      if (!b || !c) return { text, expected: expectedWords(e), measured: 'not measured (the run record has no backends[].upstreamConnections)', pass: false };
      const v = connectionMeasure(e.of, c, b.tries?.served ?? b.requests);
      const pass = (e.min === undefined || v >= e.min - 1e-9) && (e.max === undefined || v <= e.max + 1e-9);
      return { text, expected: expectedWords(e), measured: formatCount(v), pass };
    }
    case 'websockets': {
      const c = r.webSocketClients;
      if (!c) return { text, expected: expectedWords(e), measured: 'not measured (the run record has no webSocketClients)', pass: false };
      const m = webSocketMeasure(e, c);
      const pass = (e.min === undefined || m.value >= e.min - 1e-9) && (e.max === undefined || m.value <= e.max + 1e-9);
      return { text, expected: expectedWords(e), measured: m.words, pass };
    }
    case 'handshakes': {
      const tls = r.totals.tls;
      if (!tls) return { text, expected: expectedWords(e), measured: 'not measured (the run record has no totals.tls)', pass: false };
      const per = tls.handshakes / r.totals.requests;
      const pass = (e.min === undefined || per >= e.min - 1e-9) && (e.max === undefined || per <= e.max + 1e-9);
      return { text, expected: expectedWords(e), measured: `${formatPer(per)} (${tls.handshakes} for ${r.totals.requests} requests)`, pass };
    }
    case 'failover': {
      const f = r.ha?.failovers[0];
      if (!r.ha || !f) return { text, expected: expectedWords(e), measured: 'not measured (the run record has no ha.failovers: no balancer was killed)', pass: false };
      const within = (v: number) => (e.min === undefined || v >= e.min - 1e-9) && (e.max === undefined || v <= e.max + 1e-9);
      if (e.of === 'takeover-budget') {
        if (f.takeoverMs === null) return { text, expected: expectedWords(e), measured: `no takeover followed the kill of ${f.balancer}`, pass: false };
        const v = f.takeoverMs / r.ha.budgetMs;
        return { text, expected: expectedWords(e), measured: `${v.toFixed(2)} (${formatMs(f.takeoverMs)} of ${formatMs(r.ha.budgetMs)})`, pass: within(v) };
      }
      if (e.of === 'errors-per-held') {
        const held = Math.max(f.inFlight, f.connections);
        const v = f.clientErrors / Math.max(1, held);
        const split = f.errorsSentAfter > 0 ? `: ${f.clientErrors - f.errorsSentAfter} sent before the kill, ${f.errorsSentAfter} after it on a connection not yet seen closed` : '';
        return { text, expected: expectedWords(e), measured: `${v.toFixed(2)} (${f.clientErrors} errors${split}; ${f.balancer} held ${f.connections} connections, ${f.inFlight} requests in flight when last reported)`, pass: within(v) };
      }
      const c = f.connects;
      const v = c.opened > 0 ? c.retried / c.opened : 0;
      return { text, expected: expectedWords(e), measured: `${formatPct(v)} (${c.retried} of ${c.opened} new connections refused first)`, pass: c.opened > 0 && within(v) };
    }
    case 'client-region': {
      const g = r.totals.gslb;
      const c = g?.clientRegions.find((x) => x.name === e.region);
      if (!g || !c) return { text, expected: expectedWords(e), measured: 'not measured (the run record has no totals.gslb for that region)', pass: false };
      const within = (v: number) => (e.min === undefined || v >= e.min - 1e-9) && (e.max === undefined || v <= e.max + 1e-9);
      if (e.of !== 'rtt-paid') {
        const n = e.of === 'remote-share' ? c.remote : c.errors;
        const v = c.requests > 0 ? n / c.requests : 0;
        return { text, expected: expectedWords(e), measured: `${formatPct(v, 2)} (${n} of ${c.requests})`, pass: c.requests > 0 && within(v) };
      }
      // Against the clients at home in the region that served them: the same backends, at the same time, only the distance differs.
      const nearest = Object.entries(g.rttMs)
        .flatMap(([pair, ms]) => {
          const [a, b] = pair.split('-');
          return a !== b && (a === e.region || b === e.region) ? [{ other: a === e.region ? b! : a!, ms }] : [];
        })
        .sort((x, y) => x.ms - y.ms)[0];
      const there = nearest ? g.clientRegions.find((x) => x.name === nearest.other) : undefined;
      if (!nearest || !c.remoteMs || !there?.localMs) return { text, expected: expectedWords(e), measured: `not measured (${c.remoteMs ? `no request of ${nearest?.other ?? 'another region'}'s own clients` : 'no request served away'})`, pass: false };
      const paid = c.remoteMs.p50 - there.localMs.p50;
      const v = nearest.ms > 0 ? paid / nearest.ms : 0;
      return { text, expected: expectedWords(e), measured: `${v.toFixed(2)} (${e.region} clients in ${nearest.other} p50 ${formatMs(c.remoteMs.p50)} − ${nearest.other}'s own ${formatMs(there.localMs.p50)} = ${formatMs(paid)}, RTT ${formatMs(nearest.ms)})`, pass: nearest.ms > 0 && within(v) };
    }
    case 'client-rate': {
      const each = r.clients?.each;
      if (!each) return { text, expected: expectedWords(e), measured: 'not measured (the run record has no clients.each)', pass: false };
      const seconds = r.durationMs / 1000;
      const rateOf = (c: { requests: number; rateLimited: number; errors: number }): number => {
        const n = e.of === 'served' ? c.requests - c.rateLimited - c.errors : e.of === 'rate-limited' ? c.rateLimited : e.of === 'errors' ? c.errors : c.requests;
        return seconds > 0 ? n / seconds : 0;
      };
      const within = (rate: number): boolean => (e.min === undefined || rate >= e.min - 1e-9) && (e.max === undefined || rate <= e.max + 1e-9);
      if (e.client !== undefined) {
        const c = each[e.client - 1];
        if (!c) return { text, expected: expectedWords(e), measured: `not measured (no client ${e.client} in the record)`, pass: false };
        const rate = rateOf(c);
        return { text, expected: expectedWords(e), measured: `${formatRate(rate)} req/s`, pass: within(rate) };
      }
      const others = each.map((c, i) => ({ client: i + 1, rate: rateOf(c) })).filter((c) => c.client !== e.except);
      if (others.length === 0) return { text, expected: expectedWords(e), measured: 'not measured (no other clients)', pass: false };
      const low = others.reduce((a, b) => (b.rate < a.rate ? b : a));
      const high = others.reduce((a, b) => (b.rate > a.rate ? b : a));
      const outside = others.filter((c) => !within(c.rate));
      const range = low.rate === high.rate ? `${formatRate(low.rate)} req/s each` : `${formatRate(low.rate)} to ${formatRate(high.rate)} req/s`;
      return {
        text,
        expected: expectedWords(e),
        measured: outside.length > 0 ? `${range} (${outside.length} of ${others.length} outside, e.g. client ${outside[0]!.client})` : range,
        pass: outside.length === 0,
      };
    }
    case 'sessions': {
      if (!r.totals.sessions) return { text, expected: expectedWords(e), measured: 'not measured (the run record has no totals.sessions)', pass: false };
      const within = (v: number): boolean => (e.min === undefined || v >= e.min - 1e-9) && (e.max === undefined || v <= e.max + 1e-9);
      if (e.of === 'logged-out' || e.of === 'logged-out-elsewhere') {
        const from = e.from as Extract<WindowStart, { kind: 'event' }>;
        const type = LOGGED_AS[from.type] ?? from.type;
        const loss = r.sessionLosses?.find((l) => l.type === type && (from.target === undefined || l.target === from.target));
        if (!loss) return { text, expected: expectedWords(e), measured: `not measured (no ${from.type}${from.target ? ` ${from.target}` : ''} among the record's sessionLosses)`, pass: false };
        const words = formatSessionLoss(loss, false, false).replace(/^→ /, '');
        if (e.of === 'logged-out') return { text, expected: expectedWords(e), measured: words, pass: within(loss.loggedOut) };
        if (!loss.clients) return { text, expected: expectedWords(e), measured: 'not measured (the record names no clients: more than 1000)', pass: false };
        const own = new Set(loss.clients.target);
        const elsewhere = loss.clients.loggedOut.filter((c) => !own.has(c));
        return { text, expected: expectedWords(e), measured: `${elsewhere.length}${elsewhere.length > 0 ? ` (e.g. client ${elsewhere[0]})` : ''}; ${words}`, pass: within(elsewhere.length) };
      }
      const w = windowOf(r, e.from);
      if ('missing' in w) return { text, expected: expectedWords(e), measured: w.missing, pass: false };
      const c = w.sessions;
      const all = c.created + c.found + c.lost;
      if (e.of === 'lost-share') {
        if (all === 0) return { text, expected: expectedWords(e), measured: 'not measured (no responses with a session in that window)', pass: false };
        return { text, expected: expectedWords(e), measured: `${formatPct(c.lost / all)} (${c.lost} of ${all})`, pass: within(c.lost / all) };
      }
      const n = e.of === 'created' ? c.created : e.of === 'found' ? c.found : c.lost;
      return { text, expected: expectedWords(e), measured: `${n} of ${all} responses with a session`, pass: within(n) };
    }
    case 'seen-by-backends': {
      const views = r.backends.flatMap((b) => (b.seen ? [b.seen] : []));
      const seenRequests = views.reduce((sum, s) => sum + s.requests, 0);
      if (views.length === 0) return { text, expected: expectedWords(e), measured: "not measured (the record has no backends' view of the requests)", pass: false };
      if (seenRequests === 0) return { text, expected: expectedWords(e), measured: 'not measured (the backends saw no requests)', pass: false };
      if (e.of === 'present') {
        const n = views.reduce((sum, s) => sum + (s.headers[e.header] ?? 0), 0);
        return { text, expected: expectedWords(e), measured: `${n} of ${seenRequests} requests`, pass: e.present ? n === seenRequests : n === 0 };
      }
      // The union of what each backend saw: one client met by three backends is one value.
      const keys = e.of === 'peers' ? views.flatMap((s) => Object.keys(s.peers)) : views.flatMap((s) => s.values[e.header] ?? []);
      const union = [...new Set(keys)];
      const n = e.of === 'peers' ? union.length : Math.max(union.length, ...views.map((s) => s.distinct[e.header] ?? 0));
      const shown = union.slice(0, 3).join(', ') + (union.length > 3 ? ', …' : '');
      return { text, expected: expectedWords(e), measured: n > 0 ? `${n} (${shown})` : '0', pass: (e.min === undefined || n >= e.min) && (e.max === undefined || n <= e.max) };
    }
    case 'compare': {
      const other = results.find((x) => x.name === e.than);
      if (!other) return { text, expected: expectedWords(e), measured: `not measured (run ${e.than} did not run)`, pass: false };
      const a = metricOf(result, e.metric, e.backend);
      const b = metricOf(other, e.metric, e.backend);
      if (a === undefined || b === undefined) return { text, expected: expectedWords(e), measured: `not measured (no ${e.metric} in ${a === undefined ? e.run : e.than})`, pass: false };
      const pass = e.direction === 'below' ? a * e.by < b : a > b * e.by;
      return {
        text,
        expected: `${e.direction === 'below' ? '<' : '>'} ${e.than}'s${e.by !== 1 ? ` ${e.direction === 'below' ? '÷' : '×'} ${e.by}` : ''}`,
        measured: `${formatMetric(e.metric, a)} vs ${formatMetric(e.metric, b)}`,
        pass,
      };
    }
  }
}

/** An expectation in words before it is judged, as `lblab lab explain` lists it: what it is about and its bounds. */
export function expectationWords(e: Expectation, severalRuns: boolean): { text: string; expected: string } {
  const text = describe(e);
  return { text: severalRuns && e.kind !== 'compare' ? `${e.run}: ${text}` : text, expected: expectedWords(e) };
}

const DETECTED_WORDS = { down: 'DOWN', ejected: 'ejected', 'breaker-open': 'breaker open' } as const;

/** The order of responses an expectation of kind sequence wants. */
function wantedSequence(e: Expectation & { kind: 'sequence' }): string[] {
  if (e.startsWith) return e.startsWith;
  const cycle = e.cycle!;
  return Array.from({ length: e.count }, (_, i) => cycle[i % cycle.length]!);
}

/** The expectation in words, without its bounds: "share of b1", "error rate from kill b2". */
function describe(e: Expectation): string {
  switch (e.kind) {
    case 'share':
      return `share of ${e.backend}${e.from ? ` ${windowWords(e.from)}` : ''}`;
    case 'max-share-deviation':
      return 'largest share deviation from expected';
    case 'detected':
      return `${e.backend} ${e.by ? `${DETECTED_WORDS[e.by]}` : 'noticed (DOWN, ejected or breaker open)'} after its ${e.fault}`;
    case 'error-rate':
      return `error rate${e.from ? ` ${windowWords(e.from)}` : ''}`;
    case 'latency':
      return `${e.of === 'p999' ? 'p99.9' : e.of}${e.backend ? ` of ${e.backend}` : ''}`;
    case 'largest-share':
      return 'largest share of one backend';
    case 'stickiness':
      return 'virtual clients served by one backend only';
    case 'backends-per-client':
      return 'most backends one virtual client met';
    case 'sequence':
      return e.startsWith ? `first ${e.count} responses` : `first ${e.count} responses cycle ${e.cycle!.join(' ')}`;
    case 'requests':
      return `requests served by ${e.backend}${e.from ? ` ${windowWords(e.from)}` : ''}`;
    case 'requests-spread':
      return 'most minus fewest requests served by a backend';
    case 'keys-moved':
      return 'keys moved by the removal (clients whose backend changed)';
    case 'keys-moved-from-kept':
      return 'clients moved although their backend stayed';
    case 'handshakes':
      return 'TLS handshakes per request';
    case 'failover':
      return e.of === 'takeover-budget'
        ? 'takeover time over its budget (interval × fall + timeout)'
        : e.of === 'errors-per-held'
          ? 'client errors over what the killed balancer held'
          : 'share of the new connections after the kill refused first and retried on the other balancer';
    case 'client-region':
      return e.of === 'remote-share' ? `share of ${e.region} clients' requests served in another region` : e.of === 'error-rate' ? `error rate of ${e.region} clients` : `what ${e.region} clients paid away from home, in round trips`;
    case 'websockets':
      if (e.of === 'open-share') return `${e.backend}'s share of the WebSockets open at the end`;
      return e.of === 'lost' ? 'WebSocket messages lost (not echoed, not in flight at a drop)' : `WebSockets dropped${e.backend ? ` by ${e.backend}` : ''}`;
    case 'upstream-connections':
      return `${CONNECTION_MEASURE_WORDS[e.of]} to ${e.backend}`;
    case 'client-rate':
      return `${CLIENT_MEASURE_WORDS[e.of]} per second of ${e.client !== undefined ? `client ${e.client}` : `each client but ${e.except}`}`;
    case 'sessions':
      if (e.of === 'logged-out') return `users logged out by ${windowWords(e.from!).replace(/^from /, '')}`;
      if (e.of === 'logged-out-elsewhere') return `users logged out by ${windowWords(e.from!).replace(/^from /, '')} whom ${e.from!.kind === 'event' && e.from!.target ? e.from!.target : 'its target'} did not serve`;
      return `${SESSION_MEASURE_WORDS[e.of]}${e.from ? ` ${windowWords(e.from)}` : ''}`;
    case 'seen-by-backends':
      if (e.of === 'present') return `requests reaching the backends with ${e.header}`;
      return e.of === 'peers' ? 'peer addresses the backends saw' : `distinct ${e.header} values the backends saw`;
    case 'compare':
      return `${e.metric === 'share' ? `share of ${e.backend}` : METRIC_WORDS[e.metric]} of ${e.run} ${e.direction} ${e.than}${e.by !== 1 ? ` by ${e.by}×` : ''}`;
  }
}

const CONNECTION_MEASURE_WORDS: Record<ConnectionMeasure, string> = {
  opened: 'connections opened',
  closed: 'connections closed',
  open: 'connections open at the end',
  idle: 'idle connections at the end',
  'peak-open': 'most connections open at once',
  'mean-open': 'average open connections',
  'mean-busy': 'average busy connections',
  'mean-idle': 'average idle connections',
  'requests-per-connection': 'requests per connection',
};

/** A backend's keep-alive connection measure; `served` is the tries it served, for requests per connection. */
/**
 * A `websockets` measure of the clients' record, with the words the verdict
 * shows: the open share with its count and the expected share, lost
 * messages with what the others were, drops.
 */
function webSocketMeasure(e: Extract<Expectation, { kind: 'websockets' }>, c: WebSocketClientsRecord): { value: number; words: string } {
  if (e.of === 'open-share') {
    const b = c.backends[e.backend!];
    const open = Object.values(c.backends).reduce((n, x) => n + x.openAtEnd, 0);
    const share = b?.openShare ?? 0;
    return { value: share, words: `${formatPct(share)} (${b?.openAtEnd ?? 0} of ${open} open; expected share ${formatPct(b?.expectedShare ?? 0)})` };
  }
  if (e.of === 'lost') {
    const lost = c.sent - c.echoed - c.unansweredAtDrop - c.pendingAtEnd;
    return { value: lost, words: `${lost} of ${c.sent} sent (${c.echoed} echoed, ${c.unansweredAtDrop} in flight at a drop, ${c.pendingAtEnd} pending at the end)` };
  }
  const drops = e.backend ? (c.backends[e.backend]?.drops ?? 0) : c.drops;
  return { value: drops, words: String(drops) };
}

function connectionMeasure(of: ConnectionMeasure, c: UpstreamConnectionsRecord, served: number): number {
  switch (of) {
    case 'opened':
      return c.opened;
    case 'closed':
      return c.closed;
    case 'open':
      return c.open;
    case 'idle':
      return c.idle;
    case 'peak-open':
      return c.peakOpen;
    case 'mean-open':
      return c.meanOpen;
    case 'mean-busy':
      return c.meanBusy;
    case 'mean-idle':
      return Math.round((c.meanOpen - c.meanBusy) * 100) / 100;
    case 'requests-per-connection':
      return c.opened > 0 ? served / c.opened : 0;
  }
}

/** A count, or an average to one decimal. */
function formatCount(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** A ratio such as handshakes per request, to three decimals: 0.002, 1.000. */
function formatPer(v: number): string {
  return v.toFixed(3);
}

const SESSION_MEASURE_WORDS: Record<SessionMeasure, string> = {
  created: 'sessions created (logins)',
  found: 'sessions found',
  lost: 'sessions lost',
  'lost-share': 'share of responses whose session was lost',
  'logged-out': 'users logged out',
  'logged-out-elsewhere': 'users logged out whom the target did not serve',
};

const CLIENT_MEASURE_WORDS: Record<ClientMeasure, string> = {
  served: 'requests served',
  'rate-limited': '429s (rate-limited)',
  errors: 'errors',
  requests: 'requests sent',
};

const METRIC_WORDS: Record<CompareMetric, string> = {
  p50: 'p50',
  p90: 'p90',
  p99: 'p99',
  p999: 'p99.9',
  max: 'max latency',
  rps: 'req/s after the first second',
  'error-rate': 'error rate',
  share: 'share',
  'keys-moved': 'keys moved',
};

/** The bounds of an expectation in words, units included: "50.0% ± 3.0%", "≤ 0.50%", "within 4.0s". */
function expectedWords(e: Expectation): string {
  switch (e.kind) {
    case 'share':
      return `${formatPct(e.is)} ± ${formatPct(e.within)}`;
    case 'max-share-deviation':
      return `≤ ${formatPct(e.max)}`;
    case 'detected': {
      const by = e.by ? `${DETECTED_WORDS[e.by]} ` : '';
      return e.atLeastMs !== undefined ? `${by}after ${formatDuration(e.atLeastMs)} to ${formatDuration(e.withinMs)}` : `${by}within ${formatDuration(e.withinMs)}`;
    }
    case 'error-rate':
      return bounds(e.min, e.max, (v) => formatPct(v, 2));
    case 'latency':
      return bounds(e.minMs, e.maxMs, formatMs);
    case 'largest-share':
      return bounds(e.min, e.max, (v) => formatPct(v));
    case 'stickiness':
      return `≥ ${formatPct(e.min)}`;
    case 'backends-per-client':
      return `≤ ${e.max}`;
    case 'sequence':
      return wantedSequence(e).join(' ');
    case 'requests':
      return bounds(e.min, e.max, String);
    case 'requests-spread':
      return `≤ ${e.max}`;
    case 'keys-moved':
    case 'keys-moved-from-kept':
      return bounds(e.min, e.max, (v) => formatPct(v));
    case 'handshakes':
      return bounds(e.min, e.max, formatPer);
    case 'failover':
      return bounds(e.min, e.max, (v) => (e.of === 'retried-share' ? formatPct(v) : v.toFixed(2)));
    case 'client-region':
      return bounds(e.min, e.max, (v) => (e.of === 'rtt-paid' ? `${v.toFixed(2)} RTT` : formatPct(v, 2)));
    case 'websockets':
      return bounds(e.min, e.max, e.of === 'open-share' ? (v) => formatPct(v) : String);
    case 'upstream-connections':
      return bounds(e.min, e.max, formatCount);
    case 'client-rate':
      return bounds(e.min, e.max, (v) => `${formatRate(v)} req/s`);
    case 'sessions':
      return bounds(e.min, e.max, e.of === 'lost-share' ? (v) => formatPct(v) : String);
    case 'seen-by-backends':
      if (e.of === 'present') return e.present ? 'every one' : 'none';
      return bounds(e.min, e.max, String);
    case 'compare':
      return `${e.direction === 'below' ? '<' : '>'} ${e.than}'s`;
  }
}

function bounds(min: number | undefined, max: number | undefined, fmt: (v: number) => string): string {
  if (min !== undefined && max !== undefined) return `${fmt(min)} to ${fmt(max)}`;
  return min !== undefined ? `≥ ${fmt(min)}` : `≤ ${fmt(max!)}`;
}

function windowWords(w: WindowStart): string {
  const grace = w.graceMs > 0 ? ` +${formatDuration(w.graceMs)}` : '';
  const span = w.forMs !== undefined ? ` for ${formatDuration(w.forMs)}` : '';
  return w.kind === 'time' ? `from ${formatDuration(w.atMs + w.graceMs)}${span}` : `from ${w.type}${w.target ? ` ${w.target}` : ''}${grace}${span}`;
}

/** The time line's step: each point counts the second that ends at its `atMs`. */
const TIMELINE_STEP_MS = 1000;

/** Timeline actions the event log names otherwise: the balancer logs a drain as `draining` (then `drained`). */
const LOGGED_AS: Record<string, string> = { drain: 'draining' };

/**
 * Sums the time line from `from` to the end of the run (or for `from.forMs`):
 * every one-second point that ends after the start (so the second an event
 * fell in counts; a grace of 1 s skips it) and starts before the end.
 * `served` is the responses some backend gave (the sum over backends),
 * `sessions` what became of the sessions of its responses.
 * Without `from`, the whole run's totals.
 */
function windowOf(
  r: RunRecord,
  from: WindowStart | undefined,
  backend?: string,
): { requests: number; errors: number; backendRequests: number; served: number; sessions: SessionCounts } | { missing: string } {
  if (!from) {
    return {
      requests: r.totals.requests,
      errors: r.totals.errors,
      backendRequests: r.backends.find((b) => b.name === backend)?.requests ?? 0,
      served: r.backends.reduce((sum, b) => sum + b.requests, 0),
      sessions: { ...(r.totals.sessions ?? noSessions()) },
    };
  }
  let startMs: number;
  if (from.kind === 'time') startMs = from.atMs + from.graceMs;
  else {
    const type = LOGGED_AS[from.type] ?? from.type;
    const ev = r.events.find((x) => x.type === type && (from.target === undefined || x.target === from.target));
    if (!ev) return { missing: `not measured (no ${from.type}${from.target ? ` ${from.target}` : ''} in the run's events)` };
    startMs = ev.atMs + from.graceMs;
  }
  const endMs = from.forMs === undefined ? Infinity : startMs + from.forMs;
  let requests = 0;
  let errors = 0;
  let backendRequests = 0;
  let served = 0;
  const sessions = noSessions();
  for (const p of r.timeline) {
    if (p.atMs <= startMs || p.atMs - TIMELINE_STEP_MS >= endMs) continue;
    requests += p.rps;
    errors += p.errors;
    if (backend) backendRequests += p.perBackend[backend] ?? 0;
    for (const n of Object.values(p.perBackend)) served += n;
    if (p.sessions) addSessions(sessions, p.sessions);
  }
  return { requests, errors, backendRequests, served, sessions };
}

function metricOf(result: LabRunResult, metric: CompareMetric, backend?: string): number | undefined {
  const t = result.record.totals;
  switch (metric) {
    case 'rps':
      return steadyRps(result.record);
    case 'error-rate':
      return t.requests > 0 ? t.errors / t.requests : 0;
    case 'share':
      return result.record.backends.find((b) => b.name === backend)?.share;
    case 'keys-moved':
      return result.keysMoved ? result.keysMoved.movedFraction : undefined;
    default:
      return t.latencyMs[metric];
  }
}

/**
 * Requests per second of a run without its first second: the warm-up (load
 * worker start, JIT, the first connections) stalls more or less from one
 * run to the next on a busy machine, and would decide a comparison of
 * throughputs by itself. Runs of 2 s or less: over the whole run.
 */
function steadyRps(r: RunRecord): number {
  if (r.durationMs <= 2000 || r.timeline.length < 2) return r.totals.rps;
  const after = r.timeline.slice(1).reduce((n, p) => n + p.rps, 0);
  return after / ((r.durationMs - 1000) / 1000);
}

function formatMetric(metric: CompareMetric, v: number): string {
  if (metric === 'rps') return `${formatRate(v)} req/s`;
  if (metric === 'error-rate') return formatPct(v, 2);
  if (metric === 'share' || metric === 'keys-moved') return formatPct(v);
  return formatMs(v);
}

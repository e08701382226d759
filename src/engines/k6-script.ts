import { UsageError } from '../errors.js';
import type { Expectation, LatencyMetric, WindowStart } from '../lab/lab.js';
import { clientAddress } from '../load/client-addresses.js';
import { DEFAULT_MAX_IN_FLIGHT } from '../load/load-generator.js';
import type { Scenario } from '../scenario/scenario.js';
import { MAX_DURATION_MS } from '../scenario/values.js';
import { requestPaths } from '../scenario/routes.js';

/**
 * What {@link k6Script} writes a k6 script from. Times in ms, rates in req/s.
 */
export type K6Input = {
  /**
   * The scenario, resolved (see `resolveScenario`), or the part of it that
   * is the load: the closed model (`concurrency`) or the open one (`rate`,
   * `maxInFlight`), `requests`, `durationMs` (undefined: the headless
   * default `headlessDefaultDurationMs`; 0: until quit), the virtual
   * clients and what they send (`clients`, `spreadClients`, `headers`,
   * `paths`, `cookies`), `routing` for the default paths, `tls`, and the
   * `backends` and `events` the script names in its comments.
   */
  scenario: Pick<Scenario, 'concurrency' | 'durationMs' | 'headlessDefaultDurationMs' | 'clients' | 'headers' | 'cookies'> &
    Partial<Pick<Scenario, 'rate' | 'maxInFlight' | 'requests' | 'paths' | 'spreadClients' | 'routing' | 'tls' | 'backends' | 'events'>>;
  /** The URL the script targets, the balancer's address (`http://127.0.0.1:8080`); http or https. */
  target: string;
  /**
   * A lab's expectations, read (see `EXPECTATION_SCHEMAS`), those of the run
   * that `scenario` is. Latency and error rate, a backend's share or
   * request count, and the largest share's upper bound become k6
   * `thresholds`; the others are listed in a comment as not expressible.
   */
  expectations?: readonly Expectation[];
  /** The header comment's first line: the lab's name, or the lblab command line. */
  title?: string;
};

/** One line of the script, indented `indent` levels of two spaces, and the lblab setting it comes from (its trailing comment). */
type Line = { text: string; from?: string; indent?: number };

/** One k6 threshold condition on `metric` (`p(99)<=250` on `http_req_duration`) and the expectation it comes from. */
type Threshold = { metric: string; condition: string; from: string };

/** How long lblab's load generator lets requests in flight finish when sending stops (`STOP_GRACE_MS`, ms). */
const LBLAB_STOP_GRACE_MS = 2000;
/** The shortest scenario k6 runs (its executors' `minDuration`), ms. */
const K6_MIN_DURATION_MS = 1000;
/** The response time (s) the open model's pre-allocated VUs are sized for: rate × this many in flight (Little's law). */
const PREALLOCATED_FOR_S = 0.1;
/** Backend names that may stand in a k6 tag filter (`metric{backend:b1}`), which has no quoting. */
const TAG_VALUE = /^[A-Za-z0-9_.-]+$/;

/** lblab's latency measures as k6 Trend aggregations. */
const TREND_STAT: Record<LatencyMetric, string> = { p50: 'p(50)', p90: 'p(90)', p99: 'p(99)', p999: 'p(99.9)', max: 'max' };

const SHARE_METRIC = 'lblab_backend_share';
const RESPONSES_METRIC = 'lblab_backend_responses';
const DURATION_METRIC = 'lblab_backend_duration';

/**
 * Writes the load of `input.scenario` as a complete k6 script (a JavaScript
 * ES module for k6 v0.45 or later, run with `k6 run script.js`) aimed at
 * `input.target`. The closed model becomes the k6 executor `constant-vus`
 * (`shared-iterations` with `requests`), the open model
 * `constant-arrival-rate` (`maxVUs` from the in-flight cap), both as k6's
 * "Open and closed models" page describes them. Requests carry the
 * `--header` values with `{client}` and `{seq}` expanded as lblab does,
 * take the paths in turn, keep or drop cookies, accept the self-signed
 * certificate of `--tls`; each response is counted for the backend its
 * `x-lblab-backend` header names, so the k6 summary shows shares. Every
 * line that comes from an lblab setting names its flag in a trailing
 * comment; every string put into the script goes through `JSON.stringify`
 * and every comment has its control characters written out.
 * @throws {UsageError} when `target` is not an http or https URL.
 */
export function k6Script(input: K6Input): string {
  const s = input.scenario;
  const url = targetUrl(input.target);
  const tls = url.protocol === 'https:' || s.tls === true;
  const run = execution(s);
  const { paths, from: pathsFrom } = requestTargets(s, url);
  const clients = s.clients ?? 1;
  const placeholders = s.headers.map((h) => h.value).join('');
  const usesSeq = placeholders.includes('{seq}');
  const needsClient = placeholders.includes('{client}') || (paths.length > 1 && clients > 1);
  const needsIteration = run.guard !== undefined || paths.length > 1 || usesSeq || needsClient;
  const backends = knownBackends(s, input.expectations ?? []);
  const judged = judge(input.expectations ?? [], backends);

  const lines: Line[] = [...headerLines(input, { url, run, tls, shares: backends.length > 0 }), { text: '' }];
  lines.push({ text: "import http from 'k6/http';" });
  if (needsIteration) lines.push({ text: "import exec from 'k6/execution';" });
  const metrics = ['Counter', ...(backends.length > 0 ? ['Rate'] : []), ...(judged.backendLatency ? ['Trend'] : [])];
  lines.push({ text: `import { ${metrics.join(', ')} } from 'k6/metrics';` }, { text: '' });

  lines.push({ text: `const TARGET = ${JSON.stringify(url.origin)};`, from: "the balancer's address" });
  if (paths.length === 1) lines.push({ text: `const PATH = ${JSON.stringify(paths[0])};`, from: pathsFrom });
  else lines.push({ text: `const PATHS = ${JSON.stringify(paths)};`, from: pathsFrom });
  if (needsClient) lines.push({ text: `const CLIENTS = ${clients};`, from: s.clients !== undefined ? `--clients ${s.clients}` : 'no --clients: one client, as lblab' });
  if (run.guard !== undefined) lines.push({ text: `const REQUESTS = ${run.guard};`, from: `--requests ${run.guard}` });
  if (backends.length > 0) lines.push({ text: `const BACKENDS = ${JSON.stringify(backends)};`, from: s.backends ? `--backends ${s.backends.length}` : 'the backends the expectations name' });
  lines.push({ text: '' });

  lines.push({ text: "// lblab's backends name themselves in the x-lblab-backend response header (k6 spells it X-Lblab-Backend)." });
  if (backends.length > 0) {
    lines.push(
      { text: `// ${RESPONSES_METRIC}{backend:NAME} counts each backend's responses; ${SHARE_METRIC}{backend:NAME} is its` },
      { text: "// share of the responses that name a backend, as lblab's report counts shares. k6 prints a tagged" },
      { text: '// sub-metric only when a threshold names it: the thresholds below name every share, so the summary shows them.' },
    );
  } else {
    lines.push(
      { text: `// ${RESPONSES_METRIC}{backend:NAME} counts each backend's responses; k6 prints a tagged sub-metric only when a` },
      { text: '// threshold names it (`"lblab_backend_responses{backend:b1}": ["count>=0"]`).' },
    );
  }
  lines.push({ text: `const backendResponses = new Counter(${JSON.stringify(RESPONSES_METRIC)});` });
  if (backends.length > 0) lines.push({ text: `const backendShare = new Rate(${JSON.stringify(SHARE_METRIC)});` });
  if (judged.backendLatency) {
    lines.push({ text: "// Each backend's response times (k6's http_req_duration), for the latency expectations of one backend." });
    lines.push({ text: `const backendDuration = new Trend(${JSON.stringify(DURATION_METRIC)}, true);` });
  }
  lines.push(
    { text: '' },
    { text: '// lblab counts a status of 500 or more, or a transport error, as an error; k6 would fail 4xx answers too.' },
    { text: 'http.setResponseCallback(http.expectedStatuses({ min: 100, max: 499 }));', from: 'errors as lblab counts them' },
    { text: '' },
  );

  lines.push({ text: 'export const options = {' }, { text: 'scenarios: {', indent: 1 }, { text: 'lblab: {', indent: 2 });
  lines.push(...run.lines.map((l) => ({ ...l, indent: 3 })));
  lines.push({ text: '},', indent: 2 }, { text: '},', indent: 1 });
  if (tls) {
    lines.push({
      text: 'insecureSkipTLSVerify: true,',
      from: `${s.tls ? '--tls' : 'an https target'}: lblab's certificate is self-signed, nothing to verify it against`,
      indent: 1,
    });
  }
  if (s.cookies) {
    lines.push({ text: 'noCookiesReset: true,', from: 'cookies on (no --no-cookies): a VU keeps its jar for the run, not one iteration', indent: 1 });
  }
  lines.push(
    { text: 'discardResponseBodies: true,', from: 'bodies are read to their end and dropped, as lblab', indent: 1 },
    { text: 'maxRedirects: 0,', from: 'lblab follows no redirect', indent: 1 },
  );
  if (judged.thresholds.length > 0) {
    lines.push({ text: 'thresholds: {', indent: 1 });
    for (const metric of [...new Set(judged.thresholds.map((t) => t.metric))]) {
      lines.push({ text: `${JSON.stringify(metric)}: [`, indent: 2 });
      for (const t of judged.thresholds.filter((x) => x.metric === metric)) lines.push({ text: `${JSON.stringify(t.condition)},`, from: t.from, indent: 3 });
      lines.push({ text: '],', indent: 2 });
    }
    lines.push({ text: '},', indent: 1 });
  }
  lines.push({ text: '};' });
  if (judged.unexpressed.length > 0) {
    lines.push({ text: '' }, { text: "// Expectations k6 thresholds cannot express (lblab judges them from its run record):" });
    for (const u of judged.unexpressed) lines.push({ text: `//   ${comment(u)}` });
  }
  lines.push({ text: '' }, ...requestFunction(s, run, paths, clients, { needsIteration, needsClient, usesSeq, backends, backendLatency: judged.backendLatency }));
  return render(lines);
}

/** The target as a URL. @throws {UsageError} unless it is http or https. */
function targetUrl(target: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(target);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError(`Expected the k6 target to be an http:// or https:// URL like http://127.0.0.1:8080, got ${JSON.stringify(target)}`);
  }
  return url;
}

/** The k6 scenario of the load model: its lines, the most VUs it runs, and `guard`, the request count the script itself stops at (open model with `requests`). */
type Execution = { lines: Line[]; maxVUs: number; guard?: number };

/**
 * The k6 scenario of the load: `constant-vus` for the closed model,
 * `shared-iterations` for the closed model with `requests`,
 * `constant-arrival-rate` for the open model (which has no iteration
 * count: with `requests` it runs for requests ÷ rate, and the script skips
 * what comes past the count).
 */
function execution(s: K6Input['scenario']): Execution {
  const limitMs = s.durationMs ?? s.headlessDefaultDurationMs;
  const given = s.durationMs === undefined ? 'no --duration' : `--duration ${goDuration(s.durationMs)}`;
  const timed = (ms: number, from: string, key: 'duration' | 'maxDuration' = 'duration'): Line => {
    const short = ms < K6_MIN_DURATION_MS ? ' (k6 runs a scenario for 1s at least)' : '';
    return { text: `${key}: ${JSON.stringify(goDuration(Math.max(K6_MIN_DURATION_MS, ms)))},`, from: `${from}${short}` };
  };
  const lasting = (key: 'duration' | 'maxDuration', unbounded: string): Line => {
    if (limitMs === 0) return { text: `${key}: ${JSON.stringify(goDuration(MAX_DURATION_MS))},`, from: `${given}: ${unbounded}` };
    return timed(limitMs, s.durationMs === undefined ? `no --duration: lblab's headless default, ${goDuration(limitMs)}` : given, key);
  };
  const grace: Line = { text: `gracefulStop: ${JSON.stringify(goDuration(LBLAB_STOP_GRACE_MS))},`, from: 'lblab lets requests in flight finish for 2s at the end' };
  if (s.rate === undefined) {
    if (s.requests === undefined) {
      return {
        lines: [
          { text: "executor: 'constant-vus',", from: 'closed model (no --rate)' },
          { text: `vus: ${s.concurrency},`, from: `--concurrency ${s.concurrency}` },
          lasting('duration', 'until quit, as lblab; stop k6 with Ctrl-C'),
          grace,
        ],
        maxVUs: s.concurrency,
      };
    }
    const vus = Math.min(s.concurrency, s.requests);
    return {
      lines: [
        { text: "executor: 'shared-iterations',", from: 'closed model with --requests' },
        { text: `vus: ${vus},`, from: `--concurrency ${s.concurrency}${vus < s.concurrency ? ' (k6 wants no more VUs than iterations)' : ''}` },
        { text: `iterations: ${s.requests},`, from: `--requests ${s.requests}` },
        lasting('maxDuration', "no time limit but the count, as lblab (k6's default maxDuration is 10m)"),
        grace,
      ],
      maxVUs: vus,
    };
  }
  const rate = s.rate;
  const perUnit = arrivalRate(rate);
  const maxVUs = s.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const lines: Line[] = [
    { text: "executor: 'constant-arrival-rate',", from: 'open model (--rate)' },
    { text: `rate: ${perUnit.rate},`, from: `--rate ${rate}` },
    {
      text: `timeUnit: ${JSON.stringify(goDuration(perUnit.timeUnitMs))},`,
      from: perUnit.timeUnitMs === 1000 ? `--rate ${rate} (per second)` : `--rate ${rate}/s: k6 starts a whole number of iterations per timeUnit`,
    },
  ];
  if (s.requests !== undefined) {
    const countMs = Math.ceil((s.requests * 1000) / rate);
    const bounded = limitMs > 0 && limitMs < countMs;
    lines.push(
      bounded
        ? timed(limitMs, `${given}, before --requests ${s.requests} at --rate ${rate} are sent`)
        : timed(countMs, `--requests ${s.requests} at --rate ${rate}: the time they take; the script stops at the count`),
    );
  } else {
    lines.push(lasting('duration', 'until quit, as lblab; stop k6 with Ctrl-C'));
  }
  const preAllocated = Math.min(maxVUs, Math.max(1, Math.ceil(rate * PREALLOCATED_FOR_S)));
  lines.push(
    { text: `preAllocatedVUs: ${preAllocated},`, from: `--rate ${rate}: enough for ${PREALLOCATED_FOR_S * 1000}ms responses; k6 starts more when all are busy` },
    { text: `maxVUs: ${maxVUs},`, from: `--max-in-flight ${maxVUs}: a VU has one request in flight` },
    grace,
  );
  return { lines, maxVUs, ...(s.requests !== undefined ? { guard: s.requests } : {}) };
}

/**
 * `rate` req/s as k6's whole `rate` per `timeUnit` (ms): 500 → 500 per 1 s,
 * 0.5 → 1 per 2 s, 2.5 → 5 per 2 s; a rate no unit up to 1000 s makes whole
 * is rounded to iterations per 1000 s.
 */
function arrivalRate(rate: number): { rate: number; timeUnitMs: number } {
  for (let seconds = 1; seconds <= 1000; seconds++) {
    const n = rate * seconds;
    if (Math.abs(n - Math.round(n)) < 1e-9 && Math.round(n) >= 1) return { rate: Math.round(n), timeUnitMs: seconds * 1000 };
  }
  return { rate: Math.max(1, Math.round(rate * 1000)), timeUnitMs: 1_000_000 };
}

/**
 * The paths requests take in turn, as `start` sends them: `--path` as
 * given; else with path routes each route's prefix (see `requestPaths`);
 * else the target URL's own path.
 */
function requestTargets(s: K6Input['scenario'], url: URL): { paths: string[]; from: string } {
  if (s.paths && s.paths.length > 0) return { paths: s.paths, from: s.paths.map((p) => `--path ${p}`).join(' ') };
  if (s.routing) {
    const routed = requestPaths(s.routing);
    if (routed.length > 1 || routed[0] !== '/') return { paths: routed, from: '--route: each path route in turn (no --path), as lblab' };
  }
  return { paths: [url.pathname + url.search], from: "no --path: the target URL's own" };
}

/** The header comment: what the script is, how to run it, what it targets, and what of lblab's load it cannot carry. */
function headerLines(input: K6Input, at: { url: URL; run: Execution; tls: boolean; shares: boolean }): Line[] {
  const s = input.scenario;
  const out: string[] = [];
  if (input.title !== undefined && input.title.trim() !== '') out.push(input.title.trim());
  out.push(
    'The load of an lblab scenario as a k6 script, generated by `lblab export k6`.',
    'Run it with k6 v0.45 or later: k6 run script.js',
    `It targets ${at.url.origin} (the balancer's address): start the balancer first${at.tls ? ' (it speaks TLS)' : ''}.`,
    `In k6's summary: ${at.shares ? 'lblab_backend_share{backend:NAME}, the shares; ' : ''}http_req_failed, the errors (status >= 500 or no answer).`,
  );
  if (s.rate !== undefined) {
    out.push(
      "lblab's open model counts latency from each request's scheduled send (coordinated omission corrected, as wrk2);",
      "k6's http_req_duration counts from the real send. A request due when every VU is busy is dropped by k6",
      '(dropped_iterations); lblab sends it late.',
    );
  }
  if (s.clients !== undefined) {
    out.push(
      `--clients ${s.clients}: lblab sends each virtual client's requests from its own address in 127.0.0.0/8, with its`,
      'own cookie jar; a k6 script cannot pick source addresses, and keeps one jar per VU. The command-line flag',
      '--local-ips (not a script option) gives each VU an address of its own, here lblab\'s first ones:',
      `  ${localIps(s.clients, at.run.maxVUs, s.spreadClients ?? false)}`,
    );
  } else if (s.cookies) {
    out.push("lblab's one client (no --clients) has one cookie jar for every request; k6 keeps one per VU.");
  }
  for (const e of s.events ?? []) out.push(`--event ${eventText(e)}: not replayed; a k6 script only sends the load.`);
  return out.map((text) => ({ text: `// ${comment(text)}` }));
}

/** Addresses spelt out for `--spread-clients`, one per /24: past this many, the comment gives the first few. */
const SPREAD_LISTED = 32;

/**
 * How to run k6 with the source addresses of lblab's first min(clients,
 * maxVUs) virtual clients (see `clientAddress`): `--local-ips` ranges of a
 * /24 each, or one address per /24 with `--spread-clients`.
 */
function localIps(clients: number, maxVUs: number, spread: boolean): string {
  const count = Math.min(clients, maxVUs);
  if (spread) {
    const listed = Array.from({ length: Math.min(count, SPREAD_LISTED) }, (_, i) => clientAddress(i, true));
    if (count <= SPREAD_LISTED) return `k6 run --local-ips ${listed.join(',')} script.js`;
    return `k6 run --local-ips ${listed.slice(0, 3).join(',')},… script.js (${count} addresses, one per /24 as --spread-clients)`;
  }
  // Packed, the addresses run on within a /24: one range per /24.
  const ranges: Array<{ first: string; last: string }> = [];
  for (let i = 0; i < count; i++) {
    const address = clientAddress(i);
    const open = ranges.at(-1);
    if (open && open.last.slice(0, open.last.lastIndexOf('.')) === address.slice(0, address.lastIndexOf('.'))) open.last = address;
    else ranges.push({ first: address, last: address });
  }
  const text = ranges.map((r) => (r.first === r.last ? r.first : `${r.first}-${r.last}`));
  return `k6 run --local-ips ${text.join(',')} script.js`;
}

/** An event as `--event` writes it: `5s kill b2`, `3s weight b1=5`, `8s algo least-conn`. */
function eventText(e: NonNullable<K6Input['scenario']['events']>[number]): string {
  const at = goDuration(e.atMs);
  if (e.action === 'algo') return `${at} algo ${e.algo}`;
  if (e.action === 'weight') return `${at} weight ${e.target}=${e.weight}`;
  return `${at} ${e.action} ${e.target}`;
}

/** The backends the script tallies shares for: the scenario's, then those the expectations name; only names a tag filter can hold. */
function knownBackends(s: K6Input['scenario'], expectations: readonly Expectation[]): string[] {
  const named = expectations.flatMap((e) => ('backend' in e && e.backend !== undefined ? [e.backend] : []));
  return [...new Set([...(s.backends ?? []).map((b) => b.name), ...named])].filter((b) => TAG_VALUE.test(b));
}

/**
 * The k6 thresholds of `expectations`, and those k6 cannot express with why.
 * A latency bound becomes a Trend condition (`p(99)<=250`, ms) on
 * `http_req_duration` (or one backend's durations); an error rate a Rate
 * condition on `http_req_failed`; a share (`is ± within`) and the largest
 * share's `max` conditions on each backend's share; a request count a
 * Counter condition. Each backend in `backends` without a share condition
 * gets an always-true one (`rate>=0`), so the summary lists its share.
 */
function judge(expectations: readonly Expectation[], backends: readonly string[]): { thresholds: Threshold[]; unexpressed: string[]; backendLatency: boolean } {
  const thresholds: Threshold[] = [];
  const unexpressed: string[] = [];
  const tagged = (metric: string, backend: string): string => `${metric}{backend:${backend}}`;
  const add = (metric: string, condition: string, from: string): void => {
    thresholds.push({ metric, condition, from });
  };
  const not = (e: Expectation, why: string): void => {
    unexpressed.push(`${expectationText(e)}: ${why}`);
  };
  let backendLatency = false;
  for (const e of expectations) {
    const text = `expect ${expectationText(e)}`;
    if ('backend' in e && e.backend !== undefined && !TAG_VALUE.test(e.backend)) {
      not(e, 'a k6 tag filter cannot hold that backend name');
      continue;
    }
    switch (e.kind) {
      case 'latency': {
        const stat = TREND_STAT[e.of];
        const metric = e.backend !== undefined ? tagged(DURATION_METRIC, e.backend) : 'http_req_duration';
        if (e.backend !== undefined) backendLatency = true;
        if (e.maxMs !== undefined) add(metric, `${stat}<=${num(e.maxMs)}`, text);
        if (e.minMs !== undefined) add(metric, `${stat}>=${num(e.minMs)}`, text);
        break;
      }
      case 'error-rate':
        if (e.from) {
          not(e, 'k6 thresholds judge the whole run, not a window from a time or an event on');
          break;
        }
        if (e.max !== undefined) add('http_req_failed', `rate<=${num(e.max)}`, text);
        if (e.min !== undefined) add('http_req_failed', `rate>=${num(e.min)}`, text);
        break;
      case 'share':
        add(tagged(SHARE_METRIC, e.backend), `rate>=${num(Math.max(0, e.is - e.within))}`, text);
        add(tagged(SHARE_METRIC, e.backend), `rate<=${num(Math.min(1, e.is + e.within))}`, text);
        break;
      case 'requests':
        if (e.from) {
          not(e, 'k6 thresholds judge the whole run, not a window from a time or an event on');
          break;
        }
        if (e.min !== undefined) add(tagged(RESPONSES_METRIC, e.backend), `count>=${e.min}`, text);
        if (e.max !== undefined) add(tagged(RESPONSES_METRIC, e.backend), `count<=${e.max}`, text);
        break;
      case 'largest-share':
        if (e.max !== undefined && backends.length > 0) {
          for (const b of backends) add(tagged(SHARE_METRIC, b), `rate<=${num(e.max)}`, `${text} (every backend's share)`);
        } else if (e.max !== undefined) not(e, 'no backends known to bound the share of');
        if (e.min !== undefined) not(e, 'a threshold bounds one metric; "some backend has at least min" spans them all');
        break;
      case 'max-share-deviation':
        not(e, "each backend's expected share comes from lblab's algorithm, weights and health over the run");
        break;
      case 'detected':
        not(e, "faults and their detection happen in lblab's backends and balancer; k6 only sends the load");
        break;
      case 'stickiness':
      case 'client-rate':
      case 'backends-per-client':
      case 'keys-moved':
      case 'keys-moved-from-kept':
        not(e, "per-client facts of lblab's record; k6 VUs are not lblab's virtual clients and thresholds have no per-client view");
        break;
      case 'sequence':
        not(e, 'the order of the first responses; thresholds judge aggregates');
        break;
      case 'requests-spread':
        not(e, 'most minus fewest spans every backend; a threshold bounds one metric');
        break;
      case 'handshakes':
      case 'upstream-connections':
        not(e, "the balancer's own connection counts; k6 sees only its side of the connections");
        break;
      case 'compare':
        not(e, 'compares two runs; a k6 script is one');
        break;
    }
  }
  const bounded = new Set(thresholds.filter((t) => t.metric.startsWith(`${SHARE_METRIC}{`)).map((t) => t.metric));
  for (const b of backends) {
    if (!bounded.has(tagged(SHARE_METRIC, b))) add(tagged(SHARE_METRIC, b), 'rate>=0', `always true: lists ${b}'s share in the summary`);
  }
  return { thresholds, unexpressed, backendLatency };
}

/** An expectation in the words of a lab file: `latency (of p99, max 250ms)`, `detected (backend b2, fault kill, within 4s)`. */
function expectationText(e: Expectation): string {
  const fields = Object.entries(e)
    .filter(([k, v]) => k !== 'kind' && k !== 'run' && v !== undefined)
    .map(([k, v]) => {
      const ms = k.endsWith('Ms') && typeof v === 'number';
      const name = (ms ? k.slice(0, -2) : k).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      if (ms) return `${name} ${goDuration(v)}`;
      if (k === 'from') return `after ${windowText(v as WindowStart)}`;
      if (Array.isArray(v)) return `${name} ${v.join(' ')}`;
      return `${name} ${String(v)}`;
    });
  return fields.length > 0 ? `${e.kind} (${fields.join(', ')})` : e.kind;
}

function windowText(w: WindowStart): string {
  const grace = w.graceMs > 0 ? ` +${goDuration(w.graceMs)}` : '';
  return w.kind === 'time' ? `${goDuration(w.atMs)}${grace}` : `${w.type}${w.target !== undefined ? ` ${w.target}` : ''}${grace}`;
}

/**
 * The default function: one request per iteration, as lblab sends them.
 * lblab's requests take the virtual clients in turn and each client the
 * paths in turn, so request i of the run (k6's `exec.scenario.iterationInTest`,
 * unique across VUs) is client (i mod clients) + 1 on its ⌊i / clients⌋-th
 * path; `{seq}` is i + 1.
 */
function requestFunction(
  s: K6Input['scenario'],
  run: Execution,
  paths: string[],
  clients: number,
  use: { needsIteration: boolean; needsClient: boolean; usesSeq: boolean; backends: string[]; backendLatency: boolean },
): Line[] {
  const lines: Line[] = [];
  if (use.needsClient || use.usesSeq) {
    lines.push(
      { text: "// --header placeholders as lblab expands them: {client} is the virtual client whose turn it is (1-based; lblab's" },
      { text: '// requests take the clients in turn), {seq} the number of the request in the run (1-based). Both come from' },
      { text: "// exec.scenario.iterationInTest, unique across VUs, not from __VU or __ITER (a VU is not lblab's client)." },
    );
  }
  lines.push({ text: 'export default function () {' });
  if (use.needsIteration) lines.push({ text: 'const iteration = exec.scenario.iterationInTest;', indent: 1 });
  if (run.guard !== undefined) lines.push({ text: 'if (iteration >= REQUESTS) return;', from: `--requests ${run.guard}: none past the count`, indent: 1 });
  if (use.needsClient) lines.push({ text: 'const client = (iteration % CLIENTS) + 1;', indent: 1 });
  if (use.usesSeq) lines.push({ text: 'const seq = iteration + 1;', indent: 1 });
  const path = paths.length === 1 ? 'PATH' : clients > 1 ? 'PATHS[Math.floor(iteration / CLIENTS) % PATHS.length]' : 'PATHS[iteration % PATHS.length]';
  const params: Line[] = [];
  const headers = mergedHeaders(s.headers);
  if (headers.length > 0) {
    params.push({ text: 'headers: {', indent: 2 });
    for (const h of headers) params.push({ text: `${JSON.stringify(h.name)}: ${valueExpression(h.value)},`, from: h.from, indent: 3 });
    params.push({ text: '},', indent: 2 });
  }
  if (!s.cookies) {
    params.push({ text: 'jar: new http.CookieJar(),', from: '--no-cookies: an empty jar per request (k6 cannot switch the jar off)', indent: 2 });
  }
  if (params.length === 0) lines.push({ text: `const res = http.get(TARGET + ${path});`, indent: 1 });
  else lines.push({ text: `const res = http.get(TARGET + ${path}, {`, indent: 1 }, ...params, { text: '});', indent: 1 });
  lines.push(
    { text: "const backend = res.headers['X-Lblab-Backend'];", indent: 1 },
    { text: 'if (backend === undefined) return;', indent: 1 },
    { text: 'backendResponses.add(1, { backend });', indent: 1 },
  );
  if (use.backends.length > 0) lines.push({ text: 'for (const name of BACKENDS) backendShare.add(name === backend, { backend: name });', indent: 1 });
  if (use.backendLatency) lines.push({ text: 'backendDuration.add(res.timings.duration, { backend });', indent: 1 });
  lines.push({ text: '}' });
  return lines;
}

/**
 * The `--header` values as one k6 header object: a name given twice
 * (case-insensitive) becomes one field, the values joined by `, ` (`; ` for
 * cookie), as RFC 9110 section 5.3 allows; lblab sends them as separate lines.
 */
function mergedHeaders(headers: K6Input['scenario']['headers']): Array<{ name: string; value: string; from: string }> {
  const out: Array<{ name: string; value: string; from: string }> = [];
  for (const h of headers) {
    const same = out.find((o) => o.name.toLowerCase() === h.name.toLowerCase());
    if (same) {
      same.value += `${h.name.toLowerCase() === 'cookie' ? '; ' : ', '}${h.value}`;
      same.from += ` --header ${h.name}=${h.value} (one field)`;
    } else out.push({ name: h.name, value: h.value, from: `--header ${h.name}=${h.value}` });
  }
  return out;
}

/** A header value as a JavaScript expression: its text as string literals, `{client}` and `{seq}` as the variables. */
function valueExpression(value: string): string {
  const parts = value
    .split(/(\{client\}|\{seq\})/)
    .filter((p) => p !== '')
    .map((p) => (p === '{client}' ? 'client' : p === '{seq}' ? 'seq' : JSON.stringify(p)));
  if (parts.length === 0) return '""';
  if (!parts[0]!.startsWith('"')) parts[0] = `String(${parts[0]})`;
  return parts.join(' + ');
}

/** A duration as k6 (Go's `time.ParseDuration`) and lblab both read it: `2h`, `5m`, `10s`, `1500ms`. */
function goDuration(ms: number): string {
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms > 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms > 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${Number(ms.toFixed(3))}ms`;
}

/** A threshold's number: at most six decimals, no float noise (`0.30000000000000004` → `0.3`). */
function num(v: number): string {
  return String(Number(v.toFixed(6)));
}

/** Comment text with control characters, DEL, C1 and the line separators written out (`\x0a`, `\u2028`): a comment can never end early. */
function comment(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}

/**
 * The script's text: each line indented, its `from` as a trailing
 * `// comment`, aligned within its block (the lines between two blank
 * ones) after the longest line that has one, at most 60 columns in.
 */
function render(lines: readonly Line[]): string {
  const body = lines.map((l) => `${'  '.repeat(l.indent ?? 0)}${l.text}`);
  const widths: number[] = [];
  for (let start = 0; start < lines.length; ) {
    let end = start;
    while (end < lines.length && lines[end]!.text !== '') end++;
    const width = Math.min(60, Math.max(0, ...body.slice(start, end).map((b, i) => (lines[start + i]!.from !== undefined ? b.length : 0))));
    for (let i = start; i <= end; i++) widths[i] = width;
    start = end + 1;
  }
  return body.map((b, i) => (lines[i]!.from !== undefined ? `${b.padEnd(widths[i]!)}  // ${comment(lines[i]!.from!)}` : b).trimEnd()).join('\n') + '\n';
}

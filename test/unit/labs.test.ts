import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { evaluateExpectations, type LabRunResult } from '../../src/lab/evaluate.js';
import { labFiles, loadAllLabs } from '../../src/lab/lab-directory.js';
import { parseLab } from '../../src/lab/load-lab.js';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { renderReport } from '../../src/report/render-report.js';
import { renderVerdict } from '../../src/report/render-verdict.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/run-weighted-kill.json', import.meta.url), 'utf8')) as RunRecord;

/** A copy of the weighted 3:2:1 fixture (b2 killed at 2 s, DOWN at 4 s, 12 errors in seconds 3-4) with changes. */
function record(changes: Partial<RunRecord> = {}): RunRecord {
  return { ...structuredClone(fixture), ...changes };
}

const HEAD = `order: 1
title: A test lab
teaches: what a test teaches
backends: 3
algo: weighted
weights: [3, 2, 1]
load: { duration: 6s }
timeline:
  - { at: 2s, kill: b2 }
`;

/** Parses a lab made of HEAD and `expect` lines. */
function lab(expect: string, head = HEAD) {
  return parseLab(`${head}expect:\n${expect}`, 'labs/x.yaml');
}

/** The verdict lines of `expect` judged against `rec` (one run, named weighted by its algorithm). */
function judge(expect: string, rec: RunRecord, extra: Partial<LabRunResult> = {}) {
  return evaluateExpectations(lab(expect).expectations, [{ name: 'weighted', record: rec, ...extra }]);
}

/** The UsageError message parsing `text` as labs/x.yaml gives. */
function errorOf(text: string): string {
  try {
    parseLab(text, 'labs/x.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected the lab to be refused');
}

describe('the labs in labs/', () => {
  it('every file validates, runs within 60 s and has its own place in the course', async () => {
    const labs = await loadAllLabs();
    expect(labs.length).toBe(labFiles().length);
    expect(labs.length).toBeGreaterThanOrEqual(12);
    for (const l of labs) {
      expect(l.durationMs, l.name).toBeLessThanOrEqual(60_000);
      expect(l.teaches.length, l.name).toBeGreaterThan(100);
      expect(l.expectations.length, l.name).toBeGreaterThan(0);
      expect(l.file, l.name).toBe(`labs/${l.name}.yaml`);
    }
    const orders = labs.map((l) => l.order);
    expect(new Set(orders).size).toBe(orders.length);
    expect(orders).toEqual([...orders].sort((a, b) => a - b));
    expect(labs.map((l) => l.name)).toEqual(expect.arrayContaining(['round-robin', 'failover', 'weighted', 'metrics-report', 'least-connections', 'hashing']));
  });

  it('reads a scenario as lblab start would run it', () => {
    const l = lab('  - error-rate: { max: 0 }', `${HEAD}health: { interval: 500ms, fall: 2 }\nbalancer: { breaker: 5, breaker-cooldown: 2s, retry-on: [error, timeout] }\n`);
    const c = l.runs[0]!.config;
    expect(l.name).toBe('x');
    expect(c.algo).toBe('weighted');
    expect(c.weights).toEqual([3, 2, 1]);
    expect(c.durationMs).toBe(6000);
    expect(c.concurrency).toBe(16);
    expect(c.health).toMatchObject({ intervalMs: 500, fall: 2, rise: 2, fastinterMs: 500 });
    expect(c.passive?.breaker).toEqual({ failures: 5, cooldownMs: 2000 });
    expect([...c.retry!.on]).toEqual(['error', 'timeout']);
    expect(c.events).toEqual([{ atMs: 2000, action: 'kill', target: 'b2' }]);
  });
});

describe('a bad lab file: one line naming the file, the field path and what was expected', () => {
  it.each([
    ['a fraction out of range', `${HEAD}expect:\n  - error-rate: { max: 0 }\n  - share: { backend: b1, is: 0.5, within: 0.1 }\n  - share: { backend: b1, is: 0.5, within: 3 }`, /^labs\/x\.yaml: expect\[2\]\.share\.within: expected a number ≤ 1, got 3$/],
    ['an unknown expectation kind', `${HEAD}expect:\n  - shares: { backend: b1 }`, /^labs\/x\.yaml: expect\[0\]: expected one expectation, one of share, .*, got shares$/],
    ['an unknown backend', `${HEAD}expect:\n  - share: { backend: b7, is: 0.5, within: 0.1 }`, /^labs\/x\.yaml: expect\[0\]\.share\.backend: expected a backend, one of b1, b2, b3, got "b7"$/],
    ['a duration without its unit', HEAD.replace('duration: 6s', 'duration: 6') + 'expect:\n  - error-rate: { max: 0 }', /^labs\/x\.yaml: load\.duration: expected a text \(durations are written with a unit, like 5s\), got 6$/],
    ['an unknown field', HEAD.replace('duration: 6s', 'duration: 6s, burst: 100') + 'expect:\n  - error-rate: { max: 0 }', /^labs\/x\.yaml: load\.burst: expected no such field/],
    ['a bad timeline action', `${HEAD}  - { at: 3s, explode: b2 }\nexpect:\n  - error-rate: { max: 0 }`, /^labs\/x\.yaml: timeline\[1\]\.explode: expected an action, one of kill, restart/],
    ['a timeline time past the run', `${HEAD}  - { at: 9s, restart: b2 }\nexpect:\n  - error-rate: { max: 0 }`, /^labs\/x\.yaml: timeline: expected every entry to fall within load\.duration/],
    ['a bad latency', HEAD.replace('backends: 3', 'backends:\n  - { latency: 20xs }\n  - {}\n  - {}') + 'expect:\n  - error-rate: { max: 0 }', /^labs\/x\.yaml: backends\[0\]\.latency: expected a value like 20ms/],
    ['weights that do not match the backends', HEAD.replace('[3, 2, 1]', '[3, 2]') + 'expect:\n  - error-rate: { max: 0 }', /^labs\/x\.yaml: weights: expected to have 3 values \(one per backend\), got 2$/],
    ['a health setting start refuses', `${HEAD}health: { interval: 0s }\nexpect:\n  - error-rate: { max: 0 }`, /^labs\/x\.yaml: health\.interval: expected a positive duration/],
    ['keys moved without a removal', `${HEAD}expect:\n  - keys-moved: { max: 0.3 }`, /^labs\/x\.yaml: expect\[0\]\.keys-moved: expected a run that removes a backend/],
    ['no run named in a lab with several', `${HEAD}runs:\n  - { name: a }\n  - { name: b }\nexpect:\n  - error-rate: { max: 0 }`, /^labs\/x\.yaml: expect\[0\]\.error-rate\.run: expected the run it is about, one of a, b/],
    ['a missing title', HEAD.replace('title: A test lab\n', '') + 'expect:\n  - error-rate: { max: 0 }', /^labs\/x\.yaml: title: expected a text .*, got nothing$/],
    ['text that is not YAML', 'title: [\n', /^labs\/x\.yaml: expected YAML or JSON, but it does not parse: .*line 2/],
  ])('%s', (_, text, pattern) => {
    const message = errorOf(text);
    expect(message).toMatch(pattern);
    expect(message).not.toContain('\n');
  });

  it('reads JSON too', () => {
    const l = parseLab(JSON.stringify({ title: 'J', teaches: 't', backends: 2, load: { duration: '1s' }, expect: [{ 'error-rate': { max: 0 } }] }), 'mine.json');
    expect(l.name).toBe('mine');
    expect(l.order).toBe(999);
  });
});

describe('expectations judged over a run record', () => {
  it('share ± tolerance and the largest share deviation', () => {
    const v = judge(
      '  - share: { backend: b1, is: 0.6, within: 0.01 }\n  - share: { backend: b1, is: 0.5, within: 0.03 }\n  - max-share-deviation: { max: 0.15 }\n  - max-share-deviation: { max: 0.03 }',
      record(),
    );
    expect(v.map((x) => x.pass)).toEqual([true, false, true, false]);
    expect(v[1]).toEqual({ text: 'share of b1', expected: '50.0% ± 3.0%', measured: '60.1%', pass: false });
    expect(v[3]!.measured).toBe('15.0% (b2 18.4% vs 33.3%)');
  });

  it('a kill noticed within a time (and not before another), from the record\'s detections', () => {
    const rec = record();
    rec.backends[0]!.detections = [];
    rec.backends[1]!.detections = [{ fault: 'kill', atMs: 2000, detectedBy: 'down', afterMs: 2000, reason: '3 failed checks, last L4CON' }];
    const v = judge(
      '  - detected: { backend: b2, by: down, within: 3s }\n  - detected: { backend: b2, within: 1500ms }\n  - detected: { backend: b2, at-least: 2500ms, within: 3s }\n  - detected: { backend: b1, within: 3s }\n  - detected: { backend: b2, by: ejected, within: 3s }',
      rec,
    );
    expect(v.map((x) => x.pass)).toEqual([true, false, false, false, false]);
    expect(v[0]).toMatchObject({ text: 'b2 DOWN after its kill', expected: 'DOWN within 3.0s', measured: 'DOWN after 2.0s (3 failed checks, last L4CON)' });
    expect(v[3]!.measured).toBe('no kill of b1 in the run');
    const unnoticed = record();
    unnoticed.backends[1]!.detections = [{ fault: 'kill', atMs: 2000, detectedBy: null, afterMs: null }];
    expect(judge('  - detected: { backend: b2, within: 10s }', unnoticed)[0]).toMatchObject({ pass: false, measured: expect.stringMatching(/^not noticed/) });
  });

  it('error rate over the run, after an event, and after an event plus grace (per-second time line)', () => {
    const v = judge(
      '  - error-rate: { max: 0.002 }\n  - error-rate: { max: 0.001 }\n  - error-rate: { max: 0.001, after: kill b2 }\n  - error-rate: { max: 0, after: down b2 }\n  - error-rate: { min: 0.002, after: 2s }\n  - error-rate: { max: 0, after: restart b2 }',
      record(),
    );
    expect(v.map((x) => x.pass)).toEqual([true, false, false, true, true, false]);
    // From the kill at 2.0 s: seconds 3-6, 12 errors in 4000 requests.
    expect(v[2]).toMatchObject({ text: 'error rate from kill b2', measured: '0.30% (12 of 4000)' });
    expect(v[3]!.measured).toBe('0.00% (0 of 2000)');
    expect(v[5]!.measured).toBe('not measured (no restart b2 in the run\'s events)');
  });

  it('share and requests in a window: from an event, for a while (per-second time line)', () => {
    const v = judge(
      '  - share: { backend: b2, is: 0.15, within: 0.01, after: kill b2, for: 1s }\n  - share: { backend: b2, is: 0.15, within: 0.01, after: kill b2, for: 2s }\n  - share: { backend: b2, is: 0, within: 0, after: down b2 }\n  - requests: { backend: b2, max: 150, after: kill b2, for: 1s }\n  - requests: { backend: b2, max: 99, after: kill b2, grace: 1s }',
      record(),
    );
    expect(v.map((x) => x.pass)).toEqual([true, false, true, true, false]);
    // The second after the kill at 2.0 s: 150 of the 994 responses a backend gave.
    expect(v[0]).toMatchObject({ text: 'share of b2 from kill b2 for 1.0s', measured: '15.1% (150 of 994)' });
    expect(v[1]!.measured).toBe('12.6% (250 of 1988)');
    expect(v[4]).toMatchObject({ text: 'requests served by b2 from kill b2 +1.0s', measured: '100' });
    expect(errorOf(`${HEAD}expect:\n  - share: { backend: b2, is: 0.1, within: 0.1, for: 1s }`)).toBe('labs/x.yaml: expect[0].share.for: expected for only with after');
  });

  it('what each virtual client got per second: one client, or every client but one (record clients.each)', () => {
    const head = HEAD.replace('load: { duration: 6s }', 'load: { duration: 6s, clients: 3 }');
    const text = '  - client-rate: { client: 1, of: served, max: 20 }\n  - client-rate: { client: 1, of: rate-limited, min: 50 }\n  - client-rate: { except: 1, of: rate-limited, max: 0 }\n  - client-rate: { except: 2, of: served, min: 10 }';
    const each = [
      { requests: 420, rateLimited: 300, errors: 0 },
      { requests: 60, rateLimited: 0, errors: 0 },
      { requests: 60, rateLimited: 0, errors: 6 },
    ];
    const rec = record({ clients: { total: 3, touched: { '3': 3 }, stickiness: 0, each } });
    const v = evaluateExpectations(lab(text, head).expectations, [{ name: 'weighted', record: rec }]);
    // 6 s: client 1 served 120 (20/s) and got 300 429s (50/s); client 3 served 54 (9/s).
    expect(v.map((x) => x.pass)).toEqual([true, true, true, false]);
    expect(v[0]).toMatchObject({ text: 'requests served per second of client 1', expected: '≤ 20.0 req/s', measured: '20.0 req/s' });
    expect(v[3]!.measured).toBe('9.0 to 20.0 req/s (1 of 2 outside, e.g. client 3)');
    expect(evaluateExpectations(lab(text, head).expectations, [{ name: 'weighted', record: record() }])[0]!.measured).toBe('not measured (the run record has no clients.each)');
    expect(errorOf(`${head}expect:\n  - client-rate: { client: 4, of: served, min: 1 }`)).toBe('labs/x.yaml: expect[0].client-rate.client: expected a virtual client 1…3, got 4');
    expect(errorOf(`${HEAD}expect:\n  - client-rate: { client: 1, of: served, min: 1 }`)).toMatch(/expected a run with virtual clients \(load.clients\); run weighted has none/);
  });

  it('latency bounds, overall or of one backend', () => {
    const v = judge('  - latency: { of: p99, max: 35ms }\n  - latency: { of: p99, max: 30ms }\n  - latency: { of: p50, backend: b2, min: 11ms, max: 12ms }\n  - latency: { of: max, backend: b3, min: 100ms }', record());
    expect(v.map((x) => x.pass)).toEqual([true, false, true, false]);
    expect(v[2]).toMatchObject({ text: 'p50 of b2', expected: '11.0ms to 12.0ms', measured: '11.9ms' });
  });

  it('requests served, over the run or from an event, and their spread', () => {
    const v = judge(
      '  - requests: { backend: b2, min: 1000 }\n  - requests: { backend: b2, max: 0, after: down b2 }\n  - requests: { backend: b2, max: 0, after: kill b2 }\n  - requests: { backend: b3, min: 1000, max: 1200 }\n  - requests-spread: { max: 2500 }\n  - requests-spread: { max: 2400 }',
      record(),
    );
    expect(v.map((x) => x.pass)).toEqual([true, true, false, false, true, false]);
    expect(v[2]!.measured).toBe('250');
    expect(v[4]!.measured).toBe('2500 (b1 3600, b2 1100)');
  });

  it('stickiness and the first responses, judged when the record has them and failed as not measured when not', () => {
    const expectText = '  - stickiness: { min: 1 }\n  - sequence: { cycle: [b1, b2, b1, b3], count: 8 }\n  - sequence: { starts-with: [b1, b1] }';
    const without = judge(expectText, record());
    expect(without.map((x) => x.pass)).toEqual([false, false, false]);
    expect(without[0]!.measured).toBe('not measured (the run record has no clients.stickiness)');
    expect(without[1]!.measured).toBe('not measured (the run record has no sequence)');
    const seq = ['b1', 'b2', 'b1', 'b3', 'b1', 'b2', 'b1', 'b3', 'b2'];
    const withThem = judge(expectText, record({ clients: { total: 50, touched: { '1': 50 }, stickiness: 1 }, sequence: seq }));
    expect(withThem.map((x) => x.pass)).toEqual([true, true, false]);
    expect(withThem[1]).toMatchObject({ text: 'first 8 responses cycle b1 b2 b1 b3', expected: 'b1 b2 b1 b3 b1 b2 b1 b3' });
    const loose = judge('  - stickiness: { min: 1 }', record({ clients: { total: 50, touched: { '1': 48, '2': 2 }, stickiness: 0.96 } }));
    expect(loose[0]).toMatchObject({ pass: false, measured: '96.0% of 50 clients' });
  });

  it('a run that got no responses measures nothing but the time to detect: its other expectations fail as not measured', () => {
    const empty = record();
    empty.totals = { ...empty.totals, requests: 0, errors: 0 };
    const v = judge('  - error-rate: { max: 0.01 }\n  - requests: { backend: b3, max: 0 }\n  - latency: { of: p99, max: 1s }', empty);
    expect(v.map((x) => x.pass)).toEqual([false, false, false]);
    expect(v[0]!.measured).toMatch(/^not measured \(run .* got no responses\)$/);
  });

  it('the largest share of any backend, and how many backends a client met at most', () => {
    const expectText = '  - largest-share: { min: 0.95 }\n  - largest-share: { max: 0.7 }\n  - backends-per-client: { max: 1 }\n  - backends-per-client: { max: 2 }';
    const moved = judge(expectText, record({ clients: { total: 30, touched: { '1': 20, '2': 10 }, stickiness: 0.6667 } }));
    expect(moved.map((x) => x.pass)).toEqual([false, true, false, true]);
    expect(moved[0]).toMatchObject({ text: 'largest share of one backend', expected: '≥ 95.0%' });
    // The fixture is weighted 3:2:1 with b2 killed: b1 has the largest share, about 60%.
    expect(moved[1]!.measured).toBe('60.1% (b1)');
    expect(moved[2]).toMatchObject({ measured: '2 (10 of 30 clients met more than 1)' });
    expect(judge('  - backends-per-client: { max: 2 }', record())[0]).toMatchObject({ pass: false, measured: 'not measured (the run record has no clients)' });
  });

  it("what the backends saw: a header on every request or none, distinct values and peers joined over the backends, and not measured without a view", () => {
    const view = (peers: Record<string, number>, xff: string[], requests = 10) => ({
      requests,
      peers,
      headers: { host: requests, 'x-forwarded-for': requests, ...(requests > 5 ? { te: 1 } : {}) },
      distinct: { 'x-forwarded-for': xff.length },
      values: { 'x-forwarded-for': xff },
    });
    const rec = record();
    rec.backends = rec.backends.map((b, i) => ({ ...b, seen: view({ '127.0.0.1': 10 }, i === 0 ? ['127.0.0.2', '127.0.0.3'] : ['127.0.0.3', '127.0.0.4']) }));
    const expectText = [
      '  - seen-by-backends: { header: X-Forwarded-For, present: true }',
      '  - seen-by-backends: { header: te, present: false }',
      '  - seen-by-backends: { header: via, present: false }',
      '  - seen-by-backends: { header: x-forwarded-for, distinct: { min: 3, max: 3 } }',
      '  - seen-by-backends: { header: x-forwarded-for, distinct: { min: 4 } }',
      '  - seen-by-backends: { peers: { max: 1 } }',
      '  - seen-by-backends: { peers: { min: 2 } }',
    ].join('\n');
    const v = judge(expectText, rec);
    expect(v.map((x) => x.pass)).toEqual([true, false, true, true, false, true, false]);
    expect(v[0]).toMatchObject({ text: 'requests reaching the backends with x-forwarded-for', expected: 'every one', measured: '30 of 30 requests' });
    expect(v[1]).toMatchObject({ expected: 'none', measured: '3 of 30 requests' });
    expect(v[3]).toMatchObject({ text: 'distinct x-forwarded-for values the backends saw', expected: '3 to 3', measured: '3 (127.0.0.2, 127.0.0.3, 127.0.0.4)' });
    expect(v[5]).toMatchObject({ text: 'peer addresses the backends saw', measured: '1 (127.0.0.1)' });
    const none = judge(expectText, record());
    expect(none.every((x) => !x.pass && x.measured === "not measured (the record has no backends' view of the requests)")).toBe(true);
    const idle = record();
    idle.backends = idle.backends.map((b) => ({ ...b, seen: view({}, [], 0) }));
    expect(judge('  - seen-by-backends: { header: via, present: false }', idle)[0]).toMatchObject({ pass: false, measured: 'not measured (the backends saw no requests)' });
  });

  it('refuses a seen-by-backends that asks for two things, none, or a header with peers', () => {
    const bad = (e: string) => errorOf(`${HEAD}expect:\n  - seen-by-backends: ${e}\n`);
    expect(bad('{ header: via }')).toBe('labs/x.yaml: expect[0].seen-by-backends: expected one of present, distinct or peers, got none');
    expect(bad('{ header: via, present: true, peers: { max: 1 } }')).toBe('labs/x.yaml: expect[0].seen-by-backends: expected one of present, distinct or peers, got present and peers');
    expect(bad('{ present: true }')).toBe('labs/x.yaml: expect[0].seen-by-backends.header: expected the header present is about, got nothing');
    expect(bad('{ header: via, peers: { max: 1 } }')).toMatch(/seen-by-backends\.header: expected no header with peers/);
    expect(bad('{ peers: {} }')).toBe('labs/x.yaml: expect[0].seen-by-backends.peers: expected min or max (or both), got neither');
    expect(bad('{ header: "not a header", present: true }')).toMatch(/^labs\/x\.yaml: expect\[0\]\.seen-by-backends\.header: /);
    expect(errorOf(HEAD.replace('load: { duration: 6s }', 'load: { duration: 6s, proxy: reverse }') + 'expect:\n  - error-rate: { max: 0 }\n')).toMatch(/^labs\/x\.yaml: load\.proxy: /);
  });

  it('forward-proxy and reverse-proxy: their runs go through the forward proxy or the balancer, and they judge what the backends saw', async () => {
    const labs = await loadAllLabs();
    const forward = labs.find((l) => l.name === 'forward-proxy')!;
    expect(forward.order).toBe(17);
    expect(forward.runs.map((r) => [r.name, r.config.proxy])).toEqual([['forward', 'forward'], ['reverse', undefined]]);
    const reverse = labs.find((l) => l.name === 'reverse-proxy')!;
    expect(reverse.order).toBe(18);
    expect(reverse.runs[0]!.config.headers.map((h) => h.name)).toEqual(['te', 'trailer', 'proxy-connection', 'x-request-id']);
    for (const l of [forward, reverse]) expect(l.expectations.filter((e) => e.kind === 'seen-by-backends').length, l.name).toBeGreaterThanOrEqual(4);
  });

  it('keys moved by a removal, and compare-style expectations between runs', () => {
    const head = `${HEAD.replace('algo: weighted\nweights: [3, 2, 1]\n', '').replace('{ at: 2s, kill: b2 }', '{ at: 3s, remove: b2 }')}load: { duration: 6s, clients: 10 }\n`.replace('load: { duration: 6s }\n', '');
    const l = parseLab(
      `${head}runs:\n  - { name: ip-hash, algo: ip-hash }\n  - { name: ring, algo: consistent-hash }\nexpect:\n` +
        '  - keys-moved: { run: ring, max: 0.4 }\n  - keys-moved-from-kept: { run: ring, max: 0 }\n  - keys-moved: { run: ip-hash, max: 0.4 }\n' +
        '  - compare: { metric: keys-moved, run: ring, below: ip-hash }\n  - compare: { metric: p99, run: ring, below: ip-hash, by: 2 }\n  - compare: { metric: share, backend: b1, run: ip-hash, above: ring }',
      'labs/hash.yaml',
    );
    expect(l.runs.map((r) => [r.name, r.removal])).toEqual([
      ['ip-hash', { target: 'b2', atMs: 3000 }],
      ['ring', { target: 'b2', atMs: 3000 }],
    ]);
    const moved = (n: number, fromKept: number) => ({ removed: 'b2', clients: 10, moved: n, movedFraction: n / 10, movedFromKept: fromKept, ownClients: 3, idealFraction: 1 / 3 });
    const ipRecord = record();
    const ringRecord = record();
    ringRecord.totals.latencyMs.p99 = 15;
    ringRecord.backends[0]!.share = 0.5;
    const v = evaluateExpectations(l.expectations, [
      { name: 'ip-hash', record: ipRecord, keysMoved: moved(8, 5) },
      { name: 'ring', record: ringRecord, keysMoved: moved(3, 0) },
    ]);
    expect(v.map((x) => x.pass)).toEqual([true, true, false, true, true, true]);
    expect(v[0]).toMatchObject({ text: 'ring: keys moved by the removal (clients whose backend changed)', measured: '30.0% (3/10 clients)' });
    expect(v[4]).toMatchObject({ text: 'p99 of ring below ip-hash by 2×', measured: '15.0ms vs 31.9ms' });
    ringRecord.totals.latencyMs.p99 = 16;
    expect(evaluateExpectations(l.expectations, [{ name: 'ip-hash', record: ipRecord }, { name: 'ring', record: ringRecord }])[4]!.pass).toBe(false);
    // A run that did not run, or ended before the removal settled, is not measured: never passed.
    const partial = evaluateExpectations(l.expectations, [{ name: 'ip-hash', record: ipRecord }]);
    expect(partial.map((x) => x.pass)).toEqual([false, false, false, false, false, false]);
    expect(partial[0]!.measured).toBe('not measured (run ring did not run)');
    expect(partial[2]!.measured).toBe('not measured (the run ended before the new mapping settled)');
  });
});

describe('renderVerdict and the report', () => {
  const verdict = {
    name: 'x',
    title: 'A test lab',
    passed: false,
    expectations: [
      { text: 'share of b1', expected: '50.0% ± 3.0%', measured: '49.1%', pass: true },
      { text: 'error rate from kill b2', expected: '≤ 0.50%', measured: '2.00% (20 of 1000)', pass: false },
    ],
  };

  it('prints one ✓/✗ line per expectation with expected and measured, and how many held', () => {
    const text = renderVerdict(verdict, { color: false });
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('Lab x · A test lab · FAILED 1 of 2');
    expect(lines[2]).toMatch(/^ {2}✓ {2}share of b1\s+50\.0% ± 3\.0%\s+49\.1%$/);
    expect(lines[3]).toMatch(/^ {2}✗ {2}error rate from kill b2\s+≤ 0\.50%\s+2\.00% \(20 of 1000\)$/);
    expect(renderVerdict({ ...verdict, passed: true, expectations: [verdict.expectations[0]!] }, { color: false })).toMatch(/^Lab x · A test lab · PASSED 1\/1\n/);
  });

  it('ends the report of a lab run, and only of a lab run', () => {
    expect(renderReport(record({ lab: verdict }), { color: false })).toContain(renderVerdict(verdict, { color: false }).trimEnd());
    expect(renderReport(record(), { color: false })).not.toContain('Lab ');
  });
});

import { readFileSync } from 'node:fs';
import type { BackendRecord, RunEvent, RunRecord } from '../../src/metrics/run-record.js';

/** A saved run record from test/fixtures, read fresh each call (tests may change it). */
export function fixture(name: 'run-weighted-kill' | 'run-kill-detected'): RunRecord {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url), 'utf8')) as RunRecord;
}

/**
 * A hand-built run record: `seconds` one-second points where backend i
 * serves `rps(name, second)` req/s (100 by default), the given events, and
 * health transitions taken from the `up`/`down` events. Only what the report
 * reads is filled in.
 */
export function makeRecord(opts: {
  seconds: number;
  backends: string[];
  events?: RunEvent[];
  rps?: (name: string, second: number) => number;
  lab?: RunRecord['lab'];
}): RunRecord {
  const rps = opts.rps ?? (() => 100);
  const events = opts.events ?? [];
  const timeline = Array.from({ length: opts.seconds }, (_, s) => {
    const perBackend = Object.fromEntries(opts.backends.map((b) => [b, rps(b, s)]));
    return { atMs: (s + 1) * 1000, rps: Object.values(perBackend).reduce((a, v) => a + v, 0), errors: 0, perBackend };
  });
  const total = timeline.reduce((a, p) => a + p.rps, 0);
  const backends: BackendRecord[] = opts.backends.map((name) => {
    const requests = timeline.reduce((a, p) => a + (p.perBackend[name] ?? 0), 0);
    const transitions = events
      .filter((e) => e.target === name && (e.type === 'up' || e.type === 'down'))
      .map((e) => ({ atMs: e.atMs, from: e.type === 'down' ? ('up' as const) : ('down' as const), to: e.type as 'up' | 'down', reason: e.detail ?? '' }));
    const last = transitions.at(-1);
    return {
      name,
      url: `http://127.0.0.1:4000${opts.backends.indexOf(name)}`,
      weight: 1,
      requests,
      share: total > 0 ? requests / total : 0,
      expectedShare: 1 / opts.backends.length,
      errors: 0,
      latencyMs: { p50: 1, p90: 2, p99: 3, p999: 4, max: 5 },
      health: { state: last?.to ?? 'up', downMs: 0, transitions },
    };
  });
  return {
    schemaVersion: 1,
    config: { command: 'start', algo: 'round-robin', concurrency: 8 },
    durationMs: opts.seconds * 1000,
    totals: {
      requests: total,
      errors: 0,
      rps: total / Math.max(1, opts.seconds),
      latencyMs: { p50: 1, p90: 2, p99: 3, p999: 4, max: 5 },
      statusCodes: { '200': total },
      errorKinds: {},
      latencyBuckets: { edgesMs: [1, 2, 5, 10], counts: [0, total - 10, 10, 0, 0] },
    },
    backends,
    events,
    timeline,
    ...(opts.lab ? { lab: opts.lab } : {}),
  };
}

/** A lab verdict with one expectation met and one not; the strings carry Markdown and HTML specials on purpose. */
export const FAILED_LAB: NonNullable<RunRecord['lab']> = {
  name: 'failover',
  title: 'Kill b2 <mid-run> & keep | serving',
  passed: false,
  expectations: [
    { text: 'b2 marked down within 4s of its kill', expected: '≤ 4s', measured: '2.1s', pass: true },
    { text: 'errors after the kill ≤ 0.5% *strict*', expected: '≤ 0.5%', measured: '1.2% <script>alert(1)</script>', pass: false },
  ],
};

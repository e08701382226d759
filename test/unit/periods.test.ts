import { describe, expect, it } from 'vitest';
import { formatHashKey, parseHashKey } from '../../src/balancer/hash-key.js';
import { buildRunRecord } from '../../src/metrics/run-record.js';
import { TrafficStats } from '../../src/metrics/traffic-stats.js';
import { renderReport } from '../../src/report/render-report.js';
import { PeriodLog } from '../../src/session/periods.js';

describe('traffic segments (algorithm periods)', () => {
  it('records each request in the span its completion time falls in, and in the totals', () => {
    const stats = new TrafficStats();
    const first = stats.startPeriod(0);
    stats.record(stats.backend('b1'), 1000, 200, undefined, 100);
    const second = stats.startPeriod(2000);
    // A late batch: completed at 1500 ms, recorded after the second span began.
    stats.record(stats.backend('b2'), 1000, 200, undefined, 1500);
    stats.record(stats.backend('b2'), 1000, 200, undefined, 2500);
    stats.record(undefined, 1000, 0, 'refused', 2600);
    expect(stats.requests).toBe(4);
    expect(first.requests).toBe(2);
    expect(first.backend('b2').requests).toBe(1);
    expect(second.requests).toBe(2);
    expect(second.errors).toBe(1);
    expect(second.backend('b2').requests).toBe(1);
  });
});

describe('run record periods', () => {
  function record() {
    const stats = new TrafficStats();
    const p1 = stats.startPeriod(0);
    for (let i = 0; i < 30; i++) stats.record(stats.backend(`b${(i % 3) + 1}`), 2000, 200, undefined, 100 + i);
    const p2 = stats.startPeriod(1000);
    for (let i = 0; i < 60; i++) stats.record(stats.backend(i % 6 < 4 ? 'b1' : i % 6 === 4 ? 'b2' : 'b3'), 2000, 200, undefined, 1100 + i);
    return buildRunRecord({
      config: { command: 'start', algo: 'round-robin', weights: [1, 1, 1] },
      durationMs: 2000,
      stats,
      backends: ['b1', 'b2', 'b3'].map((name) => ({ name, url: '', weight: name === 'b1' ? 4 : 1, expectedShare: name === 'b1' ? 4 / 6 : 1 / 6 })),
      events: [{ atMs: 1000, type: 'algo', detail: 'round-robin → weighted (event)' }],
      periods: [
        { fromMs: 0, toMs: 1000, algo: 'round-robin', weights: [1, 1, 1], expectedShares: [1 / 3, 1 / 3, 1 / 3], stats: p1 },
        { fromMs: 1000, toMs: 2000, algo: 'weighted', weights: [4, 1, 1], expectedShares: [4 / 6, 1 / 6, 1 / 6], stats: p2 },
      ],
    });
  }

  it('gives each period its own shares, expected shares and rates', () => {
    const r = record();
    expect(r.periods).toHaveLength(2);
    expect(r.periods![0]!.backends.map((b) => [b.share, b.expectedShare])).toEqual([
      [0.3333, 0.3333],
      [0.3333, 0.3333],
      [0.3333, 0.3333],
    ]);
    expect(r.periods![1]!.backends.map((b) => b.share)).toEqual([0.6667, 0.1667, 0.1667]);
    expect(r.periods![1]!.rps).toBe(60);
  });

  it('the run\'s expected share mixes the periods by their responses, so a switch does not look like a skew', () => {
    const r = record();
    // b1: (30·1/3 + 60·4/6) / 90 = 50/90
    expect(r.backends[0]!.expectedShare).toBeCloseTo(50 / 90, 3);
    expect(r.backends[0]!.share).toBeCloseTo(50 / 90, 3);
  });

  it('the report lists each period', () => {
    const text = renderReport(record(), { color: false });
    expect(text).toContain('Algorithm periods');
    expect(text).toMatch(/\+0\.0s–\+1\.0s\s+round-robin/);
    expect(text).toMatch(/\+1\.0s–\+2\.0s\s+weighted \(4,1,1\)/);
    expect(text).toMatch(/\+1\.0s–\+2\.0s\s+66\.7\/66\.7\s+16\.7\/16\.7/);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
  });
});

describe('--hash-key', () => {
  it('reads ip, path, header:NAME and cookie:NAME, and writes them back', () => {
    for (const v of ['ip', 'path', 'header:x-user', 'cookie:sid']) expect(formatHashKey(parseHashKey('--hash-key', v))).toBe(v);
    expect(parseHashKey('--hash-key', 'header:X-User')).toEqual({ kind: 'header', name: 'x-user' });
  });

  it('names the flag on anything else', () => {
    for (const v of ['', 'host', 'header:', 'cookie:a b', 'header:x:y']) {
      expect(() => parseHashKey('--hash-key', v)).toThrow(/`--hash-key` to be ip, path, header:NAME or cookie:NAME/);
    }
  });
});

describe('events after the run', () => {
  it('are left out of the record, with the health transitions, so they cannot fake a detection', () => {
    const stats = new TrafficStats();
    const r = buildRunRecord({
      config: { command: 'start' },
      durationMs: 3000,
      stats,
      backends: [
        {
          name: 'b2',
          url: '',
          weight: 1,
          expectedShare: 1,
          health: { state: 'down', downMs: 0, transitions: [{ atMs: 4678, from: 'up', to: 'down', reason: 'late' }] },
        },
      ],
      events: [
        { atMs: 1000, type: 'hang', target: 'b2' },
        { atMs: 4678, type: 'down', target: 'b2' },
      ],
    });
    expect(r.events.map((e) => e.type)).toEqual(['hang']);
    expect(r.backends[0]!.health.transitions).toEqual([]);
    expect(r.backends[0]!.detections).toEqual([{ fault: 'hang', atMs: 1000, detectedBy: null, afterMs: null }]);
  });
});

describe('expected share follows health (PeriodLog)', () => {
  const scenario = (backups: string[] = []) => ({ backends: ['b1', 'b2', 'b3'].map((name) => ({ name })), routing: undefined, backups }) as never;
  const period = (out: string[], weights = [3, 2, 1]) => ({ startMs: 0, algo: 'weighted' as const, weights, removed: new Set<string>(), out: new Set(out), stats: new TrafficStats() });

  it('a backend out of rotation expects nothing and its weight is shared among the others, as HAProxy and nginx do', () => {
    const log = new PeriodLog(scenario());
    expect(log.expectedShares(period([]))).toEqual([0.5, 2 / 6, 1 / 6]);
    expect(log.expectedShares(period(['b2']))).toEqual([0.75, 0, 0.25]);
  });

  it('backups expect nothing while a primary may serve, and share the pool when none can', () => {
    const log = new PeriodLog(scenario(['b3']));
    expect(log.expectedShares(period([], [1, 1, 1]))).toEqual([0.5, 0.5, 0]);
    expect(log.expectedShares(period(['b1', 'b2'], [1, 1, 1]))).toEqual([0, 0, 1]);
  });
});

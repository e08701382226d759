import { describe, expect, it } from 'vitest';
import type { Block, HealthBlock, SeriesBlock } from '../../src/report/blocks.js';
import { buildReportModel, type ReportModel } from '../../src/report/report-model.js';
import { renderReport } from '../../src/report/render-report.js';
import { FAILED_LAB, fixture, makeRecord } from './report-fixtures.js';

function blocksOf<K extends Block['kind']>(model: ReportModel, id: string, kind: K): Array<Extract<Block, { kind: K }>> {
  const section = model.sections.find((s) => s.id === id);
  expect(section, id).toBeDefined();
  return section!.blocks.filter((b): b is Extract<Block, { kind: K }> => b.kind === kind);
}

describe('buildReportModel', () => {
  it('puts the sections in reading order and the verdict apart, last', () => {
    const model = buildReportModel(fixture('run-kill-detected'));
    expect(model.sections.map((s) => s.id)).toEqual(['summary', 'backends', 'tries', 'latency', 'traffic', 'health', 'failures', 'around', 'events']);
    expect(model.verdict).toBeUndefined();
    expect(buildReportModel({ ...fixture('run-kill-detected'), lab: FAILED_LAB }).verdict).toEqual(FAILED_LAB);
  });

  it('leaves out what the record has nothing for', () => {
    const model = buildReportModel(makeRecord({ seconds: 4, backends: ['b1', 'b2'] }));
    expect(model.sections.map((s) => s.id)).toEqual(['summary', 'backends', 'latency', 'traffic', 'health']);
  });

  it('gives each backend one req/s value per second on one scale, and marks the actions, not the reactions', () => {
    const record = fixture('run-kill-detected');
    const [series] = blocksOf(buildReportModel(record), 'traffic', 'series');
    expect(series!.cellMs).toBe(1000);
    expect(series!.cells).toBe(record.timeline.length);
    expect(series!.series.map((s) => s.name)).toEqual(['b1', 'b2', 'b3']);
    expect(series!.series[1]!.values).toEqual(record.timeline.map((p) => p.perBackend.b2));
    expect(series!.max).toBe(660);
    // kill and slow are marked; the DOWN at +5.9s is the balancer's reaction, shown in the health strip
    expect(series!.markers).toEqual([
      { key: '1', atMs: 3000, cell: 3, label: 'kill b2' },
      { key: '2', atMs: 6000, cell: 6, label: 'slow b3' },
    ]);
  });

  it('fits a long run into at most 60 cells of their mean, and adds a per-second window around each event', () => {
    const record = makeRecord({
      seconds: 150,
      backends: ['b1', 'b2'],
      rps: (name, s) => (name === 'b2' && s >= 100 ? 0 : s % 3 === 0 ? 90 : 120),
      events: [{ atMs: 100_400, type: 'kill', target: 'b2', detail: 'SIGKILL' }],
    });
    const blocks = blocksOf(buildReportModel(record), 'traffic', 'series');
    expect(blocks).toHaveLength(2);
    const [whole, window] = blocks as [SeriesBlock, SeriesBlock];
    expect(whole.cellMs).toBe(3000);
    expect(whole.cells).toBe(50);
    expect(whole.series[0]!.values.every((v) => v === 110)).toBe(true);
    // cell 33 holds seconds 99 (90 req/s), 100 and 101 (dead): mean 30
    expect(whole.series[1]!.values.slice(32, 35)).toEqual([110, 30, 0]);
    expect(whole.markers).toEqual([{ key: '1', atMs: 100_400, cell: 33, label: 'kill b2' }]);
    expect(window.startMs).toBe(97_000);
    expect(window.cells).toBe(9);
    // seconds 97, 98 (120 req/s), 99 (90 req/s), then dead from 100 on
    expect(window.series[1]!.values).toEqual([120, 120, 90, 0, 0, 0, 0, 0, 0]);
    expect(window.markers[0]!.cell).toBe(3);
    for (const line of renderReport(record, { color: false }).split('\n')) expect([...line].length, line).toBeLessThanOrEqual(100);
  });

  it("follows the balancer's view of each backend: DOWN, ejected, circuit open, draining, removed", () => {
    const record = makeRecord({
      seconds: 10,
      backends: ['b1', 'b2', 'b3', 'b4'],
      events: [
        { atMs: 1000, type: 'kill', target: 'b1' },
        { atMs: 2500, type: 'down', target: 'b1', detail: '3 failed checks' },
        { atMs: 5000, type: 'restart', target: 'b1', detail: 'on port 1' },
        { atMs: 5500, type: 'started', target: 'b1', detail: 'pid 2' },
        { atMs: 6200, type: 'up', target: 'b1', detail: '2 passed checks' },
        { atMs: 2000, type: 'ejected', target: 'b2', detail: '5 failures in a row' },
        { atMs: 4000, type: 'readmitted', target: 'b2' },
        { atMs: 5000, type: 'breaker-open', target: 'b2' },
        { atMs: 7000, type: 'breaker-half-open', target: 'b2' },
        { atMs: 7100, type: 'breaker-closed', target: 'b2' },
        { atMs: 3000, type: 'draining', target: 'b3' },
        { atMs: 3500, type: 'drained', target: 'b3' },
        { atMs: 8000, type: 'remove', target: 'b4' },
      ],
    });
    const [health] = blocksOf(buildReportModel(record), 'health', 'health') as [HealthBlock];
    const strip = (name: string) => health.strips.find((s) => s.name === name)!;
    expect(strip('b1').segments).toEqual([
      { fromMs: 0, toMs: 2500, state: 'up' },
      { fromMs: 2500, toMs: 6200, state: 'down' },
      { fromMs: 6200, toMs: 10_000, state: 'up' },
    ]);
    expect(strip('b1').away).toEqual([{ state: 'down', ms: 3700 }]);
    expect(strip('b2').segments.map((g) => [g.fromMs, g.state])).toEqual([
      [0, 'up'],
      [2000, 'out'],
      [4000, 'up'],
      [5000, 'out'],
      [7100, 'up'],
    ]);
    expect(strip('b3').segments.map((g) => g.state)).toEqual(['up', 'drain']);
    expect(strip('b4').away).toEqual([{ state: 'removed', ms: 2000 }]);
    expect(strip('b1').cells.map((c) => (c.changed ? (c.state === 'up' ? '^' : 'v') : c.state[0])).join('')).toBe('uuvddd^uuu');
    expect(strip('b1').changes[0]).toMatchObject({ atMs: 2500, from: 'up', to: 'down', reason: 'down: 3 failed checks' });
    // the kill and restart are marked, the reactions (down, up, started, ejected, drained, …) are not
    expect(health.markers.map((m) => m.label)).toEqual(['kill b1', 'draining b3', 'restart b1', 'remove b4']);
    expect(strip('b1').dead).toEqual([{ fromMs: 1000, toMs: 5500 }]);
    expect(strip('b1').cells.map((c) => c.blind)).toEqual([false, true, false, false, false, false, false, false, false, false]);
    const text = renderReport(record, { color: false }).split('\n');
    const from = text.findIndex((l) => l.startsWith('Health ('));
    expect(text.slice(from + 2, from + 6)).toEqual([
      'b1     █x▼···▲███  DOWN 3.7s',
      'b2     ██▼▒▲▼▒▲██  out 4.1s',
      'b3     ███▼░░░░░░  draining 7.0s',
      'b4     ████████▼─  removed 2.0s',
    ]);
  });

  it('counts a health transition missing from the events (older records) as an event', () => {
    const record = fixture('run-weighted-kill');
    record.events = record.events.filter((e) => e.type !== 'down');
    const [health] = blocksOf(buildReportModel(record), 'health', 'health') as [HealthBlock];
    expect(health.strips[1]!.segments).toEqual([
      { fromMs: 0, toMs: 4000, state: 'up' },
      { fromMs: 4000, toMs: 6000, state: 'down' },
    ]);
  });
});

describe('buildReportModel for lblab load', () => {
  it('draws no health timeline: the load generator has no balancer and no health checks', () => {
    const record = makeRecord({ seconds: 3, backends: ['b1', 'b2'] });
    record.config = { command: 'load', target: 'http://127.0.0.1:8080/', concurrency: 4 };
    expect(buildReportModel(record).sections.map((s) => s.id)).toEqual(['summary', 'backends', 'latency', 'traffic']);
  });
});

describe('the text report with long backend names and a long run', () => {
  it('stays within 100 columns, shortening what follows a chart row rather than the chart', () => {
    const names = ['checkout-service-eu-west-1a', 'checkout-service-eu-west-1b'];
    const record = makeRecord({
      seconds: 120,
      backends: names,
      rps: (_, s) => 10_000 + s,
      events: [
        { atMs: 30_000, type: 'ejected', target: names[0], detail: 'x' },
        { atMs: 40_000, type: 'readmitted', target: names[0] },
        { atMs: 50_000, type: 'draining', target: names[0] },
        { atMs: 60_000, type: 'down', target: names[1], detail: 'y' },
        { atMs: 70_000, type: 'remove', target: names[1] },
      ],
    });
    const lines = renderReport(record, { color: false }).split('\n');
    for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(100);
    const row = lines.find((l) => l.startsWith(`${names[0]} `) && l.includes('peak'))!;
    expect(row).toMatch(/ {2}peak \d*…$/);
    expect(row).toContain('█'.repeat(60));
  });
});

describe('event markers', () => {
  it('say what a setting changed to, without where the change came from', () => {
    const record = makeRecord({
      seconds: 10,
      backends: ['b1', 'b2'],
      events: [
        { atMs: 1000, type: 'algo', detail: 'round-robin → least-conn (event)' },
        { atMs: 2000, type: 'weight', target: 'b1', detail: 'weight 1 → 5 (key)' },
        { atMs: 3000, type: 'concurrency', detail: '32 workers' },
        { atMs: 4000, type: 'hang', target: 'b2', detail: 'holds every request (event)' },
        { atMs: 5000, type: 'down', target: 'b2', detail: '3 failed checks' },
      ],
    });
    const [series] = blocksOf(buildReportModel(record), 'traffic', 'series') as [SeriesBlock];
    expect(series.markers.map((m) => `${m.key} ${m.label}`)).toEqual(['1 algo round-robin → least-conn', '2 weight b1 1 → 5', '3 concurrency 32 workers', '4 hang b2']);
  });
});

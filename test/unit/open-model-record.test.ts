import { describe, expect, it } from 'vitest';
import { buildRunRecord } from '../../src/metrics/run-record.js';
import { runRecordSchema } from '../../src/metrics/run-record-schema.js';
import { TrafficStats } from '../../src/metrics/traffic-stats.js';
import { renderReport } from '../../src/report/render-report.js';

/** A small open-model run: 4 responses from two backends, latency from the scheduled send. */
function openRecord() {
  const stats = new TrafficStats();
  [10_000, 20_000, 30_000, 400_000].forEach((us, i) => stats.record(stats.backend(i % 2 ? 'b2' : 'b1'), us, 200, undefined, 100 * i));
  return buildRunRecord({
    config: { command: 'load', target: 'http://127.0.0.1:8080/', rate: 2000, maxInFlight: 1000, requests: 4, clients: 3 },
    durationMs: 1000,
    stats,
    backends: [],
    events: [],
    open: { uncorrected: { p50: 9, p90: 19, p99: 28, p999: 28, max: 28 }, lateSends: 7, waitedForSlot: 3, unsent: 2 },
    clients: { total: 3, touched: { '1': 2, '2': 1 }, stickiness: 0.6667 },
    sequence: ['b1', 'b2', 'b1', 'b2'],
  });
}

describe('open model in the run record and the report', () => {
  it('the record carries rate, corrected and uncorrected latency, the send counters, clients and sequence, and the schema accepts it', () => {
    const rec = openRecord();
    expect(rec.config).toMatchObject({ rate: 2000, maxInFlight: 1000, requests: 4 });
    expect(rec.totals).toMatchObject({ lateSends: 7, waitedForSlot: 3, unsent: 2, uncorrectedLatencyMs: { p50: 9, p99: 28, max: 28 } });
    expect(rec.totals.latencyMs.max).toBeCloseTo(400, 0);
    expect(rec.clients).toEqual({ total: 3, touched: { '1': 2, '2': 1 }, stickiness: 0.6667 });
    expect(rec.sequence).toEqual(['b1', 'b2', 'b1', 'b2']);
    expect(runRecordSchema.parse(JSON.parse(JSON.stringify(rec)))).toEqual(rec);
  });

  it('a closed-model record has none of them', () => {
    const rec = buildRunRecord({ config: { command: 'load', concurrency: 2 }, durationMs: 1000, stats: new TrafficStats(), backends: [], events: [] });
    expect(rec.totals.uncorrectedLatencyMs).toBeUndefined();
    expect(rec.totals.lateSends).toBeUndefined();
    expect(rec.clients).toBeUndefined();
    expect(rec.sequence).toBeUndefined();
    expect(renderReport(rec, { color: false })).not.toMatch(/Uncorrected|Clients/);
  });

  it('the report: rate in the header, the corrected/uncorrected pair with late sends, and the clients line', () => {
    const text = renderReport(openRecord(), { color: false });
    expect(text.split('\n')[0]).toBe('lblab load · http://127.0.0.1:8080/ · rate 2000 req/s · 1.0s');
    expect(text).toMatch(/^Latency p50 \S+ .* max 400ms  \(from the scheduled send\)$/m);
    expect(text).toMatch(/^Uncorrected p50 9\.0\d*ms  p99 28\.0ms  max 28\.0ms  late sends 7  waited for a slot 3  never sent 2$/m);
    expect(text).toMatch(/^Clients 3 · met 1 backend: 2, 2 backends: 1 · stickiness 66\.7% \(served clients that met one backend\)$/m);
  });
});

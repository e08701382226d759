import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { runCliToEnd, tagsAfterEach } from '../support/cli.js';

const tags = tagsAfterEach();

describe('latency distributions reach the forked backends', () => {
  it('b2=normal:30ms:5ms makes b2 clearly slower than b1 (default 5ms-15ms)', async () => {
    const r = await runCliToEnd(['start', '--headless', '--duration', '3s', '--backends', '2', '--latency', 'b2=normal:30ms:5ms', '--json']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    const [b1, b2] = record.backends;
    expect(b1!.requests).toBeGreaterThan(20);
    expect(b2!.requests).toBeGreaterThan(20);
    expect(b2!.errors).toBe(0);
    // b1 ≈ 10ms, b2 ≈ 30ms (plus the trip through the balancer)
    expect(b2!.latencyMs.p50).toBeGreaterThan(b1!.latencyMs.p50 + 10);
    expect(b2!.latencyMs.p50).toBeGreaterThan(25);
    expect(b2!.latencyMs.p50).toBeLessThan(60);
  });

  it('a lognormal backend answers, every request served', async () => {
    const r = await runCliToEnd(['start', '--headless', '--duration', '1s', '--backends', '1', '--latency', 'lognormal:10ms:5ms', '--concurrency', '2', '--json']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.totals.errors).toBe(0);
    expect(record.backends[0]!.latencyMs.p50).toBeGreaterThan(5);
  });
});

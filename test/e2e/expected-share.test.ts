import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { runCliToEnd, tagsAfterEach } from '../support/cli.js';

/**
 * The expected share follows health (issue 16): while a backend is DOWN the
 * others expect its weight shared out among them, as HAProxy and nginx do,
 * and the run's expected share mixes those periods by their responses; the
 * configured figure stays in the record as `configuredShare`.
 */

const tags = tagsAfterEach();

describe('expected share follows health (a real run)', () => {
  it('weights 3,2,1, b2 killed then restarted: b1 and b3 expect 75%/25% while b2 is DOWN, and the run reads as expected', async () => {
    const r = await runCliToEnd([
      'start', '--backends', '3', '--algo', 'weighted', '--weights', '3,2,1', '--concurrency', '8',
      '--event', '1s kill b2', '--event', '4s restart b2', '--duration', '8s', '--headless', '--json',
    ]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    const periods = record.periods!;
    const down = periods.find((p) => p.out?.includes('b2'));
    expect(down, JSON.stringify(periods.map((p) => [p.fromMs, p.out]))).toBeDefined();
    expect(down!.backends.map((b) => b.expectedShare)).toEqual([0.75, 0, 0.25]);
    // In that period the balancer did its job: the shares are the expected ones.
    expect(Math.abs(down!.backends[0]!.share - 0.75)).toBeLessThan(0.03);
    // Requests count by when they were sent: one sent a hair before b2 came UP may still have reached it.
    expect(down!.backends[1]!.share).toBeLessThan(0.005);
    // Back UP: a period with everyone in again.
    const back = periods[periods.indexOf(down!) + 1]!;
    expect(back.out).toBeUndefined();
    expect(back.backends.map((b) => b.expectedShare)).toEqual([0.5, 0.3333, 0.1667]);
    const b2 = record.backends[1]!;
    expect(b2.configuredShare).toBe(0.3333);
    expect(b2.expectedShare).toBeLessThan(0.3);
    // The run as a whole: only the ~2 s before the kill was noticed (b2 dead, still expected its third) count against it.
    const dev = Math.max(...record.backends.map((b) => Math.abs(b.share - b.expectedShare)));
    expect(dev).toBeLessThan(0.12);
    expect(Math.max(...record.backends.map((b) => Math.abs(b.share - b.configuredShare!)))).toBeGreaterThan(dev);
  });
});

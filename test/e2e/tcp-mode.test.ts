import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { runCliToEnd, tagsAfterEach } from '../support/cli.js';

/**
 * `lblab start --mode tcp`: the L4 balancer in the session, headless, on
 * real backend processes. The run record carries connections and bytes per
 * backend; with keep-alive, requests follow connections, not round robin.
 */

const tags = tagsAfterEach();

describe('lblab start --mode tcp (headless, real processes)', () => {
  it('2 keep-alive connections over 3 backends: requests split by connections, one backend gets none', async () => {
    const r = await runCliToEnd(['start', '--mode', 'tcp', '--backends', '3', '--concurrency', '2', '--duration', '3s', '--headless', '--json']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.config.mode).toBe('tcp');
    expect(record.config.health?.mode).toBe('tcp');
    expect(record.config.proxy?.retryOn).toEqual(['error', 'timeout']);
    expect(record.totals.requests).toBeGreaterThan(50);
    expect(record.totals.errors).toBe(0);
    const conns = record.backends.map((b) => b.connections!.total);
    // Two workers keep two connections for the whole run; round robin gave them to b1 and b2.
    expect(conns).toEqual([1, 1, 0]);
    const [b1, b2, b3] = record.backends;
    expect(b3!.requests).toBe(0);
    expect(b1!.requests + b2!.requests).toBe(record.totals.requests);
    for (const b of [b1!, b2!]) {
      expect(b.share).toBeGreaterThan(0.3);
      expect(b.connections!.bytesIn).toBeGreaterThan(b.requests * 20);
      expect(b.connections!.bytesOut).toBeGreaterThan(b.connections!.bytesIn);
      expect(b.connections!.connectErrors).toBe(0);
      expect(b.checks).toHaveProperty('L4OK');
    }
    expect(r.stderr).toMatch(/over TCP connections \(L4\)/);
    expect(r.stderr).toMatch(/b1 UP \d+\.\d% 1 conn/);
  });

  it('the report shows connections beside request shares and says why they differ', async () => {
    const r = await runCliToEnd(['start', '--mode', 'tcp', '--backends', '3', '--concurrency', '2', '--duration', '2s', '--headless']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^lblab start · tcp \(L4\) · round-robin/);
    expect(r.stdout).toMatch(/Connections \(L4: a backend per TCP connection, 2 in all/);
    expect(r.stdout).toMatch(/\nb3 +0 +0\.0%\/33\.3% +0\.0% +0 +0B +0B +0\n/);
    expect(r.stdout).toContain('a keep-alive connection stays on the backend it was given');
  });

  it('8 keep-alive connections over 3 backends (least-conn): every backend gets some, and a kill moves its clients on reconnect', async () => {
    const r = await runCliToEnd([
      'start', '--mode', 'tcp', '--algo', 'least-conn', '--backends', '3', '--concurrency', '8', '--duration', '6s',
      '--event', '2s kill b1', '--headless', '--json',
    ]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.config.algo).toBe('least-conn');
    for (const b of record.backends) expect(b.connections!.total).toBeGreaterThan(0);
    const b1 = record.backends[0]!;
    // b1's connections were cut by the kill; the clients reconnected to the others. With TCP checks every
    // 1 s and fall 3, DOWN comes 2–3 s after the kill: the 6 s run leaves it a second to land in the record.
    const afterKill = record.timeline.filter((p) => p.atMs >= 4000);
    for (const p of afterKill) {
      expect(p.perBackend.b1).toBe(0);
      expect(p.perBackend.b2! + p.perBackend.b3!).toBeGreaterThan(0);
    }
    expect(b1.health.transitions.some((t) => t.to === 'down')).toBe(true);
    expect(record.totals.errors / record.totals.requests).toBeLessThan(0.02);
  });
});

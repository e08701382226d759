import { describe, expect, it } from 'vitest';
import { ConsistentHash } from '../../src/balancer/algorithms/consistent-hash.js';
import type { PickableBackend } from '../../src/balancer/algorithms/picker.js';
import { clientAddress } from '../../src/load/client-addresses.js';
import type { RunRecord } from '../../src/metrics/run-record.js';
import type { Comparison } from '../../src/report/comparison.js';
import { runCli, runCliToEnd, tagsAfterEach } from '../support/cli.js';

/**
 * The backend, by name, of each of the first `clients` --spread-clients
 * virtual clients on the ketama ring of `backends` (origins and weights as
 * the run record has them, in upstream order): the real consistent-hash
 * picker, keyed as --hash-key ip keys it, by the client's source address.
 */
function ketamaPicks(backends: ReadonlyArray<{ name: string; url: string; weight: number }>, clients: number): string[] {
  const upstream: PickableBackend[] = backends.map((b, index) => ({ index, name: b.name, origin: b.url, weight: b.weight, inFlight: 0, usable: true, reportedLoad: undefined }));
  const picker = new ConsistentHash();
  return Array.from({ length: clients }, (_, k) => {
    const ip = clientAddress(k, true);
    return picker.pick(upstream, { clientIp: ip, hashKey: ip, exclude: undefined })!.name;
  });
}

const tags = tagsAfterEach();

describe('lblab compare (real processes)', () => {
  it('with one slow, capacity-limited backend, least-conn has a lower p99 than round robin', async () => {
    const r = await runCliToEnd([
      'compare', '--algos', 'round-robin,least-conn', '--backends', '3',
      '--latency', '5ms', '--latency', 'b3=50ms', '--capacity', 'b3=2', '--concurrency', '12', '--duration', '3s', '--json',
    ]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const cmp = JSON.parse(r.stdout) as Comparison;
    expect(cmp.partial).toBe(false);
    expect(cmp.results.map((x) => x.algo)).toEqual(['round-robin', 'least-conn']);
    const [rr, lc] = cmp.results as [Comparison['results'][0], Comparison['results'][0]];
    // Round robin gives the slow backend its third whatever it costs...
    expect(Math.abs(rr.shares.b3! - 1 / 3)).toBeLessThanOrEqual(0.03);
    // ...least-conn sends it far less, and the tail shows it.
    expect(lc.shares.b3!).toBeLessThan(0.2);
    expect(lc.latencyMs.p99).toBeLessThan(rr.latencyMs.p99);
    expect(lc.rps).toBeGreaterThan(rr.rps);
    expect(rr.errors + lc.errors).toBe(0);
    // progress on stderr, one block per algorithm
    expect(r.stderr).toMatch(/\[1\/2\] round-robin/);
    expect(r.stderr).toMatch(/\[2\/2\] least-conn/);
  });

  it('consistent hashing keeps each client on one backend; a removal moves only the removed backend\'s clients, ip-hash moves most', async () => {
    const r = await runCliToEnd([
      'compare', '--algos', 'ip-hash,consistent-hash', '--backends', '4', '--clients', '40', '--spread-clients',
      '--remove', 'b2', '--concurrency', '8', '--duration', '4s', '--json',
    ]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const cmp = JSON.parse(r.stdout) as Comparison;
    const [ip, ring] = cmp.results as [Comparison['results'][0], Comparison['results'][0]];
    for (const x of [ip, ring]) {
      // Before the removal every virtual client met exactly one backend.
      const rec = x.record as RunRecord;
      const context = `${x.algo}: retries ${JSON.stringify(rec.totals.retries)}, events ${rec.events.map((e) => `${e.type} ${e.target ?? ''} @${Math.round(e.atMs)}`).join(', ')}`;
      expect(x.clients, context).toEqual({ seen: 40, singleBackend: 40, maxBackends: 1 });
      expect(x.keysMoved!.clients, x.algo).toBe(40);
      expect(x.errors, x.algo).toBe(0);
    }
    // Ketama: only b2's own clients move, all of them. How many that is depends on the ring, whose points
    // come from the backends' (random) ports: rebuilt here from the run's own backend URLs, before and after.
    const record = ring.record as RunRecord;
    const before = ketamaPicks(record.backends, 40);
    const after = ketamaPicks(record.backends.filter((b) => b.name !== 'b2'), 40);
    const own = before.filter((b) => b === 'b2').length;
    // The ring itself: b2's clients, and no other, land elsewhere once it is gone.
    expect(before.map((b, k) => b !== after[k])).toEqual(before.map((b) => b === 'b2'));
    expect(after).not.toContain('b2');
    expect(ring.keysMoved).toMatchObject({ clients: 40, ownClients: own, moved: own, movedFromKept: 0, movedFraction: own / 40 });
    // ip_hash is modulo the total weight: taking one of four out moves most keys.
    expect(ip.keysMoved!.movedFraction).toBeGreaterThan(0.5);
    expect(ip.keysMoved!.movedFromKept).toBeGreaterThan(0);
    expect(record.backends.find((b) => b.name === 'b2')!.removed).toBe(true);
  });

  it('Ctrl-C mid-comparison prints what was measured, marked partial, and leaves nothing running', async () => {
    const run = runCli(['compare', '--algos', 'round-robin,least-conn', '--backends', '2', '--duration', '6s', '--concurrency', '4', '--json']);
    tags.push(run.tag);
    await run.waitFor(/\[1\/2\] round-robin\s+\+2\.\ds/);
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(0);
    const cmp = JSON.parse(run.stdout()) as Comparison;
    expect(cmp.partial).toBe(true);
    expect(cmp.results.map((x) => x.algo)).toEqual(['round-robin']);
    expect(cmp.results[0]!.record.durationMs).toBeLessThan(6000);
    expect(cmp.results[0]!.requests).toBeGreaterThan(0);
  });

  it('prints a side-by-side table, and refuses a bad --algos or a --remove without clients (exit 2)', async () => {
    const table = await runCliToEnd(['compare', '--algos', 'round-robin,random', '--backends', '2', '--duration', '1s', '--concurrency', '4']);
    tags.push(table.tag);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/round-robin\s+random/);
    expect(table.stdout).toMatch(/b1 share\/exp\s+\d/);
    expect(table.stdout).toMatch(/p99\s+\S+ms\s+\S+ms/);

    const bad = await runCliToEnd(['compare', '--algos', 'round-robin,fastest']);
    tags.push(bad.tag);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      'lblab: Expected every `--algos` entry to be one of round-robin, weighted, least-conn, weighted-least-conn, random, p2c, ip-hash, consistent-hash, maglev, least-response-time, peak-ewma, resource, got "fastest"',
    );
    const noClients = await runCliToEnd(['compare', '--algos', 'ip-hash', '--remove', 'b2']);
    tags.push(noClients.tag);
    expect(noClients.code).toBe(2);
    expect(noClients.stderr).toMatch(/^lblab: Expected `--remove` with `--clients` of 2 or more/);
  });
});

describe('lblab start: switching while running', () => {
  it('an algo and a weight event each start a period with its own expected shares', async () => {
    const r = await runCliToEnd([
      'start', '--backends', '3', '--duration', '5s', '--concurrency', '8',
      '--event', '1500ms algo weighted', '--event', '3s weight b1=4', '--json',
    ]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.config.algo).toBe('round-robin');
    const periods = record.periods!;
    expect(periods.map((p) => [p.algo, p.weights.join(',')])).toEqual([
      ['round-robin', '1,1,1'],
      ['weighted', '1,1,1'],
      ['weighted', '4,1,1'],
    ]);
    // Each period starts when its event fired (a timer may fire a millisecond early, or late on a busy machine).
    expect(periods.map((p) => p.fromMs)).toEqual([0, expect.any(Number), expect.any(Number)]);
    expect(periods[1]!.fromMs).toBeGreaterThanOrEqual(1450);
    expect(periods[1]!.fromMs).toBeLessThan(3000);
    expect(periods[2]!.fromMs).toBeGreaterThanOrEqual(2950);
    expect(periods[2]!.fromMs).toBeLessThan(5000);
    expect(periods[0]!.toMs).toBe(periods[1]!.fromMs);
    expect(periods[2]!.backends.map((b) => b.expectedShare)).toEqual([0.6667, 0.1667, 0.1667]);
    expect(Math.abs(periods[2]!.backends[0]!.share - 4 / 6)).toBeLessThanOrEqual(0.05);
    expect(record.events.map((e) => e.type)).toEqual(expect.arrayContaining(['algo', 'weight']));
    expect(record.totals.errors).toBe(0);
  });
});

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BackendRecord, RunRecord } from '../../src/metrics/run-record.js';
import { runCliToEnd, tagsAfterEach } from '../support/cli.js';

const tags = tagsAfterEach();

/** Runs `lblab start --headless --backends 3 --concurrency 8 … --json` to the end and returns its record. */
async function run(args: string[]): Promise<RunRecord> {
  const r = await runCliToEnd(['start', '--headless', '--backends', '3', '--concurrency', '8', ...args, '--json'], 30_000);
  tags.push(r.tag);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as RunRecord;
}

const backend = (record: RunRecord, name: string): BackendRecord => record.backends.find((b) => b.name === name)!;

describe('failure as the lesson: what a fault cost and how long until the balancer noticed (real processes)', () => {
  it('a kill under load: retries hide it from clients, and the record and report say when b2 went DOWN', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'lblab-failures-')), 'run.json');
    const r = await runCliToEnd(['start', '--headless', '--backends', '3', '--concurrency', '8', '--duration', '6s', '--event', '2s kill b2', '--out', out], 30_000);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(readFileSync(out, 'utf8')) as RunRecord;
    const b2 = backend(record, 'b2');
    expect(record.totals.errors, JSON.stringify(record.totals) + JSON.stringify(record.events)).toBe(0);
    expect(b2.detections, JSON.stringify(record.events)).toHaveLength(1);
    const d = b2.detections![0]!;
    expect(d).toMatchObject({ fault: 'kill', detectedBy: 'down' });
    expect(d.reason).toMatch(/3 failed checks, last L4CON/);
    // defaults: fall 3 × interval 1s + timeout 500ms; slack 1.5s for a busy machine
    expect(d.afterMs).toBeGreaterThan(0);
    expect(d.afterMs).toBeLessThanOrEqual(3 * 1000 + 500 + 1500);
    // the tries that hit the dead b2 before it was DOWN went to another backend
    expect(b2.tries!.retried).toBeGreaterThan(0);
    expect(b2.tries!.lost).toBe(0);
    expect(b2.checks!.L4CON).toBeGreaterThanOrEqual(3);
    expect(backend(record, 'b1').detections).toEqual([]);
    // the report answers it in words, and `lblab report` prints it again byte for byte
    expect(r.stdout, r.stdout).toMatch(/^\+2\.\ds kill b2 → DOWN after \d+\.\ds \(3 failed checks, last L4CON\)$/m);
    expect(r.stdout, r.stdout).toMatch(/^ {2}client errors \+[12]s–\+\ds \(all backends\): 0 · b2 over the run: retried \d+, lost 0$/m);
    expect(r.stdout, r.stdout).toMatch(/^b2\s+\d+\s+\d+\s+0\s+.*L4CON \d+$/m);
    const again = await runCliToEnd(['report', out]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(r.stdout);
  });

  it('a hang with --response-timeout 1s costs a client about one timeout, then b2 goes DOWN and b1/b3 carry on', async () => {
    const record = await run(['--duration', '8s', '--response-timeout', '1s', '--event', '1s hang b2']);
    expect(record.config.proxy?.responseTimeoutMs).toBe(1000);
    // a request whose try hung waits out the 1s timeout, then is retried elsewhere
    expect(record.totals.latencyMs.max).toBeGreaterThan(900);
    expect(record.totals.latencyMs.p99).toBeLessThan(2500);
    expect(record.totals.errors / record.totals.requests).toBeLessThan(0.01);
    const b2 = backend(record, 'b2');
    expect(b2.detections?.[0], JSON.stringify(record.events)).toMatchObject({ fault: 'hang', detectedBy: 'down' });
    expect(b2.detections![0]!.reason).toMatch(/L7TOUT/);
    expect(b2.tries!.retried).toBeGreaterThan(0);
    const downAt = b2.detections![0]!.atMs + b2.detections![0]!.afterMs!;
    // every second that starts after the DOWN: b2 gets nothing, b1 and b3 serve
    const after = record.timeline.filter((p) => p.atMs - 1000 >= downAt);
    expect(after.length, `DOWN at ${downAt}ms`).toBeGreaterThan(0);
    expect(after.every((p) => p.perBackend.b2 === 0)).toBe(true);
    expect(after.reduce((n, p) => n + p.perBackend.b1! + p.perBackend.b3!, 0)).toBeGreaterThan(100);
  });

  it('a reset mid-body counts against b2: its errors in the record (the client had its headers) and a passive failure that ejects it', async () => {
    const record = await run(['--duration', '5s', '--max-fails', '3', '--event', '2s reset b2']);
    const b2 = backend(record, 'b2');
    const resets = record.totals.errorKinds.reset ?? 0;
    expect(resets, JSON.stringify(record.totals)).toBeGreaterThan(0);
    // every cut response is b2's: the client saw x-lblab-backend: b2 before the body broke
    expect(b2.errors).toBe(resets);
    expect(backend(record, 'b1').errors + backend(record, 'b3').errors).toBe(0);
    expect(b2.tries!.lost).toBe(resets);
    expect(record.events.filter((e) => e.type === 'ejected').map((e) => e.target)).toEqual(['b2']);
  });

  it('a hang with --on-marked-down shutdown-sessions: what b2 holds is cut right at its DOWN (60 s response timeout), charged to b2', async () => {
    const record = await run(['--duration', '5s', '--event', '2s hang b2', '--fall', '1', '--health-interval', '500ms', '--on-marked-down', 'shutdown-sessions']);
    expect(record.config.proxy?.onMarkedDown).toBe('shutdown-sessions');
    const b2 = backend(record, 'b2');
    const down = b2.health.transitions.find((t) => t.to === 'down');
    const cut = Number(/on-marked-down shutdown-sessions cut (\d+) requests?$/.exec(down?.reason ?? '')?.[1]);
    expect(cut, JSON.stringify(b2.health)).toBeGreaterThan(0);
    // each cut request is one 502 the client saw, and one try b2 lost; none waited out the 60 s timeout
    expect(record.totals.statusCodes['502']).toBe(cut);
    expect(b2.tries!.lost).toBe(cut);
    expect(b2.failedTries).toBe(cut);
    // held from at most the hang (+2 s) until the DOWN: one check interval plus its timeout, with slack for a busy machine
    expect(record.totals.latencyMs.max).toBeLessThan(2500);
    expect(record.totals.errorKinds.timeout ?? 0).toBe(0);
  });

  it('health-fail: active checks take b2 DOWN on L7STS 503 while passive checks see success (no ejection)', async () => {
    const record = await run(['--duration', '6s', '--eject-consecutive', '3', '--event', '1s health-fail b2']);
    expect(record.config.proxy?.outlier).toMatchObject({ mode: 'envoy', consecutive: 3 });
    const b2 = backend(record, 'b2');
    const down = b2.health.transitions.find((t) => t.to === 'down');
    expect(down?.reason, JSON.stringify(b2.health)).toMatch(/L7STS 503/);
    expect(b2.detections?.[0]).toMatchObject({ fault: 'health-fail', detectedBy: 'down' });
    expect(record.events.filter((e) => e.type === 'ejected')).toEqual([]);
    expect(b2.checks!.L7STS).toBeGreaterThanOrEqual(3);
    // its traffic was fine all along: nothing retried, nothing lost
    expect(b2.tries).toMatchObject({ retried: 0, lost: 0 });
    expect(b2.tries!.served).toBeGreaterThan(0);
  });

  it('circuit breaker: 500s (not retried) open it on b2; it stays open until the recover, then a half-open probe closes it', async () => {
    const record = await run([
      '--duration', '7s', '--breaker', '3', '--breaker-cooldown', '1s', '--retry-on', 'error,timeout',
      // Every answer of b2 a 500 until the recover: no probe can succeed before it.
      '--event', '1s errors b2=1', '--event', '4s recover b2',
    ]);
    const mine = record.events.filter((e) => e.target === 'b2');
    const types = mine.map((e) => e.type);
    const errorsAt = mine.find((e) => e.type === 'errors')!.atMs;
    const recoverAt = mine.find((e) => e.type === 'recover')!.atMs;
    const open = mine.find((e) => e.type === 'breaker-open');
    expect(open, JSON.stringify(mine)).toBeDefined();
    expect(open!.atMs).toBeGreaterThanOrEqual(errorsAt);
    expect(open!.atMs).toBeLessThan(recoverAt);
    expect(types.indexOf('breaker-half-open')).toBeGreaterThan(types.indexOf('breaker-open'));
    // Before the recover every probe fails: the circuit only re-opens. After it, a probe closes it.
    const closed = mine.filter((e) => e.type === 'breaker-closed');
    expect(closed, JSON.stringify(mine)).toHaveLength(1);
    expect(closed[0]!.atMs).toBeGreaterThan(recoverAt);
    const breaker = types.filter((t) => t.startsWith('breaker-'));
    expect(breaker.at(-1), JSON.stringify(mine)).toBe('breaker-closed');
    expect(breaker.at(-2)).toBe('breaker-half-open');
    const b2 = backend(record, 'b2');
    expect(b2.detections?.[0]).toMatchObject({ fault: 'errors', detectedBy: 'breaker-open' });
    expect(b2.detections![0]!.afterMs).toBeLessThan(2000);
    // 500 is not in --retry-on: those answers reached the client
    expect(record.totals.statusCodes['500']).toBeGreaterThan(0);
    expect(b2.tries!.lost).toBeGreaterThan(0);
    expect(b2.tries!.retried).toBe(0);
  });
});

import { existsSync, readFileSync } from 'node:fs';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { runsAfterEach, runCliToEnd, taggedProcesses } from '../support/cli.js';
import { listenerPid } from '../support/listeners.js';

/**
 * Two balancers (issue 15, "a balancer that fails"): each a real process;
 * the active one SIGKILLed mid-run. active-passive: the passive process
 * binds the virtual address 127.0.0.10 itself (read off /proc/net/tcp), and
 * a real request to that address is answered again; dns-rr: the clients
 * retry the other address. Nothing is left running, SIGKILL of lblab
 * included.
 */

const { start, tags } = runsAfterEach();

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));

describe('two balancers, the active one SIGKILLed', () => {
  it('active-passive: the passive process takes the virtual address over within the check budget; clients lose only what was in flight', async () => {
    const run = start(['start', '--backends', '2', '--balancers', '2', '--ha-interval', '200ms', '--concurrency', '8', '--event', '2s kill lb1', '--duration', '6s', '--headless', '--json']);
    const port = Number((await run.waitFor(/ on http:\/\/127\.0\.0\.10:(\d+)\//))[1]);
    const before = listenerPid('127.0.0.10', port);
    expect(before).toBeDefined();
    expect(taggedProcesses(run.tag)).toContain(before);
    await run.waitFor(/takeover lb2 +took over 127\.0\.0\.10:\d+ after 3 failed checks/, 15_000);
    const after = listenerPid('127.0.0.10', port);
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect(alive(before!)).toBe(false);
    // A client of its own, not lblab's: the address answers again, through the backends.
    const res = await request(`http://127.0.0.10:${port}/`, { headersTimeout: 5000, bodyTimeout: 5000 });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-lblab-backend']).toMatch(/^b[12]$/);

    expect(await run.exit, run.stderr()).toBe(0);
    const record = JSON.parse(run.stdout()) as RunRecord;
    const ha = record.ha!;
    expect(record.config.ha).toEqual({ balancers: 2, mode: 'active-passive', intervalMs: 200 });
    expect(ha.kills).toMatchObject([{ balancer: 'lb1', pid: before, wasActive: true }]);
    expect(ha.balancers.map((b) => [b.name, b.state])).toEqual([
      ['lb1', 'down'],
      ['lb2', 'active'],
    ]);
    expect(ha.balancers[1]!.pid).toBe(after);
    const f = ha.failovers[0]!;
    // 3 checks 200 ms apart plus one timeout: 800 ms; a busy 2-core machine is given twice that.
    expect(f.takeoverMs).not.toBeNull();
    expect(f.takeoverMs!).toBeGreaterThanOrEqual(400);
    expect(f.takeoverMs!).toBeLessThanOrEqual(2 * ha.budgetMs);
    // What lb1 held fails (8 workers, 8 connections), and a request or two on a connection not yet seen closed; nothing else.
    expect(f.clientErrors).toBeGreaterThan(0);
    expect(f.clientErrors).toBeLessThanOrEqual(2 * f.connections);
    expect(record.totals.errors).toBe(f.clientErrors);
    // The clients' next connects found nobody at the address and retransmitted their SYN: one second later, lb2 answered.
    expect(f.connects.retransmitted).toBeGreaterThan(0);
    expect(f.firstResponseMs).not.toBeNull();
    expect(ha.balancers[1]!.requests).toBeGreaterThan(0);
  });

  it('dns-rr: both serve; after the kill about half the new connections are refused first and retried on the other', async () => {
    const r = await runCliToEnd(['start', '--backends', '2', '--balancers', '2', '--ha', 'dns-rr', '--concurrency', '8', '--event', '2s kill lb1', '--duration', '4s', '--headless', '--json']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/kill +lb1 +SIGKILL pid \d+ \(active: .*clients connecting to it are refused and try the other address/);
    const record = JSON.parse(r.stdout) as RunRecord;
    const ha = record.ha!;
    expect(ha.addresses).toEqual(['127.0.0.11', '127.0.0.12']);
    // Before the kill the clients took the two addresses in turn.
    expect(ha.balancers[0]!.requests).toBeGreaterThan(0);
    expect(ha.balancers[1]!.requests).toBeGreaterThan(0);
    const f = ha.failovers[0]!;
    expect(f.takeoverMs).toBeNull();
    expect(f.connects.opened).toBeGreaterThan(0);
    // Each new connection takes the next address in turn: half of them try the dead one first.
    expect(f.connects.retried).toBeGreaterThanOrEqual(Math.floor(f.connects.opened / 2) - 1);
    expect(f.connects.retried).toBeLessThanOrEqual(Math.ceil(f.connects.opened / 2) + 1);
    expect(f.clientErrors).toBeLessThanOrEqual(2 * f.connections);
  });

  it('a SIGKILL of lblab takes both balancer processes with it', async () => {
    const run = start(['start', '--backends', '1', '--balancers', '2', '--ha-interval', '200ms', '--concurrency', '2', '--duration', '30s', '--headless']);
    const port = Number((await run.waitFor(/ on http:\/\/127\.0\.0\.10:(\d+)\//))[1]);
    const active = listenerPid('127.0.0.10', port)!;
    // The passive one listens only on its check endpoint, its own address.
    const passive = listenerPid('127.0.0.12', port)!;
    expect([active, passive].every(alive)).toBe(true);
    run.child.kill('SIGKILL');
    await vi.waitFor(() => expect([active, passive].filter(alive)).toEqual([]), { timeout: 8000, interval: 100 });
  });
});

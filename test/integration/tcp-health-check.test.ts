import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { TransitionEvent } from '../../src/balancer/balancer.js';
import { ActiveHealthChecker, DEFAULT_HEALTH_CHECK, type CheckResult, type HealthCheckConfig } from '../../src/balancer/health/active-health-check.js';
import { startBalancer } from '../support/balancer.js';
import { REFUSED_URL, closersAfterEach, listenOn } from '../support/loopback.js';
import { until } from '../support/wait.js';

/**
 * `--health-check tcp` against plain `net` servers that speak no HTTP at all:
 * a check is a connect and nothing more (HAProxy `check` without `option
 * httpchk`), so such a server counts as UP.
 */

const closers = closersAfterEach();

/** A TCP server that accepts and says nothing; counts the connections it holds. */
async function silentServer(): Promise<{ server: net.Server; port: number; accepted: () => number; open: () => number }> {
  let accepted = 0;
  let open = 0;
  const server = net.createServer((socket) => {
    accepted++;
    open++;
    socket.on('error', () => undefined);
    socket.on('close', () => open--);
  });
  const { port } = await listenOn(server, closers);
  return { server, port, accepted: () => accepted, open: () => open };
}

function tcpConfig(overrides: Partial<HealthCheckConfig> = {}): HealthCheckConfig {
  return { ...DEFAULT_HEALTH_CHECK, mode: 'tcp', intervalMs: 50, fastinterMs: 50, downinterMs: 50, timeoutMs: 500, rise: 2, fall: 3, path: '/', ...overrides };
}

describe('tcp health checks', () => {
  it('a bare connect: L4OK against a listening server, L4CON once it is gone; the socket is closed at once', async () => {
    const s = await silentServer();
    const checker = new ActiveHealthChecker(tcpConfig());
    closers.push(() => checker.stop());
    const target = { origin: `http://127.0.0.1:${s.port}` };
    const ok = await checker.check(target);
    expect(ok.status).toBe('L4OK');
    expect(ok.code).toBeUndefined();
    expect(s.accepted()).toBe(1);
    await until(() => s.open() === 0, 'the server to see the check connection closed');

    await new Promise((r) => s.server.close(r));
    const refused = await checker.check(target);
    expect(refused.status).toBe('L4CON');
  });

  it('a backend speaking no HTTP stays UP under tcp checks, goes DOWN after `fall` L4CON once it stops listening', async () => {
    const s = await silentServer();
    const { b } = await startBalancer({ backends: [{ name: 'b1', url: `http://127.0.0.1:${s.port}`, weight: 1 }], health: tcpConfig() }, closers);
    const results: CheckResult[] = [];
    b.on('check', (_name: string, r: CheckResult) => results.push(r));
    const transitions: TransitionEvent[] = [];
    let resultsAtTransition = 0;
    b.on('transition', (t) => {
      transitions.push(t);
      resultsAtTransition = results.length;
    });

    await until(() => results.length >= 4, 'four checks');
    expect(results.every((r) => r.status === 'L4OK')).toBe(true);
    expect(b.backend('b1')!.usable).toBe(true);
    expect(b.backend('b1')!.health.display).toBe('3/3');
    expect(transitions).toEqual([]);
    await until(() => s.open() === 0, 'no check connection left open');

    await new Promise((r) => s.server.close(r));
    const before = results.length;
    await until(() => transitions.length > 0, 'the DOWN transition');
    const after = results.slice(before, resultsAtTransition);
    // a check under way while the server closed may still have connected
    const failed = after.filter((r) => r.status !== 'L4OK');
    expect(failed.map((r) => r.status)).toEqual(['L4CON', 'L4CON', 'L4CON']);
    expect(transitions[0]).toMatchObject({ backend: 'b1', from: 'up', to: 'down', reason: '3 failed checks, last L4CON' });
    expect(b.backend('b1')!.usable).toBe(false);
  });

  it('waits fastinter while the counter is between bottom and top, downinter once fully DOWN', async () => {
    const { b } = await startBalancer({ backends: [{ name: 'b1', url: REFUSED_URL, weight: 1 }], health: tcpConfig({ intervalMs: 300, fastinterMs: 20, downinterMs: 1000 }) }, closers);
    const at: number[] = [];
    b.on('check', () => at.push(performance.now()));
    await until(() => at.length >= 5, 'five checks', { timeout: 10_000 });
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // 4/4 → 3: fastinter, 2: fastinter, 0 DOWN: downinter, downinter (20 ms against 1 s: a busy machine can't blur them)
    expect(gaps[0]).toBeLessThan(500);
    expect(gaps[1]).toBeLessThan(500);
    expect(gaps[2]).toBeGreaterThanOrEqual(950);
    expect(gaps[3]).toBeGreaterThanOrEqual(950);
    expect(b.backend('b1')!.usable).toBe(false);
  });
});

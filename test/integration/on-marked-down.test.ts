import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { FAST_HTTP_CHECKS, backendsAt, startBalancer, startTcpBalancer } from '../support/balancer.js';
import { closersAfterEach, listenHttp } from '../support/loopback.js';
import { until } from '../support/wait.js';
import type { TransitionEvent } from '../../src/balancer/balancer.js';
import type { HealthCheckConfig } from '../../src/balancer/health/active-health-check.js';

/**
 * `--on-marked-down shutdown-sessions` (HAProxy's server option): when its
 * health checks mark a backend DOWN, the requests (at L4, connections) it
 * holds are cut at once instead of waiting for their timeout. In-process
 * balancers in front of loopback servers that stop answering on cue.
 */

const closers = closersAfterEach();

/** Checks every 100 ms with a 200 ms timeout, rise 1, fall 1: a server that stops answering is DOWN about 300 ms later. */
const QUICK_CHECKS: HealthCheckConfig = { ...FAST_HTTP_CHECKS, timeoutMs: 200 };

/** A server answering `ok` until `hang()`; from then on it holds every request (checks included) unanswered, as the hang fault does. */
async function hangable() {
  let hanging = false;
  const s = await listenHttp((_req, res) => {
    if (!hanging) res.end('ok\n');
  }, closers);
  return { ...s, hang: () => (hanging = true) };
}

function agent(): Agent {
  const a = new Agent({ pipelining: 0 });
  closers.push(() => a.destroy());
  return a;
}

describe('on-marked-down shutdown-sessions (HAProxy)', () => {
  it('http: the requests a hung backend holds end right after its DOWN, as 502s charged to it and not retried', async () => {
    const sick = await hangable();
    const well = await hangable();
    const transitions: TransitionEvent[] = [];
    const { b, url } = await startBalancer(
      { backends: backendsAt([sick.url, well.url]), health: QUICK_CHECKS, onMarkedDown: 'shutdown-sessions', connection: { connectTimeoutMs: 2000, responseTimeoutMs: 60_000 } },
      closers,
      (lb) => lb.on('transition', (t) => transitions.push(t)),
    );
    const a = agent();
    sick.hang();
    // Round robin: two of these four go to b1 and are held there.
    const answers = [0, 1, 2, 3].map(async () => {
      const res = await request(url, { dispatcher: a, signal: AbortSignal.timeout(10_000) });
      return { status: res.statusCode, body: await res.body.text(), endedAt: b.nowMs() };
    });
    const all = await Promise.all(answers);
    const down = transitions.find((t) => t.backend === 'b1' && t.to === 'down');
    expect(down, 'b1 went DOWN').toBeDefined();
    expect(down!.reason).toMatch(/; on-marked-down shutdown-sessions cut 2 requests$/);
    const cut = all.filter((r) => r.status === 502);
    expect(cut).toHaveLength(2);
    expect(cut[0]!.body).toContain('backend b1 failed (reset): it was marked DOWN by its health checks while it held the request');
    // Cut right after the DOWN, not 60 s later.
    for (const r of cut) expect(r.endedAt - down!.atMs).toBeLessThan(100);
    expect(all.filter((r) => r.status === 200)).toHaveLength(2);
    const b1 = b.backend('b1')!;
    expect(b1.failures).toBe(2);
    // Not sent again although the default policy retries errors: HAProxy kills such a session.
    expect(b1.tries).toEqual({ served: 0, retried: 0, lost: 2 });
    expect(b.retries).toBe(0);
  });

  it('http: without it, the held requests wait past the DOWN', async () => {
    const sick = await hangable();
    const { b, url } = await startBalancer({ backends: backendsAt([sick.url]), health: QUICK_CHECKS, connection: { connectTimeoutMs: 2000, responseTimeoutMs: 60_000 } }, closers);
    sick.hang();
    const held = request(url, { dispatcher: agent(), signal: AbortSignal.timeout(1500) }).then(
      () => 'answered',
      () => 'still held',
    );
    await until(() => b.backend('b1')!.health.state === 'down', 'b1 DOWN');
    expect(await held).toBe('still held');
    expect(b.backend('b1')!.inFlight).toBe(1);
  });

  it('tcp: the connections relayed to a backend are reset when it is marked DOWN', async () => {
    const sick = await hangable();
    const { lb, port } = await startTcpBalancer({ backends: backendsAt([sick.url]), health: QUICK_CHECKS, onMarkedDown: 'shutdown-sessions' }, closers);
    const client = net.connect(port, '127.0.0.1');
    closers.push(async () => void client.destroy());
    await once(client, 'connect');
    await until(() => lb.backend('b1')!.open.size === 1, 'relayed');
    sick.hang();
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    client.on('error', () => undefined);
    await once(client, 'close');
    const down = lb.backend('b1')!.transitions.find((t) => t.to === 'down');
    expect(down?.reason).toMatch(/on-marked-down shutdown-sessions cut 1 connection$/);
    expect(lb.nowMs() - down!.atMs).toBeLessThan(100);
    expect(lb.backend('b1')!.failures).toBe(1);
  });
});


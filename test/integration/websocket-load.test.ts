import { describe, expect, it, vi } from 'vitest';
import { runWebSocketLoad } from '../../src/load/websocket-load.js';
import { FAST_HTTP_CHECKS, startBalancer } from '../support/balancer.js';
import { closersAfterEach } from '../support/loopback.js';

/** The fleet forks the compiled CLI, so it is imported from dist/ (built by `npm test`). */
type FleetModule = typeof import('../../src/backend/fleet.js');
const { Fleet } = (await import(new URL('../../dist/backend/fleet.js', import.meta.url).href)) as FleetModule;

/**
 * The WebSocket load generator against the balancer and real backend
 * processes: a kill drops that backend's connections, which reconnect
 * elsewhere; with a lifetime, least-conn fills the restarted backend back
 * up; every message is echoed or counted.
 */

const closers = closersAfterEach();

describe('WebSocket load (lblab load ws://) through least-conn', () => {
  it('a SIGKILL drops its connections, they reconnect elsewhere; after the restart, lifetime reconnects fill it again', async () => {
    const fleet = new Fleet();
    closers.push(() => fleet.stopAll());
    await fleet.start(['b1', 'b2', 'b3'].map((name) => ({ name, latency: { kind: 'fixed', ms: 0 }, errorRate: 0, capacity: 100 })));
    const { b, url } = await startBalancer(
      { backends: fleet.members.map((m) => ({ name: m.name, url: `http://127.0.0.1:${m.port}`, weight: 1 })), health: FAST_HTTP_CHECKS, algo: 'least-conn' },
      closers,
    );
    const stop = new AbortController();
    closers.push(async () => stop.abort());
    const run = runWebSocketLoad({ url: url.replace('http:', 'ws:'), clients: 12, messageRate: 20, durationMs: 30_000, lifetimeMs: 600 }, stop.signal);
    const open = () => b.webSockets().map((w) => w.open);
    await vi.waitFor(() => expect(open().reduce((a, n) => a + n, 0)).toBe(12), { timeout: 10_000 });

    await fleet.kill('b2');
    await vi.waitFor(() => expect(b.backends[1]!.health.state).toBe('down'), { timeout: 5000 });
    expect(open()[1]).toBe(0);
    await fleet.restart('b2');
    await vi.waitFor(() => expect(b.backends[1]!.health.state).toBe('up'), { timeout: 5000 });
    // Each client opens a new WebSocket every 600 ms: least-conn gives the empty b2 its share back.
    await vi.waitFor(() => expect(open()[1]).toBeGreaterThanOrEqual(3), { timeout: 5000 });
    stop.abort();
    const r = await run;
    expect(r.drops).toBeGreaterThan(0);
    expect(r.backends.b2!.drops).toBe(r.drops);
    // b2 filled back from reconnects at the end of a lifetime: drops went elsewhere while it was DOWN.
    expect(r.expired).toBeGreaterThanOrEqual(3);
    expect(r.failedConnects).toBe(0);
    expect(r.echoed).toBeGreaterThan(0);
    expect(r.echoed + r.unanswered + r.pendingAtEnd).toBe(r.sent);
  }, 40_000);
});

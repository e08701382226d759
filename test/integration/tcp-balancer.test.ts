import net from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_HEALTH_CHECK, type HealthCheckConfig } from '../../src/balancer/health/active-health-check.js';
import { TcpBalancer, type TcpBalancerConfig } from '../../src/balancer/tcp/tcp-balancer.js';
import { startTcpBalancer } from '../support/balancer.js';
import { REFUSED_PORT, closersAfterEach, listenOn } from '../support/loopback.js';
import { until as waitUntil } from '../support/wait.js';

/** The fleet forks the compiled CLI, so it is imported from dist/ (built by `npm test`). */
type FleetModule = typeof import('../../src/backend/fleet.js');
const { Fleet } = (await import(new URL('../../dist/backend/fleet.js', import.meta.url).href)) as FleetModule;

/**
 * The L4 balancer (`--mode tcp`) in front of real `lblab backend` processes
 * and plain `net` servers: connections, not requests, are balanced; a dead
 * backend's connects fail over; bytes are counted; half-close and resets
 * pass through.
 */

const closers = closersAfterEach();

let fleet: InstanceType<typeof Fleet>;
beforeAll(async () => {
  fleet = new Fleet();
  await fleet.start(['b1', 'b2', 'b3'].map((name) => ({ name, latency: { kind: 'fixed', ms: 0 }, errorRate: 0, capacity: 100 })));
}, 30_000);
afterAll(() => fleet.stopAll());

/** TCP checks far apart: the tests see the connect retry, not the health checks, route around a dead backend. */
const slowChecks: HealthCheckConfig = { ...DEFAULT_HEALTH_CHECK, mode: 'tcp', intervalMs: 60_000, fastinterMs: 60_000, downinterMs: 60_000 };

/** A round-robin L4 balancer over `backends` (by name and loopback port) with {@link slowChecks}, closed after the test. */
function startTcp(backends: Array<{ name: string; port: number }>, extra: Partial<TcpBalancerConfig> = {}): Promise<{ lb: TcpBalancer; port: number; url: string }> {
  return startTcpBalancer({ backends: backends.map((b) => ({ name: b.name, url: `http://127.0.0.1:${b.port}`, weight: 1 })), health: slowChecks, ...extra }, closers);
}

/** One GET on a fresh connection (closed after the response); resolves to the backend that answered. */
async function freshGet(url: string): Promise<string> {
  const res = await request(url, { reset: true });
  await res.body.dump();
  return String(res.headers['x-lblab-backend']);
}

/** Writes `payload` on a raw connection to `port`, half-closes, and collects everything until the connection closes. */
function rawExchange(port: number, payload: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => s.end(payload));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

/** Waits for `cond` as this file always has: up to 10 s, looking every 20 ms. */
const until = (cond: () => boolean, what: string) => waitUntil(cond, what, { timeout: 10_000, interval: 20 });

describe('L4 balancer (--mode tcp)', () => {
  it('round robin over connections: 30 fresh connections, 10 per backend, by the backends’ own header and by the balancer’s count', async () => {
    const { lb, url } = await startTcp(fleet.members);
    const seen: Record<string, number> = {};
    for (let i = 0; i < 30; i++) {
      const b = await freshGet(url);
      seen[b] = (seen[b] ?? 0) + 1;
    }
    expect(seen).toEqual({ b1: 10, b2: 10, b3: 10 });
    expect(lb.backends.map((b) => b.connectionsTotal)).toEqual([10, 10, 10]);
    await until(() => lb.backends.every((b) => b.inFlight === 0), 'every relayed connection to close');
  });

  it('keep-alive: one connection stays on one backend for all its requests (round robin "looks broken")', async () => {
    const { lb, url } = await startTcp(fleet.members);
    const agent = new Agent({ connections: 1, pipelining: 1 });
    closers.push(() => agent.close());
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const res = await request(url, { dispatcher: agent });
      await res.body.dump();
      seen.add(String(res.headers['x-lblab-backend']));
    }
    expect(seen.size).toBe(1);
    expect(lb.backends.reduce((n, b) => n + b.connectionsTotal, 0)).toBe(1);
  });

  it('counts bytes both ways exactly: what the client wrote is bytesIn, what it read is bytesOut', async () => {
    const { lb, port } = await startTcp(fleet.members);
    const req = 'GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n';
    const got = await rawExchange(port, req);
    expect(got.toString('latin1')).toMatch(/^HTTP\/1\.1 200/);
    await until(() => lb.backends.every((b) => b.open.size === 0), 'the connection to close');
    const b = lb.backendInfos().find((x) => x.connections!.total === 1)!;
    expect(b.connections).toMatchObject({ total: 1, active: 0, bytesIn: Buffer.byteLength(req), bytesOut: got.length, connectErrors: 0 });
  });

  it('a SIGKILLed backend: its keep-alive connection is cut, and new connections fail over on connect (retry) before any check notices', async () => {
    const local = new Fleet();
    closers.push(() => local.stopAll());
    await local.start(['k1', 'k2', 'k3'].map((name) => ({ name, latency: { kind: 'fixed', ms: 0 }, errorRate: 0, capacity: 100 })));
    const { lb, url } = await startTcp(local.members);
    const agent = new Agent({ connections: 1, pipelining: 1 });
    closers.push(() => agent.close());
    const first = await request(url, { dispatcher: agent });
    await first.body.dump();
    expect(first.headers['x-lblab-backend']).toBe('k1');

    await local.kill('k1');
    // The kept-alive connection went to k1: the balancer closes the client's side when k1's socket dies.
    await until(() => lb.backends[0]!.open.size === 0, "k1's relayed connection to close");

    const seen: Record<string, number> = {};
    for (let i = 0; i < 12; i++) {
      const b = await freshGet(url);
      seen[b] = (seen[b] ?? 0) + 1;
    }
    // Every connection was served; none by k1.
    expect(seen.k1).toBeUndefined();
    expect((seen.k2 ?? 0) + (seen.k3 ?? 0)).toBe(12);
    const k1 = lb.backends[0]!;
    expect(k1.health.state).toBe('up');
    expect(k1.connectErrors).toBeGreaterThanOrEqual(3);
    expect(k1.tries.retried).toBe(k1.connectErrors);
    expect(lb.retries).toBe(k1.connectErrors);
    expect(lb.retriesSucceeded).toBe(lb.retries);
    // Reconnecting on the same keep-alive agent lands on a live backend too.
    const again = await request(url, { dispatcher: agent });
    await again.body.dump();
    expect(['k2', 'k3']).toContain(again.headers['x-lblab-backend']);
  }, 30_000);

  it('with no backend left to connect to, the client connection is closed', async () => {
    const { lb, port } = await startTcp([
      { name: 'd1', port: REFUSED_PORT },
      { name: 'd2', port: REFUSED_PORT },
    ]);
    // Closed with unread bytes, the kernel answers with a reset: either way, nothing comes back.
    const got = await rawExchange(port, 'hello').catch((err: NodeJS.ErrnoException) => err.code);
    expect(['ECONNRESET', 0]).toContain(typeof got === 'string' ? got : got?.length);
    expect(lb.backends.map((b) => b.connectErrors)).toEqual([1, 1]);
    expect(lb.backends[1]!.tries.lost).toBe(1);
  });

  it('passes half-close on: the client ends its side, the backend still answers, then ends too', async () => {
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      const got: Buffer[] = [];
      s.on('data', (d: Buffer) => got.push(d));
      s.on('end', () => s.end(`echo:${Buffer.concat(got).toString()}:bye`));
    });
    const { port: e1 } = await listenOn(server, closers);
    const { port } = await startTcp([{ name: 'e1', port: e1 }]);
    const got = await rawExchange(port, 'hello');
    expect(got.toString()).toBe('echo:hello:bye');
  });

  it('a client that goes away closes its upstream, and an upstream that goes away closes its client', async () => {
    const serverSockets: net.Socket[] = [];
    const server = net.createServer((s) => {
      serverSockets.push(s);
      s.on('error', () => undefined);
    });
    const { port: s1 } = await listenOn(server, closers);
    const { lb, port } = await startTcp([{ name: 's1', port: s1 }]);

    const c1 = net.connect({ host: '127.0.0.1', port });
    await until(() => serverSockets.length === 1, 'the upstream connection');
    const upstreamClosed = new Promise((r) => serverSockets[0]!.once('close', r));
    c1.destroy();
    await upstreamClosed;

    const c2 = net.connect({ host: '127.0.0.1', port });
    c2.on('error', () => undefined);
    await until(() => serverSockets.length === 2, 'the second upstream connection');
    const clientClosed = new Promise((r) => c2.once('close', r));
    serverSockets[1]!.destroy();
    await clientClosed;
    await until(() => lb.backends[0]!.inFlight === 0, 'no connection left open');
    expect(lb.backends[0]!.connectionsTotal).toBe(2);
  });

  it('refuses an algorithm that needs HTTP', () => {
    expect(() => new TcpBalancer({ backends: [], algo: 'least-response-time', health: slowChecks, host: '127.0.0.1', port: 0 })).toThrow(/`--mode tcp`/);
  });
});

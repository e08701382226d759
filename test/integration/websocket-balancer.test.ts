import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { closersAfterEach, listenOn } from '../support/loopback.js';
import { FAST_HTTP_CHECKS, startBalancer, startTcpBalancer } from '../support/balancer.js';
import { startBackendServer } from '../../src/backend/server.js';
import { DEFAULT_HEALTH_CHECK, type HealthCheckConfig } from '../../src/balancer/health/active-health-check.js';

/** The fleet forks the compiled CLI, so it is imported from dist/ (built by `npm test`). */
type FleetModule = typeof import('../../src/backend/fleet.js');
const { Fleet } = (await import(new URL('../../dist/backend/fleet.js', import.meta.url).href)) as FleetModule;

/**
 * WebSockets through the balancer, on real backend processes (the fleet
 * that `lblab start` runs) and the `ws` client: upgrades spread by the
 * algorithm, echo both ways, a SIGKILLed backend drops exactly its
 * connections, least-conn counts open WebSockets, and what the client gets
 * when the backend refuses the upgrade or never answers it.
 */

const closers = closersAfterEach();

let fleet: InstanceType<typeof Fleet>;
beforeAll(async () => {
  fleet = new Fleet();
  await fleet.start(['b1', 'b2', 'b3'].map((name) => ({ name, latency: { kind: 'fixed', ms: 0 }, errorRate: 0, capacity: 100 })));
}, 30_000);
afterAll(() => fleet.stopAll());

/** HTTP checks far apart: the tests see the request path, never a check. */
const slowChecks: HealthCheckConfig = { ...DEFAULT_HEALTH_CHECK, mode: 'http', intervalMs: 60_000, fastinterMs: 60_000, downinterMs: 60_000 };

/** One `ws` client: its hello (the first message), what came after, and its close code; terminated after the test. */
type Client = { ws: WebSocket; hello: Promise<string>; got: string[]; closed: Promise<number> };

function connect(url: string): Client {
  const ws = new WebSocket(url);
  const got: string[] = [];
  let helloReceived = false;
  let helloOf: (m: string) => void = () => undefined;
  const hello = new Promise<string>((resolve, reject) => {
    helloOf = resolve;
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
  });
  ws.on('message', (data) => {
    if (!helloReceived) {
      helloReceived = true;
      helloOf(String(data));
      return;
    }
    got.push(String(data));
  });
  ws.on('error', () => undefined);
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  closers.push(async () => {
    ws.terminate();
    await closed;
  });
  return { ws, hello, got, closed };
}

/** Which backend greeted each client. */
const backendOf = async (c: Client): Promise<string> => (JSON.parse(await c.hello) as { backend: string }).backend;

function tally(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

/** Sends `text` on `c` and waits for its echo. */
async function echo(c: Client, text: string): Promise<void> {
  c.ws.send(text);
  await vi.waitFor(() => expect(c.got).toContain(text), { timeout: 5000 });
}

describe('WebSockets through the balancer (--mode http)', () => {
  it('30 through round robin: 10/10/10 by hello, echo both ways, open counted in flight; a SIGKILL drops exactly its 10', async () => {
    const local = new Fleet();
    closers.push(() => local.stopAll());
    await local.start(['k1', 'k2', 'k3'].map((name) => ({ name, latency: { kind: 'fixed', ms: 0 }, errorRate: 0, capacity: 100 })));
    const { b, url } = await startBalancer({ backends: local.members.map((m) => ({ name: m.name, url: `http://127.0.0.1:${m.port}`, weight: 1 })), health: slowChecks }, closers);
    const wsUrl = url.replace('http:', 'ws:');
    const clients = Array.from({ length: 30 }, (_, i) => connect(`${wsUrl}chat/${i}`));
    const names = await Promise.all(clients.map(backendOf));
    expect(tally(names)).toEqual({ k1: 10, k2: 10, k3: 10 });
    await Promise.all(clients.map((c, i) => echo(c, `message ${i}`)));
    expect(b.webSockets()).toEqual([
      { name: 'k1', switched: 10, open: 10, refused: 0, failed: 0 },
      { name: 'k2', switched: 10, open: 10, refused: 0, failed: 0 },
      { name: 'k3', switched: 10, open: 10, refused: 0, failed: 0 },
    ]);
    expect(b.backends.map((x) => x.inFlight)).toEqual([10, 10, 10]);

    await local.kill('k2');
    const k2 = clients.filter((_, i) => names[i] === 'k2');
    const others = clients.filter((_, i) => names[i] !== 'k2');
    await Promise.all(k2.map((c) => c.closed));
    // The others are still open: each still echoes.
    expect(others.every((c) => c.ws.readyState === WebSocket.OPEN)).toBe(true);
    await Promise.all(others.map((c, i) => echo(c, `after ${i}`)));
    await vi.waitFor(() => expect(b.backends.map((x) => x.inFlight)).toEqual([10, 0, 10]), { timeout: 5000 });
    expect(b.webSockets().map((w) => w.open)).toEqual([10, 0, 10]);

    // Reconnects: k2 is still UP for the checks; its refused connect is retried on another backend.
    const again = Array.from({ length: 10 }, (_, i) => connect(`${wsUrl}again/${i}`));
    const where = tally(await Promise.all(again.map(backendOf)));
    expect(where.k2).toBeUndefined();
    expect((where.k1 ?? 0) + (where.k3 ?? 0)).toBe(10);
    expect(b.webSockets()[1]!.failed).toBeGreaterThan(0);
  }, 30_000);

  it('least-conn: open WebSockets are in flight, so a new one goes to the backend with fewest open', async () => {
    const { b, url } = await startBalancer({ backends: fleet.members.map((m) => ({ name: m.name, url: `http://127.0.0.1:${m.port}`, weight: 1 })), health: slowChecks, algo: 'least-conn' }, closers);
    const wsUrl = url.replace('http:', 'ws:');
    const first = Array.from({ length: 6 }, () => connect(wsUrl));
    const names = await Promise.all(first.map(backendOf));
    expect(tally(names)).toEqual({ b1: 2, b2: 2, b3: 2 });
    // Close both of b3's: b3 now has none open, the others two each.
    const onB3 = first.filter((_, i) => names[i] === 'b3');
    for (const c of onB3) c.ws.close();
    await Promise.all(onB3.map((c) => c.closed));
    await vi.waitFor(() => expect(b.backends.map((x) => x.inFlight)).toEqual([2, 2, 0]), { timeout: 5000 });
    // An idle WebSocket holds its backend: the next two go to b3, one by one.
    for (let i = 0; i < 2; i++) expect(await backendOf(connect(wsUrl))).toBe('b3');
    expect(b.webSockets().map((w) => w.open)).toEqual([2, 2, 2]);
  });

  it('the request path applies to upgrades: a sticky cookie set on the 101 brings the next upgrade back; the rate limit answers 429', async () => {
    const { url } = await startBalancer(
      { backends: fleet.members.map((m) => ({ name: m.name, url: `http://127.0.0.1:${m.port}`, weight: 1 })), health: slowChecks, sticky: { mode: 'cookie', name: 'SERVERID' }, rateLimit: { ratePerSecond: 1, burst: 3 } },
      closers,
    );
    const wsUrl = url.replace('http:', 'ws:');
    const first = new WebSocket(wsUrl);
    first.on('error', () => undefined);
    closers.push(async () => first.terminate());
    const setCookie = new Promise<string>((resolve) => first.once('upgrade', (res) => resolve(String(res.headers['set-cookie']))));
    const hello = new Promise<string>((resolve) => first.once('message', (d) => resolve(String(d))));
    const cookie = (await setCookie).split(';')[0]!;
    const pinnedTo = (await hello).match(/b\d/)![0];
    expect(cookie).toMatch(/^SERVERID=./);
    // Round robin alone would move the next ones on: the cookie holds them.
    for (let i = 0; i < 3; i++) {
      const c = new WebSocket(wsUrl, { headers: { cookie } });
      c.on('error', () => undefined);
      closers.push(async () => c.terminate());
      expect(await new Promise<string>((resolve) => c.once('message', (d) => resolve(String(d))))).toBe(`{"backend":"${pinnedTo}"}`);
    }
    // Four upgrades used the bucket of burst 3 + 1 (nginx limit_req); the fifth within the second is refused.
    const over = new WebSocket(wsUrl);
    over.on('error', () => undefined);
    const res = await new Promise<http.IncomingMessage>((resolve) => over.once('unexpected-response', (_req, r) => resolve(r)));
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBeDefined();
    res.resume();
  });

  it('an upgrade the backend answers 404 reaches the client as that 404, body and all, then the connection closes', async () => {
    const refusing = http.createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('no websockets here\n'));
    refusing.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 19\r\n\r\nno websockets here\n'));
    const { port } = await listenOn(refusing, closers);
    const { b, url } = await startBalancer({ backends: [{ name: 'r1', url: `http://127.0.0.1:${port}`, weight: 1 }], health: slowChecks }, closers);
    const ws = new WebSocket(url.replace('http:', 'ws:'));
    ws.on('error', () => undefined);
    const res = await new Promise<http.IncomingMessage>((resolve) => ws.once('unexpected-response', (_req, r) => resolve(r)));
    expect(res.statusCode).toBe(404);
    expect(res.headers['x-lblab-backend']).toBe('r1');
    res.setEncoding('utf8');
    let body = '';
    for await (const chunk of res) body += chunk as string;
    expect(body).toBe('no websockets here\n');
    expect(b.webSockets()).toEqual([{ name: 'r1', switched: 0, open: 0, refused: 1, failed: 0 }]);
    await vi.waitFor(() => expect(b.backends[0]!.inFlight).toBe(0), { timeout: 5000 });
  });

  it('a backend that never answers the upgrade is cut by the response timeout: 504', async () => {
    const silent = http.createServer();
    let upstreamEnded = false;
    // It reads the upgrade and says nothing; it closes only when the balancer closes its side.
    silent.on('upgrade', (_req, socket) =>
      socket.once('end', () => {
        upstreamEnded = true;
        socket.end();
      }),
    );
    const { port } = await listenOn(silent, closers);
    const { b, url } = await startBalancer(
      { backends: [{ name: 's1', url: `http://127.0.0.1:${port}`, weight: 1 }], health: slowChecks, connection: { connectTimeoutMs: 1000, responseTimeoutMs: 300 } },
      closers,
    );
    const ws = new WebSocket(url.replace('http:', 'ws:'));
    ws.on('error', () => undefined);
    const started = performance.now();
    const res = await new Promise<http.IncomingMessage>((resolve) => ws.once('unexpected-response', (_req, r) => resolve(r)));
    const tookMs = performance.now() - started;
    expect(res.statusCode).toBe(504);
    expect(tookMs).toBeGreaterThanOrEqual(290);
    expect(tookMs).toBeLessThan(3000);
    res.resume();
    expect(b.webSockets()[0]).toMatchObject({ switched: 0, failed: 1 });
    await vi.waitFor(() => expect(b.backends[0]!.inFlight).toBe(0), { timeout: 5000 });
    // The balancer gave up on the backend's connection too.
    await vi.waitFor(() => expect(upstreamEnded).toBe(true), { timeout: 5000 });
  });
});

describe('WebSockets and on-marked-down shutdown-sessions', () => {
  it('a backend marked DOWN has its WebSockets closed at once; the other keeps its own', async () => {
    const sick = await startBackendServer({ name: 'b1', port: 0, host: '127.0.0.1', latency: { kind: 'fixed', ms: 0 }, errorRate: 0, capacity: Infinity });
    const well = await startBackendServer({ name: 'b2', port: 0, host: '127.0.0.1', latency: { kind: 'fixed', ms: 0 }, errorRate: 0, capacity: Infinity });
    closers.push(() => sick.close(), () => well.close());
    const reasons: string[] = [];
    const { url } = await startBalancer(
      { backends: [sick, well].map((x, i) => ({ name: `b${i + 1}`, url: `http://127.0.0.1:${x.port}`, weight: 1 })), health: { ...FAST_HTTP_CHECKS, path: '/health' }, onMarkedDown: 'shutdown-sessions' },
      closers,
      (lb) => lb.on('transition', (t) => reasons.push(`${t.backend} ${t.to}: ${t.reason}`)),
    );
    const clients = Array.from({ length: 4 }, () => connect(url.replace('http:', 'ws:')));
    const names = await Promise.all(clients.map(backendOf));
    expect(tally(names)).toEqual({ b1: 2, b2: 2 });
    // /health answers 503 from now on; the WebSockets themselves would stay up.
    sick.setFaults({ healthFail: true });
    await Promise.all(clients.filter((_, i) => names[i] === 'b1').map((c) => c.closed));
    expect(reasons.find((r) => r.startsWith('b1 down'))).toMatch(/on-marked-down shutdown-sessions cut 2 requests \(all WebSockets\)$/);
    const kept = clients.filter((_, i) => names[i] === 'b2');
    await Promise.all(kept.map((c, i) => echo(c, `still ${i}`)));
  });
});

describe('WebSockets through --mode tcp', () => {
  it('carries them as any connection: hello and echo', async () => {
    const { url } = await startTcpBalancer({ backends: fleet.members.map((m) => ({ name: m.name, url: `http://127.0.0.1:${m.port}`, weight: 1 })), health: { ...slowChecks, mode: 'tcp' } }, closers);
    const clients = Array.from({ length: 3 }, () => connect(url.replace('http:', 'ws:')));
    expect(tally(await Promise.all(clients.map(backendOf)))).toEqual({ b1: 1, b2: 1, b3: 1 });
    await Promise.all(clients.map((c, i) => echo(c, `tcp ${i}`)));
  });
});

describe('--ws-push through the fleet', () => {
  it('a backend spawned with wsPushMs pushes on each open WebSocket', async () => {
    const local = new Fleet();
    closers.push(() => local.stopAll());
    const [member] = await local.start([{ name: 'p1', latency: { kind: 'fixed', ms: 0 }, errorRate: 0, capacity: 100, wsPushMs: 50 }]);
    const c = connect(`ws://127.0.0.1:${member!.port}/`);
    expect(await c.hello).toBe('{"backend":"p1"}');
    await vi.waitFor(() => expect(c.got.slice(0, 2)).toEqual(['{"backend":"p1","push":1}', '{"backend":"p1","push":2}']), { timeout: 5000 });
  }, 20_000);
});


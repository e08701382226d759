import https from 'node:https';
import net from 'node:net';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlgorithmName } from '../../src/balancer/algorithms/index.js';
import type { Balancer } from '../../src/balancer/balancer.js';
import type { RoutingConfig } from '../../src/balancer/routes.js';
import { SLOW_HTTP_CHECKS, backendsAt, startBalancer } from '../support/balancer.js';
import { get as httpGet } from '../support/http.js';
import { REFUSED_URL, closeAll, listenHttp, type Closers } from '../support/loopback.js';

/**
 * L7 routing and TLS termination through the real balancer in front of real
 * loopback servers: which backend served each request is read from
 * `x-lblab-backend`, as any client would.
 */

const closers: Closers = [];
afterEach(async () => {
  await closeAll(closers);
  seen.clear();
});

/** Headers each backend saw, by backend name. */
const seen = new Map<string, Array<Record<string, string | string[] | undefined>>>();

async function backends(n: number): Promise<string[]> {
  const urls: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `b${i + 1}`;
    seen.set(name, []);
    const s = await listenHttp((req, res) => {
      if (req.url !== '/health-check') seen.get(name)!.push(req.headers);
      res.end(`${name} ${req.url}`);
    }, closers);
    urls.push(s.url);
  }
  return urls;
}

/** A balancer over `urls` (b1, b2, …) with `routing`; round robin unless `opts.algo`. */
function start(
  urls: string[],
  routing: RoutingConfig | undefined,
  opts: { algo?: AlgorithmName; weights?: number[]; tls?: boolean } = {},
): Promise<{ b: Balancer; url: string }> {
  return startBalancer(
    {
      backends: backendsAt(urls, opts.weights),
      algo: opts.algo ?? 'round-robin',
      ...(routing ? { routing } : {}),
      ...(opts.tls ? { tls: true } : {}),
      // Checks far apart: these tests look at the request path alone.
      health: { ...SLOW_HTTP_CHECKS, path: '/health-check' },
    },
    closers,
  );
}

const insecure = new Agent({ connect: { rejectUnauthorized: false } });

/** GETs `path` on the balancer; returns the status, who served it and the body. */
const get = (base: string, path: string, headers: Record<string, string> = {}) => httpGet(new URL(path, base), { headers, dispatcher: insecure });

async function servedBy(base: string, path: string, n: number, headers: Record<string, string> = {}): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await get(base, path, headers);
    expect(r.status).toBe(200);
    out.push(r.backend!);
  }
  return out;
}

/** GETs `target` exactly as written, on a fresh connection to `port`, and resolves with the whole answer as text. */
function rawGet(port: number, target: string, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
}

const course: RoutingConfig = {
  routes: [
    { match: { pathPrefix: '/api' }, pool: '/api' },
    { match: { pathPrefix: '/static' }, pool: '/static' },
  ],
  pools: [
    { name: '/api', backends: ['b1', 'b2'] },
    { name: '/static', backends: ['b3'] },
    { name: 'default', backends: ['b4'] },
  ],
  defaultPool: 'default',
};

describe('L7 routing', () => {
  it('sends /api/* only to the API pool and /static/* only to the static pool; the rest to the default pool', async () => {
    const { b, url } = await start(await backends(4), course);
    const api = await servedBy(url, '/api/users/7', 10);
    const statics = await servedBy(url, '/static/app.css', 6);
    const other = await servedBy(url, '/', 4);
    expect(new Set(api)).toEqual(new Set(['b1', 'b2']));
    // Round robin within the pool: each of the two got half.
    expect(api.filter((x) => x === 'b1')).toHaveLength(5);
    expect(new Set(statics)).toEqual(new Set(['b3']));
    expect(new Set(other)).toEqual(new Set(['b4']));
    // The backend got the path as the client sent it.
    expect(seen.get('b3')!.length).toBe(6);
    expect(b.pools.map((p) => p.routed)).toEqual([10, 6, 4]);
    // Expected shares: within each pool, times the pool's part of the requests (10, 6 and 4 of 20).
    expect(b.backendInfos().map((i) => [i.pool, Number(i.expectedShare.toFixed(3))])).toEqual([
      ['/api', 0.25],
      ['/api', 0.25],
      ['/static', 0.3],
      ['default', 0.2],
    ]);
  });

  it('matches the normal form of the path and forwards that: dot segments, encoded letters and doubled slashes cannot go round a route', async () => {
    const { url } = await start(await backends(4), course);
    const port = Number(new URL(url).port);
    // Sent raw: a URL parser on the client side would tidy these first.
    for (const target of ['/static/../api/x', '/%61pi/x', '//api/x', '/static/./../api//x']) {
      const text = await rawGet(port, target);
      expect(text, target).toMatch(/^HTTP\/1\.1 200 /);
      expect(text, target).toMatch(/x-lblab-backend: b[12]\r\n/);
      // The backend got the path the route matched.
      expect(text, target).toMatch(/b[12] \/api\/x$/);
    }
    expect(await rawGet(port, '/api/x?next=/static/../a')).toMatch(/b[12] \/api\/x\?next=\/static\/\.\.\/a$/);
    for (const [target, why] of [
      ['/../api/x', 'a ".." above the root'],
      ['/static/..%2Fapi/x', 'an encoded slash (%2F)'],
      ['/static/%5c../api', 'an encoded backslash (%5C)'],
      ['/api/%zz', 'a bad percent-encoding'],
    ]) {
      const text = await rawGet(port, target!);
      expect(text, target).toMatch(/^HTTP\/1\.1 400 /);
      expect(text, target).toContain(why);
    }
    expect([...seen.values()].flat()).toHaveLength(5);
  });

  it('answers 404 naming the routes when nothing matches and there is no default pool', async () => {
    const { url } = await start(await backends(3), { routes: course.routes, pools: course.pools.slice(0, 2) });
    const r = await get(url, '/admin');
    expect(r.status).toBe(404);
    expect(r.backend).toBeUndefined();
    expect(r.body).toMatch(/^lblab: no route matches GET \/admin .*no default pool; routes, first match wins: \/api → \/api, \/static → \/static/);
    expect([...seen.values()].every((s) => s.length === 0)).toBe(true);
  });

  it('routes by Host header (port ignored, any case) and by a header value, first match first', async () => {
    const routing: RoutingConfig = {
      routes: [
        { match: { header: { name: 'x-canary', value: '1' } }, pool: 'canary' },
        { match: { host: 'static.local' }, pool: 'static' },
        { match: { host: '*.api.local' }, pool: 'api' },
      ],
      pools: [
        { name: 'api', backends: ['b1', 'b2'] },
        { name: 'static', backends: ['b3'] },
        { name: 'canary', backends: ['b4'] },
      ],
    };
    const { url } = await start(await backends(4), routing);
    expect(new Set(await servedBy(url, '/x', 4, { host: 'Static.Local:8080' }))).toEqual(new Set(['b3']));
    // A fully qualified name's trailing dot names the same host.
    expect(new Set(await servedBy(url, '/x', 2, { host: 'static.local.' }))).toEqual(new Set(['b3']));
    expect(new Set(await servedBy(url, '/x', 4, { host: 'eu.api.local' }))).toEqual(new Set(['b1', 'b2']));
    // The header route comes first: it wins even with the static host.
    expect(new Set(await servedBy(url, '/x', 3, { host: 'static.local', 'x-canary': '1' }))).toEqual(new Set(['b4']));
    expect((await get(url, '/x', { host: 'static.local', 'x-canary': '0' })).backend).toBe('b3');
    expect((await get(url, '/x', { host: 'api.local' })).status).toBe(404);
  });

  it('picks with each pool its own algorithm: round robin ignores weights 3,1, weighted honours them', async () => {
    const routing: RoutingConfig = {
      routes: [
        { match: { pathPrefix: '/rr/' }, pool: 'rr' },
        { match: { pathPrefix: '/w/' }, pool: 'w' },
      ],
      pools: [
        { name: 'rr', backends: ['b1', 'b2'], algo: 'round-robin' },
        { name: 'w', backends: ['b3', 'b4'], algo: 'weighted' },
      ],
    };
    const { b, url } = await start(await backends(4), routing, { algo: 'least-conn', weights: [3, 1, 3, 1] });
    const rr = await servedBy(url, '/rr/x', 8);
    const w = await servedBy(url, '/w/x', 8);
    expect(rr.filter((x) => x === 'b1')).toHaveLength(4);
    // Smooth weighted round robin 3:1 over 8 picks: b3 six times, b4 twice, interleaved.
    expect(w.filter((x) => x === 'b3')).toHaveLength(6);
    expect(w.slice(0, 4).filter((x) => x === 'b4')).toHaveLength(1);
    // Switching the run's algorithm leaves pools with their own alone.
    b.apply({ type: 'algo', algo: 'p2c' });
    expect(b.pools.map((p) => p.algo)).toEqual(['round-robin', 'weighted']);
  });

  it('switches the algorithm of pools without their own, and keeps the last backend of a pool', async () => {
    const routing: RoutingConfig = {
      routes: [{ match: { pathPrefix: '/static' }, pool: 'static' }],
      pools: [
        { name: 'static', backends: ['b3'], algo: 'weighted' },
        { name: 'default', backends: ['b1', 'b2'] },
      ],
      defaultPool: 'default',
    };
    const { b, url } = await start(await backends(3), routing);
    b.apply({ type: 'algo', algo: 'least-conn' });
    expect(b.pools.map((p) => [p.name, p.algo])).toEqual([
      ['static', 'weighted'],
      ['default', 'least-conn'],
    ]);
    expect(() => b.apply({ type: 'remove', backend: 'b3' })).toThrow(/at least one backend in pool static, b3 is the last/);
    b.apply({ type: 'remove', backend: 'b1' });
    expect(new Set(await servedBy(url, '/', 4))).toEqual(new Set(['b2']));
    b.apply({ type: 'drain', backend: 'b2', on: true });
    // The default pool has nothing left to pick; the static pool is not borrowed from.
    const r = await get(url, '/');
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/no backend is UP in pool default/);
  });

  it('retries within the pool only: a dead API backend is retried on the other API backend, never on the static one', async () => {
    const urls = await backends(4);
    // b2 refuses every connection.
    urls[1] = REFUSED_URL;
    const routing: RoutingConfig = {
      routes: [
        { match: { pathPrefix: '/api' }, pool: 'api' },
        { match: { pathPrefix: '/solo' }, pool: 'solo' },
      ],
      pools: [
        { name: 'api', backends: ['b1', 'b2'] },
        { name: 'solo', backends: ['b3'] },
        { name: 'static', backends: ['b4'] },
      ],
      defaultPool: 'static',
    };
    const { b, url } = await start(urls, routing);
    const api = await servedBy(url, '/api/x', 6);
    expect(new Set(api)).toEqual(new Set(['b1']));
    expect(b.retries).toBeGreaterThanOrEqual(3);
    expect(b.backend('b2')!.failures).toBe(b.retries);
    expect(seen.get('b3')!.length + seen.get('b4')!.length).toBe(0);
    // A pool whose only backend is dead answers 502 itself rather than borrow another pool's.
    const solo: RoutingConfig = { routes: [{ match: { pathPrefix: '/' }, pool: 'dead' }], pools: [{ name: 'dead', backends: ['b1'] }, { name: 'other', backends: ['b2'] }] };
    const { url: url2 } = await start([REFUSED_URL, urls[2]!], solo);
    const r = await get(url2, '/x');
    expect(r.status).toBe(502);
    expect(r.body).toMatch(/backend b1 failed \(refused\)/);
  });
});

describe('TLS termination', () => {
  it('serves HTTPS, forwards plain HTTP with X-Forwarded-Proto https, and counts one handshake per connection', async () => {
    const { b, url } = await start(await backends(2), undefined, { tls: true });
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    // Node's https client over one keep-alive socket: exactly one connection, so one handshake.
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    const served: string[] = [];
    for (let i = 0; i < 6; i++) {
      served.push(
        await new Promise<string>((resolve, reject) => {
          https
            .get(new URL('/tls', url), { agent }, (res) => {
              res.resume().on('end', () => resolve(`${res.statusCode} ${String(res.headers['x-lblab-backend'])}`));
            })
            .on('error', reject);
        }),
      );
    }
    agent.destroy();
    expect(served.sort()).toEqual(['200 b1', '200 b1', '200 b1', '200 b2', '200 b2', '200 b2']);
    expect(seen.get('b1')![0]!['x-forwarded-proto']).toBe('https');
    const stats = b.tlsStats()!;
    expect(stats.handshakes).toBe(1);
    expect(stats.failed).toBe(0);
    expect(stats.handshakeMs.p50).toBeGreaterThan(0);
    // A client that checks the certificate against the system's CAs refuses the self-signed one.
    const strict = new Agent({ connect: { rejectUnauthorized: true } });
    await expect(request(url, { dispatcher: strict })).rejects.toThrow(/self[- ]signed|certificate/i);
    await strict.close();
    await expect.poll(() => b.tlsStats()!.failed, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
  });

  it('keeps plain HTTP without --tls: X-Forwarded-Proto http and no handshake stats', async () => {
    const { b, url } = await start(await backends(1), undefined);
    expect(url).toMatch(/^http:\/\//);
    await servedBy(url, '/', 1);
    expect(seen.get('b1')![0]!['x-forwarded-proto']).toBe('http');
    expect(b.tlsStats()).toBeUndefined();
  });
});

import net from 'node:net';
import { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { Balancer, BalancerConfig } from '../../src/balancer/balancer.js';
import { DEFAULT_RETRY_POLICY } from '../../src/balancer/retry-policy.js';
import { http2PoolOptions } from '../../src/load/virtual-clients.js';
import { SLOW_HTTP_CHECKS, backendsAt, startBalancer } from '../support/balancer.js';
import { REFUSED_URL, closeAll, listenHttp, type Closers } from '../support/loopback.js';

/**
 * HTTP/2 to clients (`--http2`) through the real balancer in front of real
 * loopback HTTP/1.1 servers: h2c with prior knowledge and h2 over TLS
 * (ALPN), many streams on one connection, each stream balanced on its own.
 * Who served a stream is read from `x-lblab-backend`, as any client would.
 */

const closers: Closers = [];
afterEach(() => closeAll(closers));

/** What each backend saw of a request: its HTTP version, Host, X-Forwarded-For, header names and body. */
type Seen = { version: string; host: string | undefined; xff: string | undefined; names: string[]; body: string };
const seen = new Map<string, Seen[]>();

/** `n` loopback HTTP/1.1 backends b1…bn that note what they get and answer `<name> <path>` (a POST: its body back). */
async function backends(n: number): Promise<string[]> {
  seen.clear();
  const urls: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `b${i + 1}`;
    seen.set(name, []);
    const s = await listenHttp((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        if (req.url !== '/health-check') seen.get(name)!.push({ version: req.httpVersion, host: req.headers.host, xff: req.headers['x-forwarded-for'] as string | undefined, names: Object.keys(req.headers), body });
        res.end(req.method === 'POST' ? body : `${name} ${req.url}`);
      });
    }, closers);
    urls.push(s.url);
  }
  return urls;
}

function start(urls: string[], extra: Partial<BalancerConfig> = {}): Promise<{ b: Balancer; url: string; port: number }> {
  return startBalancer({ backends: backendsAt(urls), http2: true, health: { ...SLOW_HTTP_CHECKS, path: '/health-check' }, ...extra }, closers);
}

/** An undici pool of exactly one HTTP/2 connection to `url` (h2c with prior knowledge, or h2 by ALPN for https), as `lblab load --protocol http2` makes it, carrying up to `streams` streams at once. */
function h2Pool(url: string, streams: number): Pool {
  const pool = new Pool(new URL(url).origin, http2PoolOptions({ connections: 1, streams }, url.startsWith('https:'), true));
  closers.push(() => pool.destroy());
  return pool;
}

/** Sends `n` GETs at once on `pool`; resolves to who served each (in completion order) and each response's status. */
async function fire(pool: Pool, n: number, path = '/', headers: Record<string, string> = {}): Promise<{ backends: string[]; statuses: number[] }> {
  const out = { backends: [] as string[], statuses: [] as number[] };
  await Promise.all(
    Array.from({ length: n }, async () => {
      const r = await pool.request({ path, method: 'GET', headers });
      await r.body.text();
      out.statuses.push(r.statusCode);
      out.backends.push(String(r.headers['x-lblab-backend']));
    }),
  );
  return out;
}

function tally(names: string[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const n of names) t[n] = (t[n] ?? 0) + 1;
  return t;
}

/** Writes `bytes` on a fresh TCP connection to `port` and resolves with everything the balancer sent back until it closed (at most 3 s). */
function raw(port: number, bytes: Buffer | string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let text = '';
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => socket.destroy(), 3000);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

describe('--http2: many streams on one client connection, each balanced on its own', () => {
  it('h2c with prior knowledge: 30 concurrent streams on one connection go 10/10/10 under round robin; backends get HTTP/1.1 with Host from :authority and no pseudo-headers', async () => {
    const urls = await backends(3);
    const { b, url, port } = await start(urls);
    const pool = h2Pool(url, 30);
    const r = await fire(pool, 30, '/x');
    expect(r.statuses.every((s) => s === 200)).toBe(true);
    expect(tally(r.backends)).toEqual({ b1: 10, b2: 10, b3: 10 });
    expect(b.http2Stats()).toEqual({ connections: 1, streams: 30, maxConcurrentStreams: expect.any(Number) });
    expect(b.http2Stats()!.maxConcurrentStreams).toBeGreaterThan(1);
    const all = [...seen.values()].flat();
    expect(all).toHaveLength(30);
    for (const s of all) {
      expect(s.version).toBe('1.1');
      expect(s.host).toBe(`127.0.0.1:${port}`);
      expect(s.xff).toBe('127.0.0.1');
      expect(s.names.filter((n) => n.startsWith(':'))).toEqual([]);
    }
  });

  it('h2 over TLS (ALPN): 30 streams on one connection go 10/10/10; an HTTP/1.1 client over TLS is still served on the same port', async () => {
    const urls = await backends(3);
    const { b, url } = await start(urls, { tls: true });
    expect(url.startsWith('https://')).toBe(true);
    const r = await fire(h2Pool(url, 30), 30);
    expect(tally(r.backends)).toEqual({ b1: 10, b2: 10, b3: 10 });
    expect(b.http2Stats()).toMatchObject({ connections: 1, streams: 30 });
    const h1 = new Pool(new URL(url).origin, { connect: { rejectUnauthorized: false } });
    closers.push(() => h1.destroy());
    const one = await h1.request({ path: '/h1', method: 'GET' });
    expect(one.statusCode).toBe(200);
    expect(await one.body.text()).toMatch(/^b\d \/h1$/);
    expect(b.tlsStats()!.handshakes).toBe(2);
    expect(b.http2Stats()!.connections).toBe(1);
  });

  it('a request body on a stream (no Content-Length) is relayed whole; a refused backend is retried per stream; routes read :authority as Host', async () => {
    const urls = await backends(2);
    const { b, url } = await start([...urls, REFUSED_URL], {
      retry: { ...DEFAULT_RETRY_POLICY, retries: 1 },
      routing: {
        pools: [
          { name: 'named', backends: ['b1'] },
          { name: 'all', backends: ['b1', 'b2', 'b3'] },
        ],
        routes: [{ match: { host: 'named.test' }, pool: 'named' }],
        defaultPool: 'all',
      },
    });
    const pool = h2Pool(url, 16);
    const body = 'x'.repeat(200_000);
    const post = await pool.request({ path: '/upload', method: 'POST', body });
    expect(post.statusCode).toBe(200);
    expect(await post.body.text()).toBe(body);
    // b3 refuses connections: its streams are retried on b1 or b2, none fails.
    const r = await fire(pool, 24);
    expect(r.statuses.every((s) => s === 200)).toBe(true);
    expect(r.backends.some((x) => x === 'b3')).toBe(false);
    expect(b.retries).toBeGreaterThan(0);
    const named = await fire(pool, 6, '/', { host: 'named.test' });
    expect(tally(named.backends)).toEqual({ b1: 6 });
  });

  it('sticky cookie and rate limit per stream: streams carrying the cookie all go to its backend; streams past the rate get 429, on the same connection', async () => {
    const urls = await backends(3);
    const { url } = await start(urls, { sticky: { mode: 'cookie', name: 'SERVERID' } });
    const pool = h2Pool(url, 16);
    const first = await pool.request({ path: '/', method: 'GET' });
    await first.body.text();
    const cookie = String(first.headers['set-cookie']).split(';')[0]!;
    expect(cookie).toMatch(/^SERVERID=/);
    const pinned = await fire(pool, 15, '/', { cookie });
    expect(tally(pinned.backends)).toEqual({ [String(first.headers['x-lblab-backend'])]: 15 });

    const limited = await start(urls, { rateLimit: { ratePerSecond: 1, burst: 4 } });
    const r = await fire(h2Pool(limited.url, 16), 12);
    // A burst of 4 (plus at most one refill while they go out) is served; the rest are refused, each stream on its own.
    const served = r.statuses.filter((x) => x === 200).length;
    expect(served).toBeGreaterThanOrEqual(4);
    expect(served).toBeLessThanOrEqual(6);
    expect(r.statuses.filter((x) => x === 429)).toHaveLength(12 - served);
    expect(limited.b.http2Stats()).toMatchObject({ connections: 1, streams: 12 });
  });

  it('a malformed preface gets HTTP/1.1 400 and a broken HTTP/2 session is closed, while a good connection beside them keeps its streams going', async () => {
    const urls = await backends(3);
    const { b, url, port } = await start(urls);
    const pool = h2Pool(url, 8);
    expect((await fire(pool, 6)).statuses).toEqual([200, 200, 200, 200, 200, 200]);
    const bad = await raw(port, 'PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n');
    expect(bad).toMatch(/^HTTP\/1\.1 400 /);
    // A right preface, then bytes that are no HTTP/2 frame: the server ends that session (GOAWAY) and closes it.
    const garbage = await raw(port, Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), Buffer.alloc(64, 0xff)]));
    expect(garbage.length).toBeLessThan(200);
    const after = await fire(pool, 9);
    expect(after.statuses.every((s) => s === 200)).toBe(true);
    expect(tally(after.backends)).toEqual({ b1: 3, b2: 3, b3: 3 });
    // The good connection is the one it was: its streams were never cut.
    expect(b.http2Stats()!.streams).toBe(15);
  });
});

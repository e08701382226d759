import { describe, expect, it } from 'vitest';
import { backendsAt, startBalancer } from '../support/balancer.js';
import { closersAfterEach, listenHttp } from '../support/loopback.js';
import { until } from '../support/wait.js';
import { startBackendServer } from '../../src/backend/server.js';
import type { AlgorithmName } from '../../src/balancer/algorithms/index.js';
import type { Balancer } from '../../src/balancer/balancer.js';
import type { HashKeySource } from '../../src/balancer/hash-key.js';

/**
 * The balancer in-process in front of real loopback servers: changes made
 * while it runs (algorithm, weight, removal), hash keys read from the
 * request, and the load backends report on /health.
 */

const closers = closersAfterEach();

/** `n` plain servers on loopback, each answering 200 `ok`. */
async function servers(n: number): Promise<string[]> {
  const urls: string[] = [];
  for (let i = 0; i < n; i++) urls.push((await listenHttp((_req, res) => res.end('ok'), closers)).url);
  return urls;
}

/** A balancer over `urls` (b1, b2, …) picking by `algo`; checks every `intervalMs` (default 60 s: not at all, in effect) on `path` (default `/`). */
function balancer(
  urls: string[],
  algo: AlgorithmName,
  opts: { hashKey?: HashKeySource; intervalMs?: number; path?: string } = {},
): Promise<{ b: Balancer; url: string }> {
  const intervalMs = opts.intervalMs ?? 60_000;
  return startBalancer(
    {
      backends: backendsAt(urls),
      algo,
      ...(opts.hashKey ? { hashKey: opts.hashKey } : {}),
      health: { mode: 'http', intervalMs, fastinterMs: intervalMs, downinterMs: intervalMs, timeoutMs: 500, rise: 2, fall: 3, path: opts.path ?? '/' },
    },
    closers,
  );
}

/** Sends `n` GETs one after the other; returns how many each backend answered. */
async function tally(url: string, n: number, headers: Record<string, string> = {}, path = '/'): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const res = await fetch(new URL(path, url), { headers });
    await res.text();
    const name = res.headers.get('x-lblab-backend') ?? '?';
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}

describe('upstream changes while running', () => {
  it('a weight change takes effect on the next requests (smooth WRR 3:1:1)', async () => {
    const { b, url } = await balancer(await servers(3), 'weighted');
    expect(await tally(url, 30)).toEqual({ b1: 10, b2: 10, b3: 10 });
    b.apply({ type: 'weight', backend: 'b1', weight: 3 });
    expect(await tally(url, 50)).toEqual({ b1: 30, b2: 10, b3: 10 });
    expect(b.backendInfos()[0]!.expectedShare).toBeCloseTo(0.6, 5);
  });

  it('a removed backend gets no new requests, keeps its place in the report, and the last one cannot go', async () => {
    const { b, url } = await balancer(await servers(3), 'round-robin');
    b.apply({ type: 'remove', backend: 'b2' });
    expect(await tally(url, 20)).toEqual({ b1: 10, b3: 10 });
    const infos = b.backendInfos();
    expect(infos.map((i) => [i.name, i.removed ?? false, i.expectedShare])).toEqual([
      ['b1', false, 0.5],
      ['b2', true, 0],
      ['b3', false, 0.5],
    ]);
    b.apply({ type: 'remove', backend: 'b1' });
    expect(() => b.apply({ type: 'remove', backend: 'b3' })).toThrow(/at least one backend/);
    expect(() => b.apply({ type: 'weight', backend: 'b2', weight: 2 })).toThrow(/backend of the upstream/);
    expect(await tally(url, 3)).toEqual({ b3: 3 });
  });

  it('a try cut on a backend removed meanwhile is retried on another, not on the one that took its index', async () => {
    let reached!: (cut: () => void) => void;
    const tryOnB1 = new Promise<() => void>((r) => (reached = r));
    const s1 = await listenHttp((req) => reached(() => req.socket.destroy()), closers);
    const [b2url] = await servers(1);
    const { b, url } = await balancer([s1.url, b2url!], 'round-robin');
    const pending = fetch(url);
    // The try is under way once b1 has the request.
    const cut = await tryOnB1;
    // b1 leaves the upstream while its try is under way; b2 now has index 0.
    b.apply({ type: 'remove', backend: 'b1' });
    cut();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.headers.get('x-lblab-backend')).toBe('b2');
    await res.text();
    expect(b.retries).toBe(1);
  });

  it('switching the algorithm changes how the next requests are spread', async () => {
    const { b, url } = await balancer(await servers(3), 'round-robin', { hashKey: { kind: 'header', name: 'x-user' } });
    expect(await tally(url, 9, { 'x-user': 'alice' })).toEqual({ b1: 3, b2: 3, b3: 3 });
    b.apply({ type: 'algo', algo: 'consistent-hash' });
    expect(b.algo).toBe('consistent-hash');
    const alice = await tally(url, 9, { 'x-user': 'alice' });
    expect(Object.values(alice)).toEqual([9]);
  });
});

describe('hash keys', () => {
  it('header, cookie and path keys each pin a key to one backend, and different keys spread', async () => {
    const cases: Array<{ key: HashKeySource; send: (k: string) => { headers: Record<string, string>; path: string } }> = [
      { key: { kind: 'header', name: 'x-user' }, send: (k) => ({ headers: { 'x-user': k }, path: '/' }) },
      { key: { kind: 'cookie', name: 'sid' }, send: (k) => ({ headers: { cookie: `theme=dark; sid=${k}` }, path: '/' }) },
      { key: { kind: 'path' }, send: (k) => ({ headers: {}, path: `/items/${k}?page=1` }) },
    ];
    for (const { key, send } of cases) {
      const { url } = await balancer(await servers(3), 'consistent-hash', { hashKey: key });
      const seen = new Set<string>();
      for (let k = 0; k < 12; k++) {
        const { headers, path } = send(`user-${k}`);
        const got = await tally(url, 3, headers, path);
        expect(Object.keys(got), `${key.kind} key user-${k}`).toHaveLength(1);
        seen.add(Object.keys(got)[0]!);
      }
      expect(seen.size, `${key.kind}: 12 keys over 3 backends`).toBeGreaterThan(1);
    }
  });

  it('a request without the key is still answered (round robin)', async () => {
    const { url } = await balancer(await servers(3), 'consistent-hash', { hashKey: { kind: 'header', name: 'x-user' } });
    expect(await tally(url, 6)).toEqual({ b1: 2, b2: 2, b3: 2 });
  });
});

describe('reported load', () => {
  it('reads `load` from a backend\'s /health JSON at each check', async () => {
    const backend = await startBackendServer({ name: 'b1', port: 0, host: '127.0.0.1', latency: { kind: 'fixed', ms: 2000 }, errorRate: 0, capacity: 4 });
    closers.push(() => backend.close());
    const { b, url } = await balancer([`http://127.0.0.1:${backend.port}`], 'round-robin', { intervalMs: 100, path: '/health' });
    const upstream = b.backend('b1')!;
    // Both waits share one 5 s deadline.
    const deadline = Date.now() + 5000;
    const left = () => ({ timeout: Math.max(0, deadline - Date.now()), interval: 20 });
    await until(() => upstream.reportedLoad !== undefined, 'a first /health load', left());
    expect(upstream.reportedLoad).toBe(0);
    // Two requests held for 2 s (several checks, even on a busy machine): a check reports 2 of 4 busy.
    const held = [fetch(url).then((r) => r.text()), fetch(url).then((r) => r.text())];
    await until(() => upstream.reportedLoad === 0.5, 'a /health load of 0.5', left());
    expect(upstream.reportedLoad).toBe(0.5);
    await Promise.all(held);
  });
});

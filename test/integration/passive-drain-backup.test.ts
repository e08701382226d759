import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FAST_HTTP_CHECKS, startBalancer } from '../support/balancer.js';
import { get as httpGet } from '../support/http.js';
import { REFUSED_URL, closersAfterEach, listenHttp } from '../support/loopback.js';
import { until } from '../support/wait.js';
import type { BackendEvent, Balancer, BalancerConfig } from '../../src/balancer/balancer.js';

/**
 * Passive checks (outlier ejection, circuit breaker), draining and backup
 * backends, with the balancer in-process in front of real loopback servers
 * whose behaviour the test switches.
 */

const closers = closersAfterEach();

/** A server answering `status()` after `delayMs()`; both read at each request. */
function server(status: () => number, delayMs: () => number = () => 0) {
  return listenHttp((_req, res) => {
    setTimeout(() => {
      res.writeHead(status(), { 'content-type': 'text/plain' });
      res.end('x');
    }, delayMs());
  }, closers);
}

/** A round-robin balancer over `urls` (b1, b2, …; the indexes in `backups` are backups), checks far apart, rise 1 fall 1; `events` collects its backend events from before it listens. */
async function balancer(urls: string[], extra: Partial<BalancerConfig> = {}, backups: number[] = []): Promise<{ b: Balancer; url: string; events: BackendEvent[] }> {
  const events: BackendEvent[] = [];
  const { b, url } = await startBalancer(
    {
      backends: urls.map((url, i) => ({ name: `b${i + 1}`, url, weight: 1, ...(backups.includes(i) ? { backup: true } : {}) })),
      health: { mode: 'http', intervalMs: 60_000, fastinterMs: 60_000, downinterMs: 60_000, timeoutMs: 500, rise: 1, fall: 1, path: '/' },
      ...extra,
    },
    closers,
    (b) => b.on('backend', (e) => events.push(e)),
  );
  return { b, url, events };
}

/** The status and who served it: all these tests compare (`toEqual` included). */
async function get(url: string): Promise<{ status: number; backend: string | undefined }> {
  const { status, backend } = await httpGet(url);
  return { status, backend };
}

describe('passive checks', () => {
  it('Envoy style: consecutive 5xx eject a backend; it takes nothing while out, then comes back', async () => {
    let sick = true;
    const a = await server(() => (sick ? 500 : 200));
    const c = await server(() => 200);
    const { url, events } = await balancer([a.url, c.url], {
      passive: { outlier: { mode: 'envoy', consecutive: 3, baseEjectionMs: 2500, maxEjectionPercent: 50 } },
      retry: { retries: 0, on: new Set(), nonIdempotent: false },
    });
    for (let i = 0; i < 6; i++) await get(url);
    expect(events.map((e) => e.type)).toEqual(['ejected']);
    expect(events[0]!.backend).toBe('b1');
    const hitsWhenEjected = a.hits();
    // The ejection lasts 2.5 s: room for 20 requests on a busy machine.
    for (let i = 0; i < 20; i++) expect((await get(url)).backend).toBe('b2');
    expect(a.hits()).toBe(hitsWhenEjected);
    sick = false;
    await until(() => events.some((e) => e.type === 'readmitted'), 'readmission', { timeout: 8000 });
    const after = await Promise.all(Array.from({ length: 4 }, () => get(url)));
    expect(after.map((r) => r.backend)).toContain('b1');
  });

  it('nginx style: max_fails within fail_timeout', async () => {
    const a = await server(() => 503);
    const c = await server(() => 200);
    const { url, events } = await balancer([a.url, c.url], {
      passive: { outlier: { mode: 'nginx', maxFails: 2, failTimeoutMs: 60_000 } },
    });
    // Each request tries b1 first (503, retried on b2): two of them eject b1.
    for (let i = 0; i < 2; i++) expect((await get(url)).status).toBe(200);
    expect(events.map((e) => [e.type, e.backend])).toEqual([['ejected', 'b1']]);
    const hits = a.hits();
    for (let i = 0; i < 6; i++) await get(url);
    expect(a.hits()).toBe(hits);
  });

  it('a reset mid-body (after the client got the headers) counts against the backend: a per-backend error and a passive failure', async () => {
    // Headers and part of the body, then the socket destroyed: the client already has a 200 naming b1.
    const cutter = await listenHttp((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.write('x'.repeat(40), () => res.socket?.destroy());
    }, closers);
    const c = await server(() => 200);
    const { b, url, events } = await balancer([cutter.url, c.url], {
      passive: { outlier: { mode: 'nginx', maxFails: 2, failTimeoutMs: 60_000 } },
    });
    const cut: string[] = [];
    for (let i = 0; i < 4; i++) {
      const outcome = await get(url).then(
        (r) => `${r.status} ${r.backend}`,
        () => 'cut',
      );
      cut.push(outcome);
    }
    // Round robin: b1, b2, b1 (its second failure ejects it), then b2 only.
    expect(cut).toEqual(['cut', '200 b2', 'cut', '200 b2']);
    expect(events.map((e) => [e.type, e.backend])).toEqual([['ejected', 'b1']]);
    const b1 = b.backend('b1')!;
    expect(b1.failures).toBe(2);
    expect(b1.tries).toMatchObject({ served: 0, lost: 2 });
    expect(b.stats.backend('b1')).toMatchObject({ requests: 2, errors: 2 });
    expect(b.stats.errorKinds.get('reset')).toBe(2);
  });

  it('circuit breaker: opens after failures in a row, half-opens after the cool-down, a good probe closes it', async () => {
    let sick = true;
    const a = await server(() => (sick ? 500 : 200));
    const c = await server(() => 200);
    const { url, events } = await balancer([a.url, c.url], {
      passive: { breaker: { failures: 2, cooldownMs: 1500 } },
      retry: { retries: 0, on: new Set(), nonIdempotent: false },
    });
    for (let i = 0; i < 4; i++) await get(url);
    expect(events.map((e) => e.type)).toEqual(['breaker-open']);
    const hits = a.hits();
    for (let i = 0; i < 6; i++) expect((await get(url)).backend).toBe('b2');
    expect(a.hits()).toBe(hits);
    sick = false;
    await until(() => events.some((e) => e.type === 'breaker-half-open'), 'half-open', { timeout: 8000 });
    for (let i = 0; i < 4; i++) await get(url);
    expect(events.map((e) => e.type)).toEqual(['breaker-open', 'breaker-half-open', 'breaker-closed']);
    expect(a.hits()).toBeGreaterThan(hits);
  });
});

describe('draining', () => {
  it('stops new requests, lets the ones in flight finish without an error, then reports drained', async () => {
    const slow = await server(() => 200, () => 400);
    const fast = await server(() => 200);
    const { b, url, events } = await balancer([slow.url, fast.url]);
    const inFlight = Array.from({ length: 6 }, () => get(url));
    await until(() => b.backend('b1')!.inFlight === 3, 'three requests in flight on b1');
    b.apply({ type: 'drain', backend: 'b1', on: true });
    expect(events.map((e) => e.type)).toEqual(['draining']);
    for (let i = 0; i < 5; i++) expect((await get(url)).backend).toBe('b2');
    const results = await Promise.all(inFlight);
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(results.filter((r) => r.backend === 'b1')).toHaveLength(3);
    expect(events.map((e) => e.type)).toEqual(['draining', 'drained']);
    b.apply({ type: 'drain', backend: 'b1', on: false });
    const again = await Promise.all(Array.from({ length: 4 }, () => get(url)));
    expect(again.map((r) => r.backend)).toContain('b1');
  });
});

describe('backup backends', () => {
  it('a backup takes traffic only while no primary can', async () => {
    const p1 = await server(() => 200);
    const p2 = await server(() => 200);
    const backup = await server(() => 200);
    const { b, url } = await balancer([p1.url, p2.url, backup.url], { health: FAST_HTTP_CHECKS }, [2]);
    for (let i = 0; i < 10; i++) expect((await get(url)).backend).not.toBe('b3');
    expect(b.backendInfos().map((i) => i.expectedShare)).toEqual([0.5, 0.5, 0]);
    await p1.close();
    await p2.close();
    await until(() => b.backend('b1')!.health.state === 'down' && b.backend('b2')!.health.state === 'down', 'both primaries DOWN');
    for (let i = 0; i < 5; i++) expect(await get(url)).toEqual({ status: 200, backend: 'b3' });
  });
});

describe('slow start (HAProxy slowstart)', () => {
  it('a backend back UP ramps its effective weight up, and its share with it', async () => {
    // b1 on a port the test can close and open again.
    let s1: http.Server | undefined;
    const open = async (port = 0): Promise<number> => {
      s1 = http.createServer((_req, res) => res.end('x'));
      await new Promise<void>((r) => s1!.listen(port, '127.0.0.1', r));
      return (s1.address() as AddressInfo).port;
    };
    const shut = () =>
      new Promise<void>((r) => {
        if (!s1?.listening) return r();
        s1.closeAllConnections();
        s1.close(() => r());
      });
    closers.push(shut);
    const port = await open();
    const other = await server(() => 200);
    const { b, url, events } = await balancer([`http://127.0.0.1:${port}`, other.url], {
      algo: 'weighted',
      slowStartMs: 1500,
      health: FAST_HTTP_CHECKS,
    });
    const b1 = b.backend('b1')!;
    await shut();
    await until(() => b1.health.state === 'down', 'b1 DOWN');
    await open(port);
    await until(() => events.some((e) => e.type === 'slow-start'), 'slow start');
    const early = b1.weight;
    expect(early).toBeLessThan(0.5);
    // Early on, b1 gets far less than its half.
    const first = await Promise.all(Array.from({ length: 20 }, () => get(url)));
    expect(first.filter((r) => r.backend === 'b1').length).toBeLessThan(8);
    await until(() => b1.weight > early, 'b1 to ramp up from its early weight');
    expect(b1.weight).toBeGreaterThan(early);
    await until(() => events.some((e) => e.type === 'slow-start-done'), 'full weight', { timeout: 5000 });
    expect(b1.weight).toBe(1);
    const later = [];
    for (let i = 0; i < 20; i++) later.push(await get(url));
    expect(later.filter((r) => r.backend === 'b1')).toHaveLength(10);
  });
});

describe('panic threshold (Envoy)', () => {
  it('below the threshold of usable primaries, health is ignored and the event log says so', async () => {
    const a = await server(() => 200);
    const c = await server(() => 200);
    const d = await server(() => 200);
    const { b, url, events } = await balancer([a.url, c.url, d.url], {
      panicThreshold: 50,
      // Two retries: a request may meet both DOWN backends before b3.
      retry: { retries: 2, on: new Set(['error', 'timeout']), nonIdempotent: false },
      health: FAST_HTTP_CHECKS,
    });
    await a.close();
    await c.close();
    await until(() => b.backend('b1')!.health.state === 'down' && b.backend('b2')!.health.state === 'down', 'two of three DOWN');
    // One of three usable is under 50%: the DOWN ones are picked again (and refuse; the retries end on b3).
    for (let i = 0; i < 6; i++) expect((await get(url)).status).toBe(200);
    expect(events.map((e) => e.type)).toContain('panic');
    expect(b.backend('b1')!.failures + b.backend('b2')!.failures).toBeGreaterThan(0);
  });
});

describe('panic is stamped when it happened', () => {
  it('with no request at all, "panic" carries the time of the DOWN that caused it and "panic over" that of the UP that ended it', async () => {
    let failing = false;
    const a = await server(() => 200);
    const c = await server(() => (failing ? 503 : 200));
    const d = await server(() => 200);
    const transitions: Array<{ atMs: number; backend: string; to: string }> = [];
    const { b, events } = await balancer([a.url, c.url, d.url], { panicThreshold: 50, health: FAST_HTTP_CHECKS });
    b.on('transition', (t) => transitions.push(t));
    await a.close();
    await until(() => b.backend('b1')!.health.state === 'down', 'b1 DOWN');
    // Two of three usable is not under 50%: no panic yet.
    expect(events.map((e) => e.type)).not.toContain('panic');
    failing = true;
    await until(() => events.some((e) => e.type === 'panic'), 'panic logged');
    const down = transitions.find((t) => t.backend === 'b2' && t.to === 'down')!;
    const panic = events.find((e) => e.type === 'panic')!;
    expect(panic.atMs - down.atMs).toBeGreaterThanOrEqual(0);
    expect(panic.atMs - down.atMs, 'stamped with the DOWN').toBeLessThan(5);
    failing = false;
    await until(() => events.some((e) => e.type === 'panic-over'), 'panic over logged');
    const up = transitions.find((t) => t.backend === 'b2' && t.to === 'up')!;
    const over = events.find((e) => e.type === 'panic-over')!;
    expect(over.atMs - up.atMs).toBeGreaterThanOrEqual(0);
    expect(over.atMs - up.atMs, 'stamped with the UP').toBeLessThan(5);
    expect(over.detail).toBe('2 of 3 primaries usable again: health counts');
  });

  it('draining past the threshold enters panic at the drain, not at the next request', async () => {
    const servers = [await server(() => 200), await server(() => 200), await server(() => 200)];
    const { b, events } = await balancer(servers.map((s) => s.url), { panicThreshold: 50 });
    b.apply({ type: 'drain', backend: 'b1', on: true });
    b.apply({ type: 'drain', backend: 'b2', on: true });
    expect(events.filter((e) => e.type === 'panic')).toHaveLength(1);
    b.apply({ type: 'drain', backend: 'b2', on: false });
    expect(events.filter((e) => e.type === 'panic-over')).toHaveLength(1);
  });
});

describe('panic, backups and draining together', () => {
    it('while a backup can serve there is no panic: the backup takes the traffic', async () => {
    const a = await server(() => 200);
    const c = await server(() => 200);
    const backup = await server(() => 200);
    const { b, url, events } = await balancer([a.url, c.url, backup.url], { panicThreshold: 50, health: FAST_HTTP_CHECKS }, [2]);
    await a.close();
    await c.close();
    await until(() => b.backend('b1')!.health.state === 'down' && b.backend('b2')!.health.state === 'down', 'both primaries DOWN');
    for (let i = 0; i < 5; i++) expect(await get(url)).toEqual({ status: 200, backend: 'b3' });
    expect(events.map((e) => e.type)).not.toContain('panic');
  });

  it('panic ignores health but never picks a draining backend', async () => {
    const a = await server(() => 200);
    const c = await server(() => 200);
    const d = await server(() => 200);
    const { b, url, events } = await balancer([a.url, c.url, d.url], { panicThreshold: 50 });
    b.apply({ type: 'drain', backend: 'b1', on: true });
    b.apply({ type: 'drain', backend: 'b2', on: true });
    for (let i = 0; i < 6; i++) expect((await get(url)).backend).toBe('b3');
    expect(events.map((e) => e.type)).toContain('panic');
    expect(events.filter((e) => e.type === 'drained')).toHaveLength(2);
  });

  it('a retry that finds no backend left counts as lost, not retried', async () => {
    const draining = await server(() => 200);
    const { b, url } = await balancer([REFUSED_URL, draining.url]);
    b.apply({ type: 'drain', backend: 'b2', on: true });
    expect((await get(url)).status).toBe(502);
    expect(b.backend('b1')!.tries).toEqual({ served: 0, retried: 0, lost: 1 });
    expect(b.retries).toBe(0);
  });
});

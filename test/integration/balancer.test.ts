import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { backendsAt, startBalancer } from '../support/balancer.js';
import { REFUSED_URL, closersAfterEach, listenHttp } from '../support/loopback.js';
import { until } from '../support/wait.js';
import type { Balancer } from '../../src/balancer/balancer.js';

/**
 * The balancer in-process, in front of real loopback servers the test
 * controls, so in-flight counts and failure counters can be read directly.
 */

const closers = closersAfterEach();

/** A loopback server running `handler`, closed after the test. */
const server = (handler: http.RequestListener) => listenHttp(handler, closers);

/** A balancer over `urls` (b1, b2, …), checks far apart (SLOW_HTTP_CHECKS): these tests look at the request path alone. */
function balancer(urls: string[], algo: 'round-robin' | 'weighted' = 'round-robin'): Promise<{ b: Balancer; url: string }> {
  return startBalancer({ backends: backendsAt(urls), algo }, closers);
}

describe('balancer request path', () => {
  it('retries a refused GET once on another backend, never the same one twice', async () => {
    const live = await server((_req, res) => res.end('ok'));
    const { b, url } = await balancer([REFUSED_URL, live.url]);
    for (let i = 0; i < 4; i++) {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-lblab-backend')).toBe('b2');
      await res.text();
    }
    // round robin comes back to b1 after each retry on b2: every request tries b1 first
    expect(live.hits()).toBe(4);
    expect(b.retries).toBe(4);
    expect(b.retriesSucceeded).toBe(4);
    expect(b.backend('b1')!.failures).toBe(4);
    expect(b.backends.map((x) => x.inFlight)).toEqual([0, 0]);
  });

  it('answers 502 naming the refused backend when no other is left to retry on', async () => {
    const { b, url } = await balancer([REFUSED_URL]);
    const res = await fetch(url);
    expect(res.status).toBe(502);
    expect(await res.text()).toMatch(/^lblab: backend b1 failed \(refused\)/);
    expect(b.retries).toBe(0);
  });

  it('does not retry a request with a body (it may have been consumed)', async () => {
    const live = await server((req, res) => req.resume().on('end', () => res.end('got it')));
    const { url } = await balancer([REFUSED_URL, live.url]);
    const res = await fetch(url, { method: 'PUT', body: 'payload' });
    expect(res.status).toBe(502);
    expect(live.hits()).toBe(0);
    // the next one goes to b2 in turn and gets through
    const ok = await fetch(url, { method: 'PUT', body: 'payload' });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('got it');
  });

  it('a client that goes away cancels its upstream try; the backend is not blamed', async () => {
    const slow = await server((_req, res) => {
      const t = setTimeout(() => res.end('late'), 3000);
      res.on('close', () => clearTimeout(t));
    });
    const { b, url } = await balancer([slow.url]);
    const controller = new AbortController();
    const pending = fetch(url, { signal: controller.signal }).catch((e: Error) => e);
    await until(() => b.backend('b1')!.inFlight === 1, 'the request to reach b1');
    controller.abort();
    await pending;
    await until(() => b.backend('b1')!.inFlight === 0, 'in-flight to drop after the abort', { timeout: 2000 });
    expect(b.clientAborts).toBe(1);
    expect(b.backend('b1')!.failures).toBe(0);
    expect(b.stats.requests).toBe(0);
  });

  it('counts a response cut mid-body as a transport error, not a success', async () => {
    const cut = await server((_req, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      res.write('x'.repeat(1000), () => res.socket?.destroy());
    });
    const { b, url } = await balancer([cut.url]);
    const outcome = await fetch(url)
      .then((r) => r.text())
      .then(
        () => 'complete',
        () => 'cut',
      );
    expect(outcome).toBe('cut');
    await until(() => b.stats.requests === 1, 'the try to be recorded');
    expect(b.stats.errors).toBe(1);
    expect(b.stats.statusCodes.size).toBe(0);
    expect(b.backend('b1')!.failures).toBe(1);
    expect(b.backend('b1')!.inFlight).toBe(0);
  });

  it('answers 503 with a clear body once health checks hold every backend DOWN', async () => {
    const { b, url } = await balancer([REFUSED_URL]);
    // three failed checks, as the active checker would report them
    for (let i = 0; i < 3; i++) b.backends[0]!.observeCheck({ status: 'L4CON', durationMs: 1 }, i);
    const res = await fetch(url);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('no backend is UP in this upstream (DOWN: b1)');
  });

  it('answers 400 to a request target that is not a path, without blaming a backend', async () => {
    const live = await server((_req, res) => res.end('ok'));
    const { b, url } = await balancer([live.url]);
    const { port } = new URL(url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => socket.end('OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let data = '';
      socket.setEncoding('utf8').on('data', (d: string) => (data += d));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(live.hits()).toBe(0);
    expect(b.backend('b1')!.failures).toBe(0);
  });
});

import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { backendsAt, startBalancer } from '../support/balancer.js';
import { closersAfterEach, listenHttp } from '../support/loopback.js';
import { DEFAULT_RETRY_POLICY, type RetryCondition, type RetryPolicy } from '../../src/balancer/retry-policy.js';

/**
 * Retries (nginx `proxy_next_upstream`) and per-try timeouts, with the
 * balancer in-process in front of real loopback servers whose answers the
 * test decides.
 */

const closers = closersAfterEach();

/** A loopback server running `handler`, closed after the test. */
const server = (handler: http.RequestListener) => listenHttp(handler, closers);

const answering = (status: number) => (_req: http.IncomingMessage, res: http.ServerResponse) => {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(`status ${status}\n`);
};

/** A round-robin balancer over `urls` (b1, b2, …), checks far apart, with `retry` over the default policy and a per-try response timeout. */
function balancer(urls: string[], retry: Partial<RetryPolicy> & { on?: ReadonlySet<RetryCondition> } = {}, responseTimeoutMs = 60_000) {
  return startBalancer(
    {
      backends: backendsAt(urls),
      connection: { connectTimeoutMs: 2000, responseTimeoutMs },
      retry: { ...DEFAULT_RETRY_POLICY, ...retry },
    },
    closers,
  );
}

describe('retries (nginx proxy_next_upstream)', () => {
  it('a 503 is dropped and the request retried on another backend (default --retry-on)', async () => {
    const sick = await server(answering(503));
    const well = await server(answering(200));
    const { b, url } = await balancer([sick.url, well.url]);
    for (let i = 0; i < 4; i++) {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-lblab-backend')).toBe('b2');
      expect(await res.text()).toBe('status 200\n');
    }
    // Round robin comes back to b1 after each retry on b2: every request tried b1 first.
    expect(sick.hits()).toBe(4);
    expect(b.retries).toBe(4);
    expect(b.retriesSucceeded).toBe(4);
  });

  it('without 503 in --retry-on the 503 goes to the client as it came', async () => {
    const sick = await server(answering(503));
    const well = await server(answering(200));
    const { b, url } = await balancer([sick.url, well.url], { on: new Set<RetryCondition>(['error', 'timeout']) });
    const res = await fetch(url);
    expect(res.status).toBe(503);
    expect(res.headers.get('x-lblab-backend')).toBe('b1');
    expect(await res.text()).toBe('status 503\n');
    expect(b.retries).toBe(0);
  });

  it('the last try\'s answer is relayed when tries run out, and no backend is tried twice', async () => {
    const a = await server(answering(503));
    const c = await server(answering(502));
    const { b, url } = await balancer([a.url, c.url], { retries: 3 });
    const res = await fetch(url);
    // b1 503 (dropped) → b2 502: nothing left to try, so b2's answer is relayed.
    expect(res.status).toBe(502);
    expect(res.headers.get('x-lblab-backend')).toBe('b2');
    expect(await res.text()).toBe('status 502\n');
    expect(a.hits() + c.hits()).toBe(2);
    expect(b.retries).toBe(1);
  });

  it('--retries 2 goes on to a third backend', async () => {
    const a = await server(answering(503));
    const c = await server(answering(504));
    const d = await server(answering(200));
    const { b, url } = await balancer([a.url, c.url, d.url], { retries: 2 });
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-lblab-backend')).toBe('b3');
    await res.text();
    expect(b.retries).toBe(2);
    expect(b.retriesSucceeded).toBe(1);
  });

  it('POST is not retried unless --retry-non-idempotent', async () => {
    const sick = await server(answering(503));
    const well = await server(answering(200));
    const strict = await balancer([sick.url, well.url]);
    const refused = await fetch(strict.url, { method: 'POST' });
    expect(refused.status).toBe(503);
    await refused.text();
    const lenient = await balancer([sick.url, well.url], { nonIdempotent: true });
    const retried = await fetch(lenient.url, { method: 'POST' });
    expect(retried.status).toBe(200);
    await retried.text();
  });

  it('a backend that never answers costs one --response-timeout, then the retry answers', async () => {
    const hung = await server(() => {
      // accept, read, never answer
    });
    const well = await server(answering(200));
    const { b, url } = await balancer([hung.url, well.url], {}, 300);
    const started = performance.now();
    const res = await fetch(url);
    const took = performance.now() - started;
    expect(res.status).toBe(200);
    expect(res.headers.get('x-lblab-backend')).toBe('b2');
    await res.text();
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(3000);
    expect(b.backend('b1')!.failures).toBe(1);
  });

  it('with --retries 0 a timeout reaches the client as 504', async () => {
    const hung = await server(() => {});
    const { url } = await balancer([hung.url], { retries: 0 }, 300);
    const res = await fetch(url);
    expect(res.status).toBe(504);
    expect(await res.text()).toMatch(/backend b1 failed \(timeout\)/);
  });
});

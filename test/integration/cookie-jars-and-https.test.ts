import { describe, expect, it } from 'vitest';
import type { LoadConfig } from '../../src/load/load-generator.js';
import { checkServerCertificate } from '../../src/load/tls-check.js';
import { runLoad } from '../support/load-run.js';
import { REFUSED_PORT, closersAfterEach, listenHttp, listenHttps } from '../support/loopback.js';

/**
 * Per-client cookie jars and https targets of the load generator, in-process
 * against real servers on 127.0.0.1. The generator comes from dist/ (built
 * by `npm test`): its worker thread must be compiled JavaScript.
 */

const closers = closersAfterEach();

const run = (config: LoadConfig) => runLoad(config, closers);

/** What one client sent on its n-th request (1-based): the Cookie header, or undefined. */
type Seen = Map<string, Array<string | undefined>>;

/**
 * A server that acts like a sticky balancer and a logout: request 1 of each
 * client (by source address) gets `SERVERID=<its own id>`, request 2 gets it
 * deleted (Max-Age=0), request 3 gets a new one; it records every Cookie header.
 */
async function cookieServer(): Promise<{ url: string; seen: Seen }> {
  const seen: Seen = new Map();
  const server = await listenHttp((req, res) => {
    const who = req.socket.remoteAddress ?? '';
    const mine = seen.get(who) ?? [];
    seen.set(who, mine);
    mine.push(req.headers.cookie);
    const n = mine.length;
    const headers: Record<string, string | string[]> = { 'content-length': '2', 'x-lblab-backend': 's1' };
    if (n === 1) headers['set-cookie'] = [`SERVERID=${who}-a; Path=/; HttpOnly`, 'theme=dark; Path=/other'];
    if (n === 2) headers['set-cookie'] = 'SERVERID=; Path=/; Max-Age=0';
    if (n === 3) headers['set-cookie'] = `SERVERID=${who}-b; Path=/`;
    res.writeHead(200, headers);
    res.end('ok');
  }, closers);
  return { url: `${server.url}/`, seen };
}

describe('cookie jars', () => {
  it('each virtual client gets its own cookie back, never another client’s; Max-Age=0 deletes it; Path is honoured', async () => {
    const { url, seen } = await cookieServer();
    // One request at a time, clients in turn: each response is in before that client's next request.
    await run({ url, concurrency: 1, clients: 5, requests: 25, durationMs: 0 });
    expect(seen.size).toBe(5);
    for (const [who, cookies] of seen) {
      expect(cookies).toEqual([undefined, `SERVERID=${who}-a`, undefined, `SERVERID=${who}-b`, `SERVERID=${who}-b`]);
    }
  });

  it('the single default client keeps a jar too', async () => {
    const { url, seen } = await cookieServer();
    await run({ url, concurrency: 1, requests: 4, durationMs: 0 });
    expect([...seen.values()]).toEqual([[undefined, 'SERVERID=127.0.0.1-a', undefined, 'SERVERID=127.0.0.1-b']]);
  });

  it('a --header cookie is kept and the jar’s cookies are added to it', async () => {
    const { url, seen } = await cookieServer();
    await run({ url, concurrency: 1, requests: 2, durationMs: 0, headers: [{ name: 'cookie', value: 'user=u{client}' }] });
    expect([...seen.values()]).toEqual([['user=u1', 'user=u1; SERVERID=127.0.0.1-a']]);
  });

  it('--no-cookies: nothing is sent back', async () => {
    const { url, seen } = await cookieServer();
    await run({ url, concurrency: 2, clients: 3, requests: 12, durationMs: 0, cookies: false });
    expect(seen.size).toBe(3);
    for (const cookies of seen.values()) expect(cookies.every((c) => c === undefined)).toBe(true);
  });
});

describe('https targets', () => {
  async function httpsServer(): Promise<string> {
    const { url } = await listenHttps((_req, res) => {
      res.writeHead(200, { 'x-lblab-backend': 'tls1', 'content-length': 2 });
      res.end('ok');
    }, closers);
    return `${url}/`;
  }

  it('insecure: a self-signed certificate is accepted and responses are attributed', async () => {
    const url = await httpsServer();
    const load = await run({ url, concurrency: 2, requests: 20, durationMs: 0, insecure: true, clients: 2 });
    expect(load.stats.requests).toBe(20);
    expect(load.stats.errors).toBe(0);
    expect(load.stats.backends.get('tls1')?.requests).toBe(20);
  });

  it('without insecure: the certificate check fails with a message naming --insecure, and the run would count every request as an error', async () => {
    const url = await httpsServer();
    await expect(checkServerCertificate(new URL(url))).rejects.toThrow(/certificate of https:\/\/127\.0\.0\.1:\d+ is not trusted.*--insecure/);
    const load = await run({ url, concurrency: 1, requests: 3, durationMs: 0 });
    expect(load.stats.requests).toBe(3);
    expect(load.stats.errors).toBe(3);
  });

  it('the certificate check leaves a server that is not there to the run', async () => {
    await expect(checkServerCertificate(new URL(`https://127.0.0.1:${REFUSED_PORT}/`))).resolves.toBeUndefined();
  });
});

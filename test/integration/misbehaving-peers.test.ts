import net from 'node:net';
import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { backendsAt, startBalancer } from '../support/balancer.js';
import { get } from '../support/http.js';
import { closersAfterEach, listenHttp, listenOn } from '../support/loopback.js';

/**
 * What the balancer does with peers that break the rules (issue 18, item 4),
 * over real sockets: a client sending two Host headers, and backends that
 * send a status below 100, close after their headers, or close a kept-alive
 * connection as a request goes out on it.
 */

const closers = closersAfterEach();

/**
 * A backend written on raw sockets, so it can misbehave: `answer` gets each
 * request's path and its number on its connection (1, 2, …) and writes
 * what it likes on the socket. Counts connections. Health checks (`/`) get
 * a plain 200.
 */
async function rawBackend(answer: (path: string, nth: number, socket: net.Socket) => void): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    let nth = 0;
    let buffered = '';
    socket.on('error', () => undefined);
    socket.on('data', (d) => {
      buffered += d.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        nth++;
        answer(head.split(' ')[1] ?? '/', nth, socket);
      }
    });
  });
  const { port } = await listenOn(server, closers);
  return { url: `http://127.0.0.1:${port}`, connections: () => connections };
}

const OK = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';

/** Writes `head` on a fresh connection to `port` and resolves with every byte read until the balancer closes it. */
function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head));
    let text = '';
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
}

describe('a client that breaks the rules', () => {
  it('gets 400 for two Host headers, and no backend sees the request (RFC 9112 §3.2)', async () => {
    const origin = await listenHttp((_req, res) => res.end('ok'), closers);
    const { port } = await startBalancer({ backends: backendsAt([origin.url]) }, closers);
    const hitsBefore = origin.hits();
    const text = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: public.example\r\nHost: admin.internal\r\nConnection: close\r\n\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(text).toContain('more than one Host header');
    expect(origin.hits()).toBe(hitsBefore);
    // One Host is as ever.
    const one = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: public.example\r\nConnection: close\r\n\r\n');
    expect(one).toMatch(/^HTTP\/1\.1 200 /);
  });
  it('answers a head over 16 KiB with 431, a request without Host with 400, and closes a CONNECT: never a tunnel', async () => {
    const origin = await listenHttp((_req, res) => res.end('ok'), closers);
    const { port } = await startBalancer({ backends: backendsAt([origin.url]) }, closers);
    const hitsBefore = origin.hits();
    expect(await rawRequest(port, `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    expect(await rawRequest(port, 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await rawRequest(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')).not.toMatch(/^HTTP\/1\.1 200/);
    expect(origin.hits()).toBe(hitsBefore);
  });
});

describe('a backend that breaks the rules', () => {
  it('answers a status below 100 with a 502 naming the backend and the kind of failure, not a library message', async () => {
    const backend = await rawBackend((path, _nth, s) => s.write(path === '/weird' ? 'HTTP/1.1 099 Weird\r\ncontent-length: 2\r\n\r\nok' : OK));
    const { url } = await startBalancer({ backends: backendsAt([backend.url]), retry: { retries: 0, on: new Set(['error']), nonIdempotent: false } }, closers);
    const answer = await get(new URL('/weird', url));
    expect(answer.status).toBe(502);
    expect(answer.body).toBe('lblab: backend b1 failed (other): it sent a response that is not valid HTTP/1.1\n');
    expect(answer.body).not.toMatch(/assert|expression|undici/i);
  });

  it('answers 502 when the backend closes after its headers and before its body: nothing had reached the client', async () => {
    const backend = await rawBackend((path, _nth, s) => (path === '/cut' ? s.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n') : s.write(OK)));
    const { port } = await startBalancer({ backends: backendsAt([backend.url]) }, closers);
    // Before the fix the client got its 200 head and then nothing: an empty reply (curl exit 52).
    const text = await rawRequest(port, 'GET /cut HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 502 /);
    expect(text).toContain('lblab: backend b1 failed (reset): it closed or reset the connection before the whole response');
  });

  it('retries a body cut after the headers on another backend, as nginx proxy_next_upstream does while nothing was sent', async () => {
    const cutting = await rawBackend((_path, _nth, s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n'));
    const good = await listenHttp((_req, res) => res.end('ok'), closers);
    const { url } = await startBalancer({ backends: backendsAt([cutting.url, good.url]) }, closers);
    const answers = [await get(new URL('/x', url)), await get(new URL('/x', url))];
    expect(answers.map((a) => [a.status, a.backend])).toEqual([
      [200, 'b2'],
      [200, 'b2'],
    ]);
  });

  it('cuts the response, never rewrites it, when the backend closes mid-body: the status is already out', async () => {
    const backend = await rawBackend((path, _nth, s) => (path === '/half' ? s.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nfirst half') : s.write(OK)));
    const { port } = await startBalancer({ backends: backendsAt([backend.url]) }, closers);
    const text = await rawRequest(port, 'GET /half HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toContain('first half');
    expect(text).not.toContain('502');
  });

  it('sends a request again on a fresh connection when the only backend closed the kept-alive one it went out on', async () => {
    // The idle-timeout race, made certain: each connection answers its first
    // request and closes as the second arrives, before any byte of a response.
    const backend = await rawBackend((_path, nth, s) => (nth === 1 ? s.write(OK) : s.destroy()));
    const { b, url } = await startBalancer({ backends: backendsAt([backend.url]), retry: { retries: 0, on: new Set(['error']), nonIdempotent: false } }, closers);
    const client = new Agent();
    closers.push(() => client.close());
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(new URL(`/r${i}`, url), { dispatcher: client })).status);
    expect(statuses).toEqual([200, 200, 200, 200]);
    // Requests 2..4 each met a closed kept-alive connection and were sent once more: one connection for the first, two for each other.
    expect(backend.connections()).toBeGreaterThanOrEqual(4);
    expect(b.backends[0]!.failures).toBe(0);
  });

  it('does not send again what failed on a fresh connection, and counts it as the backend failure it is', async () => {
    const backend = await rawBackend((path, _nth, s) => (path === '/' ? s.write(OK) : s.destroy()));
    const { b, url } = await startBalancer({ backends: backendsAt([backend.url]) }, closers);
    const before = backend.connections();
    const answer = await get(new URL('/always-closes', url));
    expect(answer.status).toBe(502);
    expect(answer.body).toContain('backend b1 failed (reset)');
    expect(b.backends[0]!.failures).toBe(1);
    expect(backend.connections() - before).toBe(1);
  });
});

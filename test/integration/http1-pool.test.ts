import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { Http1Pool, MAX_CONNECTING, type Http1Handler, type Http1Request } from '../../src/load/http1-pool.js';
import { classifyError } from '../../src/metrics/error-kind.js';
import { closersAfterEach, listenHttps, listenOn, REFUSED_URL, type Closers } from '../support/loopback.js';

/**
 * lblab's own HTTP/1.1 load client over real loopback sockets: keep-alive
 * reuse, the three body framings (also cut into pieces), the server's
 * Keep-Alive hint, `reset`, the source address, TLS verification, and the
 * errors with undici's codes that `classifyError` sorts.
 */

const closers = closersAfterEach();

type Outcome = { status: number; headers: string[]; body: string; err?: Error & { code?: string } };

function request(pool: Http1Pool, req: Partial<Http1Request> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { status: 0, headers: [], body: '' };
    const handler: Http1Handler = {
      onHeaders(status, raw) {
        out.status = status;
        out.headers = raw;
        return true;
      },
      onData(chunk) {
        out.body += chunk.toString('latin1');
        return true;
      },
      onComplete: () => resolve(out),
      onError: (err) => resolve({ ...out, err }),
    };
    pool.dispatch({ path: '/', method: 'GET', headers: [], ...req }, handler);
  });
}

/** Sends `first`, and `second` from inside its `onComplete`; resolves with `second`'s outcome (or `first`'s error). */
function requestFromComplete(pool: Http1Pool, first: string, second: string): Promise<Outcome> {
  return new Promise((resolve) => {
    pool.dispatch({ path: first, method: 'GET', headers: [] }, {
      onHeaders: () => true,
      onData: () => true,
      onComplete: () => void request(pool, { path: second }).then(resolve),
      onError: (err) => resolve({ status: 0, headers: [], body: '', err }),
    });
  });
}

function header(out: Outcome, name: string): string | undefined {
  for (let i = 0; i < out.headers.length; i += 2) if (out.headers[i]!.toLowerCase() === name) return out.headers[i + 1];
  return undefined;
}

/** A raw TCP server: `onRequest` gets each request head (up to the blank line) and the socket, and writes what it likes. */
async function rawServer(onRequest: (head: string, socket: net.Socket) => void, list: Closers): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = '';
    socket.on('data', (d) => {
      buffered += d.toString('latin1');
      let end: number;
      while ((end = buffered.indexOf('\r\n\r\n')) >= 0) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        onRequest(head, socket);
      }
    });
    socket.on('error', () => {});
  });
  list.push(async () => {
    for (const s of sockets) s.destroy();
  });
  const { port } = await listenOn(server, list);
  return { url: `http://127.0.0.1:${port}`, connections: () => connections };
}

/** Writes `parts` one by one, each in its own event-loop turn, so the client reads them as separate pieces. */
async function writeInPieces(socket: net.Socket, parts: string[]): Promise<void> {
  for (const p of parts) {
    socket.write(p);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('Http1Pool', () => {
  it('keeps one connection alive for sequential requests and frees it before the handler hears the end', async () => {
    let connections = 0;
    const server = http.createServer((req, res) => res.end(`hello ${req.url}`));
    server.on('connection', () => connections++);
    const { port } = await listenOn(server, closers);
    const pool = new Http1Pool(`http://127.0.0.1:${port}`);
    closers.push(() => pool.destroy());
    for (let i = 0; i < 50; i++) {
      const out = await request(pool, { path: `/n${i}` });
      expect(out.err).toBeUndefined();
      expect(out.status).toBe(200);
      expect(out.body).toBe(`hello /n${i}`);
    }
    expect(connections).toBe(1);
    // A request sent from inside onComplete takes the same connection: it is idle already.
    const chained = await requestFromComplete(pool, '/a', '/b');
    expect(chained.body).toBe('hello /b');
    expect(connections).toBe(1);
    expect(pool.connections).toBe(1);
  });

  it('reads chunked, Content-Length and read-to-close bodies cut into pieces, skipping a 100 Continue', async () => {
    const server = await rawServer((head, socket) => {
      const path = head.split(' ')[1];
      if (path === '/chunked') {
        void writeInPieces(socket, ['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-', 'Encoding: chunked\r\nX-Lblab-Backend: b2\r\n\r', '\n5;ext=1\r\nhel', 'lo\r\n6\r\n world\r', '\n0\r\nx-trailer: 1\r\n', '\r\n']);
      } else if (path === '/length') {
        void writeInPieces(socket, ['HTTP/1.1 201 Created\r\nContent-Length: 11\r\n', '\r\nhello', ' world']);
      } else {
        void writeInPieces(socket, ['HTTP/1.0 200 OK\r\n\r\nhello', ' world']).then(() => socket.end());
      }
    }, closers);
    const pool = new Http1Pool(server.url);
    closers.push(() => pool.destroy());
    const chunked = await request(pool, { path: '/chunked' });
    expect(chunked.err).toBeUndefined();
    expect([chunked.status, chunked.body, header(chunked, 'x-lblab-backend')]).toEqual([200, 'hello world', 'b2']);
    const length = await request(pool, { path: '/length' });
    expect([length.err, length.status, length.body]).toEqual([undefined, 201, 'hello world']);
    // Both kept the connection; the read-to-close body ends it.
    expect(server.connections()).toBe(1);
    const untilClose = await request(pool, { path: '/close' });
    expect([untilClose.err, untilClose.status, untilClose.body]).toEqual([undefined, 200, 'hello world']);
    expect(pool.connections).toBe(0);
  });

  it('closes a connection whose response was followed by bytes nobody asked for, so the next request never reads them', async () => {
    const server = await rawServer((head, socket) => {
      if (head.startsWith('GET /first')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 418 STALE\r\nContent-Length: 0\r\n\r\n');
      else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh');
    }, closers);
    const pool = new Http1Pool(server.url);
    closers.push(() => pool.destroy());
    // The second request goes out from inside onComplete, while the trailing bytes are still being read.
    const second = await requestFromComplete(pool, '/first', '/second');
    expect([second.err, second.status, second.body]).toEqual([undefined, 200, 'fresh']);
    expect(server.connections()).toBe(2);
  });

  it('opens at most MAX_CONNECTING connections at once; the rest wait, and open as the first ones finish opening', async () => {
    let connections = 0;
    const server = http.createServer((_req, res) => setTimeout(() => res.end('slow'), 300));
    server.on('connection', () => connections++);
    const { port } = await listenOn(server, closers);
    const pool = new Http1Pool(`http://127.0.0.1:${port}`);
    closers.push(() => pool.destroy());
    const at = performance.now();
    const all = Array.from({ length: 40 }, () => request(pool));
    expect(pool.queued).toBe(40 - MAX_CONNECTING);
    const outcomes = await Promise.all(all);
    expect(outcomes.every((o) => o.err === undefined && o.body === 'slow')).toBe(true);
    // Each waited for room to open its own connection, not for a response: one 300 ms round, not three.
    expect(connections).toBe(40);
    expect(performance.now() - at).toBeLessThan(750);
  });

  it('closes an idle connection when the server says Keep-Alive: timeout=N, N s less 1 s', async () => {
    const server = await rawServer((_head, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=2\r\n\r\nok'), closers);
    const pool = new Http1Pool(server.url, { keepAliveTimeout: 60_000 });
    closers.push(() => pool.destroy());
    const at = performance.now();
    expect((await request(pool)).body).toBe('ok');
    expect(pool.connections).toBe(1);
    while (pool.connections > 0 && performance.now() - at < 5000) await new Promise((r) => setTimeout(r, 50));
    const closedAfter = performance.now() - at;
    expect(pool.connections).toBe(0);
    // 1 s (2 s less undici's 1 s threshold), checked every 250 ms.
    expect(closedAfter).toBeGreaterThanOrEqual(950);
    expect(closedAfter).toBeLessThan(2000);
  });

  it('sends connection: close with reset and opens a connection per request; binds the source address', async () => {
    const seen: Array<{ connection?: string; remote?: string }> = [];
    let connections = 0;
    const server = http.createServer((req, res) => {
      seen.push({ connection: req.headers.connection, remote: req.socket.remoteAddress });
      res.end('ok');
    });
    server.on('connection', () => connections++);
    const { port } = await listenOn(server, closers);
    const pool = new Http1Pool(`http://127.0.0.1:${port}`, { localAddress: '127.0.0.7' });
    closers.push(() => pool.destroy());
    for (let i = 0; i < 3; i++) expect((await request(pool, { reset: true })).body).toBe('ok');
    expect(connections).toBe(3);
    expect(seen.map((s) => s.connection)).toEqual(['close', 'close', 'close']);
    expect(seen.map((s) => s.remote)).toEqual(['127.0.0.7', '127.0.0.7', '127.0.0.7']);
    await request(pool, { headers: ['host', 'example.test', 'x-a', '1'] });
    expect(seen.at(-1)?.connection).toBe('keep-alive');
  });

  it('fails with undici error codes that classifyError sorts: refused, cut mid-body, headers timeout, not HTTP', async () => {
    const refused = await request(new Http1Pool(REFUSED_URL));
    expect(refused.err?.code).toBe('ECONNREFUSED');
    expect(classifyError(refused.err)).toBe('refused');

    const server = await rawServer((head, socket) => {
      const path = head.split(' ')[1];
      if (path === '/cut') socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part');
      else if (path === '/garbage') socket.write('SMTP ready\r\n\r\n');
      // /hang: never answers.
    }, closers);
    const pool = new Http1Pool(server.url, { headersTimeout: 300 });
    closers.push(() => pool.destroy());
    const cut = await request(pool, { path: '/cut' });
    expect([cut.status, cut.body, cut.err?.code, classifyError(cut.err)]).toEqual([200, 'only part', 'UND_ERR_SOCKET', 'reset']);
    const at = performance.now();
    const hang = await request(pool, { path: '/hang' });
    expect([hang.err?.code, classifyError(hang.err)]).toEqual(['UND_ERR_HEADERS_TIMEOUT', 'timeout']);
    expect(performance.now() - at).toBeLessThan(2000);
    const garbage = await request(pool, { path: '/garbage' });
    expect(garbage.err?.code).toMatch(/^HPE_/);
    expect(classifyError(garbage.err)).toBe('other');
  });

  it('refuses CR or LF in a header before anything is sent, and requests after destroy', async () => {
    const server = await rawServer(() => {}, closers);
    const pool = new Http1Pool(server.url);
    const bad = await request(pool, { headers: ['x-a', 'one\r\nx-injected: yes'] });
    expect(bad.err?.code).toBe('UND_ERR_INVALID_ARG');
    expect(server.connections()).toBe(0);
    await pool.destroy();
    expect((await request(pool)).err?.code).toBe('UND_ERR_DESTROYED');
  });

  it('verifies the certificate over https unless told not to', async () => {
    const { url } = await listenHttps((_req, res) => res.end('secure'), closers);
    const strict = new Http1Pool(url);
    closers.push(() => strict.destroy());
    const refused = await request(strict);
    expect(refused.err).toBeDefined();
    expect(refused.status).toBe(0);
    const lenient = new Http1Pool(url, { rejectUnauthorized: false });
    closers.push(() => lenient.destroy());
    const a = await request(lenient);
    const b = await request(lenient);
    expect([a.err, a.body, b.body, lenient.connections]).toEqual([undefined, 'secure', 'secure', 1]);
  });

  it('close() lets a request in flight finish, then refuses new ones', async () => {
    const server = http.createServer((_req, res) => setTimeout(() => res.end('late'), 100));
    const { port } = await listenOn(server, closers);
    const pool = new Http1Pool(`http://127.0.0.1:${port}`);
    const inFlight = request(pool);
    await new Promise((r) => setTimeout(r, 20));
    const closed = pool.close();
    expect((await request(pool)).err?.code).toBe('UND_ERR_CLOSED');
    expect((await inFlight).body).toBe('late');
    await closed;
    expect(pool.connections).toBe(0);
  });
});

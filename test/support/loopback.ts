import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback port that refuses every connection: port 1, privileged, so the
 * kernel never hands it out to a `listen(0)`, this test's or any other
 * process's on the machine. The port of a server closed a moment ago is no
 * such thing: the next `listen(0)` (the balancer under test, the next backend)
 * may be given it back, and the "dead" backend answers.
 */
export const REFUSED_PORT = 1;
/** {@link REFUSED_PORT} as a backend URL. */
export const REFUSED_URL = `http://127.0.0.1:${REFUSED_PORT}`;

/** Things to close after each test, closed newest first by {@link closeAll}. */
export type Closers = Array<() => Promise<unknown>>;

/** Closes and forgets everything in `closers`, newest first. */
export async function closeAll(closers: Closers): Promise<void> {
  for (const close of closers.splice(0).reverse()) await close();
}

/** A plain HTTP server on 127.0.0.1 that the test controls. `close` may be called early; `closeAll` closes it anyway. */
export type TestServer = { url: string; port: number; server: http.Server; hits: () => number; close: () => Promise<void> };

/** Starts `handler` on a free loopback port, counting requests; registered in `closers`. */
export async function listenHttp(handler: http.RequestListener, closers: Closers): Promise<TestServer> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = () =>
    new Promise<void>((r) => {
      if (!server.listening) return r();
      server.closeAllConnections();
      server.close(() => r());
    });
  closers.push(close);
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, port, server, hits: () => hits, close };
}

import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import selfsigned from 'selfsigned';
import { afterEach } from 'vitest';

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

/**
 * A fresh {@link Closers} list for this test file, closed by {@link closeAll}
 * after every test (vitest `afterEach`, registered by this call).
 */
export function closersAfterEach(): Closers {
  const closers: Closers = [];
  afterEach(() => closeAll(closers));
  return closers;
}

/**
 * Listens `server` (node:net, http or https) on 127.0.0.1, port 0, and
 * resolves to the port it was given. Registers nothing: the caller closes
 * it (see {@link listenOn} for a server closed after the test).
 */
export async function listenLoopback(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/**
 * Listens `server` (node:net, http or https) on a free loopback port and
 * pushes its close to `closers`: open connections are cut first where the
 * server can (`closeAllConnections` of http/https; a plain net server waits
 * for its own). `close` may be called early; then closeAll's is a no-op.
 * Resolves to the port and the close.
 */
export async function listenOn(server: net.Server, closers: Closers): Promise<{ port: number; close: () => Promise<void> }> {
  const port = await listenLoopback(server);
  const close = () =>
    new Promise<void>((r) => {
      if (!server.listening) return r();
      (server as Partial<Pick<http.Server, 'closeAllConnections'>>).closeAllConnections?.();
      server.close(() => r());
    });
  closers.push(close);
  return { port, close };
}

/**
 * Starts `handler` as an HTTPS server on a free loopback port, with a fresh
 * self-signed certificate (EC key, CN 127.0.0.1, valid one day) that no
 * client trusts unless told to; its close is pushed to `closers`. Resolves to
 * its `https://127.0.0.1:<port>` URL (no trailing slash) and port.
 */
export async function listenHttps(handler: http.RequestListener, closers: Closers): Promise<{ url: string; port: number }> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], { notAfterDate: new Date(Date.now() + 86_400_000), keyType: 'ec' });
  const { port } = await listenOn(https.createServer({ key: pems.private, cert: pems.cert }, handler), closers);
  return { url: `https://127.0.0.1:${port}`, port };
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
  const { port, close } = await listenOn(server, closers);
  return { url: `http://127.0.0.1:${port}`, port, server, hits: () => hits, close };
}

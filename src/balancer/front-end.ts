import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';

/**
 * A client request as the balancer's request path reads it: an HTTP/1.x
 * request (node:http) or one HTTP/2 stream (node:http2's compatibility
 * API), which has the same `url`, `method`, `headers`, `socket` and body
 * stream. An HTTP/2 one also has the pseudo-headers (`:method`, `:path`,
 * `:authority`, `:scheme`) in `headers`, and `host` set from `:authority`
 * by {@link FrontEnd} when the client sent none.
 */
export type ClientRequest = http.IncomingMessage | http2.Http2ServerRequest;

/** The response to a {@link ClientRequest}: node:http's, or node:http2's compatibility one (writeHead, write with backpressure and `drain`, end, destroy, `close`). */
export type ClientResponse = http.ServerResponse | http2.Http2ServerResponse;

/** What {@link FrontEnd} serves and where it hands requests. Times in ms. */
export type FrontEndConfig = {
  /** HTTPS to clients (the certificate is set with {@link FrontEnd.setSecureContext} before listening). */
  tls: boolean;
  /** HTTP/2 to clients as well as HTTP/1.1: by ALPN with `tls`, by the client's connection preface (h2c with prior knowledge) without. */
  http2: boolean;
  /** Time a client may take to send a request head (HTTP/1.1) or the HTTP/2 connection preface. */
  clientTimeoutMs: number;
  /** Every request, HTTP/1.1 or one HTTP/2 stream. */
  onRequest: (req: ClientRequest, res: ClientResponse) => void;
  /** An HTTP/1.1 `Upgrade` request (a WebSocket handshake), on its raw socket. */
  onUpgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
};

/** A front end's clients so far: connections open now, connections accepted, requests received (HTTP/2 streams each one; at L4 a connection is one). */
export type ClientActivity = { connections: number; accepted: number; requests: number };

/** HTTP/2 at the balancer so far: client connections (sessions) that spoke it, the streams (requests) they carried, and the most streams open at once on one connection. */
export type Http2Stats = { connections: number; streams: number; maxConcurrentStreams: number };

/**
 * The client connection preface every HTTP/2 connection starts with
 * (RFC 9113 §3.4); with prior knowledge (h2c) it is the first thing sent.
 */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * Streams one HTTP/2 client connection may have open at once, as nginx's
 * `http2_max_concurrent_streams` default (128); further ones are refused
 * with REFUSED_STREAM and the client sends them later.
 */
export const MAX_CONCURRENT_STREAMS = 128;

/**
 * The balancer's listening side: node:http (or node:https with `tls`)
 * alone, or with `http2` also HTTP/2 to clients, as nginx `listen … http2`
 * does — over TLS a node:http2 secure server that offers `h2` and
 * `http/1.1` by ALPN (`allowHTTP1`), in plain text the HTTP/1.1 server
 * looks at the first 24 bytes of each connection and hands those that
 * start with the HTTP/2 preface to a node:http2 server (h2c with prior
 * knowledge), the rest to its own HTTP/1.1 parser (a bad preface is a bad
 * HTTP/1.1 request there: 400 and the connection closed). Upgrades stay
 * HTTP/1.1's. Every HTTP/2 stream is one request for `onRequest`.
 */
export class FrontEnd {
  /** What listens (pass it to `listenOn`): an http, https or http2 secure server. */
  readonly server: net.Server;
  /** With `http2` and no `tls`: the HTTP/2 server the sniffed connections go to. */
  private readonly h2c: http2.Http2Server | undefined;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly h2 = { connections: 0, streams: 0, maxConcurrentStreams: 0 };
  /** Client connections open and accepted, requests received (each HTTP/2 stream one). */
  private readonly activity: ClientActivity = { connections: 0, accepted: 0, requests: 0 };

  constructor(private readonly config: FrontEndConfig) {
    const { clientTimeoutMs } = config;
    const activity = this.activity;
    const onRequest = (req: ClientRequest, res: ClientResponse): void => {
      activity.requests++;
      config.onRequest(req, res);
    };
    const onH2Request = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void => {
      // RFC 9113 §8.3.1: `:authority` is what Host is in HTTP/1.1; routes, hash keys and the backend read Host.
      const authority = req.headers[':authority'];
      if (req.headers.host === undefined && authority !== undefined) req.headers.host = authority;
      onRequest(req, res);
    };
    const h2Options: http2.ServerOptions = { settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS } };
    let server: http.Server | https.Server | http2.Http2SecureServer;
    if (config.http2 && config.tls) {
      server = http2.createSecureServer({ ...h2Options, allowHTTP1: true }, (req, res) => (req.httpVersionMajor === 2 ? onH2Request(req, res) : onRequest(req, res)));
      trackSessions(server, this.sessions, this.h2);
    } else {
      const options: http.ServerOptions = {};
      server = config.tls ? https.createServer(options, onRequest) : http.createServer(options, onRequest);
      if (config.http2) {
        this.h2c = http2.createServer(h2Options, onH2Request);
        trackSessions(this.h2c, this.sessions, this.h2);
        acceptH2cToo(server as http.Server, this.h2c, clientTimeoutMs);
      }
    }
    // An HTTP/2 secure server serves HTTP/1.1 with node:http's code and reads these off itself.
    const h1 = server as http.Server;
    h1.headersTimeout = clientTimeoutMs;
    // Node's own 5 min limit on a whole request must not be the shorter one.
    h1.requestTimeout = Math.max(clientTimeoutMs, 300_000);
    // Node looks for timed-out requests only this often (30 s by default): a few times per timeout.
    (h1 as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = Math.max(50, Math.min(1000, Math.floor(clientTimeoutMs / 4)));
    h1.keepAliveTimeout = 60_000;
    server.on('upgrade', (req, socket, head) => {
      activity.requests++;
      config.onUpgrade(req, socket, head);
    });
    // Every client connection reaches the listening server first, h2c ones before the sniff hands them on.
    server.on('connection', (socket: net.Socket) => {
      activity.connections++;
      activity.accepted++;
      socket.once('close', () => activity.connections--);
    });
    this.server = server;
  }

  /** Its clients so far: connections open now and accepted, requests received. */
  clientActivity(): ClientActivity {
    return { ...this.activity };
  }

  /** The TLS server, with `tls` (for the handshake meter). */
  get tlsServer(): tls.Server | undefined {
    return this.config.tls ? (this.server as tls.Server) : undefined;
  }

  /** Sets the certificate and key (PEM) served with `tls`. */
  setSecureContext(pem: { key: string; cert: string }): void {
    (this.server as tls.Server).setSecureContext(pem);
  }

  /** HTTP/2 so far, undefined without `http2`. */
  http2Stats(): Http2Stats | undefined {
    return this.config.http2 ? { ...this.h2 } : undefined;
  }

  /** Stops listening and ends every client connection: HTTP/1.1 ones, HTTP/2 sessions and their streams. */
  async close(): Promise<void> {
    for (const s of this.sessions) s.destroy();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      (this.server as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
    this.h2c?.close();
  }
}

/**
 * Puts a sniff in front of `h1`'s connection handling, so one clear-text
 * port serves HTTP/1.1 and h2c with prior knowledge (RFC 9113 §3.3), as
 * HAProxy's clear-text binds do: each new connection is read until its
 * first bytes either are the HTTP/2 preface (the connection goes to `h2c`)
 * or are not (back to `h1`'s own handling). The bytes read are put back for
 * whichever parser takes it. A connection that sends fewer bytes than the
 * preface within `timeoutMs` is closed. Used by the balancer and by
 * backends (an L4 balancer passes an h2c connection through whole).
 */
export function acceptH2cToo(h1: http.Server, h2c: http2.Http2Server, timeoutMs: number): void {
  const h1Connection = h1.listeners('connection') as ((socket: net.Socket) => void)[];
  h1.removeAllListeners('connection');
  h1.on('connection', (socket: net.Socket) => {
    let seen: Buffer | undefined;
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    const onError = (): void => {
      socket.destroy();
    };
    const onClose = (): void => clearTimeout(timer);
    const onData = (chunk: Buffer): void => {
      seen = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      const h2 = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (h2 && n < PREFACE.length) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      // Paused, so the bytes put back wait for the parser that takes the connection.
      socket.pause();
      socket.unshift(seen);
      if (h2) {
        h2c.emit('connection', socket);
        // node:http2 takes the bytes put back on the next tick; reading resumes after that.
        process.nextTick(() => socket.resume());
      } else {
        for (const listener of h1Connection) listener.call(h1, socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
}

/**
 * Keeps the open HTTP/2 sessions of `server` (to end them on close) and
 * counts them, their streams and the most streams open at once on one into
 * `stats` when given; an idle session ends after 60 s (the HTTP/1.1
 * keep-alive time); a session that breaks the protocol ends alone.
 */
export function trackSessions(server: http2.Http2Server | http2.Http2SecureServer, sessions: Set<http2.ServerHttp2Session>, stats?: Http2Stats): void {
  server.setTimeout(60_000);
  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    if (stats) stats.connections++;
    let open = 0;
    if (stats) {
      session.on('stream', (stream) => {
        stats.streams++;
        open++;
        if (open > stats.maxConcurrentStreams) stats.maxConcurrentStreams = open;
        stream.once('close', () => open--);
      });
    }
    session.once('close', () => sessions.delete(session));
    session.on('error', () => session.destroy());
  });
}

/** Whether `req` is one HTTP/2 stream (not an HTTP/1.x request). */
export function isHttp2(req: ClientRequest): req is http2.Http2ServerRequest {
  return req.httpVersionMajor === 2;
}

/**
 * Whether a client request has a body to relay: HTTP/1.1 says so with
 * `Transfer-Encoding` or a non-zero `Content-Length` (RFC 9112 §6.3); an
 * HTTP/2 stream by not ending with its headers (END_STREAM, RFC 9113 §8.1).
 */
export function requestHasBody(req: ClientRequest): boolean {
  if (isHttp2(req)) return !req.stream.endAfterHeaders;
  const h = req.headers;
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

/** Whether the client's response can no longer be written: its connection (HTTP/1.1) or its stream (HTTP/2) is gone. */
export function responseGone(res: ClientResponse): boolean {
  return 'stream' in res ? res.stream.destroyed : res.destroyed;
}

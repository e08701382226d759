import http from 'node:http';
import type { Duplex } from 'node:stream';
import { errors } from 'undici';
import { endToEnd, type HeaderMap } from './headers.js';
import type { UpstreamConnectionConfig } from './upstream-backend.js';

/** How an upgrade request sent to a backend ended up, as {@link relayUpgrade} reports it once. */
export type UpgradeAnswer =
  /** The backend switched protocols (101): the two sockets are joined until either side closes. */
  | { kind: 'upgraded' }
  /** The backend answered something else (a 404, a 400): relayed as an ordinary response, then the connection closed. */
  | { kind: 'answered'; status: number }
  /** Nothing came back: refused, reset or timed out (undici's error classes, so `classifyError` reads them). */
  | { kind: 'failed'; err: Error }
  /** The client closed its connection before the backend answered. */
  | { kind: 'client-gone' };

/** What {@link relayUpgrade} needs. Times in ms. */
export type UpgradeRelay = {
  /** The client's socket, as node:http's `upgrade` event hands it over, and the bytes it read past the request head. */
  client: Duplex;
  head: Buffer;
  /** The backend's origin, `http://127.0.0.1:8001`. */
  origin: string;
  method: string;
  path: string;
  /** The request's headers for the backend, `Connection` and `Upgrade` included. */
  headers: Record<string, string | string[]>;
  limits: UpstreamConnectionConfig;
  /** Set as `x-lblab-backend` on what the client gets. */
  backend: string;
  /** May add to the backend's response headers before the client gets them (a sticky cookie). */
  decorate?: (headers: Record<string, string | string[]>) => void;
  /**
   * Once the backend answered, or failed to. For `failed` the caller either
   * writes the client its 502/504 (see {@link writeRawResponse}) or returns
   * `'retry'`: then this relay lets go of the client's socket at once (and
   * calls `onClose`), so another may take it to another backend.
   */
  onAnswer(answer: UpgradeAnswer): void | 'retry';
  /** Once, when the connection is over on both sides, or let go for a retry (after `onAnswer`): the end of its time in flight. */
  onClose(): void;
};

/** A response head: status line, then `headers` and `extra` (which wins), one line per value. */
function headLines(status: number, message: string, headers: HeaderMap, extra: Record<string, string>): string {
  const lines = [`HTTP/1.1 ${status} ${message}`];
  const all: Record<string, string | string[] | undefined> = { ...headers, ...extra };
  for (const name in all) {
    const value = all[name];
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * Writes a whole response (status line, headers, body) on a raw socket and
 * ends it: how the balancer answers an upgrade request it refuses or cannot
 * serve, as node:http gives no `ServerResponse` for one.
 */
export function writeRawResponse(socket: Duplex, status: number, body: string, extra: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const head = headLines(status, http.STATUS_CODES[status] ?? 'Unknown', {}, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
    ...extra,
  });
  socket.end(head + body);
  // A client that neither reads nor closes is cut a moment later.
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * Sends an upgrade request (a WebSocket handshake) to one backend on a
 * fresh connection and joins the two sockets once it switches protocols:
 * the backend's 101 goes to the client with its `Upgrade`/`Connection`
 * (which must pass for an upgrade, as nginx's `proxy_set_header Upgrade
 * $http_upgrade` passes them), then bytes flow both ways untouched until
 * either side closes or fails, and the other is closed with it. Any other
 * answer is relayed as an ordinary response (end-to-end headers, the body
 * read to its end) with `Connection: close`. Timeouts as for a request
 * (nginx `proxy_connect_timeout`, `proxy_read_timeout` until the response
 * head): the connect timeout until the backend accepts, then the response
 * timeout until it answers; after a 101 there is none (nginx's would close
 * an idle WebSocket after `proxy_read_timeout`; lblab leaves that to the
 * two ends). Returns nothing; everything arrives through `onAnswer` and
 * `onClose`, each called exactly once.
 */
export function relayUpgrade(r: UpgradeRelay): void {
  const url = new URL(r.origin);
  const upstreamReq = http.request({ host: url.hostname, port: url.port, method: r.method, path: r.path, headers: r.headers, agent: false, setHost: false });
  let answered = false;
  /** Failed before any answer: the client's 502/504 is on its way and its socket's close ends the rest. */
  let failed = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let upstream: Duplex | undefined;
  const answer = (a: UpgradeAnswer): void | 'retry' => {
    clearTimeout(timer);
    if (answered) return;
    answered = true;
    return r.onAnswer(a);
  };
  const onClientError = (): void => close();
  const onClientClose = (): void => {
    if (!answered) answer({ kind: 'client-gone' });
    close();
  };
  const close = (): void => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    upstreamReq.destroy();
    upstream?.destroy();
    r.client.destroy();
    r.onClose();
  };
  const fail = (err: Error): void => {
    if (answered) return;
    failed = true;
    const next = answer({ kind: 'failed', err });
    upstreamReq.destroy();
    if (next === 'retry') {
      r.client.off('error', onClientError);
      r.client.off('close', onClientClose);
      closed = true;
      r.onClose();
      return;
    }
    // The caller has written its 502/504 by now; the client socket's close (see writeRawResponse) ends the rest.
    if (r.client.destroyed) close();
  };
  timer = setTimeout(() => fail(new errors.ConnectTimeoutError(`connect timed out after ${r.limits.connectTimeoutMs} ms`)), r.limits.connectTimeoutMs);
  upstreamReq.once('socket', (s) => {
    s.once('connect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => fail(new errors.HeadersTimeoutError(`no response headers within ${r.limits.responseTimeoutMs} ms`)), r.limits.responseTimeoutMs);
    });
  });
  upstreamReq.on('error', (err) => {
    if (!answered) fail(err);
    else if (!failed) close();
  });
  r.client.on('error', onClientError);
  r.client.once('close', onClientClose);
  upstreamReq.once('upgrade', (res, socket, upstreamHead) => {
    upstream = socket;
    if (answered) {
      socket.destroy();
      return;
    }
    const headers = endToEnd(res.headers);
    r.decorate?.(headers);
    answer({ kind: 'upgraded' });
    r.client.write(headLines(101, res.statusMessage ?? 'Switching Protocols', headers, { 'x-lblab-backend': r.backend, connection: 'Upgrade', upgrade: String(res.headers.upgrade ?? 'websocket') }));
    if (upstreamHead.length > 0) r.client.write(upstreamHead);
    if (r.head.length > 0) socket.write(r.head);
    socket.on('error', () => close());
    socket.once('close', close);
    socket.pipe(r.client);
    r.client.pipe(socket);
  });
  upstreamReq.once('response', (res) => {
    if (answered) {
      res.destroy();
      return;
    }
    const headers = endToEnd(res.headers);
    r.decorate?.(headers);
    answer({ kind: 'answered', status: res.statusCode ?? 502 });
    // Without a content-length the body is delimited by the close.
    r.client.write(headLines(res.statusCode ?? 502, res.statusMessage ?? '', headers, { 'x-lblab-backend': r.backend, connection: 'close' }));
    res.on('error', () => close());
    res.pipe(r.client);
    r.client.once('finish', close);
  });
  upstreamReq.end();
}

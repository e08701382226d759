import net from 'node:net';
import tls from 'node:tls';

/**
 * lblab's own HTTP/1.1 keep-alive client for the load generator: a pool of
 * connections to one origin, each carrying one request at a time
 * (pipelining 1), opened on demand when no connection is idle.
 *
 * Why not undici's Pool, which lblab uses everywhere else: undici frees a
 * keep-alive connection for its next request only in the event-loop turn
 * after the response (its own `setImmediate`), so a load worker either
 * waits two turns per request or makes the pool open another connection;
 * at 1 000 req/s the open model's p99 against a zero-latency target was
 * 6–18 ms through undici against 1.3–2.7 ms on a raw socket, and at 10 000
 * req/s it opened a connection per burst request until EMFILE. Here a
 * connection is idle again inside the callback that read the end of its
 * response. The handler API, framing, timeouts and error codes are
 * undici's (`Dispatcher.dispatch` with a raw handler), so the code reading
 * responses and sorting errors (`classifyError`) serves both.
 *
 * Scope: GET-style requests without a body (what `lblab load` sends), over
 * `http:` or `https:` (TLS, ALPN `http/1.1`). Response framing as RFC 9112
 * §6: no body for HEAD, 1xx, 204 and 304; `Transfer-Encoding: chunked`;
 * `Content-Length`; otherwise read until the server closes. Interim 1xx
 * responses are skipped.
 */

/** Options of an {@link Http1Pool}; times in ms, defaults as undici's. */
export type Http1PoolOptions = {
  /** Source address of every connection (a virtual client's 127.x address). */
  localAddress?: string;
  /** How long an idle connection is kept (default 4 000 ms, undici's); a server's `Keep-Alive: timeout=N` lowers it to N s − 1 s. */
  keepAliveTimeout?: number;
  /** Time from sending a request to the end of the response head (default 300 000 ms). */
  headersTimeout?: number;
  /** Longest gap between two pieces of a response body (default 300 000 ms). */
  bodyTimeout?: number;
  /** Time to open the connection, TLS handshake included (default 10 000 ms). */
  connectTimeout?: number;
  /** https only: verify the server's certificate (default true; false for `--insecure`). */
  rejectUnauthorized?: boolean;
};

/** One request: the request target (origin form, or absolute form through a forward proxy), the method, headers as a flat name/value list, and `reset` to close the connection after it (undici's `reset`). */
export type Http1Request = { path: string; method: string; headers: string[]; reset?: boolean };

/**
 * The raw handler undici's `dispatch` takes, the part lblab uses:
 * `onConnect` once the request is about to be written (with a function that
 * aborts it), `onHeaders` with the status and the raw header list (names
 * and values as latin1 strings, alternating), `onData` per body piece (its
 * return value is ignored: the body is always read on), then exactly one of
 * `onComplete` or `onError`.
 */
export type Http1Handler = {
  onConnect?(abort: (reason?: Error) => void): void;
  onHeaders(statusCode: number, rawHeaders: string[], resume: () => void, statusText: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: string[] | null): void;
  onError(err: Error): void;
};

/** A transport error with undici's name and code, so `classifyError` and `describeTryFailure` read it as they read undici's. */
class Http1Error extends Error {
  constructor(
    message: string,
    readonly code: string,
    name: string,
  ) {
    super(message);
    this.name = name;
  }
}

const socketError = (message: string) => new Http1Error(message, 'UND_ERR_SOCKET', 'SocketError');
const parseError = (message: string, code: string) => new Http1Error(message, code, 'HTTPParserError');
const destroyedError = () => new Http1Error('The client is destroyed', 'UND_ERR_DESTROYED', 'ClientDestroyedError');

/**
 * Most connections of one pool opening at once — connected or not, but not
 * answered yet: on loopback the kernel completes a handshake at once, and
 * the connection then waits in the server's accept queue until the server
 * takes it, so only a response says it was. A request that finds no idle
 * connection past this many waits for the first connection to be free. A
 * connection that got no answer {@link ANSWER_WAIT_MS} after it connected
 * stops counting (a slow server, not a full accept queue, most likely), so
 * a slow server still gets its connections 16 at a time every 20 ms.
 * Opened one per request, a burst (an open-model backlog at 30 000 req/s)
 * made hundreds of connections in a millisecond: the server's accept queue
 * (511) overflowed and the kernel dropped SYNs, retried after 1 s and 3 s
 * (bench/open-model.mjs: latencies of exactly those).
 */
export const MAX_CONNECTING = 16;

/** How long a connected connection without an answer counts as opening (ms); see {@link MAX_CONNECTING}. */
export const ANSWER_WAIT_MS = 20;

/** Largest response head accepted (bytes), undici's `maxHeaderSize`. */
const MAX_HEAD_BYTES = 16 * 1024;
/** How much of a server's `Keep-Alive: timeout` hint is kept back (ms), undici's `keepAliveTimeoutThreshold`. */
const KEEP_ALIVE_THRESHOLD_MS = 1000;
/** How often connections are checked against their deadlines (ms): one timer for every connection of the thread, so a timeout fires up to this much late. */
const SWEEP_MS = 250;
const CRLF_CRLF = Buffer.from('\r\n\r\n', 'latin1');
const HEADER_VALUE_FORBIDDEN = /[\r\n\0]/;
const PATH_FORBIDDEN = /[^\u0021-\u00ff]/;

/** Where a connection is in its life (and what its `deadline` bounds). */
const enum Phase {
  Connecting,
  Idle,
  /** Request written, reading the response head. */
  Head,
  /** Reading a body of `Content-Length` bytes. */
  Length,
  /** Reading a chunked body. */
  Chunked,
  /** Reading a body that ends when the server closes. */
  UntilClose,
  Closed,
}

/** Where a chunked body's reader is: a chunk-size line, chunk data, the CRLF after the data, or the trailer section. */
const enum ChunkState {
  Size,
  Data,
  DataEnd,
  Trailer,
}

/** Every open connection of the thread, checked by one sweep timer for connect, headers, body and idle deadlines. */
const live = new Set<Http1Connection>();
let sweeper: NodeJS.Timeout | undefined;

function track(conn: Http1Connection): void {
  live.add(conn);
  if (sweeper === undefined) {
    sweeper = setInterval(() => {
      const now = performance.now();
      for (const c of live) if (now >= c.deadline) c.expire();
      if (live.size === 0) {
        clearInterval(sweeper);
        sweeper = undefined;
      }
    }, SWEEP_MS);
    sweeper.unref();
  }
}

/**
 * A keep-alive pool of HTTP/1.1 connections to one origin, as undici's
 * `Pool` with `connections: null` and pipelining 1: a request takes the
 * most recently freed idle connection, or opens a new one — unless
 * {@link MAX_CONNECTING} are opening already: then it waits, in order, for
 * the first connection that is free (done with its response) or for room
 * to open one (another finished opening).
 * Errors reach the
 * handler's `onError` with undici's codes: `ECONNREFUSED`/`ECONNRESET` as
 * node:net gives them, `UND_ERR_SOCKET` (the server closed mid-response),
 * `UND_ERR_CONNECT_TIMEOUT`, `UND_ERR_HEADERS_TIMEOUT`,
 * `UND_ERR_BODY_TIMEOUT`, `HPE_*` (not valid HTTP/1.1),
 * `UND_ERR_INVALID_ARG` (CR/LF in a header), `UND_ERR_CLOSED` /
 * `UND_ERR_DESTROYED` (the pool was closed or destroyed).
 */
export class Http1Pool {
  /** Connections free for a request, most recently freed last. */
  private readonly idle: Http1Connection[] = [];
  private readonly all = new Set<Http1Connection>();
  /** Requests waiting for a connection, oldest first. */
  private readonly waiting: Array<{ request: Http1Request; handler: Http1Handler }> = [];
  /** Connections opening now: not answered yet (see {@link MAX_CONNECTING}). */
  private connecting = 0;

  private closing = false;
  private destroyed = false;
  private closeWaiter: (() => void) | undefined;
  /** The origin's host name or address (IPv6 without brackets), as connected to. */
  readonly host: string;
  /** The origin's port (80 or 443 when the URL names none). */
  readonly port: number;
  /** Whether the origin is https: (TLS). */
  readonly secure: boolean;
  /** The `host` header sent when the request has none. */
  readonly hostHeader: string;
  /** The options with their defaults filled in (ms). */
  readonly options: Required<Omit<Http1PoolOptions, 'localAddress'>> & Pick<Http1PoolOptions, 'localAddress'>;

  /** `origin`: `http://host:port` or `https://…`. Throws a TypeError for another scheme. */
  constructor(origin: string | URL, options: Http1PoolOptions = {}) {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`Http1Pool: ${url.protocol} is not http: or https:`);
    this.secure = url.protocol === 'https:';
    this.host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.port = url.port ? Number(url.port) : this.secure ? 443 : 80;
    this.hostHeader = url.host;
    this.options = {
      keepAliveTimeout: options.keepAliveTimeout ?? 4000,
      headersTimeout: options.headersTimeout ?? 300_000,
      bodyTimeout: options.bodyTimeout ?? 300_000,
      connectTimeout: options.connectTimeout ?? 10_000,
      rejectUnauthorized: options.rejectUnauthorized ?? true,
      localAddress: options.localAddress,
    };
  }

  /** Connections open now (idle, busy or still connecting). */
  get connections(): number {
    return this.all.size;
  }

  /** Requests waiting for a connection now. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Sends `request` on an idle connection, or on a new one. Always returns
   * true (undici's "not busy"); every outcome reaches `handler`, never a
   * throw: bad input (CR/LF in a header or a space in the path) and a
   * closed pool fail through `onError` in a later turn.
   */
  dispatch(request: Http1Request, handler: Http1Handler): boolean {
    const refusal = this.destroyed
      ? destroyedError()
      : this.closing
        ? new Http1Error('The client is closed', 'UND_ERR_CLOSED', 'ClientClosedError')
        : invalid(request);
    if (refusal) {
      queueMicrotask(() => handler.onError(refusal));
      return true;
    }
    const conn = this.idle.pop();
    if (conn) conn.send(request, handler);
    else if (this.connecting < MAX_CONNECTING) this.open().send(request, handler);
    else this.waiting.push({ request, handler });
    return true;
  }

  private open(): Http1Connection {
    const conn = new Http1Connection(this);
    this.all.add(conn);
    this.connecting++;
    return conn;
  }

  /** Closes the pool: idle connections now, busy ones after their response; new requests fail (`UND_ERR_CLOSED`). Resolves when every connection is closed. */
  close(): Promise<void> {
    this.closing = true;
    for (const conn of this.idle.splice(0)) conn.destroy(undefined);
    if (this.all.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const prev = this.closeWaiter;
      this.closeWaiter = () => {
        prev?.();
        resolve();
      };
    });
  }

  /** Destroys every connection now: requests in flight fail (`UND_ERR_DESTROYED`). Resolves at once; never rejects. */
  destroy(): Promise<void> {
    this.destroyed = true;
    this.closing = true;
    this.idle.length = 0;
    const err = destroyedError();
    for (const conn of [...this.all]) conn.destroy(err);
    for (const w of this.waiting.splice(0)) w.handler.onError(err);
    return Promise.resolve();
  }

  /** @internal A connection got its first response head (or closed before one): another may open for a waiting request. */
  opened(): void {
    this.connecting--;
    this.openForWaiting();
  }

  /** Opens connections for the oldest waiting requests while fewer than {@link MAX_CONNECTING} are opening. */
  private openForWaiting(): void {
    while (this.waiting.length > 0 && this.connecting < MAX_CONNECTING && !this.destroyed) {
      const next = this.waiting.shift()!;
      this.open().send(next.request, next.handler);
    }
  }

  /** @internal A connection finished its response and may take another: idle again, or closed if the pool is closing. */
  released(conn: Http1Connection): void {
    const next = this.waiting.shift();
    if (next) conn.send(next.request, next.handler);
    else if (this.closing) conn.destroy(undefined);
    else this.idle.push(conn);
  }

  /** @internal A connection closed: it leaves the pool. */
  forget(conn: Http1Connection): void {
    this.all.delete(conn);
    const i = this.idle.lastIndexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    // A connection that failed or closed leaves room: the oldest waiting requests open others.
    this.openForWaiting();
    if (this.all.size === 0 && this.closeWaiter) {
      const w = this.closeWaiter;
      this.closeWaiter = undefined;
      w();
    }
  }
}

/** Why a request cannot be sent (undici's `InvalidArgumentError`), or undefined. */
function invalid(request: Http1Request): Error | undefined {
  if (request.path.length === 0 || PATH_FORBIDDEN.test(request.path)) return new Http1Error('invalid request path', 'UND_ERR_INVALID_ARG', 'InvalidArgumentError');
  const h = request.headers;
  for (let i = 0; i < h.length; i++) {
    if (HEADER_VALUE_FORBIDDEN.test(h[i]!)) return new Http1Error(`invalid ${i % 2 === 0 ? 'header name' : `${h[i - 1]} header`}`, 'UND_ERR_INVALID_ARG', 'InvalidArgumentError');
  }
  return undefined;
}

/** One connection of an {@link Http1Pool}: a socket, the request on it (at most one) and its response parser. */
class Http1Connection {
  /** When the current phase times out (`performance.now()` ms): connect, headers, body gap or idle keep-alive. */
  deadline: number;
  /** Whether a response head came on it, or {@link ANSWER_WAIT_MS} passed since it connected: until then it counts as opening (see {@link MAX_CONNECTING}). */
  private answered = false;
  private answerWait: NodeJS.Timeout | undefined;
  private phase = Phase.Connecting;
  private readonly socket: net.Socket;
  private handler: Http1Handler | undefined;
  /** The request waiting for the connection to open. */
  private queued: Http1Request | undefined;
  private method = '';
  /** Close after this response: asked (`reset`), told (`Connection: close`, HTTP/1.0), or the body ends at the close. */
  private closeAfter = false;
  /** A part of the response head, when it came in more than one piece. */
  private headPart: Buffer | undefined;
  /** Body bytes still to come (Content-Length), or of the current chunk. */
  private remaining = 0;
  private chunkState = ChunkState.Size;
  /** A chunk-size or trailer line cut between two pieces. */
  private linePart = '';
  /** How long this connection may stay idle (ms): the pool's, or the server's hint minus 1 s. */
  private keepAliveMs: number;

  constructor(private readonly pool: Http1Pool) {
    const o = pool.options;
    this.keepAliveMs = o.keepAliveTimeout;
    this.deadline = performance.now() + o.connectTimeout;
    const common = { host: pool.host, port: pool.port, localAddress: o.localAddress, noDelay: true };
    this.socket = pool.secure
      ? tls.connect({ ...common, rejectUnauthorized: o.rejectUnauthorized, ALPNProtocols: ['http/1.1'], ...(net.isIP(pool.host) ? {} : { servername: pool.host }) }, this.onOpen)
      : net.connect(common, this.onOpen);
    this.socket.on('data', this.onData);
    this.socket.on('error', this.onSocketError);
    // The server's FIN ends the connection at once ('close' comes a turn later): an idle one must not take a request meanwhile.
    this.socket.on('end', this.onClose);
    this.socket.on('close', this.onClose);
    track(this);
  }

  /** It no longer counts as opening (once). */
  private readonly markAnswered = (): void => {
    if (this.answered) return;
    this.answered = true;
    clearTimeout(this.answerWait);
    this.pool.opened();
  };

  /** Sends `request` now if the connection is open, or once it is. */
  send(request: Http1Request, handler: Http1Handler): void {
    this.handler = handler;
    if (this.phase === Phase.Connecting) {
      this.queued = request;
      return;
    }
    this.write(request);
  }

  /** The deadline of the current phase passed: the request fails with undici's timeout error, or the idle connection closes. */
  expire(): void {
    switch (this.phase) {
      case Phase.Connecting:
        return this.destroy(new Http1Error(`Connect Timeout Error (attempted address: ${this.pool.hostHeader}, timeout: ${this.pool.options.connectTimeout}ms)`, 'UND_ERR_CONNECT_TIMEOUT', 'ConnectTimeoutError'));
      case Phase.Head:
        return this.destroy(new Http1Error('Headers Timeout Error', 'UND_ERR_HEADERS_TIMEOUT', 'HeadersTimeoutError'));
      case Phase.Length:
      case Phase.Chunked:
      case Phase.UntilClose:
        return this.destroy(new Http1Error('Body Timeout Error', 'UND_ERR_BODY_TIMEOUT', 'BodyTimeoutError'));
      case Phase.Idle:
        return this.destroy(undefined);
    }
  }

  /** Closes the socket; a request in flight fails with `err` (none for an idle connection). */
  destroy(err: Error | undefined): void {
    if (this.phase === Phase.Closed) return;
    this.markAnswered();
    this.phase = Phase.Closed;
    live.delete(this);
    this.socket.destroy();
    this.pool.forget(this);
    const handler = this.handler;
    this.handler = undefined;
    if (handler) handler.onError(err ?? socketError('other side closed'));
  }

  private readonly onOpen = (): void => {
    if (this.phase !== Phase.Connecting) return;
    // A server that is slow to answer has still taken the connection, most likely: after a while it stops counting as opening.
    this.answerWait = setTimeout(this.markAnswered, ANSWER_WAIT_MS);
    this.answerWait.unref();
    this.phase = Phase.Idle;
    const request = this.queued;
    this.queued = undefined;
    if (request) this.write(request);
    else this.becomeIdle();
  };

  private write(request: Http1Request): void {
    this.phase = Phase.Head;
    this.method = request.method;
    this.closeAfter = request.reset === true;
    this.deadline = performance.now() + this.pool.options.headersTimeout;
    const h = request.headers;
    let lines = '';
    let host = false;
    let connection = false;
    for (let i = 0; i + 1 < h.length; i += 2) {
      const name = h[i]!;
      if (name.length === 4 && name.toLowerCase() === 'host') host = true;
      else if (name.length === 10 && name.toLowerCase() === 'connection') {
        connection = true;
        if (h[i + 1]!.toLowerCase() === 'close') this.closeAfter = true;
      }
      lines += `${name}: ${h[i + 1]}\r\n`;
    }
    if (!connection) lines += this.closeAfter ? 'connection: close\r\n' : 'connection: keep-alive\r\n';
    const head = `${request.method} ${request.path} HTTP/1.1\r\n${host ? '' : `host: ${this.pool.hostHeader}\r\n`}${lines}\r\n`;
    const handler = this.handler!;
    handler.onConnect?.((reason) => {
      if (this.handler === handler) this.destroy(reason ?? new Http1Error('Request aborted', 'UND_ERR_ABORTED', 'RequestAbortedError'));
    });
    if (this.handler !== handler) return;
    this.socket.write(head, 'latin1');
  }

  private becomeIdle(): void {
    this.phase = Phase.Idle;
    this.deadline = performance.now() + this.keepAliveMs;
    this.pool.released(this);
  }

  private readonly onSocketError = (err: Error): void => {
    this.destroy(err);
  };

  private readonly onClose = (): void => {
    if (this.phase === Phase.UntilClose) {
      // The body ended with the connection, as its framing said it would.
      this.phase = Phase.Closed;
      live.delete(this);
      this.pool.forget(this);
      const handler = this.handler;
      this.handler = undefined;
      handler?.onComplete(null);
      return;
    }
    this.destroy(socketError('other side closed'));
  };

  private readonly onData = (buf: Buffer): void => {
    let i = 0;
    while (i < buf.length) {
      switch (this.phase) {
        case Phase.Head:
          i = this.readHead(buf, i);
          break;
        case Phase.Length: {
          const take = Math.min(this.remaining, buf.length - i);
          this.deadline = performance.now() + this.pool.options.bodyTimeout;
          this.handler!.onData(i === 0 && take === buf.length ? buf : buf.subarray(i, i + take));
          if (this.phase !== Phase.Length) return; // the handler aborted
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.complete(i < buf.length);
          break;
        }
        case Phase.Chunked:
          i = this.readChunked(buf, i);
          break;
        case Phase.UntilClose:
          this.deadline = performance.now() + this.pool.options.bodyTimeout;
          this.handler!.onData(i === 0 ? buf : buf.subarray(i));
          return;
        case Phase.Closed:
          return;
        default:
          // Bytes nobody asked for (an idle connection, or past the end of the response): the connection is not usable.
          this.destroy(parseError('Response does not match the HTTP/1.1 protocol (data after the end of the response)', 'HPE_INVALID_CONSTANT'));
          return;
      }
    }
  };

  /** Reads the response head from `buf` at `i`; returns where the body starts (or `buf.length` when the head is not whole yet). */
  private readHead(buf: Buffer, i: number): number {
    let data = buf;
    let start = i;
    if (this.headPart) {
      data = Buffer.concat([this.headPart, buf.subarray(i)]);
      start = 0;
    }
    // The blank line may straddle the pieces: search from 3 bytes before the new piece.
    const end = data.indexOf(CRLF_CRLF, this.headPart ? Math.max(0, this.headPart.length - 3) : start);
    if (end < 0) {
      if (data.length - start > MAX_HEAD_BYTES) {
        this.destroy(parseError('Header overflow', 'HPE_HEADER_OVERFLOW'));
        return buf.length;
      }
      this.headPart = start === 0 ? data : data.subarray(start);
      return buf.length;
    }
    const consumedOfData = end + 4;
    const next = this.headPart ? buf.length - (data.length - consumedOfData) : consumedOfData;
    this.headPart = undefined;
    if (end - start > MAX_HEAD_BYTES) {
      this.destroy(parseError('Header overflow', 'HPE_HEADER_OVERFLOW'));
      return buf.length;
    }
    this.parseHead(data.toString('latin1', start, end), next < buf.length);
    return this.phase === Phase.Closed ? buf.length : next;
  }

  /**
   * Parses a response head (status line and header lines, without the blank
   * line), tells the handler, and sets the body's framing. `more`: bytes
   * follow the head in the piece read.
   */
  private parseHead(head: string, more: boolean): void {
    const lineEnd = head.indexOf('\r\n');
    const statusLine = lineEnd < 0 ? head : head.slice(0, lineEnd);
    // "HTTP/1.1 200 OK": version, a 3-digit status, an optional reason.
    if (statusLine.length < 12 || !statusLine.startsWith('HTTP/1.') || statusLine.charCodeAt(12) > 32 || statusLine[8] !== ' ') {
      this.destroy(parseError('Response does not match the HTTP/1.1 protocol (invalid status line)', 'HPE_INVALID_CONSTANT'));
      return;
    }
    const code = statusLine.slice(9, 12);
    const status = Number(code);
    // The server accepted and served this connection: it no longer counts as opening.
    this.markAnswered();
    if (!/^\d{3}$/.test(code) || status < 100) {
      this.destroy(parseError('Response does not match the HTTP/1.1 protocol (invalid status)', 'HPE_INVALID_STATUS'));
      return;
    }
    const http10 = statusLine[7] === '0';
    const raw: string[] = [];
    let contentLength = -1;
    let chunked = false;
    let transferEncoding = false;
    let connectionClose = http10;
    let keepAliveHint: string | undefined;
    let at = lineEnd < 0 ? head.length : lineEnd + 2;
    while (at < head.length) {
      let eol = head.indexOf('\r\n', at);
      if (eol < 0) eol = head.length;
      const colon = head.indexOf(':', at);
      // No name, or whitespace before the colon: RFC 9112 §5.1 says reject.
      if (colon < 0 || colon > eol || colon === at || head.charCodeAt(colon - 1) <= 32) {
        this.destroy(parseError('Response does not match the HTTP/1.1 protocol (invalid header line)', 'HPE_INVALID_HEADER_TOKEN'));
        return;
      }
      const name = head.slice(at, colon);
      const value = head.slice(colon + 1, eol).trim();
      raw.push(name, value);
      const n = name.length;
      if (n === 14 || n === 17 || n === 10) {
        const lower = name.toLowerCase();
        if (lower === 'content-length') {
          if (!/^\d+$/.test(value) || (contentLength >= 0 && Number(value) !== contentLength)) {
            this.destroy(parseError('Response does not match the HTTP/1.1 protocol (invalid Content-Length)', 'HPE_INVALID_CONTENT_LENGTH'));
            return;
          }
          contentLength = Number(value);
        } else if (lower === 'transfer-encoding') {
          // Chunked only when it is the last coding; any other coding is read until the close (RFC 9112 §6.3).
          transferEncoding = true;
          chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
        }
        else if (lower === 'connection') {
          const v = value.toLowerCase();
          if (/(?:^|,)\s*close\s*(?:,|$)/.test(v)) connectionClose = true;
          else if (http10 && /(?:^|,)\s*keep-alive\s*(?:,|$)/.test(v)) connectionClose = false;
        } else if (lower === 'keep-alive') keepAliveHint = value;
      }
      at = eol + 2;
    }
    if (status < 200) {
      // An interim response (100 Continue, 103 Early Hints): the final one follows on the same connection.
      if (status === 101) this.destroy(parseError('Response does not match the HTTP/1.1 protocol (unexpected upgrade)', 'HPE_INVALID_CONSTANT'));
      return;
    }
    if (connectionClose) this.closeAfter = true;
    if (keepAliveHint !== undefined) this.takeKeepAliveHint(keepAliveHint);
    const handler = this.handler!;
    handler.onHeaders(status, raw, noop, statusLine.slice(13));
    if (this.handler !== handler) return;
    this.deadline = performance.now() + this.pool.options.bodyTimeout;
    if (this.method === 'HEAD' || status === 204 || status === 304) this.complete(more);
    else if (chunked) {
      this.phase = Phase.Chunked;
      this.chunkState = ChunkState.Size;
      this.linePart = '';
    } else if (contentLength >= 0 && !transferEncoding) {
      this.remaining = contentLength;
      this.phase = Phase.Length;
      if (contentLength === 0) this.complete(more);
    } else {
      this.phase = Phase.UntilClose;
      this.closeAfter = true;
    }
  }

  /** `Keep-Alive: timeout=N`: the connection stays idle at most N s less 1 s (undici), or closes after this response when that leaves nothing. */
  private takeKeepAliveHint(value: string): void {
    const m = /timeout=(\d+)/i.exec(value);
    if (!m) return;
    const ms = Number(m[1]) * 1000 - KEEP_ALIVE_THRESHOLD_MS;
    if (ms <= 0) this.closeAfter = true;
    else this.keepAliveMs = Math.min(ms, this.pool.options.keepAliveTimeout);
  }

  /** Reads a chunked body from `buf` at `i` (RFC 9112 §7.1; extensions and trailers are read and dropped); returns where it stopped. */
  private readChunked(buf: Buffer, i: number): number {
    this.deadline = performance.now() + this.pool.options.bodyTimeout;
    while (i < buf.length && this.phase === Phase.Chunked) {
      if (this.chunkState === ChunkState.Data) {
        const take = Math.min(this.remaining, buf.length - i);
        this.handler!.onData(buf.subarray(i, i + take));
        this.remaining -= take;
        i += take;
        if (this.remaining === 0) this.chunkState = ChunkState.DataEnd;
        continue;
      }
      const lf = buf.indexOf(10, i);
      if (lf < 0) {
        this.linePart += buf.toString('latin1', i, buf.length);
        if (this.linePart.length > MAX_HEAD_BYTES) this.destroy(parseError('Chunk line overflow', 'HPE_INVALID_CHUNK_SIZE'));
        return buf.length;
      }
      let line = this.linePart + buf.toString('latin1', i, lf);
      this.linePart = '';
      i = lf + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (this.chunkState === ChunkState.Size) {
        const semi = line.indexOf(';');
        const size = (semi < 0 ? line : line.slice(0, semi)).trim();
        if (!/^[0-9a-fA-F]{1,12}$/.test(size)) {
          this.destroy(parseError('Response does not match the HTTP/1.1 protocol (invalid chunk size)', 'HPE_INVALID_CHUNK_SIZE'));
          return buf.length;
        }
        this.remaining = parseInt(size, 16);
        this.chunkState = this.remaining === 0 ? ChunkState.Trailer : ChunkState.Data;
      } else if (this.chunkState === ChunkState.DataEnd) {
        if (line !== '') {
          this.destroy(parseError('Response does not match the HTTP/1.1 protocol (no CRLF after chunk data)', 'HPE_STRICT'));
          return buf.length;
        }
        this.chunkState = ChunkState.Size;
      } else if (line === '') {
        this.complete(i < buf.length);
      }
    }
    return i;
  }

  /**
   * The response is whole: the connection is idle again (or closed) before
   * the handler hears of it, so its next request can take it. `trailing`:
   * bytes came after the end of the response, which no request asked for —
   * the connection closes, so that a request sent from `onComplete` cannot
   * read them as its response.
   */
  private complete(trailing: boolean): void {
    const handler = this.handler;
    if (!handler) return;
    this.handler = undefined;
    if (this.closeAfter || trailing) this.destroy(undefined);
    else this.becomeIdle();
    handler.onComplete(null);
  }
}

function noop(): void {}

import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { endToEnd } from '../balancer/headers.js';
import { RuntimeError, UsageError } from '../errors.js';
import { checkDestination, formatAuthority, type AllowEntry, type DestinationVerdict } from './destination.js';

/** The `Via` entry this proxy adds (RFC 9110 §7.6.3: protocol version and a pseudonym). */
export const VIA = '1.1 lblab';

/** The response header that names the rule behind a 403 (its body says it in words). */
export const REFUSED_HEADER = 'x-lblab-proxy-refused';

/** How long connecting to a destination may take before the client gets 504 (ms). */
const CONNECT_TIMEOUT_MS = 10_000;

/** One request the proxy handled, for its log line: who asked, for what, and how it ended. */
export type ProxyLogEntry = {
  /** The client's `address:port`. */
  client: string;
  /** `GET`, `CONNECT`, …. */
  method: string;
  /** `host:port` as the client named it; empty for an origin-form request. */
  destination: string;
  /** The status the client got (200 for an opened tunnel). */
  status: number;
  /** Why it was refused or failed, in words, when it was. */
  reason?: string;
};

/** What {@link startForwardProxy} needs: the port on 127.0.0.1 (0 = any free one), the `--allow` list and who hears each request. */
export type ForwardProxyOptions = {
  port: number;
  allow: readonly AllowEntry[];
  onRequest?: (entry: ProxyLogEntry) => void;
};

/** A running forward proxy: its port and URL on 127.0.0.1, and how to stop it (connections and tunnels cut). */
export type RunningForwardProxy = { port: number; url: string; close(): Promise<void> };

/** Request headers the proxy consumes: hop-by-hop ones (RFC 9110 §7.6.1) and every `Proxy-*` (credentials and options meant for this hop). */
function forwardedRequestHeaders(incoming: http.IncomingHttpHeaders, authority: string): Record<string, string | string[]> {
  const out = endToEnd(incoming);
  for (const name of Object.keys(out)) if (name.startsWith('proxy-')) delete out[name];
  // RFC 9112 §3.2.2: with an absolute-form target, Host is replaced by the target's authority.
  out.host = authority;
  out.via = withVia(incoming.via);
  return out;
}

/** An existing `Via` value with this proxy's entry appended. */
function withVia(via: string | string[] | undefined): string {
  if (via === undefined || via.length === 0) return VIA;
  return `${Array.isArray(via) ? via.join(', ') : via}, ${VIA}`;
}

/**
 * Starts lblab's forward proxy on 127.0.0.1 (never another address: it is
 * not an open proxy). It serves
 * - absolute-form requests (`GET http://127.0.0.1:9001/x HTTP/1.1`, RFC
 *   9112 §3.2.2), forwarded with node:http: hop-by-hop and `Proxy-*`
 *   headers dropped, `Host` set to the target, `Via` added both ways (RFC
 *   9110 §7.6.3), as Squid and nginx used as a forward proxy do. No
 *   `X-Forwarded-For`: a forward proxy speaks for its clients (Squid
 *   `forwarded_for off`).
 * - `CONNECT host:port` tunnels (RFC 9110 §9.3.6): a TCP connection to the
 *   destination, `200` once it is open, then bytes both ways untouched.
 * Destinations are checked by name before any lookup (see
 * `checkDestination`): loopback and `--allow` only; every refusal is a 403
 * whose body and {@link REFUSED_HEADER} name the rule. An origin-form
 * request (`GET /x`) gets 400: this is not a web server.
 * @throws {UsageError} when the port is in use; {@link RuntimeError} on other listen errors.
 */
export async function startForwardProxy(options: ForwardProxyOptions): Promise<RunningForwardProxy> {
  const agent = new http.Agent({ keepAlive: true });
  const tunnels = new Set<Duplex>();
  let selfPort: number | undefined;
  const log = options.onRequest ?? (() => undefined);
  const clientOf = (socket: net.Socket): string => formatAuthority(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
  const decide = (host: string, port: number): DestinationVerdict => checkDestination(host, port, options.allow, selfPort);

  const plain = (res: http.ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), via: VIA, ...extra });
    res.end(body);
  };

  const server = http.createServer((req, res) => {
    const client = clientOf(req.socket);
    let target: URL | undefined;
    try {
      if (req.url && /^[a-z][a-z0-9+.-]*:\/\//i.test(req.url)) target = new URL(req.url);
    } catch {
      target = undefined;
    }
    if (!target || target.protocol !== 'http:') {
      const why = target
        ? `lblab proxy forwards http:// targets; for ${target.protocol}// open a tunnel with CONNECT host:port`
        : 'lblab proxy is a forward proxy: send absolute-form requests (GET http://host:port/path, RFC 9112 §3.2.2), or CONNECT host:port';
      req.resume();
      plain(res, 400, `${why}\n`);
      log({ client, method: req.method ?? '?', destination: target ? target.host : '', status: 400, reason: target ? 'not http://' : 'origin-form request' });
      return;
    }
    const port = target.port === '' ? 80 : Number(target.port);
    const destination = formatAuthority(target.hostname.replace(/^\[|\]$/g, ''), port);
    const verdict = decide(target.hostname, port);
    if (!verdict.ok) {
      req.resume();
      plain(res, 403, `${verdict.message}\n`, { [REFUSED_HEADER]: verdict.rule });
      log({ client, method: req.method ?? '?', destination, status: 403, reason: verdict.message });
      return;
    }
    const upstream = http.request({
      host: verdict.connectTo.host,
      port: verdict.connectTo.port,
      method: req.method,
      path: target.pathname + target.search,
      headers: forwardedRequestHeaders(req.headers, target.host),
      agent,
      timeout: CONNECT_TIMEOUT_MS,
    });
    upstream.on('response', (up) => {
      const headers = endToEnd(up.headers);
      headers.via = withVia(up.headers.via);
      res.writeHead(up.statusCode ?? 502, up.statusMessage, headers);
      up.pipe(res);
      log({ client, method: req.method ?? '?', destination, status: up.statusCode ?? 502 });
    });
    upstream.on('timeout', () => upstream.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const status = err.code === 'ETIMEDOUT' ? 504 : 502;
      plain(res, status, `lblab proxy could not reach ${destination}: ${err.code ?? err.message}\n`);
      log({ client, method: req.method ?? '?', destination, status, reason: err.code ?? err.message });
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });

  server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const client = clientOf(req.socket);
    socket.on('error', () => undefined);
    const refuse = (status: number, reason: string, body: string, extra = ''): void => {
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nvia: ${VIA}\r\n${extra}content-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      log({ client, method: 'CONNECT', destination: req.url ?? '', status, reason });
    };
    // RFC 9110 §9.3.6: the target of CONNECT is authority-form, host:port.
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/\s]+):(\d{1,5})$/.exec(req.url ?? '');
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) {
      refuse(400, 'not host:port', `CONNECT takes host:port (RFC 9110 §9.3.6), got ${JSON.stringify(req.url)}\n`);
      return;
    }
    const verdict = decide(m[1]!, port);
    const destination = formatAuthority(m[1]!.replace(/^\[|\]$/g, '').toLowerCase(), port);
    if (!verdict.ok) {
      refuse(403, verdict.message, `${verdict.message}\n`, `${REFUSED_HEADER}: ${verdict.rule}\r\n`);
      return;
    }
    const upstream = net.connect({ host: verdict.connectTo.host, port: verdict.connectTo.port });
    upstream.setTimeout(CONNECT_TIMEOUT_MS);
    tunnels.add(socket).add(upstream);
    const forget = (): void => {
      tunnels.delete(socket);
      tunnels.delete(upstream);
    };
    upstream.once('timeout', () => upstream.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    let opened = false;
    upstream.once('connect', () => {
      opened = true;
      upstream.setTimeout(0);
      socket.write(`HTTP/1.1 200 Connection Established\r\nvia: ${VIA}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
      log({ client, method: 'CONNECT', destination, status: 200 });
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      forget();
      if (opened) {
        socket.destroy();
        return;
      }
      const status = err.code === 'ETIMEDOUT' ? 504 : 502;
      refuse(status, err.code ?? err.message, `lblab proxy could not reach ${destination}: ${err.code ?? err.message}\n`);
    });
    socket.on('close', () => {
      forget();
      upstream.destroy();
    });
    upstream.on('close', () => {
      forget();
      // A refusal is still being written; a closed tunnel closes the client's side.
      if (opened) socket.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new UsageError(`Expected \`--port\` to be a free port, but 127.0.0.1:${options.port} is already in use`));
      else reject(new RuntimeError(`lblab proxy could not listen on 127.0.0.1:${options.port}: ${err.message}`));
    });
    // 127.0.0.1 only, whatever else: never an open proxy.
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  selfPort = (server.address() as AddressInfo).port;
  return {
    port: selfPort,
    url: `http://127.0.0.1:${selfPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of tunnels) s.destroy();
        agent.destroy();
      }),
  };
}

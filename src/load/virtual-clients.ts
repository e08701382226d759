import { buildConnector, Pool } from 'undici';
import { clientAddress } from './client-addresses.js';
import { haConnector, type ConnectTally } from './ha-connector.js';
import { CookieJar } from './cookie-jar.js';
import { Http1Pool, type Http1PoolOptions } from './http1-pool.js';
import type { LoadWorkerData } from './protocol.js';
import { compileHeaders } from './request-headers.js';

/**
 * What a virtual client sends through: lblab's own HTTP/1.1 pool for plain
 * HTTP/1.1 load (see {@link Http1Pool}), undici's `Pool` for HTTP/2 and for
 * the clients of a balancer pair (its connector is undici's).
 */
export type LoadDispatcher = Pool | Http1Pool;

/**
 * What a worker's virtual clients are made from: the target, this thread's
 * range of clients (absent: one client on the system's source address),
 * whether they keep cookies, `--insecure`, and the headers and paths every
 * client sends. See {@link LoadWorkerData}.
 */
export type VirtualClientsOptions = Pick<LoadWorkerData, 'url' | 'clients' | 'cookies' | 'insecure' | 'headers' | 'paths' | 'proxy'> & Partial<Pick<LoadWorkerData, 'keepAlive' | 'http2' | 'gslb' | 'ha' | 'thread'>>;

/**
 * The virtual clients of one load worker thread, by index in its range
 * (`local`, 0-based; the run-wide index is `first + local`). Each has its own
 * keep-alive dispatcher ({@link LoadDispatcher}) bound to its source address (see
 * `clientAddress`), so the server sees each client as a distinct remote
 * address with its own connections; its own cookie jar unless `cookies` is
 * off (the single default client too); and its own turn through the paths.
 * Requests take the clients in turn, round robin over everything that sends,
 * or with `clients.weights` a smooth weighted turn (nginx's weighted round
 * robin, applied to clients): client i sends weight i ÷ the sum of them.
 */
export class VirtualClients {
  /** Run-wide index of this thread's first client (0 without virtual clients). */
  readonly first: number;
  /** Whether the target is https (cookies marked `Secure` are sent only then). */
  readonly secure: boolean;
  private readonly target: URL;
  /** Whom the dispatchers connect to: the target's origin, or the forward proxy's. */
  private readonly origin: string;
  private readonly clients: LoadWorkerData['clients'];
  private readonly count: number;
  private readonly cookies: boolean;
  private readonly paths: string[];
  private readonly compiledHeaders: (client: number, seq: number) => string[];
  private dispatcherOptions: Pool.Options;
  /** Options of lblab's own HTTP/1.1 pool, when it is the dispatcher (see {@link ownClient}). */
  private readonly http1Options: Http1PoolOptions;
  /**
   * True: the dispatchers are lblab's {@link Http1Pool} (plain HTTP/1.1, no
   * balancer pair), whose connection is free for the next request as soon as
   * a response is read; false: undici's `Pool`, which frees it a turn later.
   */
  readonly ownClient: boolean;
  /** One dispatcher per client, opened on its first request; in order of last use, least recent first. */
  private readonly dispatchers = new Map<number, LoadDispatcher>();
  /** Dispatchers closed to stay within `clients.maxOpen`, finishing what they had in flight. */
  private readonly closing = new Set<LoadDispatcher>();
  /** Whether there are more clients than may keep connections open, so dispatchers must be kept in order of use and evicted. */
  private readonly evicting: boolean;
  /** Cookie jars by client, made on first use; kept when a dispatcher is evicted, as a browser keeps cookies when it drops a connection. */
  private readonly jars = new Map<number, CookieJar>();
  /** Requests each client sent: a client's k-th request takes path k (mod the paths), so every client walks all of them. */
  private readonly sentBy: Uint32Array;
  private nextClient = 0;
  /** `clients.weights` of this thread's range, and each client's running score for the smooth weighted turn. */
  private readonly weights: number[] | undefined;
  private readonly scores: Float64Array | undefined;
  private readonly weightSum: number;
  /** False: each request asks for its connection to be closed after it (undici `reset`). */
  readonly keepAlive: boolean;
  /** Regions: this thread's clients' homes, where the GSLB tier sends them and the RTT matrix (see `LoadWorkerData.gslb`). */
  private readonly gslb: LoadWorkerData['gslb'];

  /** With a balancer pair (`options.ha`): the new connections of this thread's clients so far. */
  readonly connects: ConnectTally | undefined;

  constructor(options: VirtualClientsOptions) {
    this.target = new URL(options.url);
    this.secure = this.target.protocol === 'https:';
    this.clients = options.clients;
    this.first = options.clients?.first ?? 0;
    this.count = options.clients?.count ?? 1;
    const paths = options.paths.length > 0 ? options.paths : [this.target.pathname + this.target.search];
    const proxy = options.proxy;
    this.origin = proxy ? new URL(proxy.url).origin : this.target.origin;
    // Through a forward proxy a request names its server: absolute form, each target in turn.
    this.paths = proxy ? paths.flatMap((p) => proxy.targets.map((t) => new URL(t).origin + p)) : paths;
    this.cookies = options.cookies && !proxy;
    this.keepAlive = options.keepAlive ?? true;
    this.gslb = options.gslb ? { ...options.gslb, serving: [...options.gslb.serving] } : undefined;
    this.weights = options.clients?.weights;
    this.scores = this.weights ? new Float64Array(this.weights.length) : undefined;
    this.weightSum = this.weights ? this.weights.reduce((a, b) => a + b, 0) : 0;
    this.compiledHeaders = compileHeaders(options.headers);
    this.dispatcherOptions = {
      connections: null,
      keepAliveTimeout: 10_000,
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
      // --insecure: a self-signed certificate (the balancer's --tls) is accepted; otherwise undici verifies it.
      ...(this.secure && options.insecure ? { connect: { rejectUnauthorized: false } } : {}),
      ...(options.http2 ? http2PoolOptions(options.http2, this.secure, options.insecure) : {}),
    };
    this.ownClient = !options.http2 && !options.ha;
    this.http1Options = { keepAliveTimeout: 10_000, headersTimeout: 60_000, bodyTimeout: 60_000, rejectUnauthorized: !(this.secure && options.insecure) };
    if (options.ha) {
      // A function replaces undici's connector whole: it gets the options undici would have built it with.
      this.connects = { opened: 0, retried: 0, retransmitted: 0 };
      const { connect, allowH2 } = this.dispatcherOptions;
      const base = buildConnector({ ...(typeof connect === 'object' ? connect : {}), ...(allowH2 ? { allowH2 } : {}) } as buildConnector.BuildOptions);
      this.dispatcherOptions = { ...this.dispatcherOptions, connect: haConnector(base, options.ha, options.thread ?? 0, this.connects) };
    }
    this.evicting = options.clients !== undefined && options.clients.count > options.clients.maxOpen;
    this.sentBy = new Uint32Array(this.count);
  }

  /** The next client of this thread's range, in turn (its local index). */
  take(): number {
    const weights = this.weights;
    if (weights) {
      // Smooth weighted round robin (nginx): every client gains its weight, the highest score sends and pays the sum.
      const scores = this.scores!;
      let best = 0;
      for (let i = 0; i < weights.length; i++) {
        scores[i]! += weights[i]!;
        if (scores[i]! > scores[best]!) best = i;
      }
      scores[best]! -= this.weightSum;
      return best;
    }
    const local = this.nextClient;
    this.nextClient = (local + 1) % this.count;
    return local;
  }

  /**
   * The path (with query) of client `local`'s next request. Per client, so
   * each client asks for every path in turn (by `{seq}`, a client would keep
   * one path whenever the clients are a multiple of the paths).
   */
  nextPath(local: number): string {
    return this.paths[this.sentBy[local]!++ % this.paths.length]!;
  }

  /**
   * The request headers of client `local` for request number `seq`, as the
   * flat name/value list undici takes, `{client}` expanded to the run-wide
   * 1-based client number; `cookie` (the jar's `Cookie` value, if any) is
   * added, appended to a `--header cookie=…` value if there is one.
   */
  headersFor(local: number, seq: number, cookie: string | undefined): string[] {
    const headers = this.compiledHeaders(this.first + local + 1, seq);
    return cookie === undefined ? headers : withCookie(headers, cookie);
  }

  /**
   * With regions: the region client `local` is sent to (its name, for the
   * `x-lblab-region` header) and the round trip to it from the client's
   * home (ms), which the request waits before going out. Undefined without.
   */
  regionOf(local: number): { name: string; rttMs: number } | undefined {
    const g = this.gslb;
    if (!g) return undefined;
    const serving = g.serving[local]!;
    return { name: g.regions[serving]!, rttMs: g.rttMs[g.homes[local]!]![serving]! };
  }

  /** Takes the GSLB tier's new answers: `serving[i]` is the region of run-wide client i. */
  setServing(serving: readonly number[]): void {
    const g = this.gslb;
    if (!g) return;
    for (let k = 0; k < g.serving.length; k++) g.serving[k] = serving[this.first + k] ?? g.serving[k]!;
  }

  /** The cookie jar of client `local`, or undefined with `cookies` off. */
  jarFor(local: number): CookieJar | undefined {
    if (!this.cookies) return undefined;
    let jar = this.jars.get(local);
    if (!jar) {
      jar = new CookieJar(this.target.hostname);
      this.jars.set(local, jar);
    }
    return jar;
  }

  /**
   * The dispatcher of client `local`, bound to the client's source address.
   * Opening one past `clients.maxOpen` closes the least recently used, so
   * open connections stay within the process's file limit however many
   * clients there are.
   */
  dispatcherFor(local: number): LoadDispatcher {
    let dispatcher = this.dispatchers.get(local);
    if (dispatcher) {
      if (this.evicting) {
        this.dispatchers.delete(local);
        this.dispatchers.set(local, dispatcher);
      }
      return dispatcher;
    }
    const clients = this.clients;
    const localAddress = clients ? clientAddress(clients.first + local, clients.spread) : undefined;
    if (this.ownClient) dispatcher = new Http1Pool(this.origin, localAddress ? { ...this.http1Options, localAddress } : this.http1Options);
    else dispatcher = new Pool(this.origin, localAddress ? { ...this.dispatcherOptions, localAddress } : this.dispatcherOptions);
    this.dispatchers.set(local, dispatcher);
    if (this.evicting && clients && this.dispatchers.size > clients.maxOpen) {
      const [oldestKey, oldest] = this.dispatchers.entries().next().value as [number, LoadDispatcher];
      this.dispatchers.delete(oldestKey);
      this.closing.add(oldest);
      oldest.close().then(
        () => this.closing.delete(oldest),
        () => this.closing.delete(oldest),
      );
    }
    return dispatcher;
  }

  /** Destroys every dispatcher, the closing ones too: requests still in flight fail. Resolves when all are gone; never rejects. */
  destroy(): Promise<unknown> {
    return Promise.all([...this.dispatchers.values(), ...this.closing].map((d) => d.destroy().catch(() => undefined)));
  }
}

/**
 * undici pool options for HTTP/2 to the target: exactly `connections`
 * connections, each carrying up to `streams` concurrent streams (undici's
 * `pipelining` is the stream limit on an h2 connection), h2 by ALPN on
 * https (`allowH2`) and h2c with prior knowledge on http (the connector's
 * `useH2c`, which undici's types do not list yet).
 */
export function http2PoolOptions(h2: { connections: number; streams: number }, secure: boolean, insecure: boolean): Pool.Options {
  const connect = secure ? (insecure ? { rejectUnauthorized: false } : {}) : { useH2c: true };
  return { connections: h2.connections, pipelining: h2.streams, allowH2: true, connect: connect as Pool.Options['connect'] };
}

/** `headers` (flat name/value list) with `cookie` added: appended to a `cookie` header if there is one. */
function withCookie(headers: string[], cookie: string): string[] {
  const out = [...headers];
  for (let i = 0; i < out.length; i += 2) {
    if (out[i]!.toLowerCase() === 'cookie') {
      out[i + 1] = `${out[i + 1]}; ${cookie}`;
      return out;
    }
  }
  out.push('cookie', cookie);
  return out;
}

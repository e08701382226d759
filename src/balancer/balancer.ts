import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { FrontEnd, requestHasBody, responseGone, type ClientRequest, type ClientResponse, type Http2Stats, type ClientActivity } from './front-end.js';
import { listenOn } from './listen.js';
import { registerCleanup } from '../cleanup.js';
import { RuntimeError } from '../errors.js';
import { classifyError, describeTryFailure } from '../metrics/error-kind.js';
import type { BackendTraffic, ErrorKind } from '../metrics/traffic-stats.js';
import { algorithmsWith, usesHashKey, type AlgorithmName } from './algorithms/index.js';
import type { PickContext, Picker } from './algorithms/picker.js';
import type { Dispatcher } from 'undici';
import { DEFAULT_HASH_KEY, requestHashKey, type HashKeySource } from './hash-key.js';
import { hasDuplicateHost, upstreamRequestHeaders } from './headers.js';
import { DEFAULT_RETRY_POLICY, retriesOnStatus, type RetryCondition, type RetryPolicy } from './retry-policy.js';
import { ClientGoneError, failedOnReusedConnection, MarkedDownError, ProxyTry, RetryableStatusError, type ProxiedRequest } from './proxy-try.js';
import { UpstreamBackend, type UpstreamConnections, type UpstreamConnectionsRecord } from './upstream-backend.js';
import { StickySessions, type StickyConfig, type StickyPin } from './sticky/sticky-sessions.js';
import type { Pool } from './pool.js';
import { relayUpgrade, writeRawResponse, type UpgradeAnswer } from './upgrade-tunnel.js';
import { RateLimiter, type RateLimitConfig } from './rate-limit.js';
import { normalizeTarget } from './request-target.js';
import { describeMatch } from './routes.js';
import { HandshakeMeter, selfSignedCertificate, type TlsStats } from './tls.js';
import { DEFAULT_CONNECTION, Upstream, type LayerCounters, type SharedBalancerConfig } from './upstream.js';

export { DEFAULT_CONNECTION } from './upstream.js';
export type { BackendEvent, TransitionEvent, UpstreamChange, UpstreamConfig } from './upstream.js';

/** Everything the HTTP balancer needs: what both front ends take ({@link SharedBalancerConfig}) and what only L7 has. Times in ms. */
export type BalancerConfig = SharedBalancerConfig & {
  /** Where `consistent-hash` and `maglev` take a request's key from; default the client address. */
  hashKey?: HashKeySource;
  /** Sticky sessions (`--sticky`): cookie insert or a source-IP stick table; off by default. */
  sticky?: StickyConfig;
  /** Per-client-IP rate limit (`--rate-limit`, nginx `limit_req`); off by default. */
  rateLimit?: RateLimitConfig;
  /** TLS termination: serve HTTPS with a self-signed certificate made at {@link Balancer.listen}, forward plain HTTP. */
  tls?: boolean;
  /**
   * HTTP/2 to clients (`--http2`, nginx `listen … http2`): by ALPN with
   * `tls`, h2c with prior knowledge without; HTTP/1.1 is still served.
   * Each stream is a request, balanced on its own; backends get HTTP/1.1.
   */
  http2?: boolean;
  /**
   * Time a client may take to send a whole request head, ms (HAProxy
   * `timeout http-request`); past it Node's server answers 408 and closes
   * the connection, so a slow client cannot hold a socket. Default 10 s.
   */
  clientTimeoutMs?: number;
  /**
   * Whether to record every proxied response into {@link Balancer.stats}
   * (default true). `start` measures on the client side and turns it off to
   * keep the request path light.
   */
  recordTraffic?: boolean;
};

/** What {@link Balancer}'s request path decided before any pick: a refusal, or where the request goes and with what. */
type Admission =
  | { refused: { status: number; body: string; extra?: Record<string, string> } }
  | { pool: Pool; headers: Record<string, string | string[]>; clientIp: string; sticky: StickyPin | undefined; hashKey: string | undefined };

/** One backend's WebSockets (upgrade requests) as {@link Balancer.webSockets} reports them. */
export type WebSocketCounts = { name: string } & UpstreamBackend['upgrades'];

/** Algorithms that hash onto integer weights (rings, tables, ip_hash's walk): slow start does not apply to them, as in nginx. Derived from the registry's `hashesWeights`. */
export const HASHING_ALGORITHMS: ReadonlySet<AlgorithmName> = new Set(algorithmsWith((t) => t.hashesWeights));

/**
 * How many times one request may be sent again after kept-alive connections
 * closed under it (see {@link failedOnReusedConnection}): each time ends an
 * idle connection to that backend; a fresh one ends the run of them.
 */
const MAX_STALE_RESENDS = 4;

/** Methods that may be sent again to another backend after a failed try (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** How often the keep-alive connections to each backend are sampled for their averages (ms). */
const CONNECTION_SAMPLE_MS = 100;

/**
 * The in-process HTTP/1.1 reverse proxy. Each request is given to the
 * backend the algorithm picks among those health checks hold UP, over a
 * keep-alive undici pool; the response is streamed back with hop-by-hop
 * headers stripped and `x-lblab-backend: <name>` set. A try that fails at the
 * transport level before any response header (connect refused, reset,
 * timeout: nginx `proxy_next_upstream error timeout`) is retried once on
 * another backend when the method is idempotent and the request has no body.
 * With no backend UP the client gets 503 with a plain-text body that says so.
 * With routes, each request first goes to the pool of the first route it
 * matches (see {@link Pool}, {@link Router}); picks, retries and panic stay
 * within that pool. With `sticky` a request carrying a pin goes to its
 * backend while that one takes persistent traffic and belongs to the
 * request's pool (see {@link StickySessions}); with `rateLimit` a client over
 * its rate gets 429 before any backend is picked. With `tls`, clients speak
 * HTTPS to it. Membership, health, drain, slow start and panic are the
 * shared {@link Upstream} core's; this class owns only how a request is
 * routed, picked, proxied and retried.
 */
export class Balancer extends Upstream<UpstreamBackend> {
  /** Samples each backend's connections every {@link CONNECTION_SAMPLE_MS} while listening. */
  private connectionSampler: NodeJS.Timeout | undefined;
  /** Handshake times, with `tls`. */
  private readonly handshakes: HandshakeMeter | undefined;
  private readonly hashKey: HashKeySource;
  private readonly retry: RetryPolicy;
  /** Sticky sessions, when `--sticky` is on. */
  readonly sticky: StickySessions | undefined;
  private readonly rateLimiter: RateLimiter | undefined;
  /** Requests refused with 429 by the rate limit, never sent to a backend. */
  rateLimited = 0;
  private readonly recordTraffic: boolean;
  /** Where clients connect: HTTP/1.1, HTTPS, HTTP/2. */
  private readonly front: FrontEnd;
  private unregister: (() => void) | undefined;
  /** Client sockets of upgrade requests being relayed or joined to a backend: closed with the balancer (node:http no longer tracks them). */
  private readonly tunnels = new Set<Duplex>();
  /** With `--on-marked-down shutdown-sessions`, the client sockets of the WebSockets joined to each backend now. */
  private readonly joined: Map<UpstreamBackend, Set<Duplex>> | undefined;
  /** How many of the sessions the last {@link shutdownSessions} cut were WebSockets (for its words). */
  private lastCutWebSockets = 0;
  /** With `--on-marked-down shutdown-sessions`, the tries each backend holds now (kept only then: the request path stays light otherwise). */
  private readonly held: Map<UpstreamBackend, Set<ProxyTry>> | undefined;

  /** @throws {UsageError} for a pool naming an unknown backend or a route naming an unknown pool (the CLI checks both first). */
  constructor(private readonly config: BalancerConfig) {
    const conn = config.connection ?? DEFAULT_CONNECTION;
    super(
      config,
      (b, i, traffic) => new UpstreamBackend(i, b.name, new URL(b.url).origin, b.weight, traffic, config.health.rise, config.health.fall, conn, config.passive ?? {}),
    );
    this.hashKey = config.hashKey ?? DEFAULT_HASH_KEY;
    this.retry = config.retry ?? DEFAULT_RETRY_POLICY;
    this.recordTraffic = config.recordTraffic ?? true;
    this.sticky = config.sticky ? new StickySessions(config.sticky, this.pools, () => this.nowMs()) : undefined;
    this.held = config.onMarkedDown === 'shutdown-sessions' ? new Map(this.backends.map((b) => [b, new Set<ProxyTry>()])) : undefined;
    this.joined = config.onMarkedDown === 'shutdown-sessions' ? new Map() : undefined;
    this.rateLimiter = config.rateLimit ? new RateLimiter(config.rateLimit) : undefined;
    // The certificate is made in listen() (it is async) and set on the server then.
    this.front = new FrontEnd({
      tls: config.tls ?? false,
      http2: config.http2 ?? false,
      clientTimeoutMs: config.clientTimeoutMs ?? 10_000,
      onRequest: (req, res) => this.handle(req, res),
      onUpgrade: (req, socket, head) => this.handleUpgrade(req, socket, head),
    });
    const tlsServer = this.front.tlsServer;
    if (tlsServer) {
      this.handshakes = new HandshakeMeter();
      this.handshakes.attach(tlsServer);
    }
  }

  /** The TLS handshakes so far (count, failed, ms), undefined without `tls`. */
  tlsStats(): TlsStats | undefined {
    return this.handshakes?.stats();
  }

  /** Per backend, in order: upgrade requests switched to WebSockets (101), open now, answered otherwise, failed without an answer. */
  webSockets(): WebSocketCounts[] {
    return this.backends.map((b) => ({ name: b.name, ...b.upgrades }));
  }

  /** Stick-table entries, cookies set and requests refused by the rate limit so far. */
  override layerCounters(): LayerCounters {
    return { stickEntries: this.sticky?.entries() ?? 0, cookiesSet: this.sticky?.cookiesSet ?? 0, rateLimited: this.rateLimited };
  }

  /** Its clients so far: connections open and accepted, requests received (each HTTP/2 stream and upgrade one). */
  clientActivity(): ClientActivity {
    return this.front.clientActivity();
  }

  /** HTTP/2 client connections and the streams they carried so far, undefined without `http2`. */
  http2Stats(): Http2Stats | undefined {
    return this.front.http2Stats();
  }

  /** Requests refused by the rate limit (when one is configured), the TLS handshakes (with `tls`) and HTTP/2 connections and streams (with `http2`). */
  override layerReport(): { rateLimited?: number; tls?: TlsStats; http2?: Http2Stats } {
    const tls = this.tlsStats();
    const h2 = this.http2Stats();
    return { ...(this.rateLimiter ? { rateLimited: this.rateLimited } : {}), ...(tls ? { tls } : {}), ...(h2 ? { http2: h2 } : {}) };
  }

  /**
   * Starts listening and health checking. Resolves to the bound address.
   * @throws {UsageError} when the port is in use; {@link RuntimeError} on other listen errors.
   */
  async listen(): Promise<{ host: string; port: number; url: string }> {
    const { host, port } = this.config;
    if (this.config.tls) this.front.setSecureContext(await selfSignedCertificate(host));
    const bound = await listenOn(this.front.server, host, port);
    this.unregister = registerCleanup('balancer', () => this.close());
    this.watchAll();
    // What netstat would show on average: open and busy keep-alive connections per backend, sampled.
    this.connectionSampler ??= setInterval(() => {
      for (const b of this.backends) b.sampleConnections();
    }, CONNECTION_SAMPLE_MS).unref();
    return { host, port: bound, url: `${this.config.tls ? 'https' : 'http'}://${host}:${bound}/` };
  }

  /** Stops health checks, closes the listener and every upstream connection. */
  async close(): Promise<void> {
    this.unregister?.();
    this.unregister = undefined;
    clearInterval(this.connectionSampler);
    this.connectionSampler = undefined;
    await this.stopUpstream();
    for (const socket of this.tunnels) socket.destroy();
    await this.front.close();
    await Promise.all(this.backends.map((b) => b.dispatcher.destroy().catch(() => undefined)));
  }

  /**
   * HAProxy `on-marked-down shutdown-sessions` at L7: every try `backend`
   * holds (connecting, waiting for its headers, or relaying its body) is cut
   * with a {@link MarkedDownError}. Each counts as a failed try of that
   * backend (`failedTries`, `tries.lost`, a passive failure); it is not
   * retried, whatever the retry policy, because HAProxy kills such a session
   * rather than redispatch it. A client that had no header yet gets a 502
   * that says why; one whose response was under way has it cut. Its open
   * WebSockets are closed on both sides (they were served: no failure).
   */
  override upstreamConnectionsOf(backend: UpstreamBackend): UpstreamConnections {
    return backend.upstreamConnections();
  }

  protected override upstreamConnectionsRecord(backend: UpstreamBackend): UpstreamConnectionsRecord {
    return backend.connectionsRecord();
  }

  protected shutdownSessions(backend: UpstreamBackend): number {
    const tries = [...(this.held?.get(backend) ?? [])];
    for (const t of tries) t.cut(new MarkedDownError(backend.name));
    // Its WebSockets too: HAProxy kills every session the server holds.
    const joined = [...(this.joined?.get(backend) ?? [])];
    for (const socket of joined) socket.destroy();
    this.lastCutWebSockets = joined.length;
    return tries.length + joined.length;
  }

  protected sessionWord(n: number): string {
    const ws = this.lastCutWebSockets;
    return `${n === 1 ? 'request' : 'requests'}${ws === 0 ? '' : ws === n ? (n === 1 ? ' (a WebSocket)' : ' (all WebSockets)') : ` (${ws} of them WebSockets)`}`;
  }

  protected drainDetail(event: 'draining' | 'drained' | 'undrained', backend: UpstreamBackend): string {
    if (event === 'undrained') return 'draining called off: taking requests again';
    if (event === 'drained') return 'nothing in flight: safe to stop';
    const sticky = this.sticky ? '; its sticky clients keep coming (HAProxy drain takes persistent traffic)' : '';
    return `no new requests; ${backend.inFlight} in flight may finish${sticky}`;
  }

  /**
   * What the request path decides before a backend is picked, for a request
   * and an upgrade request alike: a refusal (400 for a bad target or two
   * Hosts, 429 over the rate limit, 404 when no route matches) or the pool,
   * the headers for the backend, the sticky pin and the hash key. Counts a
   * rate-limited request and a routed one. Rewrites `req.url` to its normal
   * form.
   */
  private admit(req: ClientRequest, started: number): Admission {
    if (!req.url?.startsWith('/')) {
      // `OPTIONS *` or an absolute-form target: the client's mistake, not a backend's.
      return { refused: { status: 400, body: 'lblab: the request target must be a path starting with /\n' } };
    }
    if (hasDuplicateHost(req.rawHeaders)) {
      // Two Hosts could route on one and be served on the other (RFC 9112 §3.2).
      return { refused: { status: 400, body: 'lblab: the request has more than one Host header\n', extra: { connection: 'close' } } };
    }
    // Routes match, and the backend gets, the normal form of the path, so
    // `/static/../api`, `/%61pi` and `//api` cannot go round an `/api` route.
    const normal = normalizeTarget(req.url);
    if ('refused' in normal) return { refused: { status: 400, body: `lblab: the request target has ${normal.refused}\n`, extra: { connection: 'close' } } };
    req.url = normal.target;
    const remote = req.socket.remoteAddress ?? '';
    const clientIp = remote.startsWith('::ffff:') ? remote.slice(7) : remote;
    const retryAfter = this.rateLimiter?.take(clientIp, started) ?? 0;
    if (retryAfter > 0) {
      this.rateLimited++;
      return { refused: { status: 429, body: `lblab: rate limit of ${clientIp} exceeded; retry in ${retryAfter}s\n`, extra: { 'retry-after': String(retryAfter) } } };
    }
    const pool = this.router.route(req.url, req.headers);
    if (!pool) return { refused: { status: 404, body: this.noRouteMessage(req) } };
    pool.routed++;
    const headers = upstreamRequestHeaders(req.headers, clientIp, this.config.tls ? 'https' : 'http');
    const sticky = this.sticky?.pin(headers, clientIp, pool.name);
    // The key is read only for an algorithm that hashes one (a cookie parse is not free).
    const hashKey = usesHashKey(pool.algo) ? requestHashKey(this.hashKey, req, clientIp) : undefined;
    return { pool, headers, clientIp, sticky, hashKey };
  }

  private handle(req: ClientRequest, res: ClientResponse): void {
    const started = performance.now();
    const a = this.admit(req, started);
    if ('refused' in a) {
      req.resume();
      this.reply(res, a.refused.status, a.refused.body, started, a.refused.extra);
      return;
    }
    const { pool, headers, clientIp, hashKey } = a;
    const method = req.method ?? 'GET';
    const hasBody = requestHasBody(req);
    const resendable = (IDEMPOTENT.has(method) || this.retry.nonIdempotent) && !hasBody;
    const retryable = resendable && this.retry.retries > 0;
    if (!hasBody) req.resume();
    const p: ProxiedRequest = { req, res, pool, method, headers, hasBody, retryable, staleResends: resendable ? MAX_STALE_RESENDS : 0, resent: false, started, clientGone: false, current: undefined };
    if (a.sticky) p.sticky = a.sticky;
    // A client that goes away cancels its upstream try, as nginx does unless
    // proxy_ignore_client_abort is on.
    res.once('close', () => {
      if (res.writableFinished) return;
      p.clientGone = true;
      p.current?.cancel();
    });
    this.tryBackend(p, { clientIp, hashKey, exclude: undefined }, 1, undefined);
  }

  /**
   * The backend for a try: on a first try the pool's panic state is added to
   * `ctx`, and a sticky pin is followed while its backend belongs to the
   * pool; otherwise the pool's algorithm picks. Returns the context the
   * pick used (the try ends with it) and the backend, undefined when none
   * can take it.
   */
  private choose(pool: Pool, sticky: StickyPin | undefined, ctx: PickContext, attempt: number): { backend: UpstreamBackend | undefined; ctx: PickContext } {
    if (attempt === 1 && this.inPanic(pool)) ctx = { ...ctx, panic: true };
    // A pin is followed only within the request's pool: a route may send the same client elsewhere.
    const pinned = attempt === 1 ? sticky?.target : undefined;
    return { backend: pinned && pool.holds(pinned) ? pinned : pool.pick(ctx), ctx };
  }

  /**
   * An upgrade request (a WebSocket handshake): admitted, routed and picked
   * exactly as a request is ({@link admit}, {@link choose}: rate limit,
   * routes, sticky, hash key), then relayed to the backend on a connection of
   * its own (see {@link relayUpgrade}); a refusal or a failure is answered on
   * the raw socket (502/504 as {@link replyFailure} words it, 503 with no
   * backend); a try with no answer is retried as {@link tryUpgrade} says.
   * The connection counts in
   * flight on its backend until either side closes it, so `least-conn`
   * sees open WebSockets as nginx's does; latency-aware pickers get the
   * handshake time, not the connection's lifetime. With `--on-marked-down
   * shutdown-sessions` a backend marked DOWN has its WebSockets closed too.
   */
  private handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const started = performance.now();
    socket.on('error', () => undefined);
    const a = this.admit(req, started);
    if ('refused' in a) return this.refuseUpgrade(socket, started, a.refused.status, a.refused.body, a.refused.extra);
    this.tunnels.add(socket);
    socket.once('close', () => this.tunnels.delete(socket));
    this.tryUpgrade(req, socket, head, a, started, { clientIp: a.clientIp, hashKey: a.hashKey, exclude: undefined }, 1);
  }

  /** Answers an upgrade request on its raw socket, counted as a response of the balancer's own. */
  private refuseUpgrade(socket: Duplex, started: number, status: number, body: string, extra?: Record<string, string>): void {
    this.record(undefined, (performance.now() - started) * 1000, status, undefined);
    writeRawResponse(socket, status, body, extra);
  }

  /**
   * One try of an upgrade request on the backend {@link choose} gives. A
   * try that got no answer (refused, reset, timed out) goes to another
   * backend under the retry policy's conditions and count, as a request
   * without a body would (nginx `proxy_next_upstream`); an answer, 101 or
   * not, is final.
   */
  private tryUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, a: Exclude<Admission, { refused: unknown }>, started: number, ctx: PickContext, attempt: number): void {
    const chosen = this.choose(a.pool, a.sticky, ctx, attempt);
    const backend = chosen.backend;
    ctx = chosen.ctx;
    if (!backend) return this.refuseUpgrade(socket, started, 503, a.pool.noBackendMessage(this.routed));
    const { picker, probe, startedAt } = this.startTry(a.pool, backend, attempt);
    const limits = this.config.connection ?? DEFAULT_CONNECTION;
    let outcome: { answer: UpgradeAnswer; latencyMs: number } | undefined;
    const sticky = a.sticky;
    relayUpgrade({
      client: socket,
      head,
      origin: backend.origin,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: { ...a.headers, connection: 'Upgrade', upgrade: req.headers.upgrade ?? 'websocket' },
      limits,
      backend: backend.name,
      ...(sticky && { decorate: (h: Record<string, string | string[]>) => sticky.answered(backend, h) }),
      onAnswer: (answer) => {
        outcome = { answer, latencyMs: performance.now() - startedAt };
        if (answer.kind === 'client-gone') {
          this.clientAborts++;
          if (probe) backend.breaker?.onAbandoned();
          return;
        }
        if (answer.kind === 'failed') {
          backend.failures++;
          backend.upgrades.failed++;
          this.passive.observe(backend, false, probe);
          const kind = classifyError(answer.err);
          const retry = attempt <= this.retry.retries && this.retry.on.has(kind === 'timeout' ? 'timeout' : 'error') && a.pool.anotherCandidate(backend, ctx);
          if (retry && !socket.destroyed) {
            backend.tries.retried++;
            const exclude = new Set(ctx.exclude);
            exclude.add(backend);
            // After this relay has let go of the socket (it calls onClose first).
            queueMicrotask(() => this.tryUpgrade(req, socket, head, a, started, { ...ctx, exclude }, attempt + 1));
            return 'retry';
          }
          backend.tries.lost++;
          this.refuseUpgrade(socket, started, kind === 'timeout' ? 504 : 502, `lblab: backend ${backend.name} failed (${kind}): it ${describeTryFailure(answer.err, limits)}\n`);
          return;
        }
        if (attempt > 1) this.retriesSucceeded++;
        const status = answer.kind === 'upgraded' ? 101 : answer.status;
        if (answer.kind === 'upgraded') {
          backend.upgrades.switched++;
          backend.upgrades.open++;
          if (this.joined) {
            if (!this.joined.has(backend)) this.joined.set(backend, new Set());
            this.joined.get(backend)!.add(socket);
          }
        } else backend.upgrades.refused++;
        if (status < 500) backend.tries.served++;
        else backend.tries.lost++;
        this.passive.observe(backend, status < 500, probe);
        this.record(backend.traffic, (performance.now() - started) * 1000, status, undefined);
      },
      onClose: () => {
        if (outcome?.answer.kind === 'upgraded') {
          backend.upgrades.open--;
          this.joined?.get(backend)?.delete(socket);
        }
        backend.inFlight--;
        const ok = outcome !== undefined && (outcome.answer.kind === 'upgraded' || (outcome.answer.kind === 'answered' && outcome.answer.status < 500));
        picker.onRequestEnd?.(backend, { startedAtMs: startedAt, latencyMs: outcome?.latencyMs ?? performance.now() - startedAt, ok });
        if (backend.draining && backend.inFlight === 0) this.drained(backend, 'the last request in flight finished: safe to stop');
      },
    });
  }

  private tryBackend(p: ProxiedRequest, ctx: PickContext, attempt: number, lastFailure: { err: unknown; backend: UpstreamBackend } | undefined): void {
    if (p.clientGone) {
      this.clientAborts++;
      return;
    }
    const chosen = this.choose(p.pool, p.sticky, ctx, attempt);
    const backend = chosen.backend;
    ctx = chosen.ctx;
    if (!backend) {
      // Nothing left to retry on: answer with what the last try met.
      if (lastFailure === undefined) this.reply(p.res, 503, p.pool.noBackendMessage(this.routed), p.started);
      else {
        // The retry found nowhere to go: the failure reached the client after all.
        lastFailure.backend.tries.retried--;
        lastFailure.backend.tries.lost++;
        this.replyFailure(p.res, lastFailure.err, p.started, lastFailure.backend.name);
      }
      return;
    }
    const { picker, probe, startedAt } = this.startTry(p.pool, backend, attempt);
    // The try ends on the picker that saw it start, even after an algorithm switch.
    const t = new ProxyTry(
      p,
      backend,
      attempt,
      startedAt,
      (done, err) => this.tryEnded(done, picker, ctx, err),
      (status) => p.retryable && attempt <= this.retry.retries && retriesOnStatus(this.retry, status) && p.pool.anotherCandidate(backend, ctx),
      this.config.connection ?? DEFAULT_CONNECTION,
    );
    t.probe = probe;
    p.current = t;
    this.held?.get(backend)!.add(t);
    t.start();
    backend.dispatcher.dispatch({ path: p.req.url ?? '/', method: p.method as Dispatcher.HttpMethod, headers: p.headers, body: p.hasBody ? p.req : null }, t);
  }

  /**
   * Counts a try of a request or an upgrade on `backend` as started: a retry
   * when `attempt` > 1, the backend selected and in flight, a circuit
   * breaker's probe if it is one, and its pool's picker told (least-conn,
   * peak EWMA). Returns that picker (the try ends on it, even after an
   * algorithm switch), whether it is a probe, and its start (`performance.now()` ms).
   */
  private startTry(pool: Pool<UpstreamBackend>, backend: UpstreamBackend, attempt: number): { picker: Picker; probe: boolean; startedAt: number } {
    const picker = pool.pickerOf(backend);
    if (attempt > 1) this.retries++;
    backend.selected++;
    backend.inFlight++;
    const probe = backend.breaker?.onSend() ?? false;
    const startedAt = performance.now();
    picker.onRequestStart?.(backend, startedAt);
    return { picker, probe, startedAt };
  }

  private tryEnded(t: ProxyTry, picker: Picker, ctx: PickContext, err: Error | undefined): void {
    const { request: p, backend } = t;
    p.current = undefined;
    this.held?.get(backend)!.delete(t);
    backend.inFlight--;
    const now = performance.now();
    const latencyUs = (now - p.started) * 1000;
    picker.onRequestEnd?.(backend, { startedAtMs: t.startedAt, latencyMs: now - t.startedAt, ok: err === undefined });
    if (backend.draining && backend.inFlight === 0) this.drained(backend, 'the last request in flight finished: safe to stop');
    const clientLeft = err instanceof ClientGoneError || p.clientGone;
    // A kept-alive connection the backend closed as this request went out on
    // it is not the backend's failure: the request is sent again, outside the
    // retry budget (as nginx and HAProxy do), elsewhere when there is another
    // backend to try, else to the same one. Each such failure ends one idle
    // connection, so this stops at a fresh one, or after MAX_STALE_RESENDS.
    const stale = err !== undefined && !clientLeft && p.staleResends > 0 && failedOnReusedConnection(err, t);
    if (clientLeft) {
      if (t.probe) backend.breaker?.onAbandoned();
    }
    // Passive checks judge the backend: a transport failure or a 5xx is its failure; a client that left is nobody's.
    else if (!stale) this.passive.observe(backend, err === undefined ? t.status < 500 : false, t.probe);
    else if (t.probe) backend.breaker?.onAbandoned();
    if (err === undefined) {
      if (t.attempt > 1 || p.resent) this.retriesSucceeded++;
      if (t.status < 500) backend.tries.served++;
      else backend.tries.lost++;
      this.record(backend.traffic, latencyUs, t.status, undefined);
      return;
    }
    if (clientLeft) {
      // The client left; the backend did nothing wrong.
      this.clientAborts++;
      return;
    }
    // A retried status is not a failed try (refused, reset, timed out): it is counted in `tries.retried`.
    if (!(err instanceof RetryableStatusError) && !stale) backend.failures++;
    if (p.res.headersSent) {
      // Failed mid-body: the status is out, so all we can do is cut the
      // response; it counts as a transport error of this backend (as the
      // client sees it: the headers named it), not a success.
      p.res.destroy();
      backend.tries.lost++;
      this.record(backend.traffic, latencyUs, 0, classifyError(err));
      return;
    }
    if (stale) {
      p.staleResends--;
      p.resent = true;
      backend.tries.retried++;
      if (t.attempt === 1) this.retries++; // a later attempt counts itself in tryBackend
      const exclude = p.pool.anotherCandidate(backend, ctx) ? new Set([...(ctx.exclude ?? []), backend]) : ctx.exclude;
      this.tryBackend(p, { ...ctx, exclude }, t.attempt, { err, backend });
      return;
    }
    const condition = err instanceof RetryableStatusError ? (String(err.status) as RetryCondition) : classifyError(err) === 'timeout' ? 'timeout' : 'error';
    // A request cut by shutdown-sessions is not sent again, as HAProxy kills the session rather than redispatch it.
    if (p.retryable && t.attempt <= this.retry.retries && this.retry.on.has(condition) && !(err instanceof MarkedDownError)) {
      const exclude = new Set(ctx.exclude);
      exclude.add(backend);
      backend.tries.retried++;
      this.tryBackend(p, { ...ctx, exclude }, t.attempt + 1, { err, backend });
      return;
    }
    backend.tries.lost++;
    this.replyFailure(p.res, err, p.started, backend.name);
  }

  /**
   * 504 for a timeout, else 502, naming the failed try (nginx answers the
   * same way); a dropped retryable status is answered with that status.
   */
  private replyFailure(res: ClientResponse, err: unknown, started: number, backend: string): void {
    if (err instanceof RetryableStatusError) {
      this.reply(res, err.status, `lblab: backend ${backend} answered ${err.status} and no other backend was left to try\n`, started);
      return;
    }
    const kind = classifyError(err);
    const what = describeTryFailure(err, this.config.connection ?? DEFAULT_CONNECTION);
    this.reply(res, kind === 'timeout' ? 504 : 502, `lblab: backend ${backend} failed (${kind}): it ${what}\n`, started);
  }

  /** Records a response when traffic recording is on; the clock is read only then (`start` turns it off to keep the request path light). */
  private record(backend: BackendTraffic | undefined, latencyUs: number, status: number, kind: ErrorKind | undefined): void {
    if (this.recordTraffic) this.stats.record(backend, latencyUs, status, kind, this.nowMs());
  }

  /** The body of the 404 for a request no route matches when there is no default pool. */
  private noRouteMessage(req: ClientRequest): string {
    const routes = (this.config.routing?.routes ?? []).map((r) => `${describeMatch(r.match)} → ${r.pool}`).join(', ');
    return `lblab: no route matches ${req.method ?? 'GET'} ${req.url} (Host ${req.headers.host ?? '-'}) and there is no default pool; routes, first match wins: ${routes}\n`;
  }

  private reply(res: ClientResponse, status: number, body: string, started: number, extra?: Record<string, string>): void {
    this.record(undefined, (performance.now() - started) * 1000, status, undefined);
    if (res.headersSent || responseGone(res)) {
      res.destroy();
      return;
    }
    const headers: Record<string, string | number> = { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...extra };
    // HTTP/2 has no Connection header (RFC 9113 §8.2.2): the stream ends, the connection stays.
    if ('stream' in res) delete headers.connection;
    res.writeHead(status, headers);
    res.end(body);
  }
}


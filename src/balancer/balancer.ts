import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { listenOn } from './listen.js';
import { registerCleanup } from '../cleanup.js';
import { RuntimeError, UsageError } from '../errors.js';
import { classifyError } from '../metrics/error-kind.js';
import { TrafficStats, type BackendTraffic, type ErrorKind } from '../metrics/traffic-stats.js';
import type { BackendInfo } from '../metrics/run-record.js';
import { algorithmsWith, hashesWeights, usesHashKey, type AlgorithmName } from './algorithms/index.js';
import type { PickContext, Picker } from './algorithms/picker.js';
import type { Dispatcher } from 'undici';
import { DEFAULT_HASH_KEY, requestHashKey, type HashKeySource } from './hash-key.js';
import { upstreamRequestHeaders } from './headers.js';
import { DEFAULT_RETRY_POLICY, retriesOnStatus, type RetryCondition, type RetryPolicy } from './retry-policy.js';
import { ClientGoneError, ProxyTry, RetryableStatusError, type ProxiedRequest } from './proxy-try.js';
import { ActiveHealthChecker, type CheckResult, type HealthCheckConfig } from './health/active-health-check.js';
import type { BreakerConfig, OutlierConfig, PassiveChange } from './passive/passive-checks.js';
import { UpstreamBackend, type HealthTransition, type UpstreamConnectionConfig } from './upstream-backend.js';
import { StickySessions, type StickyConfig } from './sticky/sticky-sessions.js';
import { RateLimiter, type RateLimitConfig } from './rate-limit.js';
import { buildPools, type Pool } from './pool.js';
import { describeMatch, pooledExpectedShares, type Router, type RoutingConfig } from './routes.js';
import { HandshakeMeter, selfSignedCertificate, type TlsStats } from './tls.js';

/** A backend as configured: a name (b1…), an origin URL, a weight ≥ 1, and whether it is a backup. */
export type UpstreamConfig = { name: string; url: string; weight: number; backup?: boolean };

/** Everything the balancer needs. Times in ms. */
export type BalancerConfig = {
  backends: readonly UpstreamConfig[];
  algo: AlgorithmName;
  /** Where `consistent-hash` and `maglev` take a request's key from; default the client address. */
  hashKey?: HashKeySource;
  health: HealthCheckConfig;
  /** Address to listen on; lblab binds loopback by default. */
  host: string;
  /** 0 = any free port. */
  port: number;
  /** Per-try timeouts; default {@link DEFAULT_CONNECTION}. */
  connection?: UpstreamConnectionConfig;
  /** When to try another backend; default {@link DEFAULT_RETRY_POLICY}. */
  retry?: RetryPolicy;
  /** Passive health: outlier ejection and circuit breaker; both off by default. */
  passive?: { outlier?: OutlierConfig; breaker?: BreakerConfig };
  /** Slow start (HAProxy `slowstart`), ms: a backend back UP ramps its weight up linearly over this long; 0 = off. */
  slowStartMs?: number;
  /** Panic threshold (Envoy `healthy_panic_threshold`), percent: below this share of usable primaries, health is ignored; 0 = off. */
  panicThreshold?: number;
  /** Sticky sessions (`--sticky`): cookie insert or a source-IP stick table; off by default. */
  sticky?: StickyConfig;
  /** Per-client-IP rate limit (`--rate-limit`, nginx `limit_req`); off by default. */
  rateLimit?: RateLimitConfig;
  /** The run's clock in ms (time base of transitions and stats); default: ms since the balancer was created. */
  clock?: () => number;
  /** L7 routing to pools (see {@link RoutingConfig}); undefined = one pool of every backend. */
  routing?: RoutingConfig;
  /** TLS termination: serve HTTPS with a self-signed certificate made at {@link Balancer.listen}, forward plain HTTP. */
  tls?: boolean;
  /**
   * Whether to record every proxied response into {@link Balancer.stats}
   * (default true). `start` measures on the client side and turns it off to
   * keep the request path light.
   */
  recordTraffic?: boolean;
};

/** Emitted on every health state change. */
export type TransitionEvent = HealthTransition & { backend: string };

/**
 * A change to the upstream made while it runs: the algorithm (of every pool
 * that has none of its own), a backend's
 * weight, or a backend taken out of the upstream (as if removed from the
 * configuration and reloaded: it gets no new requests and no checks, and
 * the hash algorithms re-spread their keys over the rest).
 */
export type UpstreamChange =
  | { type: 'algo'; algo: AlgorithmName }
  | { type: 'weight'; backend: string; weight: number }
  | { type: 'remove'; backend: string }
  | { type: 'drain'; backend: string; on: boolean };

/**
 * Something that happened to one backend besides health checks: ejected or
 * readmitted by passive checks, its circuit breaker opening, half-opening or
 * closing, draining started, finished or called off. `atMs` on the run's clock.
 */
export type BackendEvent = {
  atMs: number;
  /** The backend concerned; empty for an event of the whole upstream (panic). */
  backend: string;
  type: PassiveChange['type'] | 'draining' | 'drained' | 'undrained' | 'slow-start' | 'slow-start-done' | 'panic' | 'panic-over';
  detail: string;
};

/** Algorithms that hash onto integer weights (rings, tables, ip_hash's walk): slow start does not apply to them, as in nginx. Derived from the registry's `hashesWeights`. */
export const HASHING_ALGORITHMS: ReadonlySet<AlgorithmName> = new Set(algorithmsWith((t) => t.hashesWeights));

type BalancerEvents = { transition: [TransitionEvent]; check: [backend: string, result: CheckResult]; backend: [BackendEvent] };

/** Slow start: the share of its weight a backend starts from, and how often the ramp is updated (ms). */
const SLOW_START_FLOOR = 0.05;
const SLOW_START_TICK_MS = 100;

/** A weight that may be fractional during slow start, as a short number: `0.15`, `3`. */
function formatWeight(w: number): string {
  return Number.isInteger(w) ? String(w) : w.toFixed(2);
}

/** Methods that may be sent again to another backend after a failed try (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** The balancer's default per-try timeouts (ms): connect 2 s; response 60 s, as nginx `proxy_read_timeout`. */
export const DEFAULT_CONNECTION: UpstreamConnectionConfig = { connectTimeoutMs: 2000, responseTimeoutMs: 60_000 };

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
 * HTTPS to it.
 */
export class Balancer extends EventEmitter<BalancerEvents> {
  /** Every configured backend in order, removed ones included (they keep their place in reports). */
  readonly backends: UpstreamBackend[];
  /** The pools requests are routed to, in configured order; one holding every backend without routes. */
  readonly pools: Pool[];
  /** Each backend's pool. */
  private readonly poolOf: ReadonlyMap<UpstreamBackend, Pool>;
  private readonly router: Router<Pool>;
  /** Whether routes are configured (messages and records then name pools). */
  private readonly routed: boolean;
  /** Handshake times, with `tls`. */
  private readonly handshakes: HandshakeMeter | undefined;
  /** Per backend, the timer of its next passive state change (ejection over, breaker half-open). */
  private readonly passiveTimers = new Map<UpstreamBackend, NodeJS.Timeout>();
  /** Backends whose slow start is under way, with when it began (run clock, ms). */
  private readonly rampingSince = new Map<UpstreamBackend, number>();
  private rampTimer: NodeJS.Timeout | undefined;
  /** Whether outlier ejection or a circuit breaker is configured. */
  private readonly passiveOn: boolean;
  private readonly hashKey: HashKeySource;
  private readonly retry: RetryPolicy;
  /** What the balancer itself saw: proxied responses, latency from request to last byte, per backend. */
  readonly stats = new TrafficStats();
  /** Retries made (nginx "next upstream"), and how many of them got a response. */
  retries = 0;
  retriesSucceeded = 0;
  /** Requests whose client went away before the response was complete (HAProxy's "CD" termination). */
  clientAborts = 0;
  /** Sticky sessions, when `--sticky` is on. */
  readonly sticky: StickySessions | undefined;
  private readonly rateLimiter: RateLimiter | undefined;
  /** Requests refused with 429 by the rate limit, never sent to a backend. */
  rateLimited = 0;
  /** Draining backends whose "drained" was logged: with sticky clients still coming, it is logged once per drain. */
  private readonly drainedLogged = new Set<UpstreamBackend>();
  private readonly recordTraffic: boolean;
  private algoName: AlgorithmName;
  private readonly server: http.Server | https.Server;
  private readonly checker: ActiveHealthChecker;
  private readonly startedAt = performance.now();
  private unregister: (() => void) | undefined;

  constructor(private readonly config: BalancerConfig) {
    super();
    const conn = config.connection ?? DEFAULT_CONNECTION;
    this.backends = config.backends.map(
      (b, i) =>
        new UpstreamBackend(i, b.name, new URL(b.url).origin, b.weight, this.stats.backend(b.name), config.health.rise, config.health.fall, conn, config.passive ?? {}),
    );
    config.backends.forEach((b, i) => (this.backends[i]!.backup = b.backup === true));
    this.routed = config.routing !== undefined;
    ({ pools: this.pools, poolOf: this.poolOf, router: this.router } = buildPools(config.routing, this.backends, config.algo));
    this.hashKey = config.hashKey ?? DEFAULT_HASH_KEY;
    this.retry = config.retry ?? DEFAULT_RETRY_POLICY;
    this.passiveOn = (config.passive?.outlier !== undefined && config.passive.outlier.mode !== 'off') || config.passive?.breaker !== undefined;
    this.algoName = config.algo;
    this.recordTraffic = config.recordTraffic ?? true;
    this.checker = new ActiveHealthChecker(config.health);
    this.sticky = config.sticky ? new StickySessions(config.sticky, this.pools, () => this.nowMs()) : undefined;
    this.rateLimiter = config.rateLimit ? new RateLimiter(config.rateLimit) : undefined;
    this.checker.on('result', (target, result) => {
      const backend = target as UpstreamBackend;
      // A check under way when its backend was removed: nothing to decide any more.
      if (backend.removed) return;
      const transition = backend.observeCheck(result, this.nowMs());
      this.emit('check', backend.name, result);
      if (!transition) return;
      this.emit('transition', { ...transition, backend: backend.name });
      if (transition.to === 'up') this.startSlowStart(backend);
      else this.endSlowStart(backend, false);
    });
    // The certificate is made in listen() (it is async) and set on the server then.
    this.server = config.tls ? https.createServer({}, (req, res) => this.handle(req, res)) : http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    if (config.tls) {
      this.handshakes = new HandshakeMeter();
      this.handshakes.attach(this.server as https.Server);
    }
  }

  /** The TLS handshakes so far (count, failed, ms), undefined without `tls`. */
  tlsStats(): TlsStats | undefined {
    return this.handshakes?.stats();
  }

  /** The algorithm of every pool that has none of its own (`--algo`). */
  get algo(): AlgorithmName {
    return this.algoName;
  }

  /** The run's clock in ms: the time base of transitions and stats. */
  nowMs(): number {
    return this.config.clock ? this.config.clock() : performance.now() - this.startedAt;
  }

  /**
   * Switches the algorithm for the next request on, in every pool that has
   * none of its own (as nginx directives inherit: a pool with its own
   * algorithm keeps it); their new pickers start fresh.
   */
  setAlgorithm(name: AlgorithmName): void {
    this.algoName = name;
    for (const pool of this.pools) if (pool.inherits) pool.setAlgorithm(name);
    // Hashing algorithms need whole weights: a ramp under way ends at full weight.
    if (hashesWeights(name)) {
      for (const b of [...this.rampingSince.keys()]) {
        if (!this.poolOf.get(b)?.inherits) continue;
        this.endSlowStart(b, false);
        this.emitBackend(b, 'slow-start-done', `cut short at full weight ${b.configuredWeight}: ${name} hashes whole weights`);
      }
    }
  }

  /**
   * Applies a change made while running (see {@link UpstreamChange}).
   * Requests in flight finish where they are.
   * @throws {UsageError} for an unknown backend, a weight outside 1..1000, or removing the last member.
   */
  apply(change: UpstreamChange): void {
    if (change.type === 'algo') {
      this.setAlgorithm(change.algo);
      return;
    }
    const backend = this.backend(change.backend);
    if (!backend || backend.removed) throw new UsageError(`Expected a backend of the upstream, got ${JSON.stringify(change.backend)}`);
    if (change.type === 'drain') {
      this.setDraining(backend, change.on);
      return;
    }
    if (change.type === 'weight') {
      if (!Number.isInteger(change.weight) || change.weight < 1 || change.weight > 1000) {
        throw new UsageError(`Expected a weight from 1 to 1000, got ${change.weight}`);
      }
      backend.configuredWeight = change.weight;
    } else {
      const pool = this.poolOf.get(backend);
      if (pool && pool.members.length + pool.backups.length === 1) {
        throw new UsageError(`Expected to keep at least one backend${this.routed ? ` in pool ${pool.name}` : ''}, ${backend.name} is the last`);
      }
      backend.removed = true;
      backend.index = -1;
      clearTimeout(this.passiveTimers.get(backend));
      this.passiveTimers.delete(backend);
      this.endSlowStart(backend, false);
      this.checker.unwatch(backend);
      void backend.pool.close().catch(() => undefined);
    }
    this.poolOf.get(backend)?.rebuild();
  }

  /** Starts or calls off draining `backend`; one that drains with nothing in flight is drained at once. */
  private setDraining(backend: UpstreamBackend, on: boolean): void {
    if (backend.draining === on) return;
    backend.draining = on;
    this.drainedLogged.delete(backend);
    if (!on) {
      this.emitBackend(backend, 'undrained', 'draining called off: taking requests again');
      return;
    }
    const sticky = this.sticky ? '; its sticky clients keep coming (HAProxy drain takes persistent traffic)' : '';
    this.emitBackend(backend, 'draining', `no new requests; ${backend.inFlight} in flight may finish${sticky}`);
    if (backend.inFlight === 0) this.drained(backend, 'nothing in flight: safe to stop');
  }

  /** Logs a draining backend's "drained" once per drain. */
  private drained(backend: UpstreamBackend, detail: string): void {
    if (this.drainedLogged.has(backend)) return;
    this.drainedLogged.add(backend);
    this.emitBackend(backend, 'drained', detail);
  }

  private emitBackend(backend: UpstreamBackend | undefined, type: BackendEvent['type'], detail: string): void {
    this.emit('backend', { atMs: this.nowMs(), backend: backend?.name ?? '', type, detail });
  }

  /** Starts ramping a backend that came back UP (HAProxy `slowstart`), unless off or the algorithm hashes. */
  private startSlowStart(backend: UpstreamBackend): void {
    const ms = this.config.slowStartMs ?? 0;
    if (ms <= 0 || hashesWeights(this.poolOf.get(backend)?.algo ?? this.algoName)) return;
    this.rampingSince.set(backend, this.nowMs());
    backend.slowStartFactor = SLOW_START_FLOOR;
    this.emitBackend(backend, 'slow-start', `weight ramps from ${formatWeight(backend.weight)} to ${backend.configuredWeight} over ${ms}ms`);
    this.rampTimer ??= setInterval(() => this.rampTick(), SLOW_START_TICK_MS);
    this.rampTimer.unref();
  }

  private rampTick(): void {
    const ms = this.config.slowStartMs ?? 0;
    const now = this.nowMs();
    for (const [b, since] of this.rampingSince) {
      const factor = Math.max(SLOW_START_FLOOR, (now - since) / ms);
      if (factor >= 1) this.endSlowStart(b, true);
      else b.slowStartFactor = factor;
    }
  }

  /** Ends a ramp: at full weight (`done`, logged) or because the backend went DOWN or the algorithm changed. */
  private endSlowStart(backend: UpstreamBackend, done: boolean): void {
    if (!this.rampingSince.delete(backend)) return;
    backend.slowStartFactor = 1;
    if (done) this.emitBackend(backend, 'slow-start-done', `full weight ${backend.configuredWeight}`);
    if (this.rampingSince.size === 0 && this.rampTimer) {
      clearInterval(this.rampTimer);
      this.rampTimer = undefined;
    }
  }

  /**
   * Whether `pool` is in panic now (Envoy, per cluster): fewer than
   * `panicThreshold`% of its primaries usable. Logs entering and leaving it.
   */
  private inPanic(pool: Pool): boolean {
    const threshold = this.config.panicThreshold ?? 0;
    if (threshold <= 0 || pool.members.length === 0) return false;
    const of = this.routed ? `pool ${pool.name}: ` : '';
    // Backups come before panic, as in Envoy: while one can serve, health counts.
    if (pool.backups.some((b) => b.usable)) {
      if (pool.panicking) {
        pool.panicking = false;
        this.emitBackend(undefined, 'panic-over', `${of}a backup can serve: health counts`);
      }
      return false;
    }
    const { usable, of: n } = pool.usablePrimaries();
    const panic = (usable / n) * 100 < threshold;
    if (panic !== pool.panicking) {
      pool.panicking = panic;
      this.emitBackend(
        undefined,
        panic ? 'panic' : 'panic-over',
        panic ? `${of}${usable} of ${n} primaries usable, under ${threshold}%: routing to all of them, health ignored` : `${of}${usable} of ${n} primaries usable again: health counts`,
      );
    }
    return panic;
  }

  /** Feeds a try's outcome to the backend's passive checks; logs and times what changed. */
  private observePassive(backend: UpstreamBackend, ok: boolean, probe: boolean): void {
    // Nothing passive configured (the default): no clock read, no work on the request path.
    if (!this.passiveOn) return;
    const now = this.nowMs();
    // The cap on ejections is counted only when a failure could eject (not on the hot path of successes).
    let mayEject = true;
    if (!ok) {
      // Counted within the backend's own group of its pool: a backup does not use up a primary's slot.
      const group = this.poolOf.get(backend)?.groupOf(backend) ?? [];
      let ejected = 0;
      for (const b of group) if (b.outlier.ejected) ejected++;
      mayEject = ejected === 0 || (ejected + 1) / Math.max(1, group.length) <= this.maxEjectionFraction();
    }
    const fromOutlier = backend.outlier.observe(ok, now, mayEject);
    const fromBreaker = backend.breaker?.observe(ok, now, probe);
    if (fromOutlier) this.emitBackend(backend, fromOutlier.type, fromOutlier.detail);
    if (fromBreaker) this.emitBackend(backend, fromBreaker.type, fromBreaker.detail);
    if (fromOutlier || fromBreaker) this.schedulePassive(backend);
  }

  private maxEjectionFraction(): number {
    const o = this.config.passive?.outlier;
    return o?.mode === 'envoy' ? o.maxEjectionPercent / 100 : 1;
  }

  /** Arms the timer for the backend's next passive change (ejection over, breaker half-open). */
  private schedulePassive(backend: UpstreamBackend): void {
    clearTimeout(this.passiveTimers.get(backend));
    this.passiveTimers.delete(backend);
    const next = Math.min(backend.outlier.nextChangeAtMs() ?? Infinity, backend.breaker?.nextChangeAtMs() ?? Infinity);
    if (!Number.isFinite(next)) return;
    const timer = setTimeout(() => {
      this.passiveTimers.delete(backend);
      const now = this.nowMs();
      for (const c of [backend.outlier.tick(now), backend.breaker?.tick(now)]) if (c) this.emitBackend(backend, c.type, c.detail);
      this.schedulePassive(backend);
    }, Math.max(0, next - this.nowMs()));
    timer.unref();
    this.passiveTimers.set(backend, timer);
  }
  /**
   * Each backend as the run record describes it: origin, weight, the share
   * the current algorithms should give it (within its pool, times the part
   * of the requests routed to that pool), its pool when routes are
   * configured, and its health (state, time DOWN and transitions, in ms of
   * the run's clock, rounded).
   */
  backendInfos(): BackendInfo[] {
    const now = this.nowMs();
    const names = this.backends.map((b) => b.name);
    // Backups and removed backends expect nothing while a primary can serve.
    const shares = pooledExpectedShares(
      names,
      this.pools.map((p) => ({ backends: p.members.map((b) => b.name), algo: p.algo })),
      (name) => this.backend(name)!.configuredWeight,
      () => true,
      this.pools.map((p) => p.routed),
    );
    return this.backends.map((b, i) => ({
      name: b.name,
      url: b.origin,
      weight: b.configuredWeight,
      expectedShare: shares[i]!,
      ...(this.routed && this.poolOf.has(b) ? { pool: this.poolOf.get(b)!.name } : {}),
      ...(b.removed ? { removed: true } : {}),
      failedTries: b.failures,
      tries: { ...b.tries },
      checks: { ...b.checkCounts },
      health: {
        state: b.health.state,
        downMs: Math.round(b.downMs(now)),
        transitions: b.transitions.map((t) => ({ ...t, atMs: Math.round(t.atMs) })),
      },
    }));
  }

  /** The backend called `name`, or undefined. */
  backend(name: string): UpstreamBackend | undefined {
    return this.backends.find((b) => b.name === name);
  }

  /**
   * Starts listening and health checking. Resolves to the bound address.
   * @throws {UsageError} when the port is in use; {@link RuntimeError} on other listen errors.
   */
  async listen(): Promise<{ host: string; port: number; url: string }> {
    const { host, port } = this.config;
    if (this.config.tls) (this.server as https.Server).setSecureContext(await selfSignedCertificate(host));
    const bound = await listenOn(this.server, host, port);
    this.unregister = registerCleanup('balancer', () => this.close());
    for (const b of this.backends) this.checker.watch(b);
    return { host, port: bound, url: `${this.config.tls ? 'https' : 'http'}://${host}:${bound}/` };
  }

  /** Stops health checks, closes the listener and every upstream connection. */
  async close(): Promise<void> {
    this.unregister?.();
    this.unregister = undefined;
    await this.checker.stop();
    for (const t of this.passiveTimers.values()) clearTimeout(t);
    this.passiveTimers.clear();
    clearInterval(this.rampTimer);
    this.rampTimer = undefined;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await Promise.all(this.backends.map((b) => b.pool.destroy().catch(() => undefined)));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const started = performance.now();
    if (!req.url?.startsWith('/')) {
      // `OPTIONS *` or an absolute-form target: the client's mistake, not a backend's.
      this.reply(res, 400, 'lblab: the request target must be a path starting with /\n', started);
      return;
    }
    const remote = req.socket.remoteAddress ?? '';
    const clientIp = remote.startsWith('::ffff:') ? remote.slice(7) : remote;
    const retryAfter = this.rateLimiter?.take(clientIp, started) ?? 0;
    if (retryAfter > 0) {
      this.rateLimited++;
      req.resume();
      this.reply(res, 429, `lblab: rate limit of ${clientIp} exceeded; retry in ${retryAfter}s\n`, started, { 'retry-after': String(retryAfter) });
      return;
    }
    const method = req.method ?? 'GET';
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    const retryable = (IDEMPOTENT.has(method) || this.retry.nonIdempotent) && !hasBody && this.retry.retries > 0;
    const pool = this.router.route(req.url, req.headers);
    if (!pool) {
      this.reply(res, 404, this.noRouteMessage(req), started);
      return;
    }
    pool.routed++;
    const headers = upstreamRequestHeaders(req.headers, clientIp, this.config.tls ? 'https' : 'http');
    if (!hasBody) req.resume();
    const p: ProxiedRequest = { req, res, pool, method, headers, hasBody, retryable, started, clientGone: false, current: undefined };
    if (this.sticky) p.sticky = this.sticky.pin(headers, clientIp, pool.name);
    // A client that goes away cancels its upstream try, as nginx does unless
    // proxy_ignore_client_abort is on.
    res.once('close', () => {
      if (res.writableFinished) return;
      p.clientGone = true;
      p.current?.cancel();
    });
    // The key is read only for an algorithm that hashes one (a cookie parse is not free).
    const hashKey = usesHashKey(pool.algo) ? requestHashKey(this.hashKey, req, clientIp) : undefined;
    this.tryBackend(p, { clientIp, hashKey, exclude: undefined }, 1, undefined);
  }

  private tryBackend(p: ProxiedRequest, ctx: PickContext, attempt: number, lastFailure: { err: unknown; backend: UpstreamBackend } | undefined): void {
    if (p.clientGone) {
      this.clientAborts++;
      return;
    }
    if (attempt === 1 && this.inPanic(p.pool)) ctx = { ...ctx, panic: true };
    // A pin is followed only within the request's pool: a route may send the same client elsewhere.
    const pinned = attempt === 1 ? p.sticky?.target : undefined;
    const backend = pinned && p.pool.holds(pinned) ? pinned : p.pool.pick(ctx);
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
    const picker = p.pool.pickerOf(backend);
    if (attempt > 1) this.retries++;
    backend.selected++;
    backend.inFlight++;
    const probe = backend.breaker?.onSend() ?? false;
    const startedAt = performance.now();
    picker.onRequestStart?.(backend, startedAt);
    // The try ends on the picker that saw it start, even after an algorithm switch.
    const t = new ProxyTry(
      p,
      backend,
      attempt,
      startedAt,
      (done, err) => this.tryEnded(done, picker, ctx, err),
      (status) => p.retryable && attempt <= this.retry.retries && retriesOnStatus(this.retry, status) && p.pool.anotherCandidate(backend, ctx),
    );
    t.probe = probe;
    p.current = t;
    backend.pool.dispatch({ path: p.req.url ?? '/', method: p.method as Dispatcher.HttpMethod, headers: p.headers, body: p.hasBody ? p.req : null }, t);
  }

  private tryEnded(t: ProxyTry, picker: Picker, ctx: PickContext, err: Error | undefined): void {
    const { request: p, backend } = t;
    p.current = undefined;
    backend.inFlight--;
    const now = performance.now();
    const latencyUs = (now - p.started) * 1000;
    picker.onRequestEnd?.(backend, { startedAtMs: t.startedAt, latencyMs: now - t.startedAt, ok: err === undefined });
    if (backend.draining && backend.inFlight === 0) this.drained(backend, 'the last request in flight finished: safe to stop');
    const clientLeft = err instanceof ClientGoneError || p.clientGone;
    if (clientLeft) {
      if (t.probe) backend.breaker?.onAbandoned();
    }
    // Passive checks judge the backend: a transport failure or a 5xx is its failure; a client that left is nobody's.
    else this.observePassive(backend, err === undefined ? t.status < 500 : false, t.probe);
    if (err === undefined) {
      if (t.attempt > 1) this.retriesSucceeded++;
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
    if (!(err instanceof RetryableStatusError)) backend.failures++;
    if (p.res.headersSent) {
      // Failed mid-body: the status is out, so all we can do is cut the
      // response; it counts as a transport error, not a success.
      p.res.destroy();
      backend.tries.lost++;
      this.record(undefined, latencyUs, 0, classifyError(err));
      return;
    }
    const condition = err instanceof RetryableStatusError ? (String(err.status) as RetryCondition) : classifyError(err) === 'timeout' ? 'timeout' : 'error';
    if (p.retryable && t.attempt <= this.retry.retries && this.retry.on.has(condition)) {
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
  private replyFailure(res: http.ServerResponse, err: unknown, started: number, backend: string): void {
    if (err instanceof RetryableStatusError) {
      this.reply(res, err.status, `lblab: backend ${backend} answered ${err.status} and no other backend was left to try\n`, started);
      return;
    }
    const kind = classifyError(err);
    this.reply(res, kind === 'timeout' ? 504 : 502, `lblab: backend ${backend} failed (${kind}): ${(err as Error).message}\n`, started);
  }

  /** Records a response when traffic recording is on; the clock is read only then (`start` turns it off to keep the request path light). */
  private record(backend: BackendTraffic | undefined, latencyUs: number, status: number, kind: ErrorKind | undefined): void {
    if (this.recordTraffic) this.stats.record(backend, latencyUs, status, kind, this.nowMs());
  }

  /** The body of the 404 for a request no route matches when there is no default pool. */
  private noRouteMessage(req: http.IncomingMessage): string {
    const routes = (this.config.routing?.routes ?? []).map((r) => `${describeMatch(r.match)} → ${r.pool}`).join(', ');
    return `lblab: no route matches ${req.method ?? 'GET'} ${req.url} (Host ${req.headers.host ?? '-'}) and there is no default pool; routes, first match wins: ${routes}\n`;
  }

  private reply(res: http.ServerResponse, status: number, body: string, started: number, extra?: Record<string, string>): void {
    this.record(undefined, (performance.now() - started) * 1000, status, undefined);
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...extra });
    res.end(body);
  }
}


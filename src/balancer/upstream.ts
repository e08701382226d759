import { EventEmitter } from 'node:events';
import { UsageError } from '../errors.js';
import type { BackendInfo } from '../metrics/run-record.js';
import { TrafficStats, type BackendTraffic } from '../metrics/traffic-stats.js';
import { hashesWeights, type AlgorithmName } from './algorithms/index.js';
import { ActiveHealthChecker, type CheckResult, type HealthCheckConfig } from './health/active-health-check.js';
import { PassiveHealth } from './passive/passive-health.js';
import type { BreakerConfig, OutlierConfig, PassiveChange } from './passive/passive-checks.js';
import { buildPools, type Pool } from './pool.js';
import type { OnMarkedDown } from './on-marked-down.js';
import type { RetryPolicy } from './retry-policy.js';
import { pooledExpectedShares, type Router, type RoutingConfig } from './routes.js';
import { SlowStart } from './slow-start.js';
import type { ConnectionState } from './tcp/tcp-upstream-backend.js';
import type { TlsStats } from './tls.js';
import type { ClientActivity, Http2Stats } from './front-end.js';
import type { HealthTransition, UpstreamBackend, UpstreamConnectionConfig, UpstreamConnections, UpstreamConnectionsRecord } from './upstream-backend.js';

/** A backend as configured: a name (b1…), an origin URL, a weight ≥ 1, and whether it is a backup. */
export type UpstreamConfig = { name: string; url: string; weight: number; backup?: boolean };

/** What both front ends (HTTP and TCP) take: the upstream, its health, where to listen and how to reach backends. Times in ms. */
export type SharedBalancerConfig = {
  backends: readonly UpstreamConfig[];
  algo: AlgorithmName;
  health: HealthCheckConfig;
  /** Address to listen on; lblab binds loopback by default. */
  host: string;
  /** 0 = any free port. */
  port: number;
  /** Per-try timeouts; default {@link DEFAULT_CONNECTION}. */
  connection?: UpstreamConnectionConfig;
  /** When to try another backend; default `DEFAULT_RETRY_POLICY`. */
  retry?: RetryPolicy;
  /** Passive health: outlier ejection and circuit breaker; both off by default. */
  passive?: { outlier?: OutlierConfig; breaker?: BreakerConfig };
  /** Slow start (HAProxy `slowstart`), ms: a backend back UP ramps its weight up linearly over this long; 0 = off. */
  slowStartMs?: number;
  /** Panic threshold (Envoy `healthy_panic_threshold`), percent: below this share of usable primaries, health is ignored; 0 = off. */
  panicThreshold?: number;
  /** The run's clock in ms (time base of transitions and stats); default: ms since the balancer was created. */
  clock?: () => number;
  /** L7 routing to pools (see {@link RoutingConfig}); undefined = one pool of every backend. */
  routing?: RoutingConfig;
  /**
   * What happens to a backend's requests (connections, at L4) when its
   * health checks mark it DOWN (HAProxy `on-marked-down`): undefined, they
   * are left to finish or time out; `shutdown-sessions`, they are cut at
   * once (see {@link Upstream.shutdownSessions}).
   */
  onMarkedDown?: OnMarkedDown;
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

/** The events of either front end: health transitions, every check result, backend events. */
export type UpstreamEvents = { transition: [TransitionEvent]; check: [backend: string, result: CheckResult]; backend: [BackendEvent] };

/** The balancer's default per-try timeouts (ms): connect 2 s; response 60 s, as nginx `proxy_read_timeout`. */
export const DEFAULT_CONNECTION: UpstreamConnectionConfig = { connectTimeoutMs: 2000, responseTimeoutMs: 60_000 };

/**
 * Counters of the balancer's session layer, sent with each state report:
 * entries of the source-IP stick table (0 in cookie mode), `Set-Cookie`s
 * sent, requests refused by the rate limit. All 0 at L4.
 */
export type LayerCounters = { stickEntries: number; cookiesSet: number; rateLimited: number };

/** Builds one backend of the front end's kind from its configuration, place and traffic counters. */
export type BackendFactory<B extends UpstreamBackend> = (config: UpstreamConfig, index: number, traffic: BackendTraffic) => B;

/**
 * The upstream core that the HTTP {@link Balancer} and the L4 `TcpBalancer`
 * share, as undici's `PoolBase` holds the clients its `BalancedPool` picks
 * from: membership (pools, backups, removal), weights, draining, active
 * health checks and their transitions, passive checks, slow start, panic,
 * the run record's view of the backends, and the events of all of it. A
 * front end adds only how it takes a request or a connection, picks with
 * {@link Pool.pick} and dispatches it; it calls {@link watchAll} once
 * listening and {@link stopUpstream} when closing.
 */
export abstract class Upstream<B extends UpstreamBackend> extends EventEmitter<UpstreamEvents> {
  /** Every configured backend in order, removed ones included (they keep their place in reports). */
  readonly backends: B[];
  /** The pools requests are routed to, in configured order; one holding every backend without routes. */
  readonly pools: Pool<B>[];
  /** What the balancer itself saw: proxied responses, latency from request to last byte, per backend (empty at L4). */
  readonly stats = new TrafficStats();
  /** Retries made (nginx "next upstream"), and how many of them got a response (or, at L4, connected). */
  retries = 0;
  retriesSucceeded = 0;
  /** Requests (connections, at L4) whose client went away before they were answered (HAProxy's "CD" termination). */
  clientAborts = 0;
  /** Each backend's pool. */
  protected readonly poolOf: ReadonlyMap<B, Pool<B>>;
  protected readonly router: Router<Pool<B>>;
  /** Whether routes are configured (messages and records then name pools). */
  protected readonly routed: boolean;
  protected readonly checker: ActiveHealthChecker;
  protected readonly passive: PassiveHealth<B>;
  private readonly slowStart: SlowStart<B>;
  /** Draining backends whose "drained" was logged: with sticky clients still coming, it is logged once per drain. */
  private readonly drainedLogged = new Set<B>();
  private readonly clock: (() => number) | undefined;
  private readonly panicThreshold: number;
  /** HAProxy `on-marked-down`: what a DOWN does to what the backend holds. */
  protected readonly onMarkedDown: OnMarkedDown | undefined;
  private algoName: AlgorithmName;
  private readonly startedAt = performance.now();

  /** @throws {UsageError} for a pool naming an unknown backend or a route naming an unknown pool. */
  constructor(config: SharedBalancerConfig, createBackend: BackendFactory<B>) {
    super();
    this.clock = config.clock;
    this.panicThreshold = config.panicThreshold ?? 0;
    this.onMarkedDown = config.onMarkedDown;
    this.backends = config.backends.map((b, i) => createBackend(b, i, this.stats.backend(b.name)));
    config.backends.forEach((b, i) => (this.backends[i]!.backup = b.backup === true));
    this.routed = config.routing !== undefined;
    ({ pools: this.pools, poolOf: this.poolOf, router: this.router } = buildPools(config.routing, this.backends, config.algo));
    this.algoName = config.algo;
    // A passive change (ejected, readmitted, breaker open or closed) may start or end a panic: stamped then, not at the next request.
    const notice = (backend: UpstreamBackend, type: BackendEvent['type'], detail: string): void => {
      this.emitBackend(backend, type, detail);
      this.updatePanic();
    };
    this.passive = new PassiveHealth<B>(config.passive, () => this.nowMs(), (b) => this.poolOf.get(b)?.groupOf(b) ?? [], notice);
    this.slowStart = new SlowStart<B>(config.slowStartMs ?? 0, () => this.nowMs(), notice);
    this.checker = new ActiveHealthChecker(config.health);
    this.checker.on('result', (target, result) => {
      const backend = target as B;
      // A check under way when its backend was removed: nothing to decide any more.
      if (backend.removed) return;
      const transition = backend.observeCheck(result, this.nowMs());
      this.emit('check', backend.name, result);
      if (!transition) return;
      if (transition.to === 'down' && this.onMarkedDown === 'shutdown-sessions') {
        // Cut before the DOWN is told, so its reason (kept in the record too) can say what it cut.
        const cut = this.shutdownSessions(backend);
        if (cut > 0) transition.reason += `; on-marked-down shutdown-sessions cut ${cut} ${this.sessionWord(cut)}`;
      }
      this.emit('transition', { ...transition, backend: backend.name });
      if (transition.to === 'up') this.startSlowStart(backend);
      else this.slowStart.end(backend, false);
      this.updatePanic();
    });
  }

  /** The algorithm of every pool that has none of its own (`--algo`). */
  get algo(): AlgorithmName {
    return this.algoName;
  }

  /** The run's clock in ms: the time base of transitions and stats. */
  nowMs(): number {
    return this.clock ? this.clock() : performance.now() - this.startedAt;
  }

  /** The backend called `name`, or undefined. */
  backend(name: string): B | undefined {
    return this.backends.find((b) => b.name === name);
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
      for (const b of this.slowStart.ramping()) {
        if (!this.poolOf.get(b)?.inherits) continue;
        this.slowStart.end(b, false);
        this.emitBackend(b, 'slow-start-done', `cut short at full weight ${b.configuredWeight}: ${name} hashes whole weights`);
      }
    }
  }

  /**
   * Applies a change made while running (see {@link UpstreamChange}).
   * Requests in flight (open connections, at L4) finish where they are.
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
      this.passive.forget(backend);
      this.slowStart.end(backend, false);
      this.checker.unwatch(backend);
      void backend.dispatcher.close().catch(() => undefined);
    }
    this.poolOf.get(backend)?.rebuild();
    this.updatePanic();
  }

  /**
   * Each backend as the run record describes it: origin, weight, the share
   * the current algorithms should give it (within its pool, times the part
   * of the requests routed to that pool), its pool when routes are
   * configured, its connection counts at L4, its WebSocket upgrades at L7
   * (when there were any), and its health (state, time
   * DOWN and transitions, in ms of the run's clock, rounded).
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
    return this.backends.map((b, i) => {
      const c = this.connectionState(b, now);
      const cx = this.upstreamConnectionsRecord(b);
      return {
        name: b.name,
        url: b.origin,
        weight: b.configuredWeight,
        expectedShare: shares[i]!,
        ...(this.routed && this.poolOf.has(b) ? { pool: this.poolOf.get(b)!.name } : {}),
        ...(b.removed ? { removed: true } : {}),
        failedTries: b.failures,
        tries: { ...b.tries },
        checks: { ...b.checkCounts },
        ...(c ? { connections: { total: c.total, active: c.active, bytesIn: c.bytesIn, bytesOut: c.bytesOut, connectErrors: c.connectErrors } } : {}),
        ...(cx ? { upstreamConnections: cx } : {}),
        ...(b.upgrades.switched + b.upgrades.refused + b.upgrades.failed > 0 ? { webSockets: { ...b.upgrades } } : {}),
        health: {
          state: b.health.state,
          downMs: Math.round(b.downMs(now)),
          transitions: b.transitions.map((t) => ({ ...t, atMs: Math.round(t.atMs) })),
        },
      };
    });
  }

  /** The pool `backend` belongs to and that pool's algorithm now, when routes are configured; undefined otherwise. */
  routedPoolOf(backend: B): { name: string; algo: AlgorithmName } | undefined {
    const pool = this.routed ? this.poolOf.get(backend) : undefined;
    return pool && { name: pool.name, algo: pool.algo };
  }

  /** What the front end relayed to `backend` (L4 only: connections and bytes); undefined at L7. */
  connectionState(_backend: B, _nowMs: number): ConnectionState | undefined {
    return undefined;
  }

  /** The keep-alive connections the front end holds to `backend` now (L7 only); undefined at L4, where each client connection is relayed on its own. */
  upstreamConnectionsOf(_backend: B): UpstreamConnections | undefined {
    return undefined;
  }

  /** {@link upstreamConnectionsOf} for the run record, with its averages; undefined at L4. */
  protected upstreamConnectionsRecord(_backend: B): UpstreamConnectionsRecord | undefined {
    return undefined;
  }

  /** The session layer's counters (sticky sessions, rate limit); all 0 at L4. */
  layerCounters(): LayerCounters {
    return { stickEntries: 0, cookiesSet: 0, rateLimited: 0 };
  }

  /** What the front end adds to its end-of-run report: requests refused by a configured rate limit, TLS handshakes, HTTP/2 connections and streams; nothing at L4. */
  layerReport(): { rateLimited?: number; tls?: TlsStats; http2?: Http2Stats } {
    return {};
  }

  /** Starts listening; resolves to the bound address. */
  abstract listen(): Promise<{ host: string; port: number; url: string }>;

  /** Stops health checks and the listener, and closes every connection. */
  abstract close(): Promise<void>;

  /**
   * Cuts every request (connection, at L4) `backend` holds now, because its
   * health checks have just marked it DOWN (HAProxy `on-marked-down
   * shutdown-sessions`); returns how many were cut. Each front end says what
   * a cut is and how it counts.
   */
  protected abstract shutdownSessions(backend: B): number;

  /** What {@link shutdownSessions} cuts, in words for `n` of them: requests at L7, connections at L4. */
  protected abstract sessionWord(n: number): string;

  /** The words of a drain event at this layer: requests in flight at L7, open connections at L4. `drained` is drained at once, nothing in flight. */
  protected abstract drainDetail(event: 'draining' | 'drained' | 'undrained', backend: B): string;

  /** Whether health checks have started (they start once). */
  private watching = false;

  /** Starts health checking every backend; the front end calls it once listening. Does nothing the second time. */
  protected watchAll(): void {
    if (this.watching) return;
    this.watching = true;
    for (const b of this.backends) this.checker.watch(b);
  }

  /**
   * Starts health checking before listening: the passive balancer of a pair
   * checks the backends all along, as the standby HAProxy of a keepalived
   * pair does, so it knows who is DOWN when it takes over. Listening later
   * does not start them again.
   */
  startHealthChecks(): void {
    this.watchAll();
  }

  /** Stops health checks and every timer of the upstream (passive checks, slow start). */
  protected async stopUpstream(): Promise<void> {
    await this.checker.stop();
    this.passive.stop();
    this.slowStart.stop();
  }

  /**
   * Brings every pool's panic state up to date, logging entering and
   * leaving it at this moment. Called wherever a backend's usability
   * changes (a health transition, a passive change, a drain, a removal), so
   * "panic" and "panic over" are stamped when they happened, not when the
   * next request happens to look. Off (the default), it returns at once.
   */
  protected updatePanic(): void {
    if (this.panicThreshold <= 0) return;
    for (const pool of this.pools) this.inPanic(pool);
  }

  /**
   * Whether `pool` is in panic now (Envoy, per cluster): fewer than
   * `panicThreshold`% of its primaries usable. Logs entering and leaving it.
   * Off (the default), it returns at once. Each request asks too, for a
   * change no event announces (a circuit breaker's open state lapsing).
   */
  protected inPanic(pool: Pool<B>): boolean {
    const threshold = this.panicThreshold;
    if (threshold <= 0 || pool.members.length === 0) return false;
    const change = pool.updatePanic(threshold, this.routed);
    if (change) this.emitBackend(undefined, change.type, change.detail);
    return pool.panicking;
  }

  /** Logs a draining backend's "drained" once per drain. */
  protected drained(backend: B, detail: string): void {
    if (this.drainedLogged.has(backend)) return;
    this.drainedLogged.add(backend);
    this.emitBackend(backend, 'drained', detail);
  }

  /** Emits a `backend` event stamped with the run's clock; `undefined` for an event of the whole upstream (panic). */
  protected emitBackend(backend: UpstreamBackend | undefined, type: BackendEvent['type'], detail: string): void {
    this.emit('backend', { atMs: this.nowMs(), backend: backend?.name ?? '', type, detail });
  }

  /** Starts or calls off draining `backend`; one that drains with nothing in flight is drained at once. */
  private setDraining(backend: B, on: boolean): void {
    if (backend.draining === on) return;
    backend.draining = on;
    this.drainedLogged.delete(backend);
    if (!on) {
      this.emitBackend(backend, 'undrained', this.drainDetail('undrained', backend));
      this.updatePanic();
      return;
    }
    this.emitBackend(backend, 'draining', this.drainDetail('draining', backend));
    if (backend.inFlight === 0) this.drained(backend, this.drainDetail('drained', backend));
    this.updatePanic();
  }

  /** Starts ramping a backend that came back UP (HAProxy `slowstart`), unless off or its pool's algorithm hashes whole weights. */
  private startSlowStart(backend: B): void {
    if (!this.slowStart.on || hashesWeights(this.poolOf.get(backend)?.algo ?? this.algoName)) return;
    this.slowStart.start(backend);
  }
}

/**
 * What a caller may ask of either front end without knowing which it is
 * (the balancer thread runs one or the other): the core's public surface,
 * over backends of the base kind.
 */
export interface UpstreamFrontEnd
  extends Pick<
    Upstream<UpstreamBackend>,
    | 'backends'
    | 'stats'
    | 'retries'
    | 'retriesSucceeded'
    | 'clientAborts'
    | 'algo'
    | 'nowMs'
    | 'apply'
    | 'backendInfos'
    | 'connectionState'
    | 'routedPoolOf'
    | 'layerCounters'
    | 'layerReport'
    | 'listen'
    | 'startHealthChecks'
    | 'close'
  > {
  on<K extends keyof UpstreamEvents>(event: K, listener: (...args: UpstreamEvents[K]) => void): unknown;
  /** Its clients so far (what a balancer pair's view shows per balancer). */
  clientActivity(): ClientActivity;
}

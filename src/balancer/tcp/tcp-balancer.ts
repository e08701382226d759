import { EventEmitter } from 'node:events';
import net from 'node:net';
import { listenOn } from '../listen.js';
import { registerCleanup } from '../../cleanup.js';
import { RuntimeError, UsageError } from '../../errors.js';
import type { BackendInfo } from '../../metrics/run-record.js';
import { TrafficStats } from '../../metrics/traffic-stats.js';
import { createPicker, expectedShares, type AlgorithmName } from '../algorithms/index.js';
import type { PickContext, Picker } from '../algorithms/picker.js';
import { DEFAULT_CONNECTION, type BackendEvent, type BalancerConfig, type TransitionEvent, type UpstreamChange } from '../balancer.js';
import { ActiveHealthChecker, type CheckResult } from '../health/active-health-check.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../retry-policy.js';
import { isTcpAlgorithm, TCP_ALGORITHMS } from './tcp-mode.js';
import { TcpUpstreamBackend, type ConnectionState } from './tcp-upstream-backend.js';

/**
 * What the L4 balancer takes of a {@link BalancerConfig}: the backends, an
 * algorithm of {@link TCP_ALGORITHMS}, health checks, where to listen, the
 * connect timeout (`connection.connectTimeoutMs`; the response timeout has
 * no meaning without HTTP) and the retry bound (`retry.retries`, on
 * `error` and `timeout` only). Times in ms.
 */
export type TcpBalancerConfig = Pick<BalancerConfig, 'backends' | 'algo' | 'health' | 'host' | 'port' | 'connection' | 'retry' | 'clock'>;

type TcpBalancerEvents = { transition: [TransitionEvent]; check: [backend: string, result: CheckResult]; backend: [BackendEvent] };

/** One client connection while its upstream is being chosen and opened. */
type ClientConnection = { socket: net.Socket; clientIp: string; gone: boolean };

/** A relayed connection idle both ways this long is closed (ms): nginx stream `proxy_timeout` 10m, HAProxy `timeout client`/`server`. */
export const RELAY_IDLE_TIMEOUT_MS = 10 * 60_000;

/** A connect that did not succeed: refused or reset (`error`) or not up within the connect timeout (`timeout`). */
class ConnectFailure extends Error {
  constructor(
    readonly condition: 'error' | 'timeout',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The layer-4 balancer (`--mode tcp`): a `net` server that gives each
 * incoming TCP connection to the backend the algorithm picks and relays
 * bytes both ways without reading them, as HAProxy `mode tcp` or nginx's
 * `stream` proxy. Half-close is passed on (a client's FIN ends the upstream's
 * write side, and the other way round); a socket that fails or is reset takes
 * its peer down with it; `pipe` carries backpressure. A connect that is
 * refused, reset or times out is tried on another backend, at most
 * `retry.retries` more times (nginx stream `proxy_next_upstream_tries`);
 * when none is left the client connection is closed. Health by active checks
 * (a TCP connect by default in this mode). It emits the same events as the
 * HTTP {@link Balancer} so the balancer thread can run either.
 */
export class TcpBalancer extends EventEmitter<TcpBalancerEvents> {
  /** Every configured backend in order, removed ones included. */
  readonly backends: TcpUpstreamBackend[];
  /** Nothing is measured per request at L4: empty, kept so `balance` builds its record the same way. */
  readonly stats = new TrafficStats();
  /** Connects tried again on another backend, and how many of those then connected. */
  retries = 0;
  retriesSucceeded = 0;
  /** Client connections that went away before their upstream was connected. */
  clientAborts = 0;
  private members: TcpUpstreamBackend[] = [];
  private backups: TcpUpstreamBackend[] = [];
  private picker: Picker;
  private backupPicker: Picker;
  private algoName: AlgorithmName;
  private readonly retry: RetryPolicy;
  private readonly connectTimeoutMs: number;
  private readonly server: net.Server;
  private readonly checker: ActiveHealthChecker;
  private readonly clients = new Set<net.Socket>();
  private readonly startedAt = performance.now();
  private unregister: (() => void) | undefined;

  /** @throws {UsageError} for an algorithm that needs HTTP (see {@link TCP_ALGORITHMS}). */
  constructor(private readonly config: TcpBalancerConfig) {
    super();
    if (!isTcpAlgorithm(config.algo)) throw new UsageError(`Expected \`--algo\` with \`--mode tcp\` to be one of ${TCP_ALGORITHMS.join(', ')}, got ${config.algo}`);
    const conn = config.connection ?? DEFAULT_CONNECTION;
    this.connectTimeoutMs = conn.connectTimeoutMs;
    this.retry = config.retry ?? DEFAULT_RETRY_POLICY;
    this.backends = config.backends.map((b, i) => {
      const backend = new TcpUpstreamBackend(i, b.name, new URL(b.url).origin, b.weight, this.stats.backend(b.name), config.health.rise, config.health.fall, conn);
      backend.backup = b.backup === true;
      return backend;
    });
    this.rebuildMembers();
    this.algoName = config.algo;
    this.picker = createPicker(config.algo);
    this.backupPicker = createPicker(config.algo);
    this.checker = new ActiveHealthChecker(config.health);
    this.checker.on('result', (target, result) => {
      const backend = target as TcpUpstreamBackend;
      if (backend.removed) return;
      const transition = backend.observeCheck(result, this.nowMs());
      this.emit('check', backend.name, result);
      if (transition) this.emit('transition', { ...transition, backend: backend.name });
    });
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => this.handle(socket));
  }

  /** The algorithm in use. */
  get algo(): AlgorithmName {
    return this.algoName;
  }

  /** The run's clock in ms. */
  nowMs(): number {
    return this.config.clock ? this.config.clock() : performance.now() - this.startedAt;
  }

  /**
   * Applies a change made while running: algorithm (one of
   * {@link TCP_ALGORITHMS}), weight, removal or drain. Open connections stay
   * where they are; only new ones see the change.
   * @throws {UsageError} for an unknown backend, a weight outside 1..1000, an HTTP-only algorithm, or removing the last member.
   */
  apply(change: UpstreamChange): void {
    if (change.type === 'algo') {
      if (!isTcpAlgorithm(change.algo)) throw new UsageError(`Expected an algorithm of ${TCP_ALGORITHMS.join(', ')} in tcp mode, got ${change.algo}`);
      this.algoName = change.algo;
      this.picker = createPicker(change.algo);
      this.backupPicker = createPicker(change.algo);
      return;
    }
    const backend = this.backends.find((b) => b.name === change.backend);
    if (!backend || backend.removed) throw new UsageError(`Expected a backend of the upstream, got ${JSON.stringify(change.backend)}`);
    if (change.type === 'drain') {
      if (backend.draining === change.on) return;
      backend.draining = change.on;
      if (!change.on) this.emitBackend(backend, 'undrained', 'draining called off: taking connections again');
      else {
        this.emitBackend(backend, 'draining', `no new connections; ${backend.inFlight} open may finish (keep-alive ones stay until the client closes them)`);
        if (backend.inFlight === 0) this.emitBackend(backend, 'drained', 'no connection open: safe to stop');
      }
      return;
    }
    if (change.type === 'weight') {
      if (!Number.isInteger(change.weight) || change.weight < 1 || change.weight > 1000) throw new UsageError(`Expected a weight from 1 to 1000, got ${change.weight}`);
      backend.configuredWeight = change.weight;
    } else {
      if (this.members.length + this.backups.length === 1) throw new UsageError(`Expected to keep at least one backend, ${backend.name} is the last`);
      backend.removed = true;
      backend.index = -1;
      this.checker.unwatch(backend);
    }
    this.rebuildMembers();
  }

  /** Each backend as the run record describes it, with its connection counts. */
  backendInfos(): BackendInfo[] {
    const now = this.nowMs();
    const shares = expectedShares(this.algoName, this.members.map((b) => b.configuredWeight));
    return this.backends.map((b) => {
      const c = b.connectionState(now);
      return {
        name: b.name,
        url: b.origin,
        weight: b.configuredWeight,
        expectedShare: b.removed || b.backup ? 0 : shares[b.index]!,
        ...(b.removed ? { removed: true } : {}),
        failedTries: b.failures,
        tries: { ...b.tries },
        checks: { ...b.checkCounts },
        connections: { total: c.total, active: c.active, bytesIn: c.bytesIn, bytesOut: c.bytesOut, connectErrors: c.connectErrors },
        health: { state: b.health.state, downMs: Math.round(b.downMs(now)), transitions: b.transitions.map((t) => ({ ...t, atMs: Math.round(t.atMs) })) },
      };
    });
  }

  /** Every backend's connection counters now, in configured order. */
  connectionStates(): ConnectionState[] {
    const now = this.nowMs();
    return this.backends.map((b) => b.connectionState(now));
  }

  /**
   * Starts listening and health checking. Resolves to the bound address;
   * `url` is the HTTP URL clients of the backends behind it would use.
   * @throws {UsageError} when the port is in use; {@link RuntimeError} on other listen errors.
   */
  async listen(): Promise<{ host: string; port: number; url: string }> {
    const { host, port } = this.config;
    const bound = await listenOn(this.server, host, port);
    this.unregister = registerCleanup('tcp balancer', () => this.close());
    for (const b of this.backends) this.checker.watch(b);
    return { host, port: bound, url: `http://${host}:${bound}/` };
  }

  /** Stops health checks and the listener, and closes every client and upstream connection. */
  async close(): Promise<void> {
    this.unregister?.();
    this.unregister = undefined;
    await this.checker.stop();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.clients) s.destroy();
    for (const b of this.backends) for (const s of b.open) s.destroy();
    await closed;
    await Promise.all(this.backends.map((b) => b.pool.destroy().catch(() => undefined)));
  }

  private rebuildMembers(): void {
    this.members = this.backends.filter((b) => !b.removed && !b.backup);
    this.backups = this.backends.filter((b) => !b.removed && b.backup);
    this.members.forEach((b, i) => (b.index = i));
    this.backups.forEach((b, i) => (b.index = i));
  }

  private emitBackend(backend: TcpUpstreamBackend, type: BackendEvent['type'], detail: string): void {
    this.emit('backend', { atMs: this.nowMs(), backend: backend.name, type, detail });
  }

  private handle(socket: net.Socket): void {
    const remote = socket.remoteAddress ?? '';
    const conn: ClientConnection = { socket, clientIp: remote.startsWith('::ffff:') ? remote.slice(7) : remote, gone: false };
    this.clients.add(socket);
    // Errors end the socket; what it means for the upstream is decided on 'close'.
    socket.on('error', () => undefined);
    socket.once('close', () => {
      conn.gone = true;
      this.clients.delete(socket);
    });
    // The whole source address is the key (nginx stream `hash $remote_addr consistent`).
    this.connect(conn, { clientIp: conn.clientIp, hashKey: conn.clientIp, exclude: undefined }, 1, undefined);
  }

  /**
   * Picks a backend for `conn` and opens a connection to it; on failure,
   * tries another one (never the same twice) while the retry policy allows.
   * The client socket stays paused until an upstream is connected, so no
   * byte is read that a failed connect could lose.
   */
  private connect(conn: ClientConnection, ctx: PickContext, attempt: number, last: TcpUpstreamBackend | undefined): void {
    if (conn.gone) {
      this.clientAborts++;
      return;
    }
    let picker = this.picker;
    let backend = picker.pick(this.members, ctx) as TcpUpstreamBackend | undefined;
    if (!backend && this.backups.length > 0) {
      picker = this.backupPicker;
      backend = picker.pick(this.backups, ctx) as TcpUpstreamBackend | undefined;
    }
    if (!backend) {
      if (last) {
        // The retry found nowhere to go: the failed connect reached the client after all.
        last.tries.retried--;
        last.tries.lost++;
      }
      // Nothing can take it: close the client at once (nginx stream does the same).
      conn.socket.destroy();
      return;
    }
    if (attempt > 1) this.retries++;
    const chosen = backend;
    chosen.selected++;
    chosen.inFlight++;
    const startedAt = performance.now();
    picker.onRequestStart?.(chosen, startedAt);
    const upstream = net.connect({ ...chosen.address, allowHalfOpen: true, noDelay: true });
    let connected = false;
    const timer = setTimeout(() => upstream.destroy(new ConnectFailure('timeout', `connect to ${chosen.name} timed out after ${this.connectTimeoutMs}ms`)), this.connectTimeoutMs);
    const ended = (ok: boolean): void => {
      chosen.inFlight--;
      picker.onRequestEnd?.(chosen, { startedAtMs: startedAt, latencyMs: performance.now() - startedAt, ok });
      if (chosen.draining && chosen.inFlight === 0) this.emitBackend(chosen, 'drained', 'the last connection closed: safe to stop');
    };
    upstream.once('connect', () => {
      clearTimeout(timer);
      connected = true;
      if (conn.gone) {
        this.clientAborts++;
        upstream.destroy();
        return;
      }
      chosen.opened(upstream, this.nowMs());
      chosen.tries.served++;
      if (attempt > 1) this.retriesSucceeded++;
      this.relay(conn.socket, upstream);
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (connected) {
        // A reset or failure after connecting: the client's connection cannot go on either.
        conn.socket.destroy();
        return;
      }
      clearTimeout(timer);
      chosen.failures++;
      chosen.connectErrors++;
      if (conn.gone) {
        // Nobody is waiting for this connection any more: not a failure the client saw.
        this.clientAborts++;
        ended(false);
        return;
      }
      const condition = err instanceof ConnectFailure ? err.condition : 'error';
      if (attempt <= this.retry.retries && this.retry.on.has(condition)) {
        chosen.tries.retried++;
        const exclude = new Set(ctx.exclude);
        exclude.add(chosen);
        ended(false);
        this.connect(conn, { ...ctx, exclude }, attempt + 1, chosen);
        return;
      }
      chosen.tries.lost++;
      ended(false);
      conn.socket.destroy();
    });
    upstream.once('close', (hadError) => {
      if (!connected) return;
      chosen.closed(upstream);
      ended(true);
      if (hadError) conn.socket.destroy();
    });
  }

  /**
   * Relays bytes both ways between a client and its upstream. `pipe` ends
   * the other side's write half when one side's read half ends (half-close
   * passed on) and pauses a reader whose peer's buffer is full
   * (backpressure). A client that goes away with an error resets the
   * upstream; an upstream that fails resets the client (see `connect`).
   */
  private relay(client: net.Socket, upstream: net.Socket): void {
    // A pair quiet both ways this long is cut, as nginx's stream `proxy_timeout` (10 min by default).
    const idle = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.setTimeout(RELAY_IDLE_TIMEOUT_MS, idle);
    upstream.setTimeout(RELAY_IDLE_TIMEOUT_MS, idle);
    client.once('close', (hadError) => {
      // A client that closed cleanly has ended its half; the upstream finishes what it was sending.
      if (hadError || upstream.writableEnded === false) upstream.destroy();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

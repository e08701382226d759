import net from 'node:net';
import type { ClientActivity } from '../front-end.js';
import { listenOn } from '../listen.js';
import { registerCleanup } from '../../cleanup.js';
import { RuntimeError, UsageError } from '../../errors.js';
import type { AlgorithmName } from '../algorithms/index.js';
import type { PickContext } from '../algorithms/picker.js';
import type { Pool } from '../pool.js';
import { MarkedDownError } from '../proxy-try.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../retry-policy.js';
import { DEFAULT_CONNECTION, Upstream, type SharedBalancerConfig, type UpstreamChange } from '../upstream.js';
import { isTcpAlgorithm, TCP_ALGORITHMS } from './tcp-mode.js';
import { TcpUpstreamBackend, type ConnectionState } from './tcp-upstream-backend.js';

/**
 * What the L4 balancer takes of a {@link SharedBalancerConfig}: the backends, an
 * algorithm of {@link TCP_ALGORITHMS}, health checks, where to listen, the
 * connect timeout (`connection.connectTimeoutMs`; the response timeout has
 * no meaning without HTTP) and the retry bound (`retry.retries`, on
 * `error` and `timeout` only) and `onMarkedDown`. Times in ms.
 */
export type TcpBalancerConfig = Pick<SharedBalancerConfig, 'backends' | 'algo' | 'health' | 'host' | 'port' | 'connection' | 'retry' | 'clock' | 'onMarkedDown'>;

/** `algo` if it can balance TCP connections. @throws {UsageError} for one that needs HTTP. */
function requireTcpAlgorithm(algo: AlgorithmName): AlgorithmName {
  if (!isTcpAlgorithm(algo)) throw new UsageError(`Expected \`--algo\` with \`--mode tcp\` to be one of ${TCP_ALGORITHMS.join(', ')}, got ${algo}`);
  return algo;
}

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
 * (a TCP connect by default in this mode). Membership, health and drain are
 * the shared {@link Upstream} core's, with one pool of every backend; this
 * class owns only how a connection is picked, connected and relayed, so the
 * balancer thread runs either front end through the same interface.
 */
export class TcpBalancer extends Upstream<TcpUpstreamBackend> {
  private readonly retry: RetryPolicy;
  private readonly connectTimeoutMs: number;
  /** The one pool of every backend: no routes at L4. */
  private readonly pool: Pool<TcpUpstreamBackend>;
  private readonly server: net.Server;
  private readonly clients = new Set<net.Socket>();
  /** Client connections accepted so far. */
  private accepted = 0;
  private unregister: (() => void) | undefined;

  /** @throws {UsageError} for an algorithm that needs HTTP (see {@link TCP_ALGORITHMS}). */
  constructor(private readonly config: TcpBalancerConfig) {
    const conn = config.connection ?? DEFAULT_CONNECTION;
    // Only what L4 has: a config that also carries L7 settings (routes, passive checks, slow start, panic) balances as if it had none.
    const { backends, health, host, port, connection, retry, clock, onMarkedDown } = config;
    super(
      { backends, algo: requireTcpAlgorithm(config.algo), health, host, port, connection, retry, clock, onMarkedDown },
      (b, i, traffic) => new TcpUpstreamBackend(i, b.name, new URL(b.url).origin, b.weight, traffic, health.rise, health.fall, conn),
    );
    this.connectTimeoutMs = conn.connectTimeoutMs;
    this.retry = config.retry ?? DEFAULT_RETRY_POLICY;
    this.pool = this.pools[0]!;
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => this.handle(socket));
  }

  /**
   * Applies a change made while running: algorithm (one of
   * {@link TCP_ALGORITHMS}), weight, removal or drain. Open connections stay
   * where they are; only new ones see the change.
   * @throws {UsageError} for an unknown backend, a weight outside 1..1000, an HTTP-only algorithm, or removing the last member.
   */
  override apply(change: UpstreamChange): void {
    if (change.type === 'algo' && !isTcpAlgorithm(change.algo)) throw new UsageError(`Expected an algorithm of ${TCP_ALGORITHMS.join(', ')} in tcp mode, got ${change.algo}`);
    super.apply(change);
  }

  /** The backend's connections and bytes relayed, for the run record and the dashboard. */
  override connectionState(backend: TcpUpstreamBackend, nowMs: number): ConnectionState {
    return backend.connectionState(nowMs);
  }

  /** Its clients so far: connections open and accepted; at L4 each connection is one request. */
  clientActivity(): ClientActivity {
    return { connections: this.clients.size, accepted: this.accepted, requests: this.accepted };
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
    this.watchAll();
    return { host, port: bound, url: `http://${host}:${bound}/` };
  }

  /** Stops health checks and the listener, and closes every client and upstream connection. */
  async close(): Promise<void> {
    this.unregister?.();
    this.unregister = undefined;
    await this.stopUpstream();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.clients) s.destroy();
    for (const b of this.backends) for (const s of b.open) s.destroy();
    await closed;
    await Promise.all(this.backends.map((b) => b.dispatcher.destroy().catch(() => undefined)));
  }

  /**
   * HAProxy `on-marked-down shutdown-sessions` in `mode tcp`: every
   * connection relayed to `backend` is reset both ways at once, each counted
   * as a failed try of that backend (`failedTries`). Connections still being
   * opened are left to their connect timeout.
   */
  protected shutdownSessions(backend: TcpUpstreamBackend): number {
    const open = [...backend.open];
    for (const s of open) {
      backend.failures++;
      // With an error, so the relay resets the client side too (see `connect`).
      s.destroy(new MarkedDownError(backend.name));
    }
    return open.length;
  }

  protected sessionWord(n: number): string {
    return n === 1 ? 'connection' : 'connections';
  }

  protected drainDetail(event: 'draining' | 'drained' | 'undrained', backend: TcpUpstreamBackend): string {
    if (event === 'undrained') return 'draining called off: taking connections again';
    if (event === 'drained') return 'no connection open: safe to stop';
    return `no new connections; ${backend.inFlight} open may finish (keep-alive ones stay until the client closes them)`;
  }

  private handle(socket: net.Socket): void {
    const remote = socket.remoteAddress ?? '';
    const conn: ClientConnection = { socket, clientIp: remote.startsWith('::ffff:') ? remote.slice(7) : remote, gone: false };
    this.clients.add(socket);
    this.accepted++;
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
    const backend = this.pool.pick(ctx);
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
    // The connection ends on the picker that saw it start, even after an algorithm switch.
    const picker = this.pool.pickerOf(backend);
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
      if (chosen.draining && chosen.inFlight === 0) this.drained(chosen, 'the last connection closed: safe to stop');
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

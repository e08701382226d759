import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { registerCleanup } from '../cleanup.js';
import { RuntimeError, UsageError } from '../errors.js';
import type { BackendInfo } from '../metrics/run-record.js';
import type { AlgorithmName } from './algorithms/index.js';
import type { BackendEvent, BalancerConfig, TransitionEvent, UpstreamChange } from './balancer.js';
import type { LayerCounters } from './upstream.js';
import type { HealthState } from './health/rise-fall.js';
import type { BalancerMode } from './tcp/tcp-mode.js';
import type { ConnectionState } from './tcp/tcp-upstream-backend.js';
import type { TlsStats } from './tls.js';
import type { ClientActivity, Http2Stats } from './front-end.js';
import type { HaRole, HaState } from './ha-role.js';
import type { HaTakeover } from '../metrics/run-record.js';


const WORKER_ENTRY = new URL('./balancer-worker.js', import.meta.url);

/** One backend as the balancer thread last reported it. `inFlight` counts tries under way. */
export type UpstreamState = {
  name: string;
  origin: string;
  weight: number;
  inFlight: number;
  state: HealthState;
  /** HAProxy's rise/fall counter, e.g. "3/3". */
  checkCounter: string;
  /** True when the balancer runs no active checks (nginx OSS): `state` is then only what it was configured as, not a verdict, and the views say "passive". */
  unchecked?: boolean;
  /** Last check result as HAProxy names it (L7OK 200, L4CON, …), "" before the first. */
  lastCheck: string;
  /** Load from the backend's last `/health` report (in-flight ÷ capacity), null when it reports none. */
  reportedLoad: number | null;
  /** Taken out of the upstream while running. */
  removed: boolean;
  /** Draining: no new requests while those in flight finish. */
  draining: boolean;
  /** A backup: serves only when no primary can. */
  backup: boolean;
  /** The weight pickers use now: below `weight` while slow start ramps it up. */
  effectiveWeight: number;
  /** While ejected by passive checks: ms until it is readmitted; null otherwise. */
  ejectedForMs: number | null;
  /** The circuit breaker's state, null without one. */
  breaker: 'closed' | 'open' | 'half-open' | null;
  /** What the L4 balancer relayed to it (`mode: 'tcp'` only). */
  connections?: ConnectionState;
  /** Its pool and that pool's algorithm now, when routes are configured. */
  pool?: { name: string; algo: AlgorithmName };
};

export type { LayerCounters } from './upstream.js';

/** What the balancer thread is started with. Times in ms. */
export type BalancerThreadData = {
  /** `mode: 'tcp'` runs the L4 balancer (`TcpBalancer`) instead of the HTTP one. */
  config: Omit<BalancerConfig, 'clock' | 'recordTraffic'> & { mode?: BalancerMode };
  /** The run's time 0 as `performance.timeOrigin + performance.now()` of the main thread. */
  epochStartMs: number;
  stateIntervalMs: number;
  /** Its part of a balancer pair (`--balancers 2`, a process of its own); absent for lblab's one balancer. */
  ha?: HaRole;
};

/** What the balancer thread reports at the end. */
export type BalancerReport = {
  backends: BackendInfo[];
  /** Undefined when the balancer cannot tell (an engine: HAProxy counts retries, not which succeeded). */
  retries?: { total: number; succeeded: number };
  clientAborts: number;
  rateLimited?: number;
  tls?: TlsStats;
  http2?: Http2Stats;
};

/** Main → balancer thread. */
export type ToBalancer = { type: 'listen' } | { type: 'report' } | { type: 'close' } | { type: 'change'; change: UpstreamChange };

/** Balancer thread → main. */
export type FromBalancer =
  | { type: 'listening'; host: string; port: number; url: string; states: UpstreamState[] }
  | { type: 'listen-error'; message: string; usage: boolean; coded: boolean }
  | { type: 'state'; states: UpstreamState[]; counters?: LayerCounters; ha?: { state: HaState; activity: ClientActivity } }
  | { type: 'ha-takeover'; takeover: HaTakeover }
  | { type: 'ha-error'; message: string }
  | { type: 'transition'; transition: TransitionEvent }
  | { type: 'change-error'; message: string }
  | { type: 'backend-event'; event: BackendEvent }
  | ({ type: 'report' } & BalancerReport)
  | { type: 'closed' };

/**
 * What a run's balancer tells the session: health transitions, its own
 * failure, a change it refused, backend events (ejections, slow start, …);
 * and, from a member of a balancer pair only, that it took the virtual
 * address over (`haTakeover`) or could not (`haError`), and that its thread
 * or process ended (`ended`: exit code or signal; a pair names the member,
 * and tells only of an end lblab did not cause).
 */
export type RunBalancerEvents = {
  transition: [TransitionEvent];
  failed: [Error];
  changeRejected: [message: string];
  backend: [BackendEvent];
  haTakeover: [HaTakeover];
  haError: [message: string];
  ended: [code: number | null, signal: NodeJS.Signals | null, member?: string];
};
type ThreadEvents = RunBalancerEvents;

/** Where a balancer runs: a worker thread of lblab's process (one balancer), or a process of its own (each of a pair: a SIGKILL of it is real). */
export type BalancerHost = 'thread' | 'process';

/** The messages of a balancer thread or process, whichever it is. */
type BalancerChannel = { post: (m: ToBalancer) => void; end: () => Promise<void>; pid: number | undefined };

/**
 * The balancer of a run as the session drives it: lblab's own in a thread
 * ({@link BalancerThread}), or a real HAProxy or nginx (`EngineBalancer`).
 */
export interface RunBalancer {
  /** The algorithm in use. */
  readonly algo: AlgorithmName;
  /** The port it listens on, once listening. */
  readonly listeningPort: number | undefined;
  /** Starts listening (and health checking). @throws {UsageError} when the port is taken or the engine is missing. */
  listen(): Promise<{ host: string; port: number; url: string }>;
  /** A live change of the upstream; one it cannot make is told by `changeRejected`. */
  change(change: UpstreamChange): void;
  /** Why it cannot make `change` at all (an engine without the runtime API for it), or undefined when it can. */
  refusal(change: UpstreamChange): string | undefined;
  /** The upstream as last reported. */
  states(): readonly UpstreamState[];
  /** Stick table entries, cookies set, requests rate-limited. */
  counters(): LayerCounters;
  /** Per-backend health and retry counts, for the run record. */
  report(): Promise<BalancerReport>;
  /** Stops it: listener, connections, thread or process. */
  close(): Promise<void>;
  on<K extends keyof RunBalancerEvents>(event: K, listener: (...args: RunBalancerEvents[K]) => void): this;
}

/**
 * The balancer of `lblab start`, run in a worker thread of its own so that
 * drawing the dashboard and keeping the metrics never block a proxied
 * request. The main thread sees the upstream through {@link states} (refreshed
 * every `stateIntervalMs`, 100 ms by default) and `transition` events, and
 * gets the final per-backend health and retry counts from {@link report}.
 */
export class BalancerThread extends EventEmitter<ThreadEvents> implements RunBalancer {
  private algoName: AlgorithmName;
  private readonly channel: BalancerChannel;
  private latest: UpstreamState[] = [];
  private latestCounters: LayerCounters = { stickEntries: 0, cookiesSet: 0, rateLimited: 0 };
  private port: number | undefined;
  private readonly waiting = new Map<FromBalancer['type'], Array<(m: FromBalancer) => void>>();
  private readonly unregister: () => void;
  private closed: Promise<void> | undefined;
  private exited = false;

  /** With `ha`: its part of the pair and its clients, as last reported. */
  private latestHa: { state: HaState; activity: ClientActivity } | undefined;

  /**
   * Starts the balancer in a worker thread (`host: 'thread'`, lblab's one
   * balancer) or in a process of its own (`'process'`, each of a pair, with
   * `ha` its part): forked detached with an IPC channel, so the terminal's
   * Ctrl-C reaches lblab alone and the process ends when lblab does.
   */
  constructor(config: BalancerThreadData['config'], epochStartMs: number, stateIntervalMs = 100, host: BalancerHost = 'thread', ha?: HaRole) {
    super();
    this.algoName = config.algo;
    const data: BalancerThreadData = { config, epochStartMs, stateIntervalMs, ...(ha ? { ha } : {}) };
    const onMessage = (m: FromBalancer): void => {
      if (m.type === 'state') {
        this.latest = m.states;
        if (m.counters) this.latestCounters = m.counters;
        if (m.ha) this.latestHa = m.ha;
      }
      else if (m.type === 'transition') this.emit('transition', m.transition);
      else if (m.type === 'change-error') this.emit('changeRejected', m.message);
      else if (m.type === 'backend-event') this.emit('backend', m.event);
      else if (m.type === 'ha-takeover') this.emit('haTakeover', m.takeover);
      else if (m.type === 'ha-error') this.emit('haError', m.message);
      const waiters = this.waiting.get(m.type);
      if (waiters?.length) waiters.shift()!(m);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null = null): void => {
      this.exited = true;
      this.emit('ended', code, signal);
    };
    if (host === 'thread') {
      const worker = new Worker(WORKER_ENTRY, { workerData: data });
      worker.on('message', onMessage);
      worker.on('error', (err) => this.emit('failed', err));
      worker.on('exit', (code) => onExit(code));
      this.channel = { post: (m) => worker.postMessage(m), end: async () => void (await worker.terminate()), pid: undefined };
    } else {
      const child: ChildProcess = fork(WORKER_ENTRY, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], detached: true, serialization: 'advanced' });
      let stderr = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
      child.on('message', onMessage);
      // A send to a process that is already gone; its exit tells the rest.
      child.on('error', () => undefined);
      child.once('exit', (code, signal) => {
        if (!this.closed) this.emit('failed', new RuntimeError(`balancer process ${ha?.name ?? ''} (pid ${child.pid}) ended (${signal ?? `code ${code}`})${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-2).join(' | ')}` : ''}`));
        onExit(code, signal);
      });
      child.send({ type: 'init', data });
      this.channel = {
        post: (m) => {
          if (child.connected) child.send(m);
        },
        end: () =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            child.kill('SIGTERM');
          }),
        pid: child.pid,
      };
    }
    this.unregister = registerCleanup(host === 'thread' ? 'balancer thread' : `balancer process ${ha?.name ?? ''}`, () => this.close());
  }

  /** The balancer process's pid (`host: 'process'`); undefined for a thread. */
  get pid(): number | undefined {
    return this.channel.pid;
  }

  /** Whether its thread or process has ended. */
  get ended(): boolean {
    return this.exited;
  }

  /** With `ha`: active or passive, and its clients (connections, requests), as last reported. */
  haView(): { state: HaState; activity: ClientActivity } | undefined {
    return this.latestHa;
  }

  /** The algorithm in use (as last changed by {@link change}). */
  get algo(): AlgorithmName {
    return this.algoName;
  }

  /**
   * Changes the upstream while it runs: algorithm, a weight, a removal (see
   * {@link UpstreamChange}). The caller checks the change is valid; the
   * thread applies it before its next request, and the next state report
   * shows it.
   */
  change(change: UpstreamChange): void {
    if (change.type === 'algo') this.algoName = change.algo;
    else {
      // Show it at once; the thread's next report confirms it.
      this.latest = this.latest.map((b) =>
        b.name !== change.backend
          ? b
          : change.type === 'weight'
            ? { ...b, weight: change.weight }
            : change.type === 'drain'
              ? { ...b, draining: change.on }
              : { ...b, removed: true, inFlight: 0 },
      );
    }
    if (!this.exited) this.channel.post({ type: 'change', change } satisfies ToBalancer);
  }

  /** The port it listens on, once listening. */
  get listeningPort(): number | undefined {
    return this.port;
  }

  /** lblab's own balancer makes every change the session checked. */
  refusal(): undefined {
    return undefined;
  }

  /** The upstream as last reported: at most one state interval old. */
  states(): readonly UpstreamState[] {
    return this.latest;
  }

  /** Stick table entries, cookies set and requests rate-limited, as last reported: at most one state interval old. */
  counters(): LayerCounters {
    return this.latestCounters;
  }

  /**
   * Starts listening and health checking in the thread.
   * @throws {UsageError} when the port is taken; {@link RuntimeError} otherwise.
   */
  async listen(): Promise<{ host: string; port: number; url: string }> {
    const reply = await this.ask({ type: 'listen' }, ['listening', 'listen-error']);
    if (reply.type === 'listen-error') throw reply.usage ? new UsageError(reply.message) : new RuntimeError(reply.message);
    if (reply.type !== 'listening') throw new RuntimeError('balancer thread answered out of turn');
    this.latest = reply.states;
    this.port = reply.port;
    return { host: reply.host, port: reply.port, url: reply.url };
  }

  /** Per-backend health (state, time DOWN, transitions) and retry counts, for the run record. */
  async report(): Promise<BalancerReport> {
    const reply = await this.ask({ type: 'report' }, ['report']);
    if (reply.type !== 'report') throw new RuntimeError('balancer thread answered out of turn');
    return {
      backends: reply.backends,
      retries: reply.retries,
      clientAborts: reply.clientAborts,
      ...(reply.rateLimited !== undefined ? { rateLimited: reply.rateLimited } : {}),
      ...(reply.tls ? { tls: reply.tls } : {}),
      ...(reply.http2 ? { http2: reply.http2 } : {}),
    };
  }

  /** Closes the listener and every upstream connection, then ends the thread (at most 3 s). */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.unregister();
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, 3000).unref());
      await Promise.race([this.ask({ type: 'close' }, ['closed'], 3000).catch(() => undefined), timeout]);
      await this.channel.end();
    })();
    return this.closed;
  }

  /**
   * Posts `message` and resolves with the first reply of one of the `replies`
   * types; rejects at once if the thread has ended, when it fails or ends
   * while waiting, or after `timeoutMs`.
   */
  private ask(message: ToBalancer, replies: Array<FromBalancer['type']>, timeoutMs = 5000): Promise<FromBalancer> {
    if (this.exited) return Promise.reject(new RuntimeError('balancer thread has ended'));
    return new Promise((resolve, reject) => {
      const done = (): void => {
        for (const r of replies) {
          const list = this.waiting.get(r);
          const i = list?.indexOf(settle) ?? -1;
          if (list && i >= 0) list.splice(i, 1);
        }
        this.off('failed', onFailed);
        this.off('ended', onExit);
        clearTimeout(timer);
      };
      const fail = (err: RuntimeError): void => {
        done();
        reject(err);
      };
      const onFailed = (err: Error): void => fail(new RuntimeError(`balancer thread failed: ${err.message}`));
      const onExit = (): void => fail(new RuntimeError('balancer thread ended'));
      const timer = setTimeout(() => fail(new RuntimeError(`balancer thread did not answer ${message.type} within ${timeoutMs}ms`)), timeoutMs);
      const settle = (m: FromBalancer): void => {
        done();
        resolve(m);
      };
      for (const r of replies) {
        if (!this.waiting.has(r)) this.waiting.set(r, []);
        this.waiting.get(r)!.push(settle);
      }
      this.once('failed', onFailed);
      this.once('ended', onExit);
      this.channel.post(message);
    });
  }
}

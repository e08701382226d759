import { ALGORITHMS, usesWeights, type AlgorithmName } from '../balancer/algorithms/index.js';
import type { UpstreamChange } from '../balancer/balancer.js';
import { BalancerThread, type BalancerReport, type RunBalancer } from '../balancer/balancer-thread.js';
import { EngineBalancer } from '../engines/engine-balancer.js';
import { HaPair } from '../balancer/ha-pair.js';
import { takeoverBudgetMs } from '../scenario/ha.js';
import { findEngineProgram } from '../engines/engines.js';
import { TCP_ALGORITHMS } from '../balancer/tcp/tcp-mode.js';
import { Fleet } from '../backend/fleet.js';
import { degradationMs, FAULT_REGISTRY, faultSwitches, faultWords, isFaultName, type FaultName } from '../backend/faults.js';
import type { BackendFaults } from '../backend/ipc.js';
import type { ScheduledEvent } from '../scenario/timeline.js';
import type { RunScenario } from '../scenario/scenario.js';
import { RuntimeError } from '../errors.js';
import { LoadGenerator } from '../load/load-generator.js';
import { startWebSocketLoad, type RunningWebSocketLoad, type WebSocketLoadResult } from '../load/websocket-load.js';
import { TrafficStats } from '../metrics/traffic-stats.js';
import { buildRunRecord, type HaRecord, type RunEvent, type RunRecord } from '../metrics/run-record.js';
import type { RunControls, RunSnapshot } from './snapshot.js';
import { connectionTotals } from './connection-snapshot.js';
import { PeriodLog } from './periods.js';
import { reportWithoutBalancer, scenarioRecord } from './session-record.js';
import { requestPaths } from '../scenario/routes.js';
import { buildSnapshot, type SnapshotSources } from './snapshot-builder.js';
import { describeGslbChange, gslbAnswers, whereSent } from '../balancer/gslb.js';
import { clientHomes } from '../scenario/regions.js';
import { dropMark, dropsSince, webSocketSnapshots } from './websocket-snapshot.js';
import type { RunningForwardProxy } from '../proxy/forward-proxy.js';
import { newSessionKey, SESSION_KEY_ENV, SESSION_STORE_ENV } from '../backend/sessions.js';
import type { SessionStoreProcess } from '../backend/session-store.js';
import { FAULT_EVENT_TYPES } from '../metrics/run-record.js';

/** Why a backend takes no requests: DOWN, draining, ejected, behind an open breaker. */
type OutReason = 'down' | 'drain' | 'ejected' | 'breaker';

/** What each health transition or backend event does to a backend's reasons to be out of rotation. */
const ROTATION_CHANGES: Readonly<Record<string, readonly ['add' | 'delete', OutReason]>> = {
  down: ['add', 'down'],
  up: ['delete', 'down'],
  draining: ['add', 'drain'],
  undrained: ['delete', 'drain'],
  ejected: ['add', 'ejected'],
  readmitted: ['delete', 'ejected'],
  'breaker-open': ['add', 'breaker'],
  'breaker-closed': ['delete', 'breaker'],
};

/** Events after which the users' sessions are watched (`SessionTally.mark`): a backend killed, ended, faulty, removed or drained. */
const SESSION_LOSS_EVENTS: ReadonlySet<string> = new Set([...FAULT_EVENT_TYPES, 'remove', 'draining']);

/** A `--event` that switches a fault on. */
type FaultEvent = Extract<ScheduledEvent, { action: FaultName }>;

/** Whether `ev` switches a fault on, by its action's name. */
function isFaultEvent(ev: ScheduledEvent): ev is FaultEvent {
  return isFaultName(ev.action);
}

/**
 * One run of `lblab start`: a fleet of real backend processes, the
 * in-process balancer in front of them (in a worker thread of its own, so
 * the dashboard and the metrics kept here never delay a request), and the load generator firing at the
 * balancer (or, with `--protocol ws`, WebSocket clients holding connections to it), plus the event log. Time 0 of every time in the run (events,
 * transitions, time line) is the moment the balancer starts. It is also the
 * {@link RunControls} the dashboard drives.
 */
export class RunSession implements RunControls {
  readonly fleet: Fleet;
  balancer!: RunBalancer;
  /** With `--balancers 2`: the pair, which is also {@link balancer}. */
  pair: HaPair | undefined;
  /** The HTTP load generator; undefined with `--protocol ws` (see {@link webSockets}). */
  load: LoadGenerator | undefined;
  /** With `--protocol ws`: the WebSocket clients, in place of {@link load}. */
  webSockets: RunningWebSocketLoad | undefined;
  /** With `--protocol ws`: what the clients measured, once they stopped. */
  webSocketResult: WebSocketLoadResult | undefined;
  /** When the WebSocket clients started, ms since the run started (their per-second counts' time 0). */
  private webSocketsFromMs = 0;
  /** The client-side traffic when no HTTP load runs (`--protocol ws`): no requests. */
  private readonly noRequests = new TrafficStats();
  readonly events: RunEvent[] = [];
  private t0 = 0;
  private timers: NodeJS.Timeout[] = [];
  private quitResolve: (() => void) | undefined;
  private readonly quitPromise: Promise<void>;
  private endedAtMs: number | undefined;
  private finishing: Promise<RunRecord> | undefined;
  /** Set when the run could not go on (the balancer thread died); the CLI exits 1 after the report. */
  failure: RuntimeError | undefined;
  /** Listeners told about every new event (the headless view prints them). */
  onEvent: ((e: RunEvent) => void) | undefined;
  /** Weights now, one per backend in order. */
  private readonly weights: number[];
  /** Backends taken out of the upstream. */
  private readonly removed = new Set<string>();
  /** The balancer's URL once listening (https with `tls`). */
  private listenUrl: string | undefined;
  /** Algorithm periods, oldest first: a new one at each algorithm, weight or membership change. */
  private readonly periods: PeriodLog;
  /** Why each backend is out of rotation now (down, drain, ejected, breaker); absent when it may take requests. */
  private readonly outOfRotation = new Map<string, Set<OutReason>>();
  /** Pools in panic now, by name ('' without routes): their primaries may take requests whatever their health. */
  private readonly panicking = new Set<string>();
  /** The forward proxy the clients send through (`load.proxy: forward`), while it runs. */
  private forwardProxy: RunningForwardProxy | undefined;
  /** In tcp mode, each backend's connections when the current period began (connection shares count from there). */
  private connectionBase = new Map<string, number>();
  /** With regions: each virtual client's home region (index into `config.gslb.regions`). */
  private readonly homes: number[] | undefined;
  /** The redis-server every backend keeps its sessions in (`sessions: shared`), while it runs. */
  private sessionStore: SessionStoreProcess | undefined;

  constructor(readonly config: RunScenario) {
    this.fleet = new Fleet(config.host);
    this.weights = [...config.weights];
    this.periods = new PeriodLog(config);
    this.homes = config.gslb ? clientHomes(config.gslb.clientShares, config.clients!) : undefined;
    this.quitPromise = new Promise<void>((resolve) => (this.quitResolve = resolve));
  }

  /** ms since the run started. */
  nowMs(): number {
    return this.t0 === 0 ? 0 : performance.timeOrigin + performance.now() - this.t0;
  }

  /**
   * Spawns the backends, starts the balancer and the load, schedules the
   * `--event`s. Resolves once load is flowing.
   * @throws {RuntimeError} if a backend does not start; {@link UsageError} if the port is taken.
   */
  async start(): Promise<void> {
    const { config } = this;
    // A missing haproxy or nginx is a usage error, said before any process starts.
    if (config.engine !== 'lblab') findEngineProgram(config.engine);
    const members = await this.fleet.start(
      config.sessions ? config.backends.map((b) => ({ ...b, sessions: config.sessions })) : config.backends,
      await this.sessionEnv(),
    );
    this.t0 = performance.timeOrigin + performance.now();
    this.logSessions();
    // The scenario's balancer settings go over as they are (the balancer
    // reads what it knows), so a new balancer field needs no edit here.
    const backends = members.map((m, i) => ({
      name: m.name,
      url: `http://${config.host}:${m.port}`,
      weight: config.weights[i]!,
      ...(config.backups.includes(m.name) ? { backup: true } : {}),
    }));
    // A real HAProxy or nginx balances when the scenario says so, or two of lblab's own; the rest of the run is the same.
    this.balancer = config.ha
      ? (this.pair = new HaPair({ ...config, backends }, this.t0, config.ha))
      : config.engine === 'lblab'
        ? new BalancerThread({ ...config, backends }, this.t0)
        : new EngineBalancer({ ...config, engine: config.engine, backends }, this.t0);
    if (this.pair) this.followPair(this.pair);
    this.balancer.on('failed', (err) => {
      // Without its balancer the run measures nothing: end it, and fail.
      this.failure ??= new RuntimeError(`the balancer thread failed: ${err.message}`);
      this.log({ atMs: this.nowMs(), type: 'error', detail: `balancer thread failed: ${err.message}` });
      this.quit();
    });
    this.balancer.on('backend', (e) => {
      this.log({ atMs: e.atMs, type: e.type, ...(e.backend ? { target: e.backend } : {}), detail: e.detail });
      if (e.backend) this.rotation(e.backend, e.type, e.atMs);
      else if (e.type === 'panic' || e.type === 'panic-over') this.panic(e.type, e.detail, e.atMs);
    });
    this.balancer.on('changeRejected', (message) => this.log({ atMs: this.nowMs(), type: 'error', detail: `the balancer refused a change: ${message}` }));
    this.balancer.on('transition', (t) => {
      this.log({ atMs: t.atMs, type: t.to, target: t.backend, detail: t.reason });
      this.rotation(t.backend, t.to, t.atMs);
    });
    this.fleet.on('exit', (e) => {
      if (!e.byUs) {
        this.log({ atMs: this.nowMs(), type: 'exit', target: e.name, detail: `pid ${e.pid} ended from outside (${e.signal ?? `code ${e.code}`})` });
      }
    });
    const { url } = await this.balancer.listen();
    this.listenUrl = url;
    if (config.proxy === 'forward') {
      // The clients choose their server and reach it through a forward proxy: the balancer is not asked.
      const { startForwardProxy } = await import('../proxy/forward-proxy.js');
      this.forwardProxy = await startForwardProxy({ port: 0, allow: [] });
    }
    if (config.webSocket) this.startWebSockets(url);
    else this.createLoad(url, backends);
    this.newPeriod(0);
    this.load?.start();
    for (const ev of config.events) {
      // +1 ms: a Node timer may fire up to a millisecond early, and an event
      // due at 2 s must not land in second 1 of the time line.
      this.timers.push(setTimeout(() => this.runEvent(ev), Math.max(0, ev.atMs - this.nowMs()) + 1));
    }
    if (config.durationMs > 0) {
      this.timers.push(
        setTimeout(() => {
          // The run lasted what was asked, however late the timer fired.
          this.endedAtMs ??= config.durationMs;
          this.quit();
        }, Math.max(0, config.durationMs - this.nowMs())),
      );
    }
  }

  /**
   * Logs what a balancer pair does: a takeover (type `takeover`, with the
   * time since the active member's kill when lblab killed it), a takeover
   * that failed, a member's process ending (type `exit`, when not by lblab).
   */
  private followPair(pair: HaPair): void {
    pair.on('haTakeover', (t) => {
      const kill = [...pair.pairReport().kills].reverse().find((k) => k.wasActive && k.atMs <= t.atMs);
      const after = kill ? `, ${Math.round(t.atMs - kill.atMs)}ms after the kill of ${kill.balancer}` : '';
      this.log({ atMs: t.atMs, type: 'takeover', target: t.balancer, detail: `took over ${t.address} after ${t.failedChecks} failed checks of its peer (${t.lastError})${after}` });
    });
    pair.on('haError', (message) => this.log({ atMs: this.nowMs(), type: 'error', detail: message }));
    pair.on('ended', (code, signal, member) => {
      this.log({ atMs: this.nowMs(), type: 'exit', ...(member ? { target: member } : {}), detail: `balancer process ended from outside (${signal ?? `code ${code}`})` });
    });
  }

  /**
   * SIGKILLs balancer `name` of the pair (`--balancers 2`) and logs what it
   * held: active or passive, requests in flight, client connections. A
   * name of no running balancer is logged as an error.
   */
  killBalancer(name: string, source = 'key'): void {
    if (!this.pair) return;
    try {
      const k = this.pair.kill(name);
      this.load?.failovers?.mark(k.atMs);
      const what = k.wasActive ? `active: ${k.inFlight} in flight, ${k.connections} client connections` : 'passive';
      const next = this.pair.ha.mode === 'dns-rr' ? '; clients connecting to it are refused and try the other address' : k.wasActive ? '; the virtual address is free until the passive balancer takes it over' : '';
      this.log({ atMs: k.atMs, type: 'kill', target: name, detail: `SIGKILL pid ${k.pid} (${what}; ${source})${next}` });
    } catch (err) {
      this.log({ atMs: this.nowMs(), type: 'error', target: name, detail: (err as Error).message });
    }
  }

  /** Kills the balancer serving now (the active one; dns-rr: the first alive): the dashboard's key. */
  killActiveBalancer(): void {
    const active = this.pair?.memberViews().find((v) => v.state === 'active');
    if (active) this.killBalancer(active.name);
  }

  /** Starts balancer `name` of the pair again (passive in active-passive) and logs it. */
  restartBalancer(name: string, source = 'key'): void {
    const pair = this.pair;
    if (!pair) return;
    this.log({ atMs: this.nowMs(), type: 'restart', target: name, detail: `(${source})` });
    pair.restart(name).then(
      () => {
        const v = pair.memberViews().find((m) => m.name === name);
        const other = pair.ha.balancers.find((b) => b.name !== name)!.name;
        const role = pair.ha.mode === 'dns-rr' ? `serving on ${v?.address}:${pair.listeningPort} again` : `passive on ${v?.address}:${pair.listeningPort}, checking ${other} (it keeps the address)`;
        this.log({ atMs: this.nowMs(), type: 'started', target: name, detail: `pid ${v?.pid}, ${role}` });
      },
      (err: Error) => this.log({ atMs: this.nowMs(), type: 'error', target: name, detail: err.message }),
    );
  }

  /** The client-side traffic of the run: the HTTP load's, or none with `--protocol ws`. */
  private get stats(): TrafficStats {
    return this.load?.stats ?? this.noRequests;
  }

  /** Starts the WebSocket clients of `--protocol ws` at the balancer's `url` (http:// → ws://); a run whose every handshake failed ends, and fails. */
  private startWebSockets(url: string): void {
    const ws = this.config.webSocket!;
    const wsUrl = url.replace(/^http:/, 'ws:');
    this.webSocketsFromMs = this.nowMs();
    this.webSockets = startWebSocketLoad({ url: wsUrl, clients: ws.clients, messageRate: ws.messageRate, ...(ws.lifetimeMs !== undefined && { lifetimeMs: ws.lifetimeMs }) });
    void this.webSockets.gaveUp.then(() => {
      this.log({ atMs: this.nowMs(), type: 'error', detail: `no WebSocket handshake with ${wsUrl} succeeded` });
      this.quit();
    });
  }

  /** Makes the HTTP load generator for the balancer's `url` (started once the first period is open). */
  private createLoad(url: string, backends: ReadonlyArray<{ url: string }>): void {
    const { config } = this;
    this.load = new LoadGenerator({
      url,
      concurrency: config.concurrency,
      durationMs: 0,
      epochStartMs: this.t0,
      ...(config.rate !== undefined ? { rate: config.rate, maxInFlight: config.maxInFlight } : {}),
      ...(config.requests !== undefined ? { requests: config.requests } : {}),
      ...(config.http2Clients ? { http2: config.http2Clients } : {}),
      ...(config.gslb ? { gslb: { config: config.gslb, homes: this.homes!, serving: this.gslbAnswers() } } : {}),
      ...(this.pair ? { ha: { mode: this.pair.ha.mode, addresses: this.pair.clientAddresses() } } : {}),
      clients: config.clients,
      spreadClients: config.spreadClients,
      headers: config.headers,
      paths: config.paths ?? requestPaths(config.routing),
      cookies: config.cookies ?? true,
      ...(config.clientWeights ? { clientWeights: config.clientWeights } : {}),
      keepAlive: config.keepAlive,
      // A balancer serving TLS here has a certificate generated at start: nothing to verify it against.
      insecure: url.startsWith('https:'),
      ...(this.forwardProxy ? { forwardProxy: { url: this.forwardProxy.url, targets: backends.map((b) => b.url) } } : {}),
    });
    this.load.on('workerError', (err) => this.log({ atMs: this.nowMs(), type: 'error', detail: `load worker failed: ${err.message}` }));
    if (config.requests !== undefined) {
      const load = this.load;
      load.once('done', () => {
        // The run lasted until its last response, not until the threads were torn down.
        this.endedAtMs ??= load.lastCompletionAtMs > 0 ? Math.min(load.lastCompletionAtMs, this.nowMs()) : this.nowMs();
        this.quit();
      });
    }
  }

  /**
   * What the backends need to share sessions: with `shared`, starts the
   * run's redis-server (a usage error when it is not installed, before any
   * process starts) and hands over its URL; with `token`, draws the key
   * every backend signs and verifies with. In the environment, not argv.
   */
  private async sessionEnv(): Promise<Record<string, string>> {
    const { sessions, host } = this.config;
    if (sessions === 'token') return { [SESSION_KEY_ENV]: newSessionKey() };
    if (sessions !== 'shared') return {};
    const { SessionStoreProcess } = await import('../backend/session-store.js');
    const store = await SessionStoreProcess.start(host);
    this.sessionStore = store;
    store.on('exit', (code, signal) => {
      this.log({ atMs: this.nowMs(), type: 'error', detail: `the session store (redis-server) ended from outside (${signal ?? `code ${code}`}): sessions are lost until the run ends` });
    });
    return { [SESSION_STORE_ENV]: store.url };
  }

  /** Logs at 0 where the sessions live (the store's pid and address with `shared`). */
  private logSessions(): void {
    const { sessions } = this.config;
    if (!sessions) return;
    const store = this.sessionStore;
    const where =
      sessions === 'memory'
        ? 'each backend keeps its own, in memory'
        : sessions === 'token'
          ? 'in signed tokens (JWT HS256) the clients carry; nothing stored'
          : `one store for all: redis-server pid ${store?.pid ?? '?'} on ${store?.host}:${store?.port} (no persistence)`;
    this.log({ atMs: 0, type: 'sessions', detail: `${sessions}: ${where}` });
  }

  /** Resolves when the run should end: duration over, `quit()` called (key, signal). */
  untilQuit(): Promise<void> {
    return this.quitPromise;
  }

  /** Ends the run: {@link untilQuit} resolves; the caller then calls {@link finish}. */
  quit(): void {
    if (this.endedAtMs === undefined) this.endedAtMs = this.nowMs();
    this.quitResolve?.();
  }

  /** SIGKILLs backend `name` if it runs, logging who asked (`source`: key or event). */
  kill(name: string, source = 'key'): void {
    if (this.isBalancer(name)) return this.killBalancer(name, source);
    const member = this.fleet.get(name);
    if (!member || member.process !== 'running') return;
    this.log({ atMs: this.nowMs(), type: 'kill', target: name, detail: `SIGKILL pid ${member.pid} (${source})` });
    if (this.webSockets) this.followDrops(name, this.webSockets);
    void this.fleet.kill(name);
  }

  /**
   * After a kill of backend `name` under WebSocket load: logs (type
   * `ws-drops`) how many of its WebSockets dropped and where those clients
   * reconnected, once every dropped one is back or 5 s have passed
   * (checked every 100 ms, from 200 ms after the kill).
   */
  private followDrops(name: string, ws: RunningWebSocketLoad): void {
    const before = dropMark(ws.live(), name);
    const from = performance.now();
    const check = (): void => {
      const d = dropsSince(before, dropMark(ws.live(), name));
      const back = d.reconnected.reduce((n, [, k]) => n + k, 0);
      if ((d.dropped > 0 && back >= d.dropped) || performance.now() - from >= 5000) {
        this.log({ atMs: this.nowMs(), type: 'ws-drops', target: name, detail: d.words });
        return;
      }
      this.timers.push(setTimeout(check, 100));
    };
    this.timers.push(setTimeout(check, 200));
  }

  /** Restarts backend `name` on its port, logging it; ignored while it is already starting. */
  restart(name: string, source = 'key'): void {
    if (this.isBalancer(name)) return this.restartBalancer(name, source);
    const member = this.fleet.get(name);
    if (!member || member.process === 'starting' || this.fleet.isRestarting(name)) return;
    this.log({ atMs: this.nowMs(), type: 'restart', target: name, detail: `on port ${member.port} (${source})` });
    this.fleet.restart(name).then(
      (m) => this.log({ atMs: this.nowMs(), type: 'started', target: name, detail: `pid ${m.pid} listening on ${m.port}` }),
      (err: Error) => this.log({ atMs: this.nowMs(), type: 'error', target: name, detail: err.message }),
    );
  }

  /** Switches `fault` on backend `name` on if it is off, off if it is on (see {@link setFault}). */
  toggleFault(fault: FaultName, name: string): void {
    const member = this.fleet.get(name);
    if (member) this.setFault(name, fault, !FAULT_REGISTRY[fault].isOn(member.faults));
  }

  /**
   * Switches `fault` on or off on backend `name` over IPC and logs it
   * (type: the fault's name when on, `<fault>-off` when off). A backend whose
   * process is not running cannot take a fault: that is logged as an error.
   */
  setFault(name: string, fault: FaultName, on: boolean, source = 'key', switches?: BackendFaults): void {
    const member = this.fleet.get(name);
    if (!member) return;
    const def = FAULT_REGISTRY[fault];
    const reached = !on && def.isOn(member.faults) ? def.clearedWords(degradationMs(member.faults, member.degradingSince)) : '';
    if (!this.fleet.setFaults(name, on && switches ? switches : faultSwitches(fault, on))) {
      this.log({ atMs: this.nowMs(), type: 'error', target: name, detail: `${fault} not ${on ? 'set' : 'cleared'}: the process is not running (${source})` });
      return;
    }
    this.log({
      atMs: this.nowMs(),
      // Switching one fault off is not a recover: other faults stay on (and their detections stand).
      type: on ? fault : `${fault}-off`,
      target: name,
      detail: on ? `${def.effect(switches ?? def.on)} (${source})` : `${fault} fault cleared${reached} (${source})`,
    });
  }

  /** Clears every fault of backend `name` (a hang's held requests are answered then) and logs what was on. */
  recover(name: string, source = 'key'): void {
    const member = this.fleet.get(name);
    if (!member) return;
    const was = faultWords(member.faults, member.degradingSince);
    if (!this.fleet.recover(name)) {
      this.log({ atMs: this.nowMs(), type: 'error', target: name, detail: `faults not cleared: the process is not running (${source})` });
      return;
    }
    this.log({
      atMs: this.nowMs(),
      type: 'recover',
      target: name,
      detail: was.length > 0 ? `all faults cleared: ${was.join(', ')} (${source})` : `no fault was on (${source})`,
    });
  }

  /** Carries out one scheduled `--event`. A fault event switches its fault on, whatever its state. */
  private runEvent(ev: ScheduledEvent): void {
    if (isFaultEvent(ev)) return this.setFault(ev.target, ev.action, true, 'event', ev.faults);
    switch (ev.action) {
      case 'kill':
        return this.kill(ev.target, 'event');
      case 'restart':
        return this.restart(ev.target, 'event');
      case 'remove':
        return this.removeBackend(ev.target, 'event');
      case 'drain':
        return this.drain(ev.target, true);
      case 'recover':
        return this.recover(ev.target, 'event');
      case 'weight':
        return this.setWeight(ev.target, ev.weight, 'event');
      case 'algo':
        return this.setAlgorithm(ev.algo as AlgorithmName, 'event');
    }
  }

  /** Switches the balancer to algorithm `name` for the next request on; starts a new period and logs it. */
  setAlgorithm(name: AlgorithmName, source = 'key'): void {
    const from = this.balancer.algo;
    if (name === from || this.refused({ type: 'algo', algo: name }, source)) return;
    this.changeUpstream({ type: 'algo', algo: name });
    const own = (this.config.routing?.pools ?? []).filter((p) => p.algo).map((p) => `${p.name} ${p.algo}`);
    const kept = own.length > 0 ? `; pools with an algorithm of their own keep it: ${own.join(', ')}` : '';
    this.log({ atMs: this.nowMs(), type: 'algo', detail: `${from} → ${name} (${source}${kept})` });
  }

  /** Switches to the next algorithm of {@link ALGORITHMS} (of {@link TCP_ALGORITHMS} in tcp mode), wrapping around. */
  cycleAlgorithm(): void {
    const list = this.config.mode === 'tcp' ? TCP_ALGORITHMS : ALGORITHMS;
    const i = list.indexOf(this.balancer.algo);
    this.setAlgorithm(list[(i + 1) % list.length]!);
  }

  /** Sets backend `name`'s weight (1…1000) while running; starts a new period and logs it. Ignored for removed backends. */
  setWeight(name: string, weight: number, source = 'key'): void {
    const i = this.config.backends.findIndex((b) => b.name === name);
    const w = Math.max(1, Math.min(1000, Math.floor(weight)));
    if (i < 0 || this.removed.has(name) || this.weights[i] === w || this.refused({ type: 'weight', backend: name, weight: w }, source)) return;
    const from = this.weights[i];
    this.weights[i] = w;
    this.changeUpstream({ type: 'weight', backend: name, weight: w });
    const ignored = usesWeights(this.balancer.algo) ? '' : `; ${this.balancer.algo} ignores weights`;
    this.log({ atMs: this.nowMs(), type: 'weight', target: name, detail: `weight ${from} → ${w} (${source}${ignored})` });
  }

  /**
   * Takes backend `name` out of the upstream, as if removed from the
   * configuration and reloaded: no new requests, no more checks; its process
   * keeps running. Refused (and logged) for the last member.
   */
  removeBackend(name: string, source = 'key'): void {
    if (!this.config.backends.some((b) => b.name === name) || this.removed.has(name) || this.refused({ type: 'remove', backend: name }, source)) return;
    const pool = this.config.routing?.pools.find((p) => p.backends.includes(name));
    const group = pool ? pool.backends : this.config.backends.map((b) => b.name);
    if (group.filter((b) => !this.removed.has(b)).length === 1) {
      this.log({ atMs: this.nowMs(), type: 'error', target: name, detail: `not removed: it is the last backend of ${pool ? `pool ${pool.name}` : 'the upstream'} (${source})` });
      return;
    }
    this.removed.add(name);
    this.changeUpstream({ type: 'remove', backend: name });
    this.log({ atMs: this.nowMs(), type: 'remove', target: name, detail: `taken out of the upstream (${source})` });
  }

  /** Starts draining backend `name` (no new requests, those in flight finish), or calls it off; the balancer logs both. */
  toggleDrain(name: string): void {
    const b = this.balancer.states().find((s) => s.name === name);
    if (b) this.drain(name, !b.draining);
  }

  /** Drains backend `name` (`on`) or calls draining off. */
  private drain(name: string, on: boolean): void {
    const b = this.balancer.states().find((s) => s.name === name);
    if (!b || b.removed || b.draining === on || this.refused({ type: 'drain', backend: name, on })) return;
    this.balancer.change({ type: 'drain', backend: name, on });
  }

  /** Open model: sets the rate (req/s, 0.1…1 000 000) and logs the change; the schedule restarts from now. Ignored for the closed model. */
  setRate(value: number): void {
    if (this.load?.rate === undefined) return;
    const v = Math.max(0.1, Math.min(1_000_000, value));
    if (v === this.load.rate) return;
    this.load.setRate(v);
    this.log({ atMs: this.nowMs(), type: 'rate', detail: `${v} req/s` });
  }

  /** Sets the closed-model workers, clamped to 1…4096, and logs the change. */
  setConcurrency(value: number): void {
    const v = Math.max(1, Math.min(4096, Math.floor(value)));
    if (!this.load || v === this.load.concurrency) return;
    this.load.setConcurrency(v);
    this.log({ atMs: this.nowMs(), type: 'concurrency', detail: `${v} workers` });
  }

  /** Pauses or resumes the load and logs it. */
  togglePause(): void {
    // WebSocket clients hold their connections: there is nothing to pause.
    if (!this.load) return;
    this.load.setPaused(!this.load.paused);
    this.log({ atMs: this.nowMs(), type: this.load.paused ? 'pause' : 'resume', detail: this.load.paused ? 'load paused' : 'load resumed' });
  }

  /** Copies the live state for the views: rates over the last second, shares and latency so far (see {@link buildSnapshot}). */
  snapshot(): RunSnapshot {
    const period = this.periods.current;
    return buildSnapshot({
      nowMs: this.nowMs(),
      scenario: this.config,
      algo: this.balancer.algo,
      listen: this.listenUrl ?? `http://${this.config.host}:${this.balancerPort()}/`,
      stats: this.stats,
      upstream: this.balancer.states(),
      member: (name) => this.fleet.get(name)!,
      period,
      expectedShares: period ? this.periods.expectedShares(period) : undefined,
      connectionBase: this.connectionBase,
      load: this.load ? { concurrency: this.load.concurrency, rate: this.load.rate, paused: this.load.paused } : { concurrency: 0, rate: undefined, paused: false },
      ...(this.webSockets && {
        webSockets: webSocketSnapshots(this.webSockets.live(), this.config.webSocket!, this.config.backends.map((b) => b.name), this.nowMs() - this.webSocketsFromMs),
      }),
      events: this.events,
      counters: () => this.balancer.counters(),
      ...(this.config.gslb ? { regions: this.regionsNow() } : {}),
      sessions: this.load?.sessions,
      ...(this.pair ? { balancers: { mode: this.pair.ha.mode, members: this.pair.memberViews() } } : {}),
    });
  }

  /** With regions: what each region's clients got so far, and where the GSLB tier sends them now (most first). */
  private regionsNow(): SnapshotSources['regions'] {
    const g = this.config.gslb!;
    const record = this.load?.regionSummary();
    const serving = this.load?.serving;
    if (!record || !serving) return undefined;
    const names = g.regions.map((r) => r.name);
    return {
      record,
      servedIn: (home) => whereSent(this.homes!, serving, names.indexOf(home)).map(([r]) => names[r]!),
    };
  }

  /**
   * Stops the load (letting requests in flight finish), builds the run
   * record, then closes the balancer and ends every backend process.
   * Calling it twice returns the same record.
   */
  finish(): Promise<RunRecord> {
    this.finishing ??= (async () => {
      this.quit();
      for (const t of this.timers) clearTimeout(t);
      await this.stopLoad();
      const record = await this.record(this.endedAtMs ?? this.nowMs());
      await this.forwardProxy?.close();
      await this.balancer.close();
      await this.fleet.stopAll();
      await this.sessionStore?.stop();
      return record;
    })();
    return this.finishing;
  }

  /** Ends processes and sockets without building a record (after a failed start). */
  async abort(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    await this.stopLoad();
    await this.forwardProxy?.close();
    await this.balancer?.close();
    await this.fleet.stopAll();
    await this.sessionStore?.stop();
  }

  /**
   * Stops the load: the HTTP requests in flight finish, or the WebSocket
   * clients close theirs (their result kept in {@link webSocketResult}; when
   * no handshake ever succeeded, {@link failure} says so instead).
   */
  private async stopLoad(): Promise<void> {
    await this.load?.stop();
    if (!this.webSockets) return;
    this.webSocketResult = await this.webSockets.stop().catch((err: RuntimeError) => {
      this.failure ??= err;
      return undefined;
    });
  }

  private async record(durationMs: number): Promise<RunRecord> {
    const report: BalancerReport = await this.balancer.report().catch((err: Error) => {
      // The thread is gone: what the client side measured still stands.
      this.failure ??= new RuntimeError(err.message);
      return reportWithoutBalancer(this.config, this.fleet.members);
    });
    const views = await this.fleet.views();
    return buildRunRecord({
      config: scenarioRecord(this.config, this.load?.maxInFlight),
      durationMs,
      stats: this.stats,
      backends: report.backends.map((b) => {
        const seen = views.get(b.name);
        return seen ? { ...b, seen } : b;
      }),
      events: this.events.map((e) => ({ ...e, atMs: Math.round(e.atMs) })),
      retries: report.retries,
      clientAborts: report.clientAborts,
      ...(this.config.rateLimit ? { rateLimited: report.rateLimited ?? this.balancer.counters().rateLimited } : {}),
      ...(report.tls ? { tls: report.tls } : {}),
      ...(report.http2 ? { http2: report.http2 } : {}),
      periods: this.periods.infos(durationMs),
      ...this.load?.recordInputs(),
      ...(this.webSocketResult && {
        webSocketClients: { result: this.webSocketResult, expectedShares: this.periods.current ? this.periods.expectedShares(this.periods.current) : [] },
      }),
      ...(this.pair ? { ha: this.haRecord(this.pair, durationMs) } : {}),
    });
  }

  /**
   * The pair's part of the record: the members and events, and per kill
   * within the run what it cost the clients (see `HaRecord`): the takeover
   * that followed it, the errors and the first good response the load saw,
   * and the new connections between it and the next kill.
   */
  private haRecord(pair: HaPair, durationMs: number): HaRecord {
    const p = pair.pairReport();
    const kills = p.kills.filter((k) => k.atMs <= durationMs);
    const seen = this.load?.failovers?.summary() ?? [];
    const failovers = kills.map((k, i) => {
      const next = kills[i + 1]?.atMs ?? Infinity;
      const takeover = k.wasActive ? p.takeovers.find((t) => t.atMs >= k.atMs && t.atMs < next && t.balancer !== k.balancer) : undefined;
      const client = seen[i];
      const from = this.load?.connects(k.atMs) ?? { opened: 0, retried: 0, retransmitted: 0 };
      const after = Number.isFinite(next) ? (this.load?.connects(next) ?? from) : { opened: 0, retried: 0, retransmitted: 0 };
      return {
        atMs: Math.round(k.atMs),
        balancer: k.balancer,
        wasActive: k.wasActive,
        inFlight: k.inFlight,
        connections: k.connections,
        takeoverMs: takeover ? Math.round(takeover.atMs - k.atMs) : null,
        clientErrors: client?.clientErrors ?? 0,
        errorsSentAfter: client?.errorsSentAfter ?? 0,
        firstResponseMs: client?.firstResponseMs ?? null,
        connects: { opened: from.opened - after.opened, retried: from.retried - after.retried, retransmitted: from.retransmitted - after.retransmitted },
      };
    });
    return {
      ...p,
      kills: kills.map((k) => ({ ...k, atMs: Math.round(k.atMs) })),
      takeovers: p.takeovers.filter((t) => t.atMs <= durationMs).map((t) => ({ ...t, atMs: Math.round(t.atMs), firstFailedAtMs: Math.round(t.firstFailedAtMs) })),
      budgetMs: takeoverBudgetMs(this.pair!.ha),
      failovers,
    };
  }

  /** Whether the balancer cannot make `change` at all (an engine without the API for it); if so the log says why, and nothing changes. */
  private refused(change: UpstreamChange, source = 'key'): boolean {
    const why = this.balancer.refusal(change);
    if (why === undefined) return false;
    this.log({ atMs: this.nowMs(), type: 'error', ...('backend' in change ? { target: change.backend } : {}), detail: `${why} (${source})` });
    return true;
  }

  /**
   * Follows what takes backend `name` out of rotation or brings it back (a
   * health transition or a backend event of that `type`, at `atMs` on the
   * balancer's clock), and opens a new period there when the set of
   * backends that may take requests changed: the expected share follows
   * health, as HAProxy and nginx share out a DOWN backend's weight. The
   * period starts when the balancer changed, not when the main thread heard
   * of it, so the requests it sent to a backend back UP count in the new one.
   */
  private rotation(name: string, type: string, atMs: number): void {
    const c = ROTATION_CHANGES[type];
    if (!c) return;
    const reasons = this.outOfRotation.get(name) ?? new Set();
    const wasOut = reasons.size > 0;
    if (c[0] === 'add') reasons.add(c[1]);
    else reasons.delete(c[1]);
    if (reasons.size > 0) this.outOfRotation.set(name, reasons);
    else this.outOfRotation.delete(name);
    if (wasOut !== reasons.size > 0) this.followGslb(atMs);
    // Never before the period under way began: periods stay in order.
    if (wasOut !== reasons.size > 0 && this.periods.current) this.newPeriod(Math.max(this.periods.current?.startMs ?? 0, Math.min(atMs, this.nowMs())));
  }

  /**
   * Follows a pool entering or leaving panic (Envoy's panic threshold): in
   * panic, health is ignored, so its DOWN, ejected and broken primaries take
   * requests again and the expected share counts them (a draining one stays
   * out, as the balancer keeps it out). The pool is named by the event's
   * `pool NAME: ` prefix, or is the only one.
   */
  private panic(type: 'panic' | 'panic-over', detail: string, atMs: number): void {
    const pool = /^pool (\S+): /.exec(detail)?.[1] ?? '';
    const had = this.panicking.has(pool);
    if (type === 'panic') this.panicking.add(pool);
    else this.panicking.delete(pool);
    if (had !== this.panicking.has(pool) && this.periods.current) this.newPeriod(Math.max(this.periods.current?.startMs ?? 0, Math.min(atMs, this.nowMs())));
  }

  /** The backends that may not take requests now: out of rotation, unless their pool is in panic and only health keeps them out. */
  private outNow(): Set<string> {
    const out = new Set<string>();
    const pools = this.config.routing?.pools;
    for (const [name, reasons] of this.outOfRotation) {
      const pool = pools ? (pools.find((p) => p.backends.includes(name))?.name ?? '') : '';
      const panic = this.panicking.has(pool) && !this.config.backups.includes(name);
      if (!panic || reasons.has('drain')) out.add(name);
    }
    return out;
  }

  private changeUpstream(change: UpstreamChange): void {
    this.balancer.change(change);
    this.newPeriod(this.nowMs());
  }

  /** Starts a new algorithm period at `atMs` with the upstream as it is now. */
  private newPeriod(atMs: number): void {
    const stats = this.stats.startPeriod(atMs);
    this.connectionBase = connectionTotals(this.balancer.states());
    this.periods.open({ startMs: atMs, algo: this.balancer.algo, weights: [...this.weights], removed: new Set(this.removed), out: this.outNow(), stats });
  }

  private balancerPort(): number {
    return this.balancer.listeningPort ?? this.config.port;
  }

  /** The GSLB tier's answer for every client now: backends in rotation are the healthy ones (see `gslbAnswers`). */
  private gslbAnswers(): number[] {
    const idx = new Map(this.config.backends.map((b, i) => [b.name, i]));
    return gslbAnswers(this.config.gslb!, this.homes!, (b) => !this.outOfRotation.has(b) && !this.removed.has(b), (b) => this.weights[idx.get(b)!] ?? 1);
  }

  /**
   * Asks the GSLB tier again after a backend went in or out of rotation (as
   * DNS-based GSLB answers from its health checks): when an answer changed,
   * the clients follow from their next request and the event log says
   * where each region's clients went (`gslb`).
   */
  private followGslb(atMs: number): void {
    const g = this.config.gslb;
    const before = this.load?.serving;
    if (!g || !before) return;
    const after = this.gslbAnswers();
    const words = describeGslbChange(g, this.homes!, before, after);
    if (words.length === 0) return;
    this.load!.setServing(after);
    for (const detail of words) this.log({ atMs, type: 'gslb', detail });
  }

  /** Whether `name` is a balancer of the pair (lb1, lb2), not a backend. */
  private isBalancer(name: string): boolean {
    return this.config.ha?.balancers.some((b) => b.name === name) ?? false;
  }

  private log(e: RunEvent): void {
    if (e.target && this.load && this.config.sessions && SESSION_LOSS_EVENTS.has(e.type)) this.load.sessions.mark(e.atMs, e.type, e.target);
    this.events.push(e);
    this.onEvent?.(e);
  }
}

import { EventEmitter } from 'node:events';
import net from 'node:net';
import getPort from 'get-port';
import { RuntimeError, UsageError } from '../errors.js';
import type { HaConfig } from '../scenario/ha.js';
import type { UpstreamChange } from './balancer.js';
import { BalancerThread, type BalancerReport, type BalancerThreadData, type RunBalancer, type RunBalancerEvents, type UpstreamState } from './balancer-thread.js';
import type { HaRole } from './ha-role.js';
import type { HaTakeover, PairKill, PairMemberState, PairReport } from '../metrics/run-record.js';
import type { LayerCounters } from './upstream.js';
import type { AlgorithmName } from './algorithms/index.js';

/** One balancer of a pair as the dashboard shows it: state, its process, its clients now, and its requests per second over the last second. */
export type PairMemberView = {
  name: string;
  /** Its own address. */
  address: string;
  /** `active` serves (holds the virtual address, or its own in dns-rr); `passive` watches its peer; `down` its process is gone; `starting` after a restart, until it answers. */
  state: PairMemberState;
  pid: number | null;
  /** Client connections open on it now. */
  connections: number;
  /** Requests it received, over its every process (a restart goes on counting), as last reported (a killed one's: up to {@link RATE_SAMPLE_MS} before its death). */
  requests: number;
  /** Requests per second it received over the last second. */
  rps: number;
};



/** How often each member's request count is sampled for its req/s (ms). */
const RATE_SAMPLE_MS = 100;

type Member = {
  name: string;
  address: string;
  thread: BalancerThread;
  /** Requests of its earlier processes (before a restart). */
  base: number;
  /** The last activity it reported (kept after its process is gone). */
  last: { connections: number; requests: number };
  /** (ms, requests) samples of the last second, for req/s. */
  samples: Array<[number, number]>;
  restarted: boolean;
};

/**
 * Two of lblab's balancers in front of the same backends, each in a process
 * of its own ({@link BalancerThread} with `host: 'process'`), behind the
 * {@link RunBalancer} surface the session drives, so dashboard, report and
 * labs see one upstream: the one of the member that serves now (the active
 * one; the first alive in dns-rr). Each member runs its own health checks
 * from its start, the passive one too, as two HAProxies of a keepalived
 * pair do; a change (weight, drain, algo) goes to both, and to a member
 * started again.
 *
 * `active-passive`: lb1 serves on the virtual address; lb2 checks lb1's own
 * address every `intervalMs` and binds the virtual address after `fall`
 * failed checks in a row (keepalived's VRRP backup becoming master). A
 * restarted member comes back passive, watching the other (keepalived
 * `nopreempt`). `dns-rr`: both serve on their own addresses; the clients
 * hold both (see `haConnector`).
 */
export class HaPair extends EventEmitter<RunBalancerEvents> implements RunBalancer {
  private readonly members: Member[] = [];
  private algoName: AlgorithmName;
  private port: number | undefined;
  private view: Member | undefined;
  private readonly kills: PairKill[] = [];
  private readonly takeovers: HaTakeover[] = [];
  /** Every live change made so far, in order (weights, drains, removals, algorithms). */
  private readonly changes: UpstreamChange[] = [];
  private sampler: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly config: BalancerThreadData['config'],
    private readonly epochStartMs: number,
    readonly ha: HaConfig,
  ) {
    super();
    this.algoName = config.algo;
  }

  /** The algorithm in use (as last changed). */
  get algo(): AlgorithmName {
    return this.algoName;
  }

  /** The port both members use, once chosen. */
  get listeningPort(): number | undefined {
    return this.port;
  }

  /** ms since the run's time 0. */
  private nowMs(): number {
    return performance.timeOrigin + performance.now() - this.epochStartMs;
  }

  /** The addresses the clients are given: the virtual one, or both members' own (dns-rr). */
  clientAddresses(): string[] {
    return this.ha.mode === 'active-passive' ? [this.ha.virtualAddress] : this.ha.balancers.map((b) => b.address);
  }

  /**
   * Picks a port free on every address of the pair (or the scenario's),
   * starts lb1 and then lb2, and resolves with the URL the clients use.
   * @throws {UsageError} when the port is taken; {@link RuntimeError} when a member will not start.
   */
  async listen(): Promise<{ host: string; port: number; url: string }> {
    const port = this.config.port !== 0 ? this.config.port : await freePortOnAll([this.ha.virtualAddress, ...this.ha.balancers.map((b) => b.address)]);
    this.port = port;
    for (const [i, b] of this.ha.balancers.entries()) {
      const role = this.ha.mode === 'dns-rr' || i === 0 ? 'active' : 'passive';
      await this.startMember(b.name, b.address, role);
      // lb1's health transitions count from the moment it is up, not once lb2 is too.
      this.view ??= this.members[0];
    }
    this.sampler = setInterval(() => this.sample(), RATE_SAMPLE_MS);
    this.sampler.unref();
    const host = this.clientAddresses()[0]!;
    return { host, port, url: `${this.config.tls ? 'https' : 'http'}://${host}:${port}/` };
  }

  /** Starts member `name` in `role` and waits until it answers `listen`; replaces an earlier process of the same name. */
  private async startMember(name: string, address: string, role: HaRole['role']): Promise<Member> {
    const { ha } = this;
    const peer = ha.balancers.find((b) => b.name !== name)!;
    const haRole: HaRole = {
      name,
      mode: ha.mode,
      role,
      ownAddress: address,
      virtualAddress: ha.virtualAddress,
      port: this.port!,
      peer,
      intervalMs: ha.intervalMs,
      fall: ha.fall,
      timeoutMs: ha.timeoutMs,
    };
    const host = ha.mode === 'active-passive' ? ha.virtualAddress : address;
    const thread = new BalancerThread({ ...this.config, host, port: this.port! }, this.epochStartMs, 100, 'process', haRole);
    const earlier = this.members.find((m) => m.name === name);
    const member: Member = earlier
      ? Object.assign(earlier, { thread, base: earlier.base + earlier.last.requests, last: { connections: 0, requests: 0 }, samples: [], restarted: true })
      : { name, address, thread, base: 0, last: { connections: 0, requests: 0 }, samples: [], restarted: false };
    if (!earlier) this.members.push(member);
    const fromView = (): boolean => this.view === member && member.thread === thread;
    thread.on('transition', (t) => fromView() && this.emit('transition', t));
    thread.on('backend', (e) => fromView() && this.emit('backend', e));
    thread.on('changeRejected', (m) => fromView() && this.emit('changeRejected', m));
    thread.on('haTakeover', (t) => {
      this.takeovers.push(t);
      this.view = member;
      this.emit('haTakeover', t);
    });
    thread.on('haError', (m) => this.emit('haError', m));
    thread.on('failed', () => undefined);
    const pid = thread.pid;
    thread.on('ended', (code, signal) => {
      if (member.thread !== thread) return;
      if (this.view === member && this.ha.mode === 'dns-rr') this.view = this.members.find((m) => !m.thread.ended) ?? member;
      if (!this.closing && !this.kills.some((k) => k.pid === pid)) this.emit('ended', code, signal, name);
    });
    try {
      await thread.listen();
    } catch (err) {
      // A process that would not listen must not stay, posting states of a balancer that serves nothing.
      await thread.close();
      throw err;
    }
    // A member started again has missed the live changes: it gets them in the order they were made.
    for (const change of this.changes) thread.change(change);
    return member;
  }

  /** The member whose upstream the run shows: the one serving now (the last to take over; dns-rr: the first alive). */
  private current(): Member | undefined {
    return this.view ?? this.members[0];
  }

  /** Every member now: state, pid, connections, requests and req/s. */
  memberViews(): PairMemberView[] {
    return this.members.map((m) => {
      const v = m.thread.haView();
      if (v && !m.thread.ended) m.last = { connections: v.activity.connections, requests: v.activity.requests };
      const s = m.samples;
      const rps = s.length >= 2 ? ((s[s.length - 1]![1] - s[0]![1]) * 1000) / Math.max(1, s[s.length - 1]![0] - s[0]![0]) : 0;
      return {
        name: m.name,
        address: m.address,
        state: m.thread.ended ? 'down' : (v?.state ?? 'starting'),
        pid: m.thread.ended ? null : (m.thread.pid ?? null),
        connections: m.thread.ended ? 0 : m.last.connections,
        requests: m.base + m.last.requests,
        rps: m.thread.ended ? 0 : Math.round(rps),
      };
    });
  }

  private sample(): void {
    const now = this.nowMs();
    for (const m of this.members) {
      const v = m.thread.haView();
      if (!v || m.thread.ended) continue;
      m.last = { connections: v.activity.connections, requests: v.activity.requests };
      m.samples.push([now, v.activity.requests]);
      while (m.samples.length > 0 && now - m.samples[0]![0] > 1000) m.samples.shift();
    }
  }

  /** Why a balancer pair cannot make `change`: it can make any the session checked. */
  refusal(): undefined {
    return undefined;
  }

  /** A live change, to every member alive (each runs its own upstream); kept, for a member started again later. */
  change(change: UpstreamChange): void {
    if (change.type === 'algo') this.algoName = change.algo;
    this.changes.push(change);
    for (const m of this.members) if (!m.thread.ended) m.thread.change(change);
  }

  /** The upstream of the member serving now (the last one's when none is alive). */
  states(): readonly UpstreamState[] {
    return this.current()?.thread.states() ?? [];
  }

  /** Stick table entries, cookies set, requests rate-limited of the member serving now. */
  counters(): LayerCounters {
    return this.current()?.thread.counters() ?? { stickEntries: 0, cookiesSet: 0, rateLimited: 0 };
  }

  /**
   * SIGKILLs member `name`'s process, as `kill -9` would: what it held is
   * cut at once, and (active-passive) the virtual address is free until the
   * passive one takes it. Returns what it was and held.
   * @throws {UsageError} for an unknown name; {@link RuntimeError} when it is not running.
   */
  kill(name: string): PairKill {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new UsageError(`no balancer called ${name}: ${this.members.map((x) => x.name).join(', ')}`);
    const pid = m.thread.pid;
    if (m.thread.ended || pid === undefined) throw new RuntimeError(`${name} is not running`);
    const view = m.thread.haView();
    if (view) m.last = { connections: view.activity.connections, requests: view.activity.requests };
    const kill: PairKill = {
      atMs: this.nowMs(),
      balancer: name,
      pid,
      wasActive: view?.state === 'active',
      inFlight: m.thread.states().reduce((sum, b) => sum + b.inFlight, 0),
      connections: view?.activity.connections ?? 0,
    };
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      throw new RuntimeError(`${name} (pid ${pid}) could not be killed: ${(err as Error).message}`);
    }
    this.kills.push(kill);
    return kill;
  }

  /**
   * Starts member `name` again: passive, watching the other
   * (active-passive: it does not take the address back, as keepalived
   * `nopreempt`), or serving on its own address again (dns-rr).
   * @throws {UsageError} for an unknown name; {@link RuntimeError} when it is still running or will not start.
   */
  async restart(name: string): Promise<void> {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new UsageError(`no balancer called ${name}: ${this.members.map((x) => x.name).join(', ')}`);
    if (!m.thread.ended) throw new RuntimeError(`${name} is still running (pid ${m.thread.pid})`);
    const role = this.ha.mode === 'dns-rr' ? 'active' : 'passive';
    await this.startMember(m.name, m.address, role);
  }

  /**
   * The serving member's report: its per-backend health, retries, client
   * aborts (a member that died took its own counts with it; the pair's
   * request counts and events are in {@link pairReport}).
   * @throws {RuntimeError} when no member is running.
   */
  async report(): Promise<BalancerReport> {
    const alive = this.members.filter((m) => !m.thread.ended);
    const from = this.current() && !this.current()!.thread.ended ? this.current()! : alive[0];
    if (!from) throw new RuntimeError('no balancer of the pair is running');
    return from.thread.report();
  }

  /** What the record keeps of the pair: its members' requests and end states, the kills and the takeovers. */
  pairReport(): PairReport {
    return {
      mode: this.ha.mode,
      addresses: this.clientAddresses(),
      port: this.port ?? 0,
      intervalMs: this.ha.intervalMs,
      fall: this.ha.fall,
      balancers: this.memberViews().map((v, i) => ({ name: v.name, address: v.address, requests: v.requests, state: v.state, pid: this.members[i]!.thread.pid ?? 0 })),
      kills: [...this.kills],
      takeovers: [...this.takeovers],
    };
  }

  /** Ends every member: a `close` message (up to 3 s), then SIGTERM, then SIGKILL 2 s later. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.sampler);
      await Promise.all(this.members.map((m) => m.thread.close()));
    })();
    return this.closing;
  }
}

/**
 * A port free on every one of `hosts` (loopback addresses): get-port's pick
 * on the first, checked on the others by binding it (get-port hands a port
 * out once, so it cannot be asked about the same port again); a few tries.
 * @throws {RuntimeError} when none is found in 20 tries.
 */
async function freePortOnAll(hosts: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await getPort({ host: hosts[0] });
    let free = true;
    for (const host of hosts.slice(1)) if (!(await canBind(host, port))) free = false;
    if (free) return port;
  }
  throw new RuntimeError(`no port free on all of ${hosts.join(', ')}`);
}

/** Whether `host:port` can be bound now (it is closed again at once). */
function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

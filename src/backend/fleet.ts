import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { LatencyProfile } from '../scenario/latency-profile.js';
import { RuntimeError } from '../errors.js';
import { registerCleanup } from '../cleanup.js';
import { formatLatency } from './latency.js';
import { FAULT_REGISTRY } from './faults.js';
import { isChildMessage, mergeFaults, type BackendFaults, type ParentMessage } from './ipc.js';
import type { BackendView } from './request-view.js';
import type { SessionMode } from './sessions.js';

const CLI_ENTRY = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** How to start one backend of a fleet. Latency in ms, `errorRate` 0..1. */
export type BackendSpec = {
  name: string;
  latency: LatencyProfile;
  errorRate: number;
  /** Max concurrent requests served; `Infinity` for no limit. */
  capacity: number;
  /** Push a WebSocket message every this many ms on each open WebSocket (`lblab backend --ws-push`); absent or 0 = never. */
  wsPushMs?: number;
  /** Where it keeps user sessions (`lblab backend --sessions`); absent = it keeps none. */
  sessions?: SessionMode;
};

/** A fleet member as the dashboard and report see it. `pid` is null while the process is not running. */
export type FleetMember = {
  readonly name: string;
  readonly spec: BackendSpec;
  /** Port on 127.0.0.1, kept across restarts. */
  port: number;
  pid: number | null;
  /** `running` once the child said it listens; `exited` after any exit, killed by us or from outside. */
  process: 'starting' | 'running' | 'exited';
  faults: BackendFaults;
  /** When the degrade fault went on (epoch ms, as lblab saw it), null while it is off. */
  degradingSince: number | null;
};

/** Emitted when a backend process ends, whoever ended it. */
export type FleetExit = { name: string; pid: number; code: number | null; signal: NodeJS.Signals | null; byUs: boolean };

type FleetEvents = { exit: [FleetExit]; started: [FleetMember] };

/**
 * The backends lblab runs: real child processes (`lblab backend`) on
 * 127.0.0.1, named b1..bn, each forked with an IPC channel. `kill` is a real
 * SIGKILL; a backend killed from another terminal is noticed by the same
 * `exit` event. Backends exit by themselves when the IPC channel closes, so
 * even a SIGKILLed lblab leaves none behind.
 */
export class Fleet extends EventEmitter<FleetEvents> {
  readonly members: FleetMember[] = [];
  private readonly children = new Map<string, ChildProcess>();
  private readonly killedByUs = new Set<number>();
  /** Restarts under way, by name: a second restart of the same backend joins the first. */
  private readonly restarting = new Map<string, Promise<FleetMember>>();
  private stopped = false;
  private readonly unregister: () => void;
  /** Environment every backend gets besides lblab's own (the session store's URL, the token key), restarts included. */
  private env: Record<string, string> = {};

  constructor(private readonly host = '127.0.0.1') {
    super();
    this.unregister = registerCleanup('backend fleet', () => this.stopAll());
  }

  /**
   * Starts one backend per spec, all at once, each on a free port. `env` is
   * added to each backend's environment, now and at every restart: what
   * must not be on a command line (`LBLAB_SESSION_STORE` with its password,
   * `LBLAB_SESSION_KEY`).
   * @throws {RuntimeError} if a backend does not listen within 10 s.
   */
  async start(specs: readonly BackendSpec[], env: Record<string, string> = {}): Promise<FleetMember[]> {
    this.env = { ...env };
    for (const spec of specs) {
      this.members.push({ name: spec.name, spec, port: 0, pid: null, process: 'starting', faults: {}, degradingSince: null });
    }
    await Promise.all(this.members.map((m) => this.spawn(m)));
    return this.members;
  }

  /** Whether a restart of `name` is under way. */
  isRestarting(name: string): boolean {
    return this.restarting.has(name);
  }

  /** The member called `name`, or undefined. */
  get(name: string): FleetMember | undefined {
    return this.members.find((m) => m.name === name);
  }

  /**
   * SIGKILLs the backend's process. Resolves once the process is gone.
   * Does nothing if it is not running.
   */
  async kill(name: string): Promise<void> {
    const child = this.children.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    this.killedByUs.add(child.pid);
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await gone;
  }

  /**
   * Starts the backend again on the same port (killing it first if it still
   * runs). Faults are cleared: a restarted process is a fresh process. A
   * restart asked for while one is under way joins it rather than racing it
   * for the port.
   * @throws {RuntimeError} if it does not listen within 10 s, or the fleet was stopped meanwhile.
   */
  restart(name: string): Promise<FleetMember> {
    const pending = this.restarting.get(name);
    if (pending) return pending;
    const member = this.require(name);
    const run = (async () => {
      await this.kill(name);
      if (this.stopped) throw new RuntimeError(`backend ${name} not restarted: lblab is stopping`);
      member.faults = {};
      member.degradingSince = null;
      await this.spawn(member);
      return member;
    })().finally(() => this.restarting.delete(name));
    this.restarting.set(name, run);
    return run;
  }

  /** Sends fault switches to a running backend over IPC; returns false if it is not running. */
  setFaults(name: string, faults: BackendFaults): boolean {
    return this.send(name, { type: 'fault', faults }, () => {
      const member = this.require(name);
      const wasDegrading = FAULT_REGISTRY.degrade.isOn(member.faults);
      member.faults = mergeFaults(member.faults, faults);
      const degrading = FAULT_REGISTRY.degrade.isOn(member.faults);
      // The backend keeps the start of a degradation whose rate changes; so does this copy.
      if (degrading && !wasDegrading) member.degradingSince = Date.now();
      if (!degrading) member.degradingSince = null;
    });
  }

  /** Clears every fault of a running backend; returns false if it is not running. */
  recover(name: string): boolean {
    return this.send(name, { type: 'recover' }, () => {
      const member = this.require(name);
      member.faults = {};
      member.degradingSince = null;
    });
  }

  /**
   * What each running backend saw of its requests ({@link BackendView}),
   * asked over IPC; a backend that is not running, or does not answer
   * within `timeoutMs`, is left out. A restarted backend's view starts at
   * its restart (a new process). Never rejects.
   */
  async views(timeoutMs = 2000): Promise<Map<string, BackendView>> {
    const out = new Map<string, BackendView>();
    await Promise.all(
      this.members.map(async (m) => {
        const child = this.children.get(m.name);
        if (!child?.connected) return;
        const view = await new Promise<BackendView | undefined>((resolve) => {
          const timer = setTimeout(() => done(undefined), timeoutMs);
          const onMessage = (msg: unknown): void => {
            if (isChildMessage(msg) && msg.type === 'view') done(msg.view);
          };
          const done = (v: BackendView | undefined): void => {
            clearTimeout(timer);
            child.off('message', onMessage);
            child.off('exit', onExit);
            resolve(v);
          };
          const onExit = (): void => done(undefined);
          child.on('message', onMessage);
          child.once('exit', onExit);
          child.send({ type: 'view' } satisfies ParentMessage, (err) => {
            if (err) done(undefined);
          });
        });
        if (view) out.set(m.name, view);
      }),
    );
    return out;
  }

  /** SIGKILLs every backend still running and waits for them to be gone. */
  async stopAll(): Promise<void> {
    this.stopped = true;
    this.unregister();
    // A restart under way may be spawning right now: let it settle, then kill.
    await Promise.allSettled([...this.restarting.values()]);
    await Promise.all(this.members.map((m) => this.kill(m.name)));
  }

  private send(name: string, message: ParentMessage, apply: () => void): boolean {
    const child = this.children.get(name);
    if (!child?.connected) return false;
    child.send(message, () => undefined);
    apply();
    return true;
  }

  private require(name: string): FleetMember {
    const member = this.get(name);
    if (!member) throw new RuntimeError(`no backend called ${name}`);
    return member;
  }

  private spawn(member: FleetMember): Promise<void> {
    if (this.stopped) return Promise.reject(new RuntimeError(`backend ${member.name} not started: lblab is stopping`));
    const { spec } = member;
    const args = [
      'backend',
      '--name', spec.name,
      '--host', this.host,
      '--port', String(member.port),
      '--latency', formatLatency(spec.latency),
      '--error-rate', String(spec.errorRate),
    ];
    if (Number.isFinite(spec.capacity)) args.push('--capacity', String(spec.capacity));
    if ((spec.wsPushMs ?? 0) > 0) args.push('--ws-push', `${spec.wsPushMs}ms`);
    if (spec.sessions) args.push('--sessions', spec.sessions);
    member.process = 'starting';
    // detached: a new process group, so the terminal's Ctrl-C reaches lblab
    // alone; backends still end with lblab, through the IPC channel.
    const child = fork(CLI_ENTRY, args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], detached: true, env: { ...process.env, ...this.env, FORCE_COLOR: '0' } });
    child.on('error', () => {
      // A send or kill on a process that is already gone; its exit event tells the rest.
    });
    this.children.set(member.name, child);
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-2000);
    });

    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new RuntimeError(`backend ${member.name} did not start within 10s${stderr ? `: ${stderr.trim()}` : ''}`));
      }, 10_000);
      child.on('message', (m) => {
        if (!isChildMessage(m) || m.type !== 'listening') return;
        clearTimeout(timer);
        member.port = m.port;
        member.pid = m.pid;
        member.process = 'running';
        this.emit('started', member);
        resolve();
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const pid = child.pid ?? -1;
        const byUs = this.killedByUs.delete(pid);
        if (this.children.get(member.name) === child) {
          member.process = 'exited';
          member.pid = null;
        }
        // A no-op once the child has said it listens: the promise is settled.
        reject(new RuntimeError(`backend ${member.name} exited (${signal ?? `code ${code}`}) before listening${stderr ? `: ${stderr.trim()}` : ''}`));
        this.emit('exit', { name: member.name, pid, code, signal, byUs });
      });
    });
  }
}

import { EventEmitter } from 'node:events';
import { open } from 'node:fs/promises';
import getPort from 'get-port';
import type { BalancerReport, RunBalancer, RunBalancerEvents, UpstreamState } from '../balancer/balancer-thread.js';
import type { UpstreamChange } from '../balancer/balancer.js';
import type { HealthState } from '../balancer/health/rise-fall.js';
import { pooledExpectedShares } from '../balancer/routes.js';
import { poolCookieNames } from '../balancer/sticky/sticky-sessions.js';
import { selfSignedCertificate } from '../balancer/tls.js';
import type { LayerCounters } from '../balancer/upstream.js';
import type { HealthTransition } from '../balancer/upstream-backend.js';
import { RuntimeError } from '../errors.js';
import type { BackendInfo } from '../metrics/run-record.js';
import type { UpstreamScenario } from '../scenario/scenario.js';
import { TrafficStats } from '../metrics/traffic-stats.js';
import { enginePools, parseAccessLine, serverOf } from './engine-config.js';
import { engineFiles, EngineProcess, writePrivate } from './engine-process.js';
import { findEngineProgram, nginxStreamModule, type ExternalEngine } from './engines.js';
import { haproxyCommand, parseShowStat, type ServerStat } from './haproxy-stats.js';
import { haproxyConfig } from './haproxy-config.js';
import { nginxConfig } from './nginx-config.js';

/** How often HAProxy's stats socket is read for health and in-flight counts, ms: a DOWN is seen within this of HAProxy's own verdict. */
const STATS_INTERVAL_MS = 100;

/** What the engine balances: the upstream scenario and the servers behind it (lblab's backends). */
export type EngineBalancerConfig = UpstreamScenario & { engine: ExternalEngine; backends: ReadonlyArray<{ name: string; url: string; weight: number; backup?: boolean }> };


/** Per backend, what the run record keeps of its health as the engine judged it. */
type Health = { state: HealthState; downSinceMs: number | null; downMs: number; transitions: HealthTransition[] };

/**
 * A real HAProxy or nginx doing the balancing of a run, behind the same
 * surface as lblab's own balancer thread ({@link RunBalancer}), so the
 * session, dashboard, report and lab verdicts stay the same: shares and
 * latency are measured on the client side for every engine. The engine runs
 * from a config generated for the scenario (`haproxyConfig`,
 * `nginxConfig`) in a temporary directory, as a child kept by a keeper
 * process (no orphan, even on SIGKILL of lblab).
 *
 * Health is the engine's own: with HAProxy the stats socket (`show stat`)
 * is read every {@link STATS_INTERVAL_MS} for `status`, the check result and
 * counter and `scur` (in flight), and each UP↔DOWN change becomes a
 * transition at the moment it was read; weights and drain are set through it
 * (`set weight`, `set server … state drain|ready|maint`). nginx OSS has no
 * active checks and no runtime API: its backends show as UP with "passive
 * (nginx OSS)" as check, and live changes are refused, saying so.
 */
export class EngineBalancer extends EventEmitter<RunBalancerEvents> implements RunBalancer {
  private process: EngineProcess | undefined;
  private latest: UpstreamState[];
  private readonly health = new Map<string, Health>();
  private readonly sections: Map<string, string>;
  private ticker: NodeJS.Timeout | undefined;
  private port: number | undefined;
  private closing: Promise<void> | undefined;
  private serverStats: ServerStat[] = [];
  /** Backends put in drain and not yet drained: when, ms since time 0. */
  private readonly drainingSince = new Map<string, number>();
  private readonly engine: ExternalEngine;

  /** What the engine served, from its access log, when `recordTraffic` (`lblab balance`); empty otherwise (`start` measures at the clients). */
  readonly stats = new TrafficStats();

  constructor(
    private readonly config: EngineBalancerConfig,
    private readonly epochStartMs: number,
    private readonly recordTraffic = false,
  ) {
    super();
    this.engine = config.engine;
    const pools = this.pools();
    const names = poolCookieNames('lblab', pools);
    this.sections = new Map(pools.flatMap((p, i) => p.backends.map((b) => [b, names[i]!] as const)));
    this.latest = config.backends.map((b) => ({
      name: b.name,
      origin: b.url,
      weight: b.weight,
      effectiveWeight: b.weight,
      inFlight: 0,
      state: 'up',
      checkCounter: '',
      lastCheck: this.engine === 'nginx' ? 'none: nginx OSS' : '',
      ...(this.engine === 'nginx' ? { unchecked: true } : {}),
      reportedLoad: null,
      removed: false,
      draining: false,
      backup: b.backup === true,
      ejectedForMs: null,
      breaker: null,
    }));
    for (const b of config.backends) this.health.set(b.name, { state: 'up', downSinceMs: null, downMs: 0, transitions: [] });
  }

  /** The pools as the engine's config has them (one, `default`, without routes). */
  private pools(): ReturnType<typeof enginePools> {
    return enginePools(this.config, this.config.backends.map((b) => b.name));
  }

  /** The algorithm: fixed in the engine's config. */
  get algo(): UpstreamScenario['algo'] {
    return this.config.algo;
  }

  /** The engine process's pid, once started. */
  get enginePid(): number | undefined {
    return this.process?.pid;
  }

  /** Why the engine cannot make `change`: an algorithm is fixed in its config, and nginx OSS has no runtime API. */
  refusal(change: UpstreamChange): string | undefined {
    if (change.type === 'algo') return `not with --engine ${this.engine}: the algorithm is fixed in ${this.engine}'s config (compare engines with lblab compare --engines)`;
    if (this.engine === 'nginx') return `not with --engine nginx: nginx OSS has no runtime API to ${change.type === 'weight' ? 'set a weight' : change.type === 'drain' ? 'drain a server' : 'remove a server'}`;
    return undefined;
  }

  /** The port the engine listens on, once listening. */
  get listeningPort(): number | undefined {
    return this.port;
  }

  /** ms since the run's time 0. */
  nowMs(): number {
    return performance.timeOrigin + performance.now() - this.epochStartMs;
  }

  /**
   * Writes the config (and the certificate, mode 0600, with `tls`) in a
   * temporary directory, starts the engine and resolves once it accepts
   * connections; with HAProxy, starts reading its stats.
   * @throws {UsageError} when the program is missing or the port is taken; {@link RuntimeError} when the engine will not start (its own words).
   */
  async listen(): Promise<{ host: string; port: number; url: string }> {
    const program = findEngineProgram(this.engine);
    const { host } = this.config;
    const port = this.config.port !== 0 ? this.config.port : await getPort({ host });
    const files = await engineFiles(this.engine);
    const upstream = { ...this.config, port };
    const input = {
      upstream,
      backends: this.config.backends.map((b) => serverOf(b.name, b.url)),
      files,
      source: `lblab --engine ${this.engine}`,
      accessLog: this.recordTraffic && this.config.mode === 'http',
    };
    if (this.config.tls) {
      const pem = await selfSignedCertificate(host);
      if (this.engine === 'haproxy') await writePrivate(files.certificate, `${pem.cert}\n${pem.key}`);
      else {
        await writePrivate(files.certificate, pem.cert);
        await writePrivate(files.certificateKey, pem.key);
      }
    }
    const text = this.engine === 'haproxy' ? haproxyConfig(input) : nginxConfig(input, this.config.mode === 'tcp' ? nginxStreamModule() : undefined);
    await writePrivate(files.config, text);
    const args = this.engine === 'haproxy' ? ['-db', '-f', files.config] : ['-e', 'stderr', '-p', `${files.dir}/`, '-c', files.config];
    this.process = await EngineProcess.start(this.engine, program, args, files, { host, port });
    if (input.accessLog) {
      const byAddress = new Map(input.backends.map((b) => [`${b.host}:${b.port}`, b.name]));
      const onLine = (text: string): void => {
        const a = parseAccessLine(text);
        if (!a) return;
        const name = a.server === undefined ? undefined : (byAddress.get(a.server) ?? a.server);
        this.stats.record(name !== undefined ? this.stats.backend(name) : undefined, a.latencyUs, a.status, undefined, this.nowMs());
      };
      // HAProxy logs on stdout (through the keeper); nginx to a file in the run's directory, read as it grows.
      if (this.engine === 'haproxy') this.process.on('line', onLine);
      else this.logTail = tailLines(files.accessLog, onLine);
    }
    this.process.on('exit', (code, signal) => {
      const words = this.process?.errors ? `: ${this.process.errors.split('\n').slice(-2).join(' | ')}` : '';
      this.emit('failed', new RuntimeError(`${this.engine} (pid ${this.process?.pid}) exited (${signal ?? `code ${code}`})${words}`));
    });
    this.port = port;
    if (this.engine === 'haproxy') {
      await this.readStats();
      this.ticker = setInterval(() => void this.readStats(), STATS_INTERVAL_MS);
    }
    return { host, port, url: `${this.config.tls ? 'https' : 'http'}://${host}:${port}/` };
  }

  private reading = false;
  /** Stops reading nginx's access log file, after a last read. */
  private logTail: ReturnType<typeof tailLines> | undefined;

  /** One `show stat`: states, check results, in flight; a transition for each UP↔DOWN change. */
  private async readStats(): Promise<void> {
    if (this.reading || !this.process || this.closing) return;
    this.reading = true;
    try {
      this.serverStats = parseShowStat(await haproxyCommand(this.process.files.statsSocket, 'show stat'));
    } catch {
      return; // The engine's exit (if it is that) is reported by its process.
    } finally {
      this.reading = false;
    }
    const now = this.nowMs();
    this.latest = this.latest.map((b) => {
      const s = this.serverStats.find((x) => x.server === b.name);
      if (!s) return b;
      const h = this.health.get(b.name)!;
      // MAINT is a server taken out (remove), not a health verdict: its state stays what the checks last said.
      const state: HealthState = s.status === 'MAINT' ? h.state : s.status.startsWith('UP') || s.status === 'NOLB' || s.status === 'DRAIN' ? 'up' : 'down';
      if (state !== h.state) {
        const reason = `${s.checkStatus}${s.checkCode ? ` ${s.checkCode}` : ''}${s.checkDesc ? ` (${s.checkDesc})` : ''}, HAProxy stats`;
        const t: HealthTransition = { atMs: now, from: h.state, to: state, reason };
        h.transitions.push(t);
        if (state === 'down') h.downSinceMs = now;
        else if (h.downSinceMs !== null) {
          h.downMs += now - h.downSinceMs;
          h.downSinceMs = null;
        }
        h.state = state;
        this.emit('transition', { ...t, backend: b.name });
      }
      const since = this.drainingSince.get(b.name);
      if (since !== undefined && s.scur === 0) {
        this.drainingSince.delete(b.name);
        this.emit('backend', { atMs: now, backend: b.name, type: 'drained', detail: `nothing in flight ${Math.round(now - since)}ms after drain (HAProxy scur 0)` });
      }
      const top = s.checkRise + s.checkFall - 1;
      return {
        ...b,
        state,
        inFlight: s.scur,
        effectiveWeight: s.weight,
        checkCounter: top > 0 ? (state === 'up' ? `${s.checkHealth - s.checkRise + 1}/${s.checkFall}` : `${s.checkHealth}/${s.checkRise}`) : '',
        lastCheck: s.checkStatus ? `${s.checkStatus}${s.checkCode ? ` ${s.checkCode}` : ''}` : '',
        draining: s.status === 'DRAIN' || s.status === 'NOLB',
        removed: s.status === 'MAINT',
      };
    });
  }

  /** The upstream as last read from the engine (HAProxy: at most {@link STATS_INTERVAL_MS} old). */
  states(): readonly UpstreamState[] {
    return this.latest;
  }

  /** lblab's layer counters: not read from an engine. */
  counters(): LayerCounters {
    return { stickEntries: 0, cookiesSet: 0, rateLimited: 0 };
  }

  /**
   * A live change, through HAProxy's runtime API (`set weight`, `set server
   * … state drain|ready|maint`); an algorithm change, or any change with
   * nginx, is refused with `changeRejected` saying why.
   */
  change(change: UpstreamChange): void {
    const refused = this.refusal(change);
    if (refused !== undefined || !this.process) {
      this.emit('changeRejected', refused ?? `not with --engine ${this.engine}: it is not running`);
      return;
    }
    if (change.type === 'algo') return; // refused above: the algorithm is fixed in the config
    const server = `${this.sections.get(change.backend) ?? 'lblab'}/${change.backend}`;
    const command =
      change.type === 'weight' ? `set weight ${server} ${change.weight}` : change.type === 'drain' ? `set server ${server} state ${change.on ? 'drain' : 'ready'}` : `set server ${server} state maint`;
    this.latest = this.latest.map((b) =>
      b.name !== change.backend ? b : change.type === 'weight' ? { ...b, weight: change.weight } : change.type === 'drain' ? { ...b, draining: change.on } : { ...b, removed: true },
    );
    haproxyCommand(this.process.files.statsSocket, command).then(
      (answer) => {
        if (answer.trim() !== '') {
          this.emit('changeRejected', `HAProxy answered "${answer.trim()}" to ${command}`);
          return;
        }
        if (change.type !== 'drain') return;
        const inFlight = this.latest.find((b) => b.name === change.backend)?.inFlight ?? 0;
        if (change.on) this.drainingSince.set(change.backend, this.nowMs());
        else this.drainingSince.delete(change.backend);
        this.emit('backend', {
          atMs: this.nowMs(),
          backend: change.backend,
          type: change.on ? 'draining' : 'undrained',
          detail: change.on ? `HAProxy state drain: no new requests, ${inFlight} in flight (${command})` : `HAProxy state ready: back in rotation (${command})`,
        });
      },
      (err: Error) => this.emit('changeRejected', `${command}: ${err.message}`),
    );
  }

  /** Per-backend health as the engine judged it (HAProxy) and its failed checks, for the run record; no retry counts (HAProxy counts retries, not which succeeded). */
  async report(): Promise<BalancerReport> {
    if (this.engine === 'haproxy') await this.readStats();
    await this.logTail?.readNow();
    const now = this.nowMs();
    const names = this.config.backends.map((b) => b.name);
    const pools = this.pools();
    const shares = pooledExpectedShares(
      names,
      pools.map((p) => ({ backends: p.backends.filter((b) => !this.config.backends.find((x) => x.name === b)?.backup), algo: p.algo })),
      (n) => this.config.backends.find((b) => b.name === n)!.weight,
      () => true,
      pools.map(() => 0),
    );
    const backends: BackendInfo[] = this.config.backends.map((b, i) => {
      const h = this.health.get(b.name)!;
      const s = this.serverStats.find((x) => x.server === b.name);
      return {
        name: b.name,
        url: b.url,
        weight: b.weight,
        expectedShare: shares[i]!,
        ...(this.config.routing ? { pool: pools.find((p) => p.backends.includes(b.name))?.name ?? '' } : {}),
        ...(s ? { checks: { failed: s.chkfail } } : {}),
        ...(this.engine === 'haproxy'
          ? { health: { state: h.state, downMs: Math.round(h.downMs + (h.downSinceMs !== null ? now - h.downSinceMs : 0)), transitions: h.transitions.map((t) => ({ ...t, atMs: Math.round(t.atMs) })) } }
          : {}),
      };
    });
    return { backends, clientAborts: 0 };
  }

  /** Ends the engine and removes its temporary directory. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.ticker) clearInterval(this.ticker);
      await this.logTail?.stop();
      this.process?.removeAllListeners('exit');
      await this.process?.stop();
    })();
    return this.closing;
  }
}

/**
 * Follows `file` as it grows (every 100 ms, from where it was last read) and
 * calls `onLine` for each whole line. `readNow` reads what is there at once,
 * `stop` reads it and stops. A file that does not exist yet is read when it does.
 */
function tailLines(file: string, onLine: (line: string) => void): { readNow: () => Promise<void>; stop: () => Promise<void> } {
  let offset = 0;
  let partial = '';
  let busy: Promise<void> = Promise.resolve();
  const readMore = async (): Promise<void> => {
    const fh = await open(file, 'r').catch(() => undefined);
    if (!fh) return;
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        const lines = (partial + buf.toString('utf8', 0, bytesRead)).split('\n');
        partial = lines.pop()!;
        for (const l of lines) onLine(l);
      }
    } finally {
      await fh.close();
    }
  };
  const timer = setInterval(() => {
    busy = busy.then(readMore, readMore);
  }, 100);
  const readNow = async (): Promise<void> => {
    busy = busy.then(readMore, readMore);
    await busy.catch(() => undefined);
  };
  return {
    readNow,
    stop: async () => {
      clearInterval(timer);
      await readNow();
    },
  };
}

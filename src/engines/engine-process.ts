import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerCleanup } from '../cleanup.js';
import { RuntimeError, UsageError } from '../errors.js';
import type { KeptProgram } from './engines.js';

const KEEPER_ENTRY = fileURLToPath(new URL('./keeper.js', import.meta.url));

/** How long an engine may take to accept connections on its port, ms. */
const READY_TIMEOUT_MS = 10_000;

/** The files of an engine run, in its temporary directory (mode 0700, removed at stop). */
export type EngineFiles = { dir: string; config: string; statsSocket: string; certificate: string; certificateKey: string; accessLog: string };

/** The name of each kept program's config file in its temporary directory. */
const CONFIG_FILES: Record<KeptProgram, string> = { haproxy: 'haproxy.cfg', nginx: 'nginx.conf', 'redis-server': 'redis.conf' };

/** Makes the temporary directory of an engine run (or of another kept program) and names its files in it. */
export async function engineFiles(engine: KeptProgram): Promise<EngineFiles> {
  const dir = await mkdtemp(join(tmpdir(), `lblab-${engine}-`));
  return {
    dir,
    config: join(dir, CONFIG_FILES[engine]),
    statsSocket: join(dir, 'admin.sock'),
    certificate: join(dir, engine === 'haproxy' ? 'lblab.pem' : 'lblab.crt'),
    certificateKey: join(dir, 'lblab.key'),
    accessLog: join(dir, 'access.log'),
  };
}

/** Writes `text` to `file`, readable by the owner alone (a private key, a config naming it). */
export async function writePrivate(file: string, text: string): Promise<void> {
  await writeFile(file, text, { mode: 0o600 });
  await chmod(file, 0o600);
}

type ProcessEvents = { exit: [code: number | null, signal: string | null]; line: [text: string] };

/**
 * A real `haproxy` or `nginx` process (or the `redis-server` of `--sessions
 * shared`), in the foreground, from a config in
 * its own temporary directory, kept by a small Node process
 * (`keeper.ts`) that ends it when lblab ends — on quit, a signal, an
 * uncaught error, or a SIGKILL of lblab (the IPC channel closes). Emits
 * `exit` when the engine ended without being asked to, and `line` for each
 * line it writes on stdout (its access log, when asked for).
 */
export class EngineProcess extends EventEmitter<ProcessEvents> {
  private stderr = '';
  private stopping: Promise<void> | undefined;
  private exited = false;
  private readonly unregister: () => void;
  /** The engine's own pid, once spawned. */
  pid: number | undefined;

  private constructor(
    readonly engine: KeptProgram,
    private readonly keeper: ChildProcess,
    readonly files: EngineFiles,
  ) {
    super();
    this.unregister = registerCleanup(`${engine} process`, () => this.stop());
    let partial = '';
    keeper.stdout?.setEncoding('utf8');
    keeper.stdout?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const l of lines) this.emit('line', l);
    });
    keeper.stderr?.setEncoding('utf8');
    keeper.stderr?.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    keeper.on('message', (m: { type?: string; pid?: number }) => {
      if (m?.type === 'spawned') this.pid = m.pid;
    });
    keeper.on('error', () => {
      // A send on a keeper that is gone: its exit says the rest.
    });
    keeper.once('exit', (code, signal) => {
      this.exited = true;
      if (!this.stopping) this.emit('exit', code, signal);
    });
  }

  /**
   * Starts `program args` through a keeper and resolves once something
   * accepts TCP connections on `host:port`.
   * @throws {UsageError} when the port is taken; {@link RuntimeError} when the
   * engine exits first (with its own words, e.g. HAProxy's `[ALERT]` lines)
   * or is not listening within 10 s. Nothing is left running either way.
   */
  static async start(engine: KeptProgram, program: string, args: readonly string[], files: EngineFiles, listen: { host: string; port: number }): Promise<EngineProcess> {
    // detached: its own process group, so the terminal's Ctrl-C reaches lblab alone, which ends it.
    const keeper = fork(KEEPER_ENTRY, [files.dir, program, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true });
    const p = new EngineProcess(engine, keeper, files);
    try {
      await p.ready(listen);
    } catch (err) {
      await p.stop();
      throw err;
    }
    return p;
  }

  /** What the engine wrote on stderr lately, its own words (at most 4000 characters). */
  get errors(): string {
    return this.stderr.trim();
  }

  private async ready(listen: { host: string; port: number }): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (this.exited) {
        const words = this.errors;
        if (/cannot bind|Address already in use|bind\(\) to .* failed/i.test(words)) {
          throw new UsageError(`Expected \`--port\` to be a free port, but ${listen.host}:${listen.port} is already in use (${this.engine})`);
        }
        throw new RuntimeError(`${this.engine} exited before listening${words ? `: ${lastLines(words)}` : ''}`);
      }
      if (await accepts(listen.host, listen.port)) return;
      if (Date.now() > deadline) throw new RuntimeError(`${this.engine} did not listen on ${listen.host}:${listen.port} within ${READY_TIMEOUT_MS / 1000}s${this.errors ? `: ${lastLines(this.errors)}` : ''}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Ends the engine (through its keeper) and removes its temporary directory; at most ~3 s. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.unregister();
      if (!this.exited) {
        const gone = new Promise<void>((resolve) => this.keeper.once('exit', () => resolve()));
        if (this.keeper.connected) this.keeper.send({ type: 'stop' });
        else this.keeper.kill('SIGTERM');
        const timer = setTimeout(() => {
          // The keeper kills the engine after 2 s; this is for a keeper that is stuck.
          try {
            if (this.pid) process.kill(this.pid, 'SIGKILL');
          } catch {
            // already gone
          }
          this.keeper.kill('SIGKILL');
        }, 3000);
        await gone;
        clearTimeout(timer);
      }
      await rm(this.files.dir, { recursive: true, force: true });
    })();
    return this.stopping;
  }
}

/** The last three lines of an engine's stderr, joined: what it said before it died. */
function lastLines(text: string): string {
  return text.split('\n').filter((l) => l.trim() !== '').slice(-3).join(' | ');
}

/** Whether a TCP connect to `host:port` succeeds (then closed at once). */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.setTimeout(500, () => {
      s.destroy();
      resolve(false);
    });
  });
}

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import getPort from 'get-port';
import { engineFiles, EngineProcess, writePrivate } from '../engines/engine-process.js';
import { findProgram } from '../engines/engines.js';
import { UsageError } from '../errors.js';

/** Most memory the store may take; past it, the least recently used sessions are evicted (redis `allkeys-lru`). */
const STORE_MAX_MEMORY = '64mb';

/**
 * The path of `redis-server`, the shared session store's program.
 * @throws {UsageError} (exit 2) when it is not on PATH, in one line:
 * "`--sessions shared` needs the redis-server program, not found on PATH: apt-get install redis-server".
 */
export function findSessionStoreProgram(path = process.env.PATH ?? ''): string {
  return findProgram('redis-server', '--sessions shared', 'redis-server', path);
}

/** Emitted when the store ended without being asked to (killed from outside). */
type StoreEvents = { exit: [code: number | null, signal: string | null] };

/**
 * The shared session store of `--sessions shared`: a real `redis-server`
 * on a free port of `host`, with no persistence (`save ""`, `appendonly
 * no`: a run's sessions end with it) and a password drawn at start, from a
 * config in a private temporary directory. It runs as lblab's child through
 * the engines' keeper (`keeper.ts`), so it ends when lblab ends however it
 * ends — quit, a signal, an uncaught error, a SIGKILL of lblab (the keeper
 * sees its IPC channel close) — and is registered in the cleanup registry.
 * `url` (password included) is what the backends connect to: hand it over
 * in the environment, never on a command line.
 */
export class SessionStoreProcess extends EventEmitter<StoreEvents> {
  private constructor(
    private readonly process: EngineProcess,
    readonly host: string,
    readonly port: number,
    readonly url: string,
  ) {
    super();
    process.on('exit', (code, signal) => this.emit('exit', code, signal));
  }

  /** redis-server's own pid. */
  get pid(): number | undefined {
    return this.process.pid;
  }

  /**
   * Starts the store and resolves once it accepts connections.
   * @throws {UsageError} when redis-server is not on PATH; {@link RuntimeError} when it does not start (its own words). Nothing is left running either way.
   */
  static async start(host = '127.0.0.1'): Promise<SessionStoreProcess> {
    const program = findSessionStoreProgram();
    for (let attempt = 0; ; attempt++) {
      const port = await getPort({ host });
      const files = await engineFiles('redis-server');
      const password = randomBytes(24).toString('hex');
      const config = [
        `bind ${host}`,
        `port ${port}`,
        'protected-mode yes',
        'daemonize no',
        'save ""',
        'appendonly no',
        `dir ${files.dir}`,
        'logfile ""',
        'loglevel warning',
        `requirepass ${password}`,
        `maxmemory ${STORE_MAX_MEMORY}`,
        'maxmemory-policy allkeys-lru',
      ];
      await writePrivate(files.config, `${config.join('\n')}\n`);
      try {
        const process = await EngineProcess.start('redis-server', program, [files.config], files, { host, port });
        return new SessionStoreProcess(process, host, port, `redis://:${password}@${host}:${port}`);
      } catch (err) {
        // The free port get-port found was taken meanwhile: draw another, once.
        if (err instanceof UsageError && attempt === 0) continue;
        throw err;
      }
    }
  }

  /** Ends redis-server (SIGTERM, SIGKILL after 2 s) and removes its directory. */
  stop(): Promise<void> {
    return this.process.stop();
  }
}

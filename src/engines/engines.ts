import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { UsageError } from '../errors.js';

/**
 * What may do the balancing of a run (`--engine`): lblab's own balancer, or
 * a real HAProxy or nginx process started from a config lblab generates
 * (see `haproxyConfig`, `nginxConfig`).
 */
export const ENGINES = ['lblab', 'haproxy', 'nginx'] as const;

/** One of {@link ENGINES}. */
export type EngineName = (typeof ENGINES)[number];

/** An engine that is a program of its own, not lblab's balancer. */
export type ExternalEngine = Exclude<EngineName, 'lblab'>;

/** Whether `value` is one of {@link ENGINES}. */
export function isEngineName(value: string): value is EngineName {
  return (ENGINES as readonly string[]).includes(value);
}

/** The Debian package of each external engine, named in the message when its program is missing. */
const PACKAGES: Record<ExternalEngine, string> = { haproxy: 'haproxy', nginx: 'nginx' };

/**
 * A program lblab runs as a child through its keeper (`keeper.ts`), which
 * ends it when lblab ends: an external engine, or the `redis-server` of
 * `--sessions shared`.
 */
export type KeptProgram = ExternalEngine | 'redis-server';

/**
 * The absolute path of `engine`'s program: the first executable `haproxy`
 * or `nginx` in a folder of `path` (default `PATH`; Debian puts them in
 * `/usr/sbin`).
 * @throws {UsageError} (exit 2) when there is none, in one line saying how to
 * install it: "`--engine haproxy` needs the haproxy program, not found on
 * PATH: apt-get install haproxy".
 */
export function findEngineProgram(engine: ExternalEngine, flag = '--engine', path = process.env.PATH ?? ''): string {
  return findProgram(engine, `${flag} ${engine}`, PACKAGES[engine], path);
}

/**
 * The absolute path of `program`: the first executable of that name in a
 * folder of `path` (default `PATH`). `asked` is what the user typed that
 * needs it (`--sessions shared`), `pkg` the Debian package that has it.
 * @throws {UsageError} (exit 2) when there is none, in one line:
 * "`--sessions shared` needs the redis-server program, not found on PATH: apt-get install redis-server".
 */
export function findProgram(program: string, asked: string, pkg: string, path = process.env.PATH ?? ''): string {
  for (const dir of path.split(delimiter).filter((d) => d !== '')) {
    const file = join(dir, program);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  throw new UsageError(`\`${asked}\` needs the ${program} program, not found on PATH: apt-get install ${pkg}`);
}

/** Where Debian's nginx keeps its dynamic modules (`nginx -V`: `--modules-path`). */
const DEBIAN_NGINX_MODULES = '/usr/lib/nginx/modules';

/**
 * The `load_module` path of nginx's stream module (for `--mode tcp`): from
 * `nginx -V` when nginx is on PATH and was built with `--with-stream=dynamic`
 * (Debian's is, in package libnginx-mod-stream), undefined when the module
 * is built in; Debian's path when nginx is not here to ask.
 */
export function nginxStreamModule(path = process.env.PATH ?? ''): string | undefined {
  let built: string;
  try {
    const nginx = findEngineProgram('nginx', '--engine', path);
    const r = spawnSync(nginx, ['-V'], { encoding: 'utf8', timeout: 5000 });
    built = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  } catch {
    return `${DEBIAN_NGINX_MODULES}/ngx_stream_module.so`;
  }
  if (!/--with-stream=dynamic\b/.test(built)) return /--with-stream\b/.test(built) ? undefined : `${DEBIAN_NGINX_MODULES}/ngx_stream_module.so`;
  const dir = /--modules-path=(\S+)/.exec(built)?.[1] ?? DEBIAN_NGINX_MODULES;
  return `${dir}/ngx_stream_module.so`;
}

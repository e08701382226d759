import { spawn, type ChildProcess } from 'node:child_process';
import type http from 'node:http';
import { afterEach, expect, vi } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built CLI, as a user runs it (`npm test` builds first). */
export const BIN = fileURLToPath(new URL('../../bin/lblab.js', import.meta.url));

/** A running CLI process with everything it printed so far. */
export type CliRun = {
  child: ChildProcess;
  /** Unique tag put in the environment of the CLI and so of every process it starts. */
  tag: string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or 128+n for a signal) once the process ended. */
  exit: Promise<number>;
  /** Resolves once `pattern` appears on stdout or stderr; rejects after `timeoutMs`. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
};

let counter = 0;

/**
 * Spawns `node bin/lblab.js ...args` with stdout/stderr piped (so not a TTY:
 * headless). Every process it starts inherits `LBLAB_TEST_TAG`, which
 * {@link taggedProcesses} looks for.
 */
export function runCli(args: string[], env: Record<string, string> = {}): CliRun {
  const tag = `t${process.pid}-${Date.now()}-${counter++}`;
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', LBLAB_TEST_TAG: tag, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  const wake = (): void => waiters.splice(0).forEach((w) => w());
  child.stdout!.setEncoding('utf8').on('data', (d: string) => ((out += d), wake()));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => ((err += d), wake()));
  const exit = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => {
      const status = code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 2);
      // 'exit' may come before the last of stdout and stderr is read (a loaded machine shows it):
      // wait for both to end, at most 2 s (a process it started may hold them open).
      let open = 2;
      const timer = setTimeout(() => resolve(status), 2000);
      const ended = (): void => {
        if (--open > 0) return;
        clearTimeout(timer);
        resolve(status);
      };
      for (const stream of [child.stdout!, child.stderr!]) {
        if (stream.readableEnded) ended();
        else stream.once('end', ended);
      }
    });
  });
  const waitFor = (pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}\nstdout:\n${out}\nstderr:\n${err}`)), timeoutMs);
      const check = (): void => {
        const m = (out + '\n' + err).match(pattern);
        if (m) {
          clearTimeout(timer);
          resolve(m);
          return;
        }
        if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(timer);
          reject(new Error(`process ended before ${pattern}\nstdout:\n${out}\nstderr:\n${err}`));
          return;
        }
        waiters.push(check);
      };
      check();
    });
  return { child, tag, stdout: () => out, stderr: () => err, exit, waitFor };
}

/**
 * Waits (up to 20 s, as {@link CliRun.waitFor}) for `run` to print
 * `listening on http://127.0.0.1:<port>/` and resolves to that port, as the
 * string it printed. Starts and stops nothing.
 */
export async function listeningPort(run: CliRun): Promise<string> {
  return (await run.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)\//))[1]!;
}

/** Runs the CLI to the end and returns its exit code and output; SIGKILLs it after `timeoutMs` (under the 60 s test timeout, so a hung run fails on its exit code and stderr). */
export async function runCliToEnd(
  args: string[],
  timeoutMs = 45_000,
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string; tag: string }> {
  const run = runCli(args, env);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
  const code = await run.exit;
  clearTimeout(timer);
  return { code, stdout: run.stdout(), stderr: run.stderr(), tag: run.tag };
}

/** PIDs of live processes whose environment carries `LBLAB_TEST_TAG=<tag>` (Linux /proc). */
export function taggedProcesses(tag: string): number[] {
  const needle = `LBLAB_TEST_TAG=${tag}\0`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'latin1');
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      // A zombie has already ended; its parent just has not reaped it yet.
      if (env.includes(needle) && !/\) Z /.test(stat)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/**
 * Waits until no process carries `tag` (`vi.waitFor` over /proc every 100 ms)
 * and returns the PIDs still alive after `timeoutMs` (empty when all ended);
 * those it SIGKILLs, so a failed test leaves nothing running either.
 */
export async function waitForNoProcesses(tag: string, timeoutMs = 5000): Promise<number[]> {
  let left = taggedProcesses(tag);
  await vi
    .waitFor(
      () => {
        left = taggedProcesses(tag);
        if (left.length > 0) throw new Error(`timed out waiting for the processes of ${tag} to end`);
      },
      { timeout: timeoutMs, interval: 100 },
    )
    .catch(() => undefined);
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return left;
}

/**
 * For a test file that starts CLI runs: push each run's tag to the list this
 * returns, and after every test (vitest `afterEach`) no process of those
 * runs may be left ({@link waitForNoProcesses}, 5 s each).
 */
export function tagsAfterEach(): string[] {
  const tags: string[] = [];
  afterEach(async () => {
    for (const tag of tags.splice(0)) expect(await waitForNoProcesses(tag)).toEqual([]);
  });
  return tags;
}

/**
 * For a test file whose CLI runs outlive a call (backends, `balance`): the
 * `start(args)` this returns runs the CLI and keeps it; after every test
 * (vitest `afterEach`) a run still going is SIGKILLed and no process of any
 * run may be left. `tags` takes the tags of other runs (`runCliToEnd`) to
 * check the same way.
 */
export function runsAfterEach(): { start: (args: string[]) => CliRun; tags: string[] } {
  const tags: string[] = [];
  const running: CliRun[] = [];
  afterEach(async () => {
    for (const r of running.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    for (const tag of tags.splice(0)) expect(await waitForNoProcesses(tag)).toEqual([]);
  });
  const start = (args: string[]): CliRun => {
    const r = runCli(args);
    tags.push(r.tag);
    running.push(r);
    return r;
  };
  return { start, tags };
}

/**
 * For a test file that starts loopback servers and CLI runs: push each
 * server to `servers` and each run's tag to `tags`, and after every test the
 * servers are closed and no process of those runs may be left (vitest
 * `afterEach`).
 */
export function cleanUpAfterEach(): { servers: http.Server[]; tags: string[] } {
  const servers: http.Server[] = [];
  const tags: string[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    for (const tag of tags.splice(0)) expect(await waitForNoProcesses(tag)).toEqual([]);
  });
  return { servers, tags };
}

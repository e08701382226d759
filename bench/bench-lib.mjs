// bench/bench-lib.mjs — what the benches share: their flags, starting real lblab processes
// from bin/lblab.js on loopback, reading their CPU time from /proc, and stopping every one of
// them by PID (SIGTERM, then SIGKILL after a grace period) at the end, on any error and on
// SIGINT/SIGTERM to the bench. Each bench keeps its own measurement and its own table.
//
// Nothing runs on import (no child, no signal handler), so a bench that only needs ROOT/BIN
// or benchArgs pays nothing for the rest.

import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root directory (absolute path). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** bin/lblab.js, which runs the built dist/ (so `npm run build` first). */
export const BIN = path.join(ROOT, 'bin', 'lblab.js');

const START_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;
/** How long a load run may overrun its --duration before it counts as hung, in s. */
const LOAD_SLACK_S = 30;

/** @type {Set<import('node:child_process').ChildProcess & Record<string, any>>} */
const children = new Set();
let logTag = 'bench';

/** Writes `[<tag>] msg` on stderr; the tag is the one given to benchArgs (default `bench`). */
export function log(msg) {
  process.stderr.write(`[${logTag}] ${msg}\n`);
}

/**
 * Reads the bench's flags from process.argv. `flags` maps each accepted flag (`--quick`,
 * `--json`) to its help line. `--help`/`-h` prints the usage and exits 0; any other argument
 * prints one line and exits 2. Returns `{ quick, json }` (booleans).
 * @param {{ name: string, flags: Record<string, string>, logTag?: string }} opts  name: the
 *   file's name without `.mjs`; logTag: the prefix of log lines (default `bench`).
 */
export function benchArgs({ name, flags, logTag: tag = 'bench' }) {
  logTag = tag;
  const args = process.argv.slice(2);
  const names = Object.keys(flags);
  if (args.includes('--help') || args.includes('-h')) {
    const width = Math.max(...names.map((f) => f.length));
    process.stdout.write(
      `usage: node bench/${name}.mjs ${names.map((f) => `[${f}]`).join(' ')}\n` +
        names.map((f) => `  ${f.padEnd(width)}  ${flags[f]}\n`).join(''),
    );
    process.exit(0);
  }
  for (const a of args) {
    if (!names.includes(a)) {
      process.stderr.write(`${name}: unknown option ${a} (try --help)\n`);
      process.exit(2);
    }
  }
  return { quick: args.includes('--quick'), json: args.includes('--json') };
}

/** The machine the numbers come from: `{ cpus, cpuModel, node }` (core count, model, Node version). */
export function machineInfo() {
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version };
}

let clkTck;
/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`, 100 if that fails). */
export function clockTicks() {
  if (clkTck === undefined) {
    clkTck = 100;
    try {
      const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      if (Number.isFinite(n) && n > 0) clkTck = n;
    } catch {
      // no getconf: 100 is the value on every Linux this runs on
    }
  }
  return clkTck;
}

/** utime + stime of process `pid`, in seconds. Throws if /proc/<pid>/stat is gone or unreadable. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // comm (field 2) may contain spaces: split after the last ')'. The rest starts at field 3.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot parse /proc/${pid}/stat`);
  return (utime + stime) / clockTicks();
}

/** The last (up to 20) lines a child wrote on stderr, for error messages. */
export function tailOf(child) {
  return (child.stderrTail ?? []).join('\n');
}

/**
 * Starts `node bin/lblab.js ...lblabArgs` as a child, tracked until it exits so that it is
 * stopped with the bench. Its stderr is always drained (a full pipe would block it) into
 * child.stderrTail; stdout is collected in child.stdoutText; child.exited resolves with
 * `{ code, signal }` once it exits; child.spawnError holds a failure to spawn.
 */
export function startLblab(label, lblabArgs) {
  return startProcess(label, process.execPath, [BIN, ...lblabArgs]);
}

/**
 * Starts any program (`file` with `args`, not through a shell) as a tracked child, as
 * startLblab does for lblab: stopped with the bench, stderr drained into child.stderrTail,
 * stdout into child.stdoutText, child.exited resolving with `{ code, signal }`.
 */
export function startProcess(label, file, args) {
  const child = spawn(file, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  Object.assign(child, { label, stdoutText: '', stderrTail: [], stderrLineListeners: [] });
  child.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child);
      child.exitInfo = { code, signal };
      resolve(child.exitInfo);
    });
  });
  child.on('error', (err) => {
    child.spawnError = err;
  });
  children.add(child);
  child.stdout.setEncoding('utf8').on('data', (d) => {
    child.stdoutText += d;
  });
  let partial = '';
  child.stderr.setEncoding('utf8').on('data', (d) => {
    const lines = (partial + d).split(/\r?\n/);
    partial = lines.pop();
    for (const line of lines) {
      child.stderrTail.push(line);
      if (child.stderrTail.length > 20) child.stderrTail.shift();
      for (const fn of child.stderrLineListeners) fn(line);
    }
  });
  return child;
}

/**
 * Resolves with the match of the first stderr line of `child` that matches `re`. Rejects
 * if the child exits first or after `timeoutMs` (default 15 000 ms).
 */
export function waitForLine(child, re, timeoutMs = START_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    const done = (fn, v) => {
      clearTimeout(timer);
      child.stderrLineListeners = child.stderrLineListeners.filter((f) => f !== onLine);
      child.off('exit', onExit);
      fn(v);
    };
    const onLine = (line) => {
      const m = re.exec(line);
      if (m) done(resolve, m);
    };
    const onExit = (code, signal) =>
      done(reject, new Error(`${child.label} exited (code ${code}, signal ${signal}) before it was ready:\n${tailOf(child)}`));
    const timer = setTimeout(
      () => done(reject, new Error(`${child.label} not ready after ${timeoutMs} ms:\n${tailOf(child)}`)),
      timeoutMs,
    );
    child.stderrLineListeners.push(onLine);
    if (child.exitInfo) onExit(child.exitInfo.code, child.exitInfo.signal);
    else child.on('exit', onExit);
  });
}

/** SIGTERMs a child by PID and waits for its exit, SIGKILL after 5 s; resolves with `{ code, signal }`. Never throws. */
export async function stop(child) {
  if (child.exitInfo) return child.exitInfo;
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), STOP_GRACE_MS);
  });
  const r = await Promise.race([child.exited, timedOut]);
  clearTimeout(timer);
  if (r !== 'timeout') return r;
  log(`${child.label} (pid ${child.pid}) ignored SIGTERM for ${STOP_GRACE_MS} ms; sending SIGKILL`);
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  return child.exited;
}

/** Throws if `child` has exited (with its exit code, signal and stderr tail). */
export function assertAlive(child) {
  if (child.exitInfo) {
    throw new Error(`${child.label} exited unexpectedly (code ${child.exitInfo.code}, signal ${child.exitInfo.signal}):\n${tailOf(child)}`);
  }
}

/**
 * `lblab backend --latency 0ms` named `name` on a free loopback port; resolves once it listens
 * with `{ name, child, port, url }` (url without a trailing slash). Rejects as waitForLine does.
 */
export async function startBackend(name) {
  const child = startLblab(`backend ${name}`, ['backend', '--port', '0', '--name', name, '--latency', '0ms']);
  const m = await waitForLine(child, /listening on http:\/\/127\.0\.0\.1:(\d+)\//);
  return { name, child, port: Number(m[1]), url: `http://127.0.0.1:${m[1]}` };
}

/**
 * `lblab balance --algo round-robin --json` over `backends` (each `{ url }`) with the `extra`
 * flags, stopping by itself after `maxS` seconds should the bench be killed; resolves once it
 * listens with `{ child, url }` (url with a trailing slash). Rejects as waitForLine does.
 */
export async function startBalancer(label, backends, maxS, extra = []) {
  const child = startLblab(label, [
    'balance',
    '--port',
    '0',
    '--algo',
    'round-robin',
    ...backends.flatMap((b) => ['--backend', b.url]),
    ...extra,
    '--duration',
    `${maxS}s`,
    '--json',
  ]);
  const m = await waitForLine(child, /listening on http:\/\/127\.0\.0\.1:(\d+)\//);
  return { child, url: `http://127.0.0.1:${m[1]}/` };
}

/**
 * Runs `lblab load <url> --concurrency <concurrency> --duration <seconds>s --json` (closed
 * model, keep-alive) to its end. Resolves with `{ seconds, requests, errors, rps, p50, p99,
 * perBackend: [{ name, requests }] }` (seconds of load, req/s, latencies in ms). Throws if it
 * runs 30 s past its duration, exits non-zero, prints no JSON, completes no request, or more
 * than 1% of its requests fail.
 */
export async function runLoad(url, seconds, concurrency) {
  const child = startLblab(`load ${url} ${seconds}s`, ['load', url, '--concurrency', String(concurrency), '--duration', `${seconds}s`, '--json']);
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), (seconds + LOAD_SLACK_S) * 1000);
  });
  const r = await Promise.race([child.exited, timedOut]);
  clearTimeout(timer);
  if (r === 'timeout') {
    await stop(child);
    throw new Error(`${child.label} did not finish within ${seconds + LOAD_SLACK_S} s:\n${tailOf(child)}`);
  }
  if (child.spawnError) throw child.spawnError;
  if (r.code !== 0) throw new Error(`${child.label} exited with code ${r.code} signal ${r.signal}:\n${tailOf(child)}`);
  let rec;
  try {
    rec = JSON.parse(child.stdoutText);
  } catch (e) {
    throw new Error(`${child.label}: stdout is not JSON (${e.message}):\n${child.stdoutText.slice(0, 500)}`);
  }
  const t = rec.totals;
  if (!t || !(t.requests > 0)) throw new Error(`${child.label}: no requests completed:\n${tailOf(child)}`);
  if (t.errors / t.requests > 0.01) {
    throw new Error(
      `${child.label}: ${t.errors} of ${t.requests} requests failed (${JSON.stringify(t.errorKinds ?? {})}, status ${JSON.stringify(t.statusCodes ?? {})})`,
    );
  }
  return {
    seconds: rec.durationMs / 1000,
    requests: t.requests,
    errors: t.errors,
    rps: t.rps,
    p50: t.latencyMs.p50,
    p99: t.latencyMs.p99,
    perBackend: (rec.backends ?? []).map((b) => ({ name: b.name ?? b.id, requests: b.requests })),
  };
}

/** Stops every child still running (see stop); never throws. */
export async function stopAll() {
  await Promise.all([...children].map((c) => stop(c)));
}

/** Formatter of a number with `digits` decimals, `n/a` for NaN/Infinity. */
export function fixed(digits) {
  return (n) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
}

/** One table row: the first cell padded to the right, the others to the left, to `widths` (characters), two spaces apart. */
export function tableRow(cells, widths) {
  return cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
}

/**
 * Runs the bench's `main` with every child stopped by PID however it ends: after main, on
 * its error (logged, exit 1), on SIGINT (exit 130) and SIGTERM (exit 143), and, as a last
 * synchronous resort, SIGKILL to any child left when the process exits.
 * @param {() => Promise<void>} main
 */
export function runBench(main) {
  let stopping = false;
  const abort = async (reason, code) => {
    if (stopping) return;
    stopping = true;
    log(reason);
    await stopAll();
    process.exit(code);
  };
  process.on('SIGINT', () => abort('interrupted; stopping every child', 130));
  process.on('SIGTERM', () => abort('terminated; stopping every child', 143));
  process.on('exit', () => {
    for (const c of children) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  main().then(stopAll, (err) => abort(`failed: ${err instanceof Error ? err.message : String(err)}`, 1));
}

/** Whether `program` is on PATH. */
export function onPath(program) {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Whether taskset is on PATH (then benchmarks pin the target and the generators to a core each). */
export const TASKSET = onPath('taskset');

/** `[file, args]` of `file args` pinned to `core` with taskset (which execs it: same PID), or as is without taskset. */
export function pinned(core, file, args) {
  return TASKSET ? ['taskset', ['-c', String(core), file, ...args]] : [file, args];
}

/** A zero-latency target for `node -e`: node:http, 200 "ok" to every request, keep-alive; prints its port on stderr. */
export const NODE_TARGET = `
const http = require('node:http');
const server = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }); res.end('ok'); });
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stderr.write('listening on ' + server.address().port + '\\n'));
process.on('SIGTERM', () => process.exit(0));
`;

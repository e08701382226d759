#!/usr/bin/env node
// bench/l4-vs-l7.mjs — what does reading HTTP cost? L4 (`--mode tcp`) against L7 (`--mode http`).
//
// Run it:   npm run bench                      (after the other benches; about 45 s)
//           node bench/l4-vs-l7.mjs --quick    (smoke check, about 15 s)
//           node bench/l4-vs-l7.mjs --json     (a JSON object on stdout instead of the table)
//
// What it measures, on loopback, with real processes started from bin/lblab.js (the same way
// bench/balancer-overhead.mjs does): three `lblab backend --latency 0ms`, one
// `lblab balance --algo round-robin` (L7: parses each request, picks a backend per request,
// relays it over its own keep-alive pool) and one `lblab balance --mode tcp --algo round-robin`
// (L4: picks a backend per TCP connection and copies bytes), both in front of the same three
// backends. `lblab load` (closed model, concurrency 32, keep-alive) runs against each in turn,
// L7 then L4, ROUNDS times, after an unmeasured warm-up of each. For each run: req/s, p50, p99
// as the load generator saw them, and the balancer process's CPU time (utime+stime from
// /proc/<pid>/stat) divided by the requests completed: CPU µs per request.
//
// Read the numbers with care: all processes share this machine's cores. With keep-alive the L4
// balancer sees 32 connections for the whole run and only copies bytes; its cost per request
// would grow with connections per request (one connect and one pick per connection).
// The L4 spread is by connection (32 over 3: 11/11/10) — see the share column.
//
// Linux only (reads /proc). Every child is stopped by PID (SIGTERM, then SIGKILL after a grace
// period) at the end, on any error, and on SIGINT/SIGTERM to this script; each balancer also
// stops by itself (--duration) should this script be killed.

import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'lblab.js');

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write('usage: node bench/l4-vs-l7.mjs [--quick] [--json]\n  --quick  one 3 s round for a smoke check\n  --json   print the result as one JSON object on stdout\n');
  process.exit(0);
}
for (const a of args) {
  if (a !== '--quick' && a !== '--json') {
    process.stderr.write(`l4-vs-l7: unknown option ${a} (try --help)\n`);
    process.exit(2);
  }
}
const QUICK = args.includes('--quick');
const JSON_OUT = args.includes('--json');

const CONCURRENCY = 32;
const BACKENDS = 3;
const ROUNDS = QUICK ? 1 : 2;
const RUN_S = QUICK ? 3 : 8;
const WARMUP_S = QUICK ? 1 : 2;
const START_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;

const children = new Set();

function log(msg) {
  process.stderr.write(`[bench l4-vs-l7] ${msg}\n`);
}

function clockTicks() {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (Number.isFinite(n) && n > 0) return n;
  } catch {
    /* fall through */
  }
  return 100;
}
const CLK_TCK = clockTicks();

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[14 - 3]) + Number(rest[15 - 3])) / CLK_TCK;
}

/** Starts `node bin/lblab.js ...args`; stderr lines go to listeners (and a short tail), stdout is collected. */
function startLblab(label, lblabArgs) {
  const child = spawn(process.execPath, [BIN, ...lblabArgs], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  Object.assign(child, { label, stdoutText: '', stderrTail: [], lineListeners: [] });
  child.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child);
      child.exitInfo = { code, signal };
      resolve(child.exitInfo);
    });
  });
  child.on('error', (err) => (child.spawnError = err));
  children.add(child);
  child.stdout.setEncoding('utf8').on('data', (d) => (child.stdoutText += d));
  let partial = '';
  child.stderr.setEncoding('utf8').on('data', (d) => {
    const lines = (partial + d).split(/\r?\n/);
    partial = lines.pop();
    for (const line of lines) {
      child.stderrTail.push(line);
      if (child.stderrTail.length > 20) child.stderrTail.shift();
      for (const fn of child.lineListeners) fn(line);
    }
  });
  return child;
}

/** Resolves with the first stderr line of `child` matching `re`; rejects if it exits first or after a timeout. */
function waitForLine(child, re) {
  return new Promise((resolve, reject) => {
    const done = (fn, v) => {
      clearTimeout(timer);
      child.lineListeners = child.lineListeners.filter((f) => f !== onLine);
      child.off('exit', onExit);
      fn(v);
    };
    const onLine = (line) => {
      const m = re.exec(line);
      if (m) done(resolve, m);
    };
    const onExit = (code, signal) => done(reject, new Error(`${child.label} exited (${code ?? signal}) before it was ready:\n${child.stderrTail.join('\n')}`));
    const timer = setTimeout(() => done(reject, new Error(`${child.label} not ready after ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    child.lineListeners.push(onLine);
    child.on('exit', onExit);
  });
}

/** SIGTERM a child by PID and wait; SIGKILL after the grace period. */
async function stop(child) {
  if (child.exitInfo) return child.exitInfo;
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  let timer;
  const late = new Promise((resolve) => (timer = setTimeout(() => resolve('late'), STOP_GRACE_MS)));
  const r = await Promise.race([child.exited, late]);
  clearTimeout(timer);
  if (r !== 'late') return r;
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  return child.exited;
}

async function startBackend(name) {
  const child = startLblab(`backend ${name}`, ['backend', '--port', '0', '--name', name, '--latency', '0ms']);
  const m = await waitForLine(child, /listening on http:\/\/127\.0\.0\.1:(\d+)\//);
  return { child, url: `http://127.0.0.1:${m[1]}` };
}

async function startBalancer(mode, backends, maxS) {
  const child = startLblab(`balancer ${mode}`, [
    'balance', '--mode', mode, '--port', '0', '--algo', 'round-robin',
    ...backends.flatMap((b) => ['--backend', b.url]),
    '--duration', `${maxS}s`, '--json',
  ]);
  const m = await waitForLine(child, /listening on http:\/\/127\.0\.0\.1:(\d+)\//);
  return { child, url: `http://127.0.0.1:${m[1]}/` };
}

/** Runs `lblab load` to its end; returns what it measured. Throws on more than 1% errors. */
async function runLoad(url, seconds) {
  const child = startLblab(`load ${url}`, ['load', url, '--concurrency', String(CONCURRENCY), '--duration', `${seconds}s`, '--json']);
  let timer;
  const late = new Promise((resolve) => (timer = setTimeout(() => resolve('late'), (seconds + 30) * 1000)));
  const r = await Promise.race([child.exited, late]);
  clearTimeout(timer);
  if (r === 'late') {
    await stop(child);
    throw new Error(`${child.label} did not finish`);
  }
  if (child.spawnError) throw child.spawnError;
  if (r.code !== 0) throw new Error(`${child.label} exited with code ${r.code}:\n${child.stderrTail.join('\n')}`);
  const rec = JSON.parse(child.stdoutText);
  const t = rec.totals;
  if (!(t.requests > 0) || t.errors / t.requests > 0.01) throw new Error(`${child.label}: ${t.errors} of ${t.requests} requests failed`);
  return { requests: t.requests, rps: t.rps, p50: t.latencyMs.p50, p99: t.latencyMs.p99, perBackend: rec.backends.map((b) => b.requests) };
}

/** One measured load run against `balancer`: the load's figures and the balancer's CPU µs per request. */
async function measure(balancer, seconds) {
  const cpu0 = cpuSeconds(balancer.child.pid);
  const load = await runLoad(balancer.url, seconds);
  const cpu = cpuSeconds(balancer.child.pid) - cpu0;
  if (balancer.child.exitInfo) throw new Error(`${balancer.child.label} exited during the run`);
  return { ...load, cpuSeconds: cpu, cpuUsPerRequest: (cpu * 1e6) / load.requests };
}

function sum(runs, key) {
  return runs.reduce((n, r) => n + r[key], 0);
}

/** Totals over rounds: req/s and CPU per request over all requests; p50/p99 the mean of the runs'. */
function combine(runs) {
  const requests = sum(runs, 'requests');
  return {
    runs,
    requests,
    rps: sum(runs, 'rps') / runs.length,
    p50: sum(runs, 'p50') / runs.length,
    p99: sum(runs, 'p99') / runs.length,
    cpuUsPerRequest: (sum(runs, 'cpuSeconds') * 1e6) / requests,
    perBackend: runs[0].perBackend.map((_, i) => runs.reduce((n, r) => n + (r.perBackend[i] ?? 0), 0)),
  };
}

async function main() {
  if (process.platform !== 'linux') throw new Error('this bench reads /proc and runs on Linux only');
  log(`starting ${BACKENDS} backends (--latency 0ms)`);
  const backends = await Promise.all(Array.from({ length: BACKENDS }, (_, i) => startBackend(`b${i + 1}`)));
  const maxS = 2 * WARMUP_S + 2 * ROUNDS * RUN_S + 120;
  log('starting the L7 balancer (--mode http) and the L4 balancer (--mode tcp), round-robin');
  const l7 = await startBalancer('http', backends, maxS);
  const l4 = await startBalancer('tcp', backends, maxS);
  log(`warming both up for ${WARMUP_S} s each (not measured)`);
  await runLoad(l7.url, WARMUP_S);
  await runLoad(l4.url, WARMUP_S);
  const runs = { l7: [], l4: [] };
  for (let i = 0; i < ROUNDS; i++) {
    log(`round ${i + 1}/${ROUNDS}: L7 for ${RUN_S} s, then L4 for ${RUN_S} s, concurrency ${CONCURRENCY}`);
    runs.l7.push(await measure(l7, RUN_S));
    runs.l4.push(await measure(l4, RUN_S));
  }
  const exits = await Promise.all([stop(l7.child), stop(l4.child)]);
  const l4Record = JSON.parse(l4.child.stdoutText || 'null');
  await Promise.all(backends.map((b) => stop(b.child)));
  const problems = exits.flatMap((e, i) => (e.code === 0 ? [] : [`${i === 0 ? 'L7' : 'L4'} balancer exited with code ${e.code} signal ${e.signal}`]));

  const result = {
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version },
    quick: QUICK,
    concurrency: CONCURRENCY,
    secondsPerRun: RUN_S,
    rounds: ROUNDS,
    l7: combine(runs.l7),
    l4: combine(runs.l4),
    l4Connections: l4Record ? l4Record.backends.map((b) => b.connections?.total ?? 0) : null,
    problems,
  };
  result.ratio = { rps: result.l4.rps / result.l7.rps, cpuUsPerRequest: result.l4.cpuUsPerRequest / result.l7.cpuUsPerRequest };
  process.stdout.write(JSON_OUT ? JSON.stringify(result, null, 2) + '\n' : render(result));
  for (const p of problems) log(`problem: ${p}`);
  if (problems.length) process.exitCode = 1;
}

function render(r) {
  const f1 = (n) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
  const f2 = (n) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
  const f3 = (n) => (Number.isFinite(n) ? n.toFixed(3) : 'n/a');
  const w = [26, 10, 10, 10, 14, 18];
  const row = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  const spread = (xs) => xs.map((n) => `${((n / xs.reduce((a, b) => a + b, 0)) * 100).toFixed(0)}%`).join('/');
  return [
    '',
    `lblab L4 vs L7${r.quick ? ' (--quick)' : ''} — round-robin over ${BACKENDS} backends (--latency 0ms), closed-model load, concurrency ${r.concurrency}, keep-alive, ${r.rounds} × ${r.secondsPerRun} s each`,
    `machine: ${r.machine.cpus} cores (${r.machine.cpuModel}), node ${r.machine.node}; load generator, balancers and backends share these cores`,
    '',
    row(['', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'request spread']),
    row(['L7 --mode http', f1(r.l7.rps), f3(r.l7.p50), f3(r.l7.p99), f1(r.l7.cpuUsPerRequest), spread(r.l7.perBackend)]),
    row(['L4 --mode tcp', f1(r.l4.rps), f3(r.l4.p50), f3(r.l4.p99), f1(r.l4.cpuUsPerRequest), spread(r.l4.perBackend)]),
    row(['L4 ÷ L7', f2(r.ratio.rps), f2(r.l4.p50 / r.l7.p50), f2(r.l4.p99 / r.l7.p99), f2(r.ratio.cpuUsPerRequest), '']),
    '',
    `L4 connections per backend over the whole bench: ${r.l4Connections ? r.l4Connections.join(', ') : 'n/a'} (one pick per connection; requests follow their connection)`,
    '',
  ].join('\n');
}

let stopping = false;
async function abort(reason, code) {
  if (stopping) return;
  stopping = true;
  log(reason);
  await Promise.all([...children].map((c) => stop(c)));
  process.exit(code);
}
process.on('SIGINT', () => abort('interrupted; stopping every child', 130));
process.on('SIGTERM', () => abort('terminated; stopping every child', 143));
process.on('exit', () => {
  for (const c of children) {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

main().then(
  () => Promise.all([...children].map((c) => stop(c))),
  (err) => abort(`failed: ${err instanceof Error ? err.message : String(err)}`, 1),
);

#!/usr/bin/env node
// bench/balancer-overhead.mjs — what does lblab's balancer cost?
//
// Run it:   npm run bench                      (builds, then the full run, about 2 min)
//           node bench/balancer-overhead.mjs --quick   (smoke check, about 15 s)
//           node bench/balancer-overhead.mjs --json    (a JSON object on stdout instead of the table)
//
// What it measures, all on loopback, with real processes started from bin/lblab.js:
//   (a) direct:  `lblab load` (closed model, concurrency 32) straight at ONE backend
//                (`lblab backend --latency 0ms`, so it answers at once): req/s, p50, p99.
//   (b) through: the same load at `lblab balance --algo round-robin` in front of three such
//                backends: req/s, p50, p99 of the first 10 s run (comparable with (a)),
//                then a further 50 s run (60 s of load through the balancer in all).
//   The ratios (b)/(a) for req/s, p50 and p99; the balancer process's CPU time per proxied
//   request (utime+stime from /proc/<pid>/stat over each run, divided by the requests the
//   load generator completed in it), and its resident memory (VmRSS from /proc/<pid>/status)
//   after 10 s and after 60 s of measured load — growth between the two hints at a leak.
//   Each measured run follows a short unmeasured warm-up run.
//   (c) every protection on: a second `lblab balance` with active checks, Envoy-style
//       passive ejection, a circuit breaker and retries on error/timeout/502/503/504,
//       measured for 10 s between two more 10 s runs of the plain balancer; the ratio
//       of its req/s to the mean of those two (the bar: within 10%).
//
// Read the numbers with care: the load generator, the balancer and the backends all run on
// this one machine and share its cores (2 on the machine this was written on). The direct
// run pits 1 load process against 1 backend; the run through the balancer adds a whole
// extra busy process competing for the same cores, so the ratio (b)/(a) includes that CPU
// contention, not only the balancer's own per-request work. The CPU µs/request figure is
// the balancer's own cost and does not depend on that sharing as much.
//
// Linux only (reads /proc). Every child is stopped by PID (SIGTERM, then SIGKILL after a
// grace period) at the end, on any error, and on SIGINT/SIGTERM to this script.

import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'lblab.js');

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(
    'usage: node bench/balancer-overhead.mjs [--quick] [--json]\n' +
      '  --quick  short runs (3 s direct, 3 s + 5 s through the balancer) for a smoke check\n' +
      '  --json   print the result as one JSON object on stdout\n',
  );
  process.exit(0);
}
for (const a of args) {
  if (a !== '--quick' && a !== '--json') {
    process.stderr.write(`balancer-overhead: unknown option ${a} (try --help)\n`);
    process.exit(2);
  }
}
const QUICK = args.includes('--quick');
const JSON_OUT = args.includes('--json');

const CONCURRENCY = 32;
const BACKENDS = 3;
const DIRECT_S = QUICK ? 3 : 10;
const THROUGH_FIRST_S = QUICK ? 3 : 10;
const THROUGH_SECOND_S = QUICK ? 5 : 50;
// A short unmeasured run before each measured one, so the JIT has warmed up
// the load generator, the backend and the balancer alike.
const WARMUP_S = QUICK ? 1 : 2;
const START_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;

/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();

/** The (c) run's balancer: active checks (on by default), Envoy-style ejection, a breaker and retries. */
const PROTECTIONS = ['--eject-consecutive', '5', '--breaker', '5', '--retries', '1', '--retry-on', 'error,timeout,502,503,504', '--health-interval', '1s'];

function log(msg) {
  process.stderr.write(`[bench] ${msg}\n`);
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
  // comm (field 2) may contain spaces: split after the last ')'. The rest starts at field 3.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot parse /proc/${pid}/stat`);
  return (utime + stime) / CLK_TCK;
}

/** VmRSS of a process, in MiB. */
function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** Keep the last lines a child wrote on stderr, for error messages. */
function tailOf(child) {
  return (child.stderrTail ?? []).join('\n');
}

/**
 * Start `node bin/lblab.js ...args` as a child. Its stderr is always drained (a full pipe
 * would block it); stdout is collected in child.stdoutText.
 */
function startLblab(label, lblabArgs) {
  const child = spawn(process.execPath, [BIN, ...lblabArgs], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  child.label = label;
  child.stdoutText = '';
  child.stderrTail = [];
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
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    child.stdoutText += d;
  });
  child.stderr.setEncoding('utf8');
  let partial = '';
  child.stderrLineListeners = [];
  child.stderr.on('data', (d) => {
    partial += d;
    const lines = partial.split(/\r?\n/);
    partial = lines.pop();
    for (const line of lines) {
      child.stderrTail.push(line);
      if (child.stderrTail.length > 20) child.stderrTail.shift();
      for (const fn of child.stderrLineListeners) fn(line);
    }
  });
  return child;
}

/** Wait for a line on the child's stderr matching re; resolves with the match. */
function waitForLine(child, re, timeoutMs = START_TIMEOUT_MS) {
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
      done(
        reject,
        new Error(`${child.label} exited (code ${code}, signal ${signal}) before it was ready:\n${tailOf(child)}`),
      );
    const timer = setTimeout(
      () => done(reject, new Error(`${child.label} not ready after ${timeoutMs} ms:\n${tailOf(child)}`)),
      timeoutMs,
    );
    child.stderrLineListeners.push(onLine);
    if (child.exitInfo) onExit(child.exitInfo.code, child.exitInfo.signal);
    else child.on('exit', onExit);
  });
}

/** SIGTERM a child by PID, wait for its exit; SIGKILL after the grace period. */
async function stop(child) {
  if (child.exitInfo) return child.exitInfo;
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), STOP_GRACE_MS);
  });
  const r = await Promise.race([child.exited, timedOut]);
  clearTimeout(timer);
  if (r === 'timeout') {
    log(`${child.label} (pid ${child.pid}) ignored SIGTERM for ${STOP_GRACE_MS} ms; sending SIGKILL`);
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    return child.exited;
  }
  return r;
}

async function stopAll() {
  await Promise.all([...children].map((c) => stop(c)));
}

async function startBackend(name) {
  const child = startLblab(`backend ${name}`, ['backend', '--port', '0', '--name', name, '--latency', '0ms']);
  const m = await waitForLine(child, /listening on http:\/\/127\.0\.0\.1:(\d+)\//);
  return { name, child, port: Number(m[1]), url: `http://127.0.0.1:${m[1]}` };
}

/** Run `lblab load` to completion; returns its parsed JSON run record. */
/** `lblab balance --algo round-robin` over `backends` with `extra` flags, stopping by itself after `maxS`; resolves once it listens. */
async function startBalancer(label, backends, maxS, extra) {
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

async function runLoad(url, seconds) {
  const child = startLblab(`load ${url} ${seconds}s`, [
    'load',
    url,
    '--concurrency',
    String(CONCURRENCY),
    '--duration',
    `${seconds}s`,
    '--json',
  ]);
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), (seconds + 30) * 1000);
  });
  const r = await Promise.race([child.exited, timedOut]);
  clearTimeout(timer);
  if (r === 'timeout') {
    await stop(child);
    throw new Error(`${child.label} did not finish within ${seconds + 30} s:\n${tailOf(child)}`);
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

function assertAlive(child) {
  if (child.exitInfo) {
    throw new Error(
      `${child.label} exited unexpectedly (code ${child.exitInfo.code}, signal ${child.exitInfo.signal}):\n${tailOf(child)}`,
    );
  }
}

async function main() {
  if (process.platform !== 'linux') throw new Error('this bench reads /proc and runs on Linux only');

  log(`starting ${BACKENDS} backends`);
  const backends = await Promise.all(Array.from({ length: BACKENDS }, (_, i) => startBackend(`b${i + 1}`)));

  log(`(a) direct: load at ${backends[0].url}/ for ${DIRECT_S} s, concurrency ${CONCURRENCY}`);
  await runLoad(`${backends[0].url}/`, WARMUP_S);
  const direct = await runLoad(`${backends[0].url}/`, DIRECT_S);
  for (const b of backends) assertAlive(b.child);

  log('starting the balancer (round-robin over the three backends)');
  const balancerMaxS = 3 * WARMUP_S + DIRECT_S + 4 * THROUGH_FIRST_S + THROUGH_SECOND_S + 300; // a backstop if this script is killed
  const { child: balancer, url: balancerUrl } = await startBalancer('balancer', backends, balancerMaxS, []);
  const bpid = balancer.pid;
  const rssIdle = rssMiB(bpid);
  log(`warming the balancer up for ${WARMUP_S} s (not measured)`);
  await runLoad(balancerUrl, WARMUP_S);

  log(`(b) through the balancer: load at ${balancerUrl} for ${THROUGH_FIRST_S} s`);
  const cpu0 = cpuSeconds(bpid);
  const first = await runLoad(balancerUrl, THROUGH_FIRST_S);
  assertAlive(balancer);
  const cpu1 = cpuSeconds(bpid);
  const rssFirst = rssMiB(bpid);

  log(`(b) through the balancer: load for a further ${THROUGH_SECOND_S} s`);
  const second = await runLoad(balancerUrl, THROUGH_SECOND_S);
  assertAlive(balancer);
  const cpu2 = cpuSeconds(bpid);
  const rssSecond = rssMiB(bpid);
  for (const b of backends) assertAlive(b.child);

  // (c) every protection on, measured between two more runs of the plain one so that drift
  // of a busy machine hits both alike.
  log('starting a second balancer with every protection on (checks, passive ejection, breaker, retries)');
  const { child: guarded, url: guardedUrl } = await startBalancer('guarded balancer', backends, balancerMaxS, PROTECTIONS);
  log(`warming it up for ${WARMUP_S} s (not measured)`);
  await runLoad(guardedUrl, WARMUP_S);
  log(`(c) plain again for ${THROUGH_FIRST_S} s, then with protections for ${THROUGH_FIRST_S} s, then plain once more`);
  const plainBefore = await runLoad(balancerUrl, THROUGH_FIRST_S);
  const gcpu0 = cpuSeconds(guarded.pid);
  const protectedRun = await runLoad(guardedUrl, THROUGH_FIRST_S);
  const gcpu1 = cpuSeconds(guarded.pid);
  const plainAfter = await runLoad(balancerUrl, THROUGH_FIRST_S);
  assertAlive(guarded);
  const guardedExit = await stop(guarded);

  log('stopping the balancer and the backends');
  const balExit = await stop(balancer);
  let balancerRecord = null;
  try {
    balancerRecord = JSON.parse(balancer.stdoutText);
  } catch {
    /* reported below */
  }
  const backendExits = await Promise.all(backends.map((b) => stop(b.child)));

  const problems = [];
  if (balExit.code !== 0) problems.push(`balancer exited with code ${balExit.code} signal ${balExit.signal} on SIGTERM`);
  if (guardedExit.code !== 0) problems.push(`guarded balancer exited with code ${guardedExit.code} signal ${guardedExit.signal} on SIGTERM`);
  if (!balancerRecord) problems.push('balancer printed no JSON run record on SIGTERM');
  backendExits.forEach((e, i) => {
    if (e.code !== 0) problems.push(`backend b${i + 1} exited with code ${e.code} signal ${e.signal} on SIGTERM`);
  });

  const ratio = (x, y) => (y > 0 ? x / y : NaN);
  const result = {
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, clkTck: CLK_TCK },
    quick: QUICK,
    concurrency: CONCURRENCY,
    direct,
    throughBalancer: {
      first,
      second,
      ratio: {
        rps: ratio(first.rps, direct.rps),
        p50: ratio(first.p50, direct.p50),
        p99: ratio(first.p99, direct.p99),
      },
      balancerCpuUsPerRequest: {
        first: ((cpu1 - cpu0) * 1e6) / first.requests,
        second: ((cpu2 - cpu1) * 1e6) / second.requests,
      },
      balancerCpuSeconds: { first: cpu1 - cpu0, second: cpu2 - cpu1 },
      balancerRssMiB: {
        idle: rssIdle,
        [`after${THROUGH_FIRST_S}s`]: rssFirst,
        [`after${THROUGH_FIRST_S + THROUGH_SECOND_S}s`]: rssSecond,
      },
      balancerReport: balancerRecord
        ? { requests: balancerRecord.totals?.requests, errors: balancerRecord.totals?.errors }
        : null,
    },
    protections: {
      flags: PROTECTIONS.join(' '),
      plainBefore,
      protected: protectedRun,
      plainAfter,
      ratioRps: ratio(protectedRun.rps, (plainBefore.rps + plainAfter.rps) / 2),
      cpuUsPerRequest: ((gcpu1 - gcpu0) * 1e6) / protectedRun.requests,
    },
    problems,
  };

  if (JSON_OUT) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } else {
    process.stdout.write(render(result, { rssIdle, rssFirst, rssSecond }));
  }
  if (problems.length) {
    for (const p of problems) log(`problem: ${p}`);
    process.exitCode = 1;
  }
}

function render(r, rss) {
  const f1 = (n) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
  const f2 = (n) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
  const f3 = (n) => (Number.isFinite(n) ? n.toFixed(3) : 'n/a');
  const row = (cells, widths) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  const w = [34, 10, 10, 10, 10];
  const t = r.throughBalancer;
  const lines = [];
  lines.push('');
  lines.push(
    `lblab balancer overhead${r.quick ? ' (--quick)' : ''} — closed-model load, concurrency ${r.concurrency}, backends --latency 0ms`,
  );
  lines.push(`machine: ${r.machine.cpus} cores (${r.machine.cpuModel}), node ${r.machine.node}; load generator, balancer and backends share these cores`);
  lines.push('');
  lines.push(row(['', 'req/s', 'p50 ms', 'p99 ms', 'errors'], w));
  lines.push(row([`(a) direct to b1, ${f1(r.direct.seconds)} s`, f1(r.direct.rps), f3(r.direct.p50), f3(r.direct.p99), r.direct.errors], w));
  lines.push(row([`(b) via balancer, first ${f1(t.first.seconds)} s`, f1(t.first.rps), f3(t.first.p50), f3(t.first.p99), t.first.errors], w));
  lines.push(row([`    via balancer, next ${f1(t.second.seconds)} s`, f1(t.second.rps), f3(t.second.p50), f3(t.second.p99), t.second.errors], w));
  lines.push(row(['ratio (b)/(a)', f2(t.ratio.rps), f2(t.ratio.p50), f2(t.ratio.p99), ''], w));
  lines.push('');
  lines.push(
    `balancer CPU per request: ${f1(t.balancerCpuUsPerRequest.first)} µs (first run, ${f2(t.balancerCpuSeconds.first)} s CPU / ${t.first.requests} req), ` +
      `${f1(t.balancerCpuUsPerRequest.second)} µs (next run, ${f2(t.balancerCpuSeconds.second)} s CPU / ${t.second.requests} req)`,
  );
  const firstS = t.first.seconds;
  const totalS = t.first.seconds + t.second.seconds;
  lines.push(
    `balancer RSS: ${f1(rss.rssIdle)} MiB idle, ${f1(rss.rssFirst)} MiB after ${f1(firstS)} s of measured load, ${f1(rss.rssSecond)} MiB after ${f1(totalS)} s (each after a ${WARMUP_S} s warm-up)`,
  );
  if (t.balancerReport) {
    lines.push(`balancer's own report: ${t.balancerReport.requests} requests, ${t.balancerReport.errors} errors`);
  }
  const p = r.protections;
  lines.push('');
  lines.push(`every protection on: ${p.flags}`);
  lines.push(row(['(c) plain balancer, before', f1(p.plainBefore.rps), f3(p.plainBefore.p50), f3(p.plainBefore.p99), p.plainBefore.errors], w));
  lines.push(row(['    with protections', f1(p.protected.rps), f3(p.protected.p50), f3(p.protected.p99), p.protected.errors], w));
  lines.push(row(['    plain balancer, after', f1(p.plainAfter.rps), f3(p.plainAfter.p50), f3(p.plainAfter.p99), p.plainAfter.errors], w));
  lines.push(`protected ÷ mean of plain runs: ${f2(p.ratioRps)} req/s; protected balancer CPU ${f1(p.cpuUsPerRequest)} µs/request`);
  const spread = (pb) => pb.map((b) => `${b.name} ${b.requests}`).join(', ');
  if (t.first.perBackend.length) lines.push(`spread (first run): ${spread(t.first.perBackend)}`);
  lines.push('');
  return lines.join('\n') + '\n';
}

let stopping = false;
async function abort(reason, code) {
  if (stopping) return;
  stopping = true;
  log(reason);
  await stopAll();
  process.exit(code);
}

process.on('SIGINT', () => abort('interrupted; stopping every child', 130));
process.on('SIGTERM', () => abort('terminated; stopping every child', 143));
process.on('exit', () => {
  // Last resort (synchronous): nothing started here may outlive the script.
  for (const c of children) {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

main().then(
  async () => {
    await stopAll();
  },
  (err) => abort(`failed: ${err instanceof Error ? err.message : String(err)}`, 1),
);

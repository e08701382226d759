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
//   (d) the yardstick: bench/minimal-proxy.mjs (node:http + undici, round robin, nothing
//       else) in front of the same backends, run for 10 s between the two plain runs of (c)
//       too; the CPU µs per request of lblab's balancer (the mean of those two runs, health
//       checks on) against the minimal proxy's (issue 13's goal: ≤ 0.8×).
//   (e) latency at half load: the open model (`lblab load --rate R`) at half the mean req/s of
//       the two plain runs of (c), for the same time: p99 from the scheduled send and from
//       the real one (issue 13's goal: ≤ 1 ms), beside the generator floor that run measured
//       — a p99 near the floor is the generator's, not the balancer's.
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

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, assertAlive, benchArgs, clockTicks, cpuSeconds, fixed, log, machineInfo, runBench, runLoad as runLoadAt, startBackend, startBalancer, startLblab, startProcess, stop, tableRow, waitForLine } from './bench-lib.mjs';

const { quick: QUICK, json: JSON_OUT } = benchArgs({
  name: 'balancer-overhead',
  flags: {
    '--quick': 'short runs (3 s direct, 3 s + 5 s through the balancer) for a smoke check',
    '--json': 'print the result as one JSON object on stdout',
  },
});

const CONCURRENCY = 32;
const BACKENDS = 3;
const DIRECT_S = QUICK ? 3 : 10;
const THROUGH_FIRST_S = QUICK ? 3 : 10;
const THROUGH_SECOND_S = QUICK ? 5 : 50;
// A short unmeasured run before each measured one, so the JIT has warmed up
// the load generator, the backend and the balancer alike.
const WARMUP_S = QUICK ? 1 : 2;

/** The (c) run's balancer: active checks (on by default), Envoy-style ejection, a breaker and retries. */
const PROTECTIONS = ['--eject-consecutive', '5', '--breaker', '5', '--retries', '1', '--retry-on', 'error,timeout,502,503,504', '--health-interval', '1s'];

/** VmRSS of a process, in MiB. */
function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/**
 * `lblab load <url> --rate <rate> --duration <seconds>s --json` (the open model) to its end.
 * Resolves with `{ rate, rps, p99, p99Uncorrected, floorP99, errors }` (req/s; ms). Throws if it
 * exits non-zero or prints no JSON.
 */
async function runOpenLoad(url, rate, seconds) {
  const child = startLblab(`load ${url} --rate ${rate}`, ['load', url, '--rate', String(rate), '--duration', `${seconds}s`, '--json']);
  const { code, signal } = await child.exited;
  if (child.spawnError) throw child.spawnError;
  if (code !== 0) throw new Error(`${child.label} exited with code ${code} signal ${signal}`);
  const rec = JSON.parse(child.stdoutText);
  const t = rec.totals;
  return { rate, rps: t.rps, p99: t.latencyMs.p99, p99Uncorrected: t.uncorrectedLatencyMs?.p99 ?? NaN, floorP99: (rec.generatorFloor?.p99Us ?? NaN) / 1000, errors: t.errors };
}

/** `lblab load` at concurrency 32 to its end; see bench-lib runLoad for what it returns and throws. */
function runLoad(url, seconds) {
  return runLoadAt(url, seconds, CONCURRENCY);
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
  log('starting the minimal undici proxy (bench/minimal-proxy.mjs) in front of the same backends');
  const minimal = startProcess('minimal proxy', process.execPath, [path.join(ROOT, 'bench', 'minimal-proxy.mjs'), ...backends.map((b) => b.url)]);
  const minimalUrl = `http://127.0.0.1:${(await waitForLine(minimal, /listening on http:\/\/127\.0\.0\.1:(\d+)\//))[1]}/`;
  await runLoad(minimalUrl, WARMUP_S);
  log(`(c, d) plain again for ${THROUGH_FIRST_S} s, then with protections, then the minimal proxy, then plain once more`);
  const pcpu0 = cpuSeconds(bpid);
  const plainBefore = await runLoad(balancerUrl, THROUGH_FIRST_S);
  const pcpu1 = cpuSeconds(bpid);
  const gcpu0 = cpuSeconds(guarded.pid);
  const protectedRun = await runLoad(guardedUrl, THROUGH_FIRST_S);
  const gcpu1 = cpuSeconds(guarded.pid);
  const mcpu0 = cpuSeconds(minimal.pid);
  const minimalRun = await runLoad(minimalUrl, THROUGH_FIRST_S);
  const mcpu1 = cpuSeconds(minimal.pid);
  const pcpu2 = cpuSeconds(bpid);
  const plainAfter = await runLoad(balancerUrl, THROUGH_FIRST_S);
  const pcpu3 = cpuSeconds(bpid);
  const halfRate = Math.max(1, Math.round((plainBefore.rps + plainAfter.rps) / 4));
  log(`(e) the open model at half the plain balancer's req/s: --rate ${halfRate} for ${THROUGH_FIRST_S} s`);
  const half = await runOpenLoad(balancerUrl, halfRate, THROUGH_FIRST_S);
  assertAlive(guarded);
  assertAlive(minimal);
  const guardedExit = await stop(guarded);
  await stop(minimal);

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
    machine: { ...machineInfo(), clkTck: clockTicks() },
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
    minimalProxy: {
      run: minimalRun,
      cpuUsPerRequest: ((mcpu1 - mcpu0) * 1e6) / minimalRun.requests,
      lblabCpuUsPerRequest: ((pcpu1 - pcpu0 + pcpu3 - pcpu2) * 1e6) / (plainBefore.requests + plainAfter.requests),
      get ratio() {
        return this.lblabCpuUsPerRequest / this.cpuUsPerRequest;
      },
    },
    halfLoad: half,
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
  const [f1, f2, f3] = [1, 2, 3].map(fixed);
  const row = tableRow;
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
  const m = r.minimalProxy;
  lines.push(row(['(d) minimal undici proxy', f1(m.run.rps), f3(m.run.p50), f3(m.run.p99), m.run.errors], w));
  lines.push(
    `CPU per request: lblab's balancer ${f1(m.lblabCpuUsPerRequest)} µs (the two plain runs of (c), health checks on), minimal undici proxy ${f1(m.cpuUsPerRequest)} µs: ratio ${f2(m.ratio)} (goal ≤ 0.80)`,
  );
  const spread = (pb) => pb.map((b) => `${b.name} ${b.requests}`).join(', ');
  const h = r.halfLoad;
  lines.push(
    `(e) open model at half load (--rate ${h.rate}): ${f1(h.rps)} req/s, p99 ${f3(h.p99)} ms from the scheduled send, ${f3(h.p99Uncorrected)} ms from the real one (goal ≤ 1 ms); generator floor p99 ${f3(h.floorP99)} ms`,
  );
  if (t.first.perBackend.length) lines.push(`spread (first run): ${spread(t.first.perBackend)}`);
  lines.push('');
  return lines.join('\n') + '\n';
}

runBench(main);

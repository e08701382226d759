#!/usr/bin/env node
// bench/l4-vs-l7.mjs — what does reading HTTP cost? L4 (`--mode tcp`) against L7 (`--mode http`).
//
// Run it:   npm run bench                      (after the other benches; about 45 s)
//           node bench/l4-vs-l7.mjs --quick    (smoke check, about 15 s)
//           node bench/l4-vs-l7.mjs --json     (a JSON object on stdout instead of the table)
//
// What it measures, on loopback, with real processes started from bin/lblab.js by bench/bench-lib.mjs
// (as for bench/balancer-overhead.mjs): three `lblab backend --latency 0ms`, one
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

import { assertAlive, benchArgs, cpuSeconds, fixed, log, machineInfo, runBench, runLoad, startBackend, startBalancer, stop, tableRow } from './bench-lib.mjs';

const { quick: QUICK, json: JSON_OUT } = benchArgs({
  name: 'l4-vs-l7',
  flags: { '--quick': 'one 3 s round for a smoke check', '--json': 'print the result as one JSON object on stdout' },
  logTag: 'bench l4-vs-l7',
});

const CONCURRENCY = 32;
const BACKENDS = 3;
const ROUNDS = QUICK ? 1 : 2;
const RUN_S = QUICK ? 3 : 8;
const WARMUP_S = QUICK ? 1 : 2;

/** One measured load run against `balancer`: the load's figures and the balancer's CPU µs per request. */
async function measure(balancer, seconds) {
  const cpu0 = cpuSeconds(balancer.child.pid);
  const { requests, rps, p50, p99, perBackend } = await runLoad(balancer.url, seconds, CONCURRENCY);
  const cpu = cpuSeconds(balancer.child.pid) - cpu0;
  assertAlive(balancer.child);
  return { requests, rps, p50, p99, perBackend: perBackend.map((b) => b.requests), cpuSeconds: cpu, cpuUsPerRequest: (cpu * 1e6) / requests };
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
  const l7 = await startBalancer('balancer http', backends, maxS, ['--mode', 'http']);
  const l4 = await startBalancer('balancer tcp', backends, maxS, ['--mode', 'tcp']);
  log(`warming both up for ${WARMUP_S} s each (not measured)`);
  await runLoad(l7.url, WARMUP_S, CONCURRENCY);
  await runLoad(l4.url, WARMUP_S, CONCURRENCY);
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
    machine: machineInfo(),
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
  const [f1, f2, f3] = [1, 2, 3].map(fixed);
  const w = [26, 10, 10, 10, 14, 18];
  const row = (cells) => tableRow(cells, w);
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

runBench(main);

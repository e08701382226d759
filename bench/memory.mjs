#!/usr/bin/env node
// bench/memory.mjs — does lblab's memory stay flat?
//
// Run it:   npm run bench:memory                (builds, then all three parts, about 13 min)
//           node bench/memory.mjs --quick       (shorter: 2 min run, 20 s idle; about 3 min)
//           node bench/memory.mjs --part idle   (one part: run, idle or body)
//           node bench/memory.mjs --json        (one JSON object on stdout instead of the tables)
//
// Three parts, on loopback, with real processes started from bin/lblab.js; RSS is VmRSS from
// /proc/<pid>/status (the whole process, every thread):
//   run:  `lblab start --headless --duration 10m` at its default settings (3 backends, closed
//         model, 16 workers, the balancer in-process). One sample each 30 s; the series from
//         30 s on must stay within ±10% of its first value (issue 13's goal).
//   idle: `lblab balance` over one backend; this script opens 5 000 keep-alive connections to
//         it (from 127.0.1.x source addresses), sends one request on each and leaves them
//         idle for 40 s, sampling the balancer's RSS each 10 s: no sample more than 10% above
//         the first one after the last connection opened (no growth while they idle; a drop
//         is V8 giving back the garbage of the opening, and is shown). The balancer's idle timeout must be
//         longer than the opening and the hold (it is: 60 s keep-alive on the front end).
//   body: the balancer in front of a node:http origin (started here) that streams a 200 MB
//         body in 64 KiB writes; this script reads it through the balancer at full speed and
//         samples the balancer's RSS each 100 ms. Then the same with 800 MB, on a fresh
//         balancer. Streamed, never buffered, the peak's growth over the start does not follow
//         the body: the 600 MB more of the second run may add at most 10% of that (60 MiB) to
//         the growth. (Growth there is, about 64 MiB either way: V8 collects the memory of
//         Buffers only once that much external memory has been allocated since the last GC.)
//
// Every child is stopped by PID (SIGTERM, then SIGKILL after a grace period) at the end, on
// any error, and on SIGINT/SIGTERM to this script. Linux only (reads /proc).

import http from 'node:http';
import { readFileSync } from 'node:fs';
import { assertAlive, benchArgs, fixed, log, machineInfo, runBench, startBackend, startBalancer, startLblab, startProcess, stop, tableRow, waitForLine } from './bench-lib.mjs';

const partArg = process.argv.indexOf('--part');
const PART = partArg >= 0 ? process.argv[partArg + 1] : undefined;
if (partArg >= 0) process.argv.splice(partArg, 2);
if (PART !== undefined && !['run', 'idle', 'body'].includes(PART)) {
  process.stderr.write(`memory: --part must be run, idle or body (got ${PART ?? 'nothing'})\n`);
  process.exit(2);
}
const { quick: QUICK, json: JSON_OUT } = benchArgs({
  name: 'memory',
  flags: {
    '--quick': 'a 2 min run and a 20 s idle hold instead of 10 min and 40 s',
    '--json': 'print the result as one JSON object on stdout',
    '--part NAME': 'only one part: run, idle or body',
  },
  logTag: 'memory',
});

const RUN_S = QUICK ? 120 : 600;
const RUN_SAMPLE_S = 30;
const IDLE_CONNECTIONS = 5000;
const IDLE_HOLD_S = QUICK ? 20 : 40;
const IDLE_SAMPLE_S = 10;
const BODY_MB = [200, 800];
const FLAT = 0.1;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mib = fixed(1);

/** VmRSS of process `pid`, in MiB. Throws if the process is gone. */
function rssMiB(pid) {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** Largest deviation of `series` from its first value, as a fraction of it. */
function spread(series) {
  const base = series[0];
  return Math.max(...series.map((v) => Math.abs(v - base) / base));
}

async function partRun() {
  log(`run: lblab start --headless --duration ${RUN_S}s (default settings), RSS each ${RUN_SAMPLE_S} s`);
  const child = startLblab('lblab start', ['start', '--headless', '--duration', `${RUN_S}s`]);
  const series = [];
  const t0 = performance.now();
  for (let k = 1; k * RUN_SAMPLE_S <= RUN_S - 1; k++) {
    await sleep(t0 + k * RUN_SAMPLE_S * 1000 - performance.now());
    assertAlive(child);
    series.push({ atS: k * RUN_SAMPLE_S, rssMiB: rssMiB(child.pid) });
    log(`run: ${k * RUN_SAMPLE_S} s ${mib(series.at(-1).rssMiB)} MiB`);
  }
  const { code } = await child.exited;
  if (code !== 0) throw new Error(`lblab start exited with code ${code}`);
  const dev = spread(series.map((s) => s.rssMiB));
  return { part: 'run', series, maxDeviation: dev, flat: dev <= FLAT };
}

/** Opens one keep-alive connection from `localAddress` and sends one GET on it; resolves with the agent that holds it. */
async function openIdle(url, localAddress) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress });
  await new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
  });
  return agent;
}

async function partIdle() {
  const backend = await startBackend('b1');
  const lb = await startBalancer('balancer (idle)', [backend], IDLE_HOLD_S + 120);
  const before = rssMiB(lb.child.pid);
  log(`idle: opening ${IDLE_CONNECTIONS} keep-alive connections`);
  const agents = [];
  for (let i = 0; i < IDLE_CONNECTIONS; i += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, IDLE_CONNECTIONS - i) }, (_, j) => openIdle(lb.url, `127.0.1.${((i + j) % 250) + 1}`)));
    agents.push(...batch);
  }
  const opened = rssMiB(lb.child.pid);
  const series = [];
  const t0 = performance.now();
  for (let k = 0; k * IDLE_SAMPLE_S <= IDLE_HOLD_S; k++) {
    await sleep(t0 + k * IDLE_SAMPLE_S * 1000 - performance.now());
    assertAlive(lb.child);
    series.push({ atS: k * IDLE_SAMPLE_S, rssMiB: rssMiB(lb.child.pid) });
  }
  const stillOpen = agents.reduce((n, a) => n + Object.values(a.freeSockets).reduce((m, s) => m + s.length, 0), 0);
  for (const a of agents) a.destroy();
  await stop(lb.child);
  await stop(backend.child);
  const growth = Math.max(...series.map((s) => s.rssMiB)) / series[0].rssMiB - 1;
  return { part: 'idle', connections: IDLE_CONNECTIONS, stillOpen, beforeMiB: before, openedMiB: opened, series, growth, flat: growth <= FLAT && stillOpen === IDLE_CONNECTIONS };
}

/** A node:http origin that answers every request with `bytes` in 64 KiB writes, honouring backpressure. */
const bodyOrigin = (bytes) => `
const http = require('node:http');
const chunk = Buffer.alloc(65536, 120);
const total = ${bytes};
http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total), 'x-lblab-backend': 'big' });
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      sent += chunk.length;
      if (!res.write(chunk)) return res.once('drain', pump);
    }
    res.end();
  };
  pump();
}).listen(0, '127.0.0.1', function () { process.stderr.write('listening on http://127.0.0.1:' + this.address().port + '/\\n'); });
process.on('SIGTERM', () => process.exit(0));
`;

/** Streams a `megabytes` MiB body through a fresh balancer; resolves with its RSS before and at its peak (MiB) and the seconds it took. */
async function streamBody(megabytes) {
  const bytes = megabytes * 1024 * 1024;
  const origin = startProcess(`origin (${megabytes} MB)`, process.execPath, ['-e', bodyOrigin(bytes)]);
  const m = await waitForLine(origin, /listening on http:\/\/127\.0\.0\.1:(\d+)\//);
  const lb = await startBalancer(`balancer (${megabytes} MB body)`, [{ url: `http://127.0.0.1:${m[1]}` }], 120);
  await sleep(500);
  const before = rssMiB(lb.child.pid);
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMiB(lb.child.pid));
  }, 100);
  const t0 = performance.now();
  const received = await new Promise((resolve, reject) => {
    http
      .get(lb.url, (res) => {
        let n = 0;
        res.on('data', (d) => (n += d.length));
        res.on('end', () => resolve(n));
        res.on('error', reject);
      })
      .on('error', reject);
  });
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  await stop(lb.child);
  await stop(origin);
  if (received !== bytes) throw new Error(`body: received ${received} of ${bytes} bytes`);
  return { megabytes, seconds, beforeMiB: before, peakMiB: peak, growthMiB: peak - before };
}

async function partBody() {
  const runs = [];
  for (const mb of BODY_MB) {
    log(`body: ${mb} MB through lblab balance`);
    runs.push(await streamBody(mb));
  }
  const [small, large] = runs;
  return { part: 'body', runs, flat: large.growthMiB - small.growthMiB <= (large.megabytes - small.megabytes) * FLAT };
}

function print(results) {
  if (JSON_OUT) {
    process.stdout.write(JSON.stringify({ machine: machineInfo(), results }, null, 2) + '\n');
    return;
  }
  const w = [34, 12];
  for (const r of results) {
    if (r.part === 'run') {
      console.log(`\nrun: lblab start --headless --duration ${RUN_S}s, RSS of the lblab process (MiB)`);
      for (const s of r.series) console.log(tableRow([`  at ${s.atS} s`, mib(s.rssMiB)], w));
      console.log(`  largest deviation from the ${r.series[0].atS} s sample: ${(r.maxDeviation * 100).toFixed(1)}% (goal ±10%: ${r.flat ? 'met' : 'NOT met'})`);
    } else if (r.part === 'idle') {
      console.log(`\nidle: lblab balance holding ${r.connections} idle keep-alive connections (${r.stillOpen} still open at the end), RSS (MiB)`);
      console.log(tableRow(['  before the connections', mib(r.beforeMiB)], w));
      for (const s of r.series) console.log(tableRow([`  ${s.atS} s after the last opened`, mib(s.rssMiB)], w));
      const last = r.series.at(-1).rssMiB;
      console.log(`  largest rise over the first sample: ${(r.growth * 100).toFixed(1)}% (goal: at most 10%, all ${r.connections} open: ${r.flat ? 'met' : 'NOT met'}); ${(((last - r.beforeMiB) * 1024) / r.connections).toFixed(1)} KiB per connection at the end`);
    } else {
      console.log(`\nbody: a response streamed through lblab balance, RSS of the balancer (MiB)`);
      for (const b of r.runs) console.log(`  ${b.megabytes} MB in ${b.seconds.toFixed(1)} s: before ${mib(b.beforeMiB)}, peak ${mib(b.peakMiB)}, growth ${mib(b.growthMiB)}`);
      console.log(`  ${r.runs[1].megabytes - r.runs[0].megabytes} MB more body added ${mib(r.runs[1].growthMiB - r.runs[0].growthMiB)} MiB (goal: under 10% of it, the response streamed: ${r.flat ? 'met' : 'NOT met'})`);
    }
  }
}

runBench(async () => {
  if (process.platform !== 'linux') throw new Error('this bench reads /proc and runs on Linux only');
  const parts = PART ? [PART] : ['body', 'idle', 'run'];
  const results = [];
  for (const p of parts) results.push(p === 'run' ? await partRun() : p === 'idle' ? await partIdle() : await partBody());
  print(results);
});

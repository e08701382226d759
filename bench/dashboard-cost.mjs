#!/usr/bin/env node
// bench/dashboard-cost.mjs — does drawing the dashboard cost the balancer throughput?
//
// Run it:  npm run bench:dashboard          (about 100 s; needs tmux)
//          node bench/dashboard-cost.mjs --quick
//
// The same `lblab start` run twice headless and twice with the ink dashboard drawn in a
// real terminal (a detached tmux session), alternating, each writing its run
// record with --out, for two scenarios (below). It prints req/s and p99 per run and the dashboard runs'
// mean req/s relative to the headless ones. The balancer, the dashboard and
// the load generator's bookkeeping share lblab's main thread, so this is the
// cost a user would see. All on loopback; every run stops by its --duration;
// the tmux server this script starts is killed at the end.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, benchArgs } from './bench-lib.mjs';

const { quick: QUICK } = benchArgs({ name: 'dashboard-cost', flags: { '--quick': '4 s runs instead of 10 s, for a smoke check' } });
const SECONDS = QUICK ? 4 : 10;
// Two scenarios: lblab's defaults (backends answering in 5-15 ms, 16 workers),
// and a saturated balancer (backends answering at once, 32 workers).
const SCENARIOS = [
  { name: 'default profile', args: ['start', '--backends', '3', '--duration', `${SECONDS}s`] },
  { name: 'saturated', args: ['start', '--backends', '3', '--latency', '0ms', '--concurrency', '32', '--duration', `${SECONDS}s`] },
];
const socket = `lblab-bench-${process.pid}`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'lblab-dash-'));

function tmux(...args) {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
}

function cleanup() {
  try {
    tmux('kill-server');
  } catch {
    // no server was started, or it is gone
  }
  rmSync(dir, { recursive: true, force: true });
}
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

function headless(ARGS, i) {
  const out = path.join(dir, `headless-${i}.json`);
  execFileSync(process.execPath, [BIN, ...ARGS, '--headless', '--out', out], { stdio: ['ignore', 'ignore', 'ignore'] });
  return JSON.parse(readFileSync(out, 'utf8'));
}

async function dashboard(ARGS, i) {
  const out = path.join(dir, `dashboard-${i}.json`);
  const marker = `${out}.done`;
  const command = `env -u CI -u CONTINUOUS_INTEGRATION ${process.execPath} ${BIN} ${ARGS.join(' ')} --out ${out}; touch ${marker}`;
  tmux('new-session', '-d', '-s', `d${i}`, '-x', '120', '-y', '50', command);
  const deadline = Date.now() + (SECONDS + 30) * 1000;
  while (!existsSync(marker)) {
    if (Date.now() > deadline) throw new Error('the dashboard run did not finish in time');
    await new Promise((r) => setTimeout(r, 200));
  }
  return JSON.parse(readFileSync(out, 'utf8'));
}

try {
  execFileSync('tmux', ['-V']);
} catch {
  console.error('bench:dashboard needs tmux (apt-get install -y tmux)');
  process.exit(1);
}

const results = [];
try {
  let n = 0;
  for (const sc of SCENARIOS) {
    const runs = [];
    for (let i = 0; i < 2; i++) {
      runs.push({ mode: 'headless', r: headless(sc.args, n++) });
      runs.push({ mode: 'dashboard', r: await dashboard(sc.args, n++) });
    }
    results.push({ sc, runs });
  }
} finally {
  cleanup();
}

const f = (x, d = 0) => x.toFixed(d).padStart(9);
console.log(`lblab dashboard cost — machine: ${os.cpus().length} cores, node ${process.version}`);
for (const { sc, runs } of results) {
  console.log(`\n${sc.name}: lblab ${sc.args.join(' ')}`);
  console.log('mode           req/s   p99 ms   errors');
  for (const { mode, r } of runs) console.log(`${mode.padEnd(10)} ${f(r.totals.rps)} ${f(r.totals.latencyMs.p99, 2)} ${f(r.totals.errors)}`);
  const mean = (mode) => {
    const xs = runs.filter((x) => x.mode === mode).map((x) => x.r.totals.rps);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const h = mean('headless');
  const d = mean('dashboard');
  console.log(`dashboard / headless req/s: ${(d / h).toFixed(3)} (${(((d - h) / h) * 100).toFixed(1)}%)`);
}

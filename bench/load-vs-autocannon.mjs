#!/usr/bin/env node
// bench/load-vs-autocannon.mjs — how fast is lblab's traffic generator? `lblab load` against
// autocannon (a devDependency) and, when it is on PATH, wrk, closed model, on one core each.
//
// Run it:   npm run bench:load                      (about 6 min with nginx, 3 min without)
//           node bench/load-vs-autocannon.mjs --quick   (2 rounds of 2 s, a smoke check)
//           node bench/load-vs-autocannon.mjs --json    (a JSON object on stdout instead of the table)
//
// What it measures, on loopback, with real processes: a zero-latency target — a node:http
// server written below (200 "ok" to everything) and, when nginx is on PATH, nginx
// `return 200 "ok"` from a config generated in a temporary directory (one process,
// master_process off) — and against each target, in interleaved rounds (lblab, autocannon,
// wrk, lblab, autocannon, wrk, …), each generator for RUN_S seconds with 64 keep-alive
// connections:
//   lblab       node bin/lblab.js load URL --concurrency 64 --duration 5s --threads 1 --json
//   autocannon  autocannon -c 64 -d 5 --json URL                                   (one thread)
//   wrk         wrk -t1 -c64 -d5s URL                                              (one thread)
// With taskset on PATH the target is pinned to core 0 (`taskset -c 0`) and every generator to
// core 1 (`taskset -c 1`), so each generator has one core to itself and the target another;
// without it they share the cores and the figures mean less. Each figure is the median over
// the rounds of the generator's own req/s (completed requests ÷ its run's seconds); the
// ratios are lblab ÷ autocannon and lblab ÷ wrk (issue 13's goal: ≥ 1.2 and ≥ 0.6).
// A 1 s autocannon run warms each target up first, not measured.
// Then the same rounds once more with the generators unpinned (the target stays on core 0):
// lblab with its default --threads (the cores less one, at least 1; the JSON record says how
// many ran), autocannon and wrk with one thread as before — what each does when free to use
// every core, target included, rather than per core.
//
// Every process it starts (target, generators) is stopped by PID (SIGTERM, then SIGKILL after a
// grace period) at the end, on any error and on SIGINT/SIGTERM to this script.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, NODE_TARGET, ROOT, TASKSET, benchArgs, fixed, log, machineInfo, onPath, pinned, runBench, startProcess, stop, tableRow, tailOf, waitForLine } from './bench-lib.mjs';

const { quick: QUICK, json: JSON_OUT } = benchArgs({
  name: 'load-vs-autocannon',
  flags: { '--quick': 'two rounds of 2 s per generator, a smoke check', '--json': 'print the result as one JSON object on stdout' },
  logTag: 'bench load',
});

const CONNECTIONS = 64;
const ROUNDS = QUICK ? 2 : 3;
const RUN_S = QUICK ? 2 : 5;
/** How long a generator may overrun its run before it counts as hung, in s. */
const SLACK_S = 30;
const AUTOCANNON = path.join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');

/** A free loopback TCP port (listen on 0, read it, close). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Connects to 127.0.0.1:`port` until it accepts, for up to 10 s. */
async function waitListening(child, port) {
  const until = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const sock = net.connect(port, '127.0.0.1', () => (sock.destroy(), resolve(true)));
      sock.on('error', () => resolve(false));
    });
    if (ok) return;
    if (child.exitInfo) throw new Error(`${child.label} exited (code ${child.exitInfo.code}) before it listened:\n${tailOf(child)}`);
    if (Date.now() > until) throw new Error(`${child.label} not listening on ${port} after 10 s:\n${tailOf(child)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startNodeTarget() {
  const [file, args] = pinned(0, process.execPath, ['-e', NODE_TARGET]);
  const child = startProcess('node:http target', file, args);
  const m = await waitForLine(child, /listening on (\d+)/);
  return { name: 'node:http', child, url: `http://127.0.0.1:${m[1]}/` };
}

/** nginx `return 200 "ok"` from a generated config in `dir`, one process (master_process off), on a free port. */
async function startNginxTarget(dir) {
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    [
      'daemon off;',
      'master_process off;',
      'worker_processes 1;',
      `pid ${path.join(dir, 'nginx.pid')};`,
      `error_log ${path.join(dir, 'error.log')} warn;`,
      'events { worker_connections 1024; }',
      'http {',
      '  access_log off;',
      `  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;`,
      '  keepalive_requests 1000000;',
      `  server { listen 127.0.0.1:${port}; location / { return 200 "ok"; } }`,
      '}',
      '',
    ].join('\n'),
  );
  const [file, args] = pinned(0, 'nginx', ['-p', dir, '-e', path.join(dir, 'error.log'), '-c', conf]);
  const child = startProcess('nginx target', file, args);
  await waitListening(child, port);
  return { name: 'nginx', child, url: `http://127.0.0.1:${port}/` };
}

/** Whether generators run pinned to core 1 now (the second pass runs them unpinned). */
let pinGenerators = TASKSET;
/** lblab's threads in the latest run (from its record). */
let lblabThreads = 1;

/** Runs a generator child to its end (SLACK_S past its run at most); resolves with its stdout. Throws on a hang or a non-zero exit. */
async function runToEnd(label, file, args, seconds) {
  const [f, a] = pinGenerators ? pinned(1, file, args) : [file, args];
  const child = startProcess(label, f, a);
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), (seconds + SLACK_S) * 1000);
  });
  const r = await Promise.race([child.exited, timedOut]);
  clearTimeout(timer);
  if (r === 'timeout') {
    await stop(child);
    throw new Error(`${label} did not finish within ${seconds + SLACK_S} s:\n${tailOf(child)}`);
  }
  if (child.spawnError) throw child.spawnError;
  if (r.code !== 0) throw new Error(`${label} exited with code ${r.code} signal ${r.signal}:\n${tailOf(child)}`);
  return child.stdoutText;
}

/** Throws unless more than 99% of `requests` succeeded: a generator measuring errors measures nothing. */
function checkErrors(label, requests, errors) {
  if (!(requests > 0)) throw new Error(`${label}: no request completed`);
  if (errors / requests > 0.01) throw new Error(`${label}: ${errors} of ${requests} requests failed`);
}

/** The generators, each `{ name, run(url, seconds) → req/s }`. */
const GENERATORS = [
  {
    name: 'lblab',
    detail: 'lblab load --concurrency 64 (--threads 1 pinned, its default unpinned)',
    async run(url, seconds) {
      // Pinned, one thread for one core; unpinned, lblab's default.
      const threads = pinGenerators ? ['--threads', '1'] : [];
      const out = await runToEnd('lblab load', process.execPath, [BIN, 'load', url, '--concurrency', String(CONNECTIONS), '--duration', `${seconds}s`, ...threads, '--json'], seconds);
      const rec = JSON.parse(out);
      lblabThreads = rec.config.threads ?? 1;
      const t = rec.totals;
      checkErrors('lblab load', t.requests, t.errors);
      return t.rps;
    },
  },
  {
    name: 'autocannon',
    detail: `autocannon ${JSON.parse(readFileSync(path.join(ROOT, 'node_modules', 'autocannon', 'package.json'), 'utf8')).version} -c 64`,
    async run(url, seconds) {
      const out = await runToEnd('autocannon', process.execPath, [AUTOCANNON, '-c', String(CONNECTIONS), '-d', String(seconds), '--json', url], seconds);
      const r = JSON.parse(out);
      checkErrors('autocannon', r.requests.total, r.errors + r.non2xx);
      return r.requests.total / r.duration;
    },
  },
  ...(onPath('wrk')
    ? [
        {
          name: 'wrk',
          detail: 'wrk -t1 -c64',
          async run(url, seconds) {
            const out = await runToEnd('wrk', 'wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, url], seconds);
            const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
            if (!rps) throw new Error(`wrk: no Requests/sec in its output:\n${out}`);
            const bad = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
            const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
            const total = /(\d+) requests in/.exec(out);
            const errors = Number(bad?.[1] ?? 0) + (socketErrors ? socketErrors.slice(1).reduce((n, x) => n + Number(x), 0) : 0);
            checkErrors('wrk', Number(total?.[1] ?? 0), errors);
            return Number(rps[1]);
          },
        },
      ]
    : []),
];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The interleaved rounds against one target: `{ target, perGenerator: { name: { runs, median } }, ratios }`. */
async function measureTarget(target) {
  log(`${target.name} at ${target.url}: warming up (autocannon 1 s, not measured)`);
  await runToEnd('autocannon warm-up', process.execPath, [AUTOCANNON, '-c', String(CONNECTIONS), '-d', '1', '--json', target.url], 1);
  const runs = Object.fromEntries(GENERATORS.map((g) => [g.name, []]));
  for (let i = 0; i < ROUNDS; i++) {
    for (const g of GENERATORS) {
      const rps = await g.run(target.url, RUN_S);
      if (target.child.exitInfo) throw new Error(`${target.child.label} exited during the ${g.name} run:\n${tailOf(target.child)}`);
      runs[g.name].push(rps);
      log(`${target.name} round ${i + 1}/${ROUNDS}: ${g.name} ${Math.round(rps)} req/s`);
    }
  }
  const perGenerator = Object.fromEntries(Object.entries(runs).map(([name, xs]) => [name, { runs: xs, median: median(xs) }]));
  const ratio = (other) => (perGenerator[other] ? perGenerator.lblab.median / perGenerator[other].median : null);
  return { target: target.name, pinned: pinGenerators, lblabThreads, perGenerator, ratios: { autocannon: ratio('autocannon'), wrk: ratio('wrk') } };
}

async function main() {
  const loadAverage = os.loadavg()[0];
  const dir = mkdtempSync(path.join(tmpdir(), 'lblab-bench-load-'));
  const results = [];
  try {
    const targets = [startNodeTarget, ...(onPath('nginx') ? [() => startNginxTarget(dir)] : [])];
    for (const start of targets) {
      const target = await start();
      try {
        pinGenerators = TASKSET;
        results.push(await measureTarget(target));
        if (TASKSET) {
          pinGenerators = false;
          log(`${target.name}: the same rounds with the generators unpinned`);
          results.push(await measureTarget(target));
        }
      } finally {
        await stop(target.child);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const result = {
    machine: machineInfo(),
    quick: QUICK,
    loadAverage,
    pinned: TASKSET,
    connections: CONNECTIONS,
    rounds: ROUNDS,
    secondsPerRun: RUN_S,
    generators: GENERATORS.map((g) => ({ name: g.name, detail: g.detail })),
    results,
  };
  process.stdout.write(JSON_OUT ? JSON.stringify(result, null, 2) + '\n' : render(result));
}

function render(r) {
  const [f0, f2] = [0, 2].map(fixed);
  const w = [14, 12, 10, 26];
  const row = (cells) => tableRow(cells, w);
  const lines = [
    '',
    `lblab load vs autocannon${r.generators.some((g) => g.name === 'wrk') ? ' vs wrk' : ' (wrk not on PATH)'}${r.quick ? ' (--quick)' : ''} — closed model, ${r.connections} keep-alive connections, ${r.rounds} interleaved rounds × ${r.secondsPerRun} s, median req/s`,
    `machine: ${r.machine.cpus} cores (${r.machine.cpuModel}), node ${r.machine.node}, load average ${r.loadAverage.toFixed(2)} at the start; ${r.pinned ? 'target on core 0 (taskset -c 0), each generator on core 1 (taskset -c 1)' : 'taskset not on PATH: target and generators share the cores'}`,
    `generators: ${r.generators.map((g) => g.detail).join(' · ')}`,
  ];
  for (const t of r.results) {
    const how = r.pinned ? (t.pinned ? ', generators pinned to core 1, lblab --threads 1' : `, generators unpinned, lblab --threads ${t.lblabThreads} (its default)`) : '';
    lines.push('', `target: ${t.target === 'nginx' ? 'nginx return 200 "ok"' : 'node:http 200 "ok"'}${how}`, row(['generator', 'req/s', 'lblab ÷', 'runs']));
    for (const [name, g] of Object.entries(t.perGenerator)) {
      lines.push(row([name, f0(g.median), name === 'lblab' ? '' : f2(t.ratios[name]), g.runs.map((x) => Math.round(x)).join(' ')]));
    }
  }
  lines.push('');
  return lines.join('\n');
}

runBench(main);

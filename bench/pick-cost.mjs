#!/usr/bin/env node
// bench/pick-cost.mjs — what does one pick cost, per algorithm and upstream size?
//
// Run it:   npm run bench:pick        (builds, then this, a few seconds)
//           node bench/pick-cost.mjs --json    (a JSON object on stdout instead of the table)
//
// For every algorithm of `--algo` and upstreams of 3, 10 and 100 backends (weights 1, 2, 3
// in turn, all UP), it times PICKS calls in one tight loop, after WARMUP untimed ones,
// and prints ns per operation. One operation is what the balancer does per try:
//   pick(backends, ctx) → inFlight++ → onRequestStart(backend, startedAtMs), and, once 8
//   tries are open, inFlight-- → onRequestEnd(oldest, { startedAtMs, latencyMs, ok }) on the
//   oldest one, so algorithms that learn from responses pay for it. The start times are a
//   counter, not a clock: only the cost is measured here. Each request comes from one of
// 4096 client addresses (10.X.Y.Z, spread over /24s) with one of 4096 hash keys, in turn.
// The same `backends` array is passed every time, as the balancer does until membership
// changes, so rings and tables are built once, during warm-up.
//
// Read the numbers as relative: they include the loop and hook calls, JIT state and
// whatever else this machine is running. A pick should stay well under a microsecond
// even at 100 backends; anything O(n²) per pick would show as a jump from 10 to 100.
//
// Stops by itself: 12 algorithms × 3 sizes × (WARMUP + PICKS) operations, a few seconds;
// a watchdog aborts the run if it ever takes more than 55 s.

import { ALGORITHMS, createPicker } from '../dist/balancer/algorithms/index.js';
import { benchArgs } from './bench-lib.mjs';

const { json: JSON_OUT } = benchArgs({ name: 'pick-cost', flags: { '--json': 'print the result as one JSON object on stdout' } });

const SIZES = [3, 10, 100];
const WARMUP = 50_000;
const PICKS = 200_000;
const OPEN_TRIES = 8;
const VARIETY = 4096;
const DEADLINE_MS = 55_000;

const watchdog = setTimeout(() => {
  process.stderr.write(`pick-cost: gave up after ${DEADLINE_MS / 1000} s\n`);
  process.exit(1);
}, DEADLINE_MS);
watchdog.unref();

const clientIps = Array.from({ length: VARIETY }, (_, i) => `10.${(i >> 8) & 255}.${(i * 37) & 255}.${(i % 250) + 1}`);
const hashKeys = Array.from({ length: VARIETY }, (_, i) => `user-${(i * 2654435761) >>> 0}`);
const contexts = clientIps.map((clientIp, i) => ({ clientIp, hashKey: hashKeys[i], exclude: undefined }));

function makeBackends(n) {
  return Array.from({ length: n }, (_, index) => ({
    index,
    name: `b${index + 1}`,
    origin: `http://127.0.0.1:${9001 + index}`,
    weight: (index % 3) + 1,
    inFlight: 0,
    usable: true,
    reportedLoad: (index % 7) / 10,
  }));
}

/** Runs `count` operations (pick + hooks) against `backends`; returns the ns they took. */
function run(picker, backends, count, state) {
  const open = state.open;
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const b = picker.pick(backends, contexts[state.k++ & (VARIETY - 1)]);
    b.inFlight++;
    const startedAtMs = state.k;
    picker.onRequestStart?.(b, startedAtMs);
    open.push({ b, startedAtMs });
    if (open.length > OPEN_TRIES) {
      const done = open.shift();
      done.b.inFlight--;
      picker.onRequestEnd?.(done.b, { startedAtMs: done.startedAtMs, latencyMs: 5 + (state.k % 11), ok: true });
    }
  }
  return Number(process.hrtime.bigint() - start);
}

const results = {};
for (const name of ALGORITHMS) {
  results[name] = {};
  for (const n of SIZES) {
    const picker = createPicker(name);
    const backends = makeBackends(n);
    const state = { k: 0, open: [] };
    run(picker, backends, WARMUP, state);
    const ns = run(picker, backends, PICKS, state);
    results[name][n] = ns / PICKS;
  }
}
clearTimeout(watchdog);

if (JSON_OUT) {
  process.stdout.write(`${JSON.stringify({ unit: 'ns/op', picks: PICKS, sizes: SIZES, results })}\n`);
} else {
  const width = Math.max(...ALGORITHMS.map((a) => a.length), 'algorithm'.length);
  const col = 14;
  const line = (cells) => cells[0].padEnd(width) + cells.slice(1).map((c) => c.padStart(col)).join('');
  const out = [`pick cost in ns/op (pick + onRequestStart/End), ${PICKS} timed picks per cell after ${WARMUP} warm-up`, ''];
  out.push(line(['algorithm', ...SIZES.map((n) => `${n} backends`)]));
  out.push('-'.repeat(width + col * SIZES.length));
  for (const name of ALGORITHMS) out.push(line([name, ...SIZES.map((n) => results[name][n].toFixed(0))]));
  process.stdout.write(`${out.join('\n')}\n`);
}

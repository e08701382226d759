import { finished as streamFinished } from 'node:stream/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { Pool } from 'undici';
import { classifyError } from '../metrics/error-kind.js';
import { ERROR_KIND_CODES, type FromWorker, type LoadWorkerData, type SampleBatch, type ToWorker } from './protocol.js';

/**
 * A load worker thread: the closed model. `concurrency` loops each send a
 * request over a keep-alive undici pool, wait for the whole response, record
 * it, and send the next. Samples are batched into typed arrays and posted to
 * the main thread every `batchIntervalMs`, so recording costs the balancer's
 * event loop almost nothing.
 */

const data = workerData as LoadWorkerData;
const port = parentPort!;
const target = new URL(data.url);
const path = target.pathname + target.search;
const pool = new Pool(target.origin, { connections: null, keepAliveTimeout: 10_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
const deadline = data.durationMs > 0 ? performance.now() + data.durationMs : Infinity;
const originOffset = performance.timeOrigin - data.epochStartMs;

const names = new Map<string, number>();
let newNames: string[] = [];
const CAPACITY = 4096;
/** How long requests still in flight at the end may take before they are cut (ms). */
const STOP_GRACE_MS = 2000;
const batch = allocate();
let count = 0;
let abandoning = false;

let wanted = data.concurrency;
const active = new Set<number>();
let paused = false;
let stopping = false;
let resumeWaiters: Array<() => void> = [];

type Arrays = Omit<SampleBatch, 'type' | 'newNames' | 'count'>;

function allocate(): Arrays {
  return {
    latencyUs: new Float64Array(CAPACITY),
    backend: new Int16Array(CAPACITY),
    status: new Uint16Array(CAPACITY),
    kind: new Uint8Array(CAPACITY),
    atMs: new Float64Array(CAPACITY),
  };
}

/** Posts the samples gathered so far: copies of just the filled part, transferred. */
function flush(): void {
  if (count === 0 && newNames.length === 0) return;
  const out: Arrays = {
    latencyUs: batch.latencyUs.slice(0, count),
    backend: batch.backend.slice(0, count),
    status: batch.status.slice(0, count),
    kind: batch.kind.slice(0, count),
    atMs: batch.atMs.slice(0, count),
  };
  const message: FromWorker = { type: 'batch', newNames, count, ...out };
  port.postMessage(message, [out.latencyUs.buffer, out.backend.buffer, out.status.buffer, out.kind.buffer, out.atMs.buffer]);
  count = 0;
  newNames = [];
}

function record(latencyUs: number, backendName: string | undefined, status: number, kind: number): void {
  let idx = -1;
  if (backendName !== undefined) {
    const known = names.get(backendName);
    if (known === undefined) {
      idx = names.size;
      names.set(backendName, idx);
      newNames.push(backendName);
    } else idx = known;
  }
  batch.latencyUs[count] = latencyUs;
  batch.backend[count] = idx;
  batch.status[count] = status;
  batch.kind[count] = kind;
  batch.atMs[count] = originOffset + performance.now();
  count++;
  if (count === CAPACITY) flush();
}

async function loop(id: number): Promise<void> {
  active.add(id);
  try {
    while (!stopping && id < wanted && performance.now() < deadline) {
      if (paused) {
        await new Promise<void>((resolve) => resumeWaiters.push(resolve));
        continue;
      }
      const started = performance.now();
      try {
        const res = await pool.request({ path, method: 'GET' });
        // Read the body to its end: a body cut short must throw, not count as a success.
        res.body.resume();
        await streamFinished(res.body);
        const header = res.headers['x-lblab-backend'];
        record((performance.now() - started) * 1000, typeof header === 'string' ? header : undefined, res.statusCode, 0);
      } catch (err) {
        // Cut at the end of the run after the grace period: it timed out.
        const kind = abandoning ? 'timeout' : classifyError(err);
        record((performance.now() - started) * 1000, undefined, 0, ERROR_KIND_CODES.indexOf(kind));
      }
    }
  } finally {
    active.delete(id);
    if (active.size === 0 && (stopping || performance.now() >= deadline)) void finish();
  }
}

let finished = false;
async function finish(): Promise<void> {
  if (finished) return;
  finished = true;
  clearInterval(ticker);
  flush();
  await pool.destroy().catch(() => undefined);
  port.postMessage({ type: 'done' } satisfies FromWorker);
}

function setConcurrency(value: number): void {
  wanted = value;
  // Loops with id ≥ target end after their current request; missing ids start now.
  for (let id = 0; id < value; id++) if (!active.has(id)) void loop(id);
}

function stop(): void {
  if (stopping) return;
  stopping = true;
  // Requests in flight may finish; one that hangs is cut after the grace period.
  setTimeout(() => {
    abandoning = true;
    void pool.destroy().catch(() => undefined);
  }, STOP_GRACE_MS).unref();
  paused = false;
  const waiters = resumeWaiters;
  resumeWaiters = [];
  for (const w of waiters) w();
  if (active.size === 0) void finish();
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'concurrency') setConcurrency(m.value);
  else if (m.type === 'pause') paused = true;
  else if (m.type === 'resume') {
    paused = false;
    const waiters = resumeWaiters;
    resumeWaiters = [];
    for (const w of waiters) w();
  } else if (m.type === 'stop') stop();
});

const ticker = setInterval(flush, data.batchIntervalMs);
if (data.durationMs > 0) setTimeout(stop, data.durationMs);
for (let id = 0; id < data.concurrency; id++) void loop(id);

import { finished as streamFinished } from 'node:stream/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { Pool } from 'undici';
import { classifyError } from '../metrics/error-kind.js';
import { clientAddress } from './client-addresses.js';
import { ERROR_KIND_CODES, type FromWorker, type LoadWorkerData, type SampleBatch, type ToWorker } from './protocol.js';
import { compileHeaders } from './request-headers.js';

/**
 * A load worker thread: the closed model. `concurrency` loops each send a
 * request over a keep-alive undici pool, wait for the whole response, record
 * it, and send the next. Samples are batched into typed arrays and posted to
 * the main thread every `batchIntervalMs`, so recording costs the balancer's
 * event loop almost nothing.
 *
 * With virtual clients, each request goes out as the next client of this
 * thread's range in turn (round robin over all loops), over that client's
 * own keep-alive pool bound to its source address, so the server sees each
 * client as a distinct remote address with its own connections.
 */

const data = workerData as LoadWorkerData;
const port = parentPort!;
const target = new URL(data.url);
const path = target.pathname + target.search;
const POOL_OPTIONS = {
  connections: null,
  keepAliveTimeout: 10_000,
  headersTimeout: 60_000,
  bodyTimeout: 60_000,
  ...(data.insecure ? { connect: { rejectUnauthorized: false } } : {}),
} as const;
const clients = data.clients;
const clientCount = clients?.count ?? 1;
/**
 * One pool per virtual client of this thread (by index in its range),
 * opened on its first request; in order of last use, least recent first.
 */
const pools = new Map<number, Pool>();
/** Pools closed to stay within `clients.maxOpen`, finishing what they had in flight. */
const closing = new Set<Pool>();
/** Whether there are more clients than may keep connections open, so pools must be kept in order of use and evicted. */
const evicting = clients !== undefined && clients.count > clients.maxOpen;
let nextClient = 0;
const headersFor = compileHeaders(data.headers);
/** Requests this thread sent; request k gets `{seq}` = thread + 1 + k × threads. */
let sent = 0;
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
    client: new Uint16Array(CAPACITY),
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
    client: batch.client.slice(0, count),
  };
  const message: FromWorker = { type: 'batch', newNames, count, ...out };
  port.postMessage(message, [out.latencyUs.buffer, out.backend.buffer, out.status.buffer, out.kind.buffer, out.atMs.buffer, out.client.buffer]);
  count = 0;
  newNames = [];
}

function record(latencyUs: number, backendName: string | undefined, status: number, kind: number, client: number): void {
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
  batch.client[count] = client;
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
      const local = nextClient;
      nextClient = (nextClient + 1) % clientCount;
      const client = (clients?.first ?? 0) + local;
      const seq = data.thread + 1 + sent++ * data.threads;
      const started = performance.now();
      try {
        const res = await poolFor(local).request({ path, method: 'GET', headers: headersFor(client + 1, seq) });
        // Read the body to its end: a body cut short must throw, not count as a success.
        res.body.resume();
        await streamFinished(res.body);
        const header = res.headers['x-lblab-backend'];
        record((performance.now() - started) * 1000, typeof header === 'string' ? header : undefined, res.statusCode, 0, client);
      } catch (err) {
        // Cut at the end of the run after the grace period: it timed out.
        const kind = abandoning ? 'timeout' : classifyError(err);
        record((performance.now() - started) * 1000, undefined, 0, ERROR_KIND_CODES.indexOf(kind), client);
      }
    }
  } finally {
    active.delete(id);
    if (active.size === 0 && (stopping || performance.now() >= deadline)) void finish();
  }
}

/**
 * The pool of this thread's client `local` (0-based in its range), bound to
 * the client's source address. Opening one past `clients.maxOpen` closes the
 * least recently used, so open connections stay within the process's file
 * limit however many clients there are.
 */
function poolFor(local: number): Pool {
  let pool = pools.get(local);
  if (pool) {
    if (evicting) {
      pools.delete(local);
      pools.set(local, pool);
    }
    return pool;
  }
  pool = clients
    ? new Pool(target.origin, { ...POOL_OPTIONS, localAddress: clientAddress(clients.first + local, clients.spread) })
    : new Pool(target.origin, POOL_OPTIONS);
  pools.set(local, pool);
  if (evicting && clients && pools.size > clients.maxOpen) {
    const [oldestKey, oldest] = pools.entries().next().value as [number, Pool];
    pools.delete(oldestKey);
    closing.add(oldest);
    oldest.close().then(
      () => closing.delete(oldest),
      () => closing.delete(oldest),
    );
  }
  return pool;
}

function destroyPools(): Promise<unknown> {
  return Promise.all([...pools.values(), ...closing].map((p) => p.destroy().catch(() => undefined)));
}

let finished = false;
async function finish(): Promise<void> {
  if (finished) return;
  finished = true;
  clearInterval(ticker);
  flush();
  await destroyPools();
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
    void destroyPools();
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

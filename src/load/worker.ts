import { finished as streamFinished } from 'node:stream/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { Pool } from 'undici';
import { classifyError } from '../metrics/error-kind.js';
import { clientAddress } from './client-addresses.js';
import { CookieJar } from './cookie-jar.js';
import { ERROR_KIND_CODES, type FromWorker, type LoadWorkerData, type SampleBatch, type ToWorker } from './protocol.js';
import { compileHeaders } from './request-headers.js';

/**
 * A load worker thread. Closed model: `concurrency` loops each send a
 * request over a keep-alive undici pool, wait for the whole response, record
 * it, and send the next. Open model (`open`): requests go out on a fixed
 * schedule whatever the responses do, request j of this thread at its
 * scheduled time (see `LoadWorkerData.open`), and latency counts from that
 * scheduled time, not from the real send: corrected for coordinated
 * omission as wrk2 does, so a server that stalls is charged for the requests
 * it kept waiting. At most `maxInFlight` are outstanding; a request due
 * while the cap is reached waits for a slot (and is counted). Samples are
 * batched into typed arrays and posted to the main thread every
 * `batchIntervalMs`, so recording costs the balancer's event loop almost
 * nothing.
 *
 * With virtual clients, each request goes out as the next client of this
 * thread's range in turn (round robin over all loops), over that client's
 * own keep-alive pool bound to its source address, so the server sees each
 * client as a distinct remote address with its own connections. Each client
 * (the single default one too) keeps a cookie jar unless `cookies` is off.
 */

const data = workerData as LoadWorkerData;
const port = parentPort!;
const target = new URL(data.url);
const paths = data.paths.length > 0 ? data.paths : [target.pathname + target.search];
const secure = target.protocol === 'https:';
const POOL_OPTIONS = {
  connections: null,
  keepAliveTimeout: 10_000,
  headersTimeout: 60_000,
  bodyTimeout: 60_000,
  // --insecure: a self-signed certificate (the balancer's --tls) is accepted; otherwise undici verifies it.
  ...(secure && data.insecure ? { connect: { rejectUnauthorized: false } } : {}),
};
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
/** Cookie jars of this thread's clients (by index in its range), made on first use; kept when a pool is evicted, as a browser keeps cookies when it drops a connection. */
const jars = new Map<number, CookieJar>();
/** Requests each of this thread's clients sent: a client's k-th request takes path k (mod the paths), so every client walks all of them. */
const sentBy = new Uint32Array(clientCount);
let nextClient = 0;
const headersFor = compileHeaders(data.headers);
/** Requests this thread sent; request k gets `{seq}` = thread + 1 + k × threads. */
let sent = 0;
/** Most requests this thread sends (its share of `--requests`). */
const limit = data.requests ?? Infinity;
const startedAt = performance.now();
/** When sending ends (`performance.now()` ms); set when sending begins. */
let deadline = Infinity;
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

/** Open model: the run-wide rate (req/s) now; this thread sends every `threads`-th request of the run. */
let rate = data.open?.rate ?? 0;
/** The schedule's origin (`performance.now()` ms) and the index of this thread's request due then (plus this thread's offset). */
let anchorMs = 0;
/** Whether sending has begun (the open model waits for `go`). */
let begun = false;
let anchorJ = 0;
/** This thread's next request to send (0-based among its own). */
let nextJ = 0;
let inFlight = 0;
/** Whether a request was due while the in-flight cap was reached: those sent before the schedule is caught up waited for a slot. */
let blocked = false;
let waitedForSlot = 0;
/** Open model: requests due before the end (or a pause, or a rate change) that never went out. */
let unsent = 0;
let wake: NodeJS.Timeout | undefined;

type Arrays = Omit<SampleBatch, 'type' | 'newNames' | 'count' | 'waitedForSlot'>;

function allocate(): Arrays {
  return {
    latencyUs: new Float64Array(CAPACITY),
    backend: new Int16Array(CAPACITY),
    status: new Uint16Array(CAPACITY),
    kind: new Uint8Array(CAPACITY),
    atMs: new Float64Array(CAPACITY),
    client: new Uint16Array(CAPACITY),
    sendDelayUs: new Float64Array(CAPACITY),
  };
}

/** Posts the samples gathered so far: copies of just the filled part, transferred. */
function flush(): void {
  if (count === 0 && newNames.length === 0 && waitedForSlot === 0) return;
  const out: Arrays = {
    latencyUs: batch.latencyUs.slice(0, count),
    backend: batch.backend.slice(0, count),
    status: batch.status.slice(0, count),
    kind: batch.kind.slice(0, count),
    atMs: batch.atMs.slice(0, count),
    client: batch.client.slice(0, count),
    sendDelayUs: batch.sendDelayUs.slice(0, count),
  };
  const message: FromWorker = { type: 'batch', newNames, count, waitedForSlot, ...out };
  port.postMessage(message, [out.latencyUs.buffer, out.backend.buffer, out.status.buffer, out.kind.buffer, out.atMs.buffer, out.client.buffer, out.sendDelayUs.buffer]);
  count = 0;
  newNames = [];
  waitedForSlot = 0;
}

function record(latencyUs: number, backendName: string | undefined, status: number, kind: number, client: number, sendDelayUs: number): void {
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
  batch.sendDelayUs[count] = sendDelayUs;
  count++;
  if (count === CAPACITY) flush();
}

/**
 * Sends one request as this thread's client `local` and records it, latency
 * counted from `fromMs` (`performance.now()` ms): the moment of sending in
 * the closed model, the scheduled time in the open one (then the send's
 * delay behind schedule is recorded too).
 */
async function sendOne(local: number, fromMs: number): Promise<void> {
  const client = (clients?.first ?? 0) + local;
  const seq = data.thread + 1 + sent++ * data.threads;
  // Per client, so each client asks for every path in turn (by `{seq}`, a client would keep one path whenever the clients are a multiple of the paths).
  const path = paths[sentBy[local]!++ % paths.length]!;
  const started = performance.now();
  const delayUs = data.open ? Math.max(0, (started - fromMs) * 1000) : 0;
  const jar = jarFor(local);
  const cookie = jar?.cookieHeader(path, secure);
  const headers = headersFor(client + 1, seq);
  try {
    const res = await poolFor(local).request({ path, method: 'GET', headers: cookie === undefined ? headers : withCookie(headers, cookie) });
    // Stored when the headers arrive, as a browser does, even if the body fails later.
    jar?.store(res.headers['set-cookie'], path);
    // Read the body to its end: a body cut short must throw, not count as a success.
    res.body.resume();
    await streamFinished(res.body);
    const header = res.headers['x-lblab-backend'];
    record((performance.now() - fromMs) * 1000, typeof header === 'string' ? header : undefined, res.statusCode, 0, client, delayUs);
  } catch (err) {
    // Cut at the end of the run after the grace period: it timed out.
    const kind = abandoning ? 'timeout' : classifyError(err);
    record((performance.now() - fromMs) * 1000, undefined, 0, ERROR_KIND_CODES.indexOf(kind), client, delayUs);
  }
}

/** The next client of this thread's range, in turn. */
function takeClient(): number {
  const local = nextClient;
  nextClient = (nextClient + 1) % clientCount;
  return local;
}

/** The cookie jar of client `local`, or undefined with `cookies` off. */
function jarFor(local: number): CookieJar | undefined {
  if (!data.cookies) return undefined;
  let jar = jars.get(local);
  if (!jar) {
    jar = new CookieJar(target.hostname);
    jars.set(local, jar);
  }
  return jar;
}

/** `headers` (flat name/value list) with the jar's cookies added: appended to a `--header cookie=…` value if there is one. */
function withCookie(headers: string[], cookie: string): string[] {
  const out = [...headers];
  for (let i = 0; i < out.length; i += 2) {
    if (out[i]!.toLowerCase() === 'cookie') {
      out[i + 1] = `${out[i + 1]}; ${cookie}`;
      return out;
    }
  }
  out.push('cookie', cookie);
  return out;
}

async function loop(id: number): Promise<void> {
  active.add(id);
  try {
    while (!stopping && id < wanted && performance.now() < deadline && sent < limit) {
      if (paused) {
        await new Promise<void>((resolve) => resumeWaiters.push(resolve));
        continue;
      }
      await sendOne(takeClient(), performance.now());
    }
  } finally {
    active.delete(id);
    if (active.size === 0 && (stopping || performance.now() >= deadline || sent >= limit)) void finish();
  }
}

/** When this thread's request j is due (`performance.now()` ms): request i = j × threads + thread of the run at anchor + i / rate. */
function dueAt(j: number): number {
  return anchorMs + (((j - anchorJ) * data.threads + data.thread) * 1000) / rate;
}

/** How many of this thread's requests were due before `atMs` and are not sent yet (at most what `limit` allows). */
function backlog(atMs: number): number {
  if (!begun) return 0;
  const end = Math.min(atMs, deadline);
  const periods = ((end - anchorMs) * rate) / 1000;
  const due = anchorJ + Math.max(0, Math.ceil((periods - data.thread) / data.threads));
  return Math.max(0, Math.min(due, limit) - nextJ);
}

/** Restarts the schedule now from the next request; what was due and not sent is counted unsent, not sent in a burst. */
function reanchor(): void {
  anchorMs = performance.now();
  anchorJ = nextJ;
  blocked = false;
}

/** Whether the open model's schedule has nothing left to send: the request limit or the end of the run is reached. */
function scheduleOver(): boolean {
  return nextJ >= limit || dueAt(nextJ) >= deadline;
}

/**
 * Open model: sends every request that is due, then sleeps until the next
 * one is. When the in-flight cap is reached it stops; the next response
 * calls it again (the requests due meanwhile then go out late, counted).
 */
function pump(): void {
  if (wake !== undefined) {
    clearTimeout(wake);
    wake = undefined;
  }
  if (stopping || paused) return;
  const cap = data.open!.maxInFlight;
  while (!scheduleOver()) {
    const at = dueAt(nextJ);
    const now = performance.now();
    if (at > now) {
      blocked = false;
      wake = setTimeout(pump, at - now);
      return;
    }
    if (inFlight >= cap) {
      blocked = true;
      return;
    }
    if (blocked) waitedForSlot++;
    nextJ++;
    inFlight++;
    void sendOne(takeClient(), at).finally(() => {
      inFlight--;
      if (blocked) pump();
      if (inFlight === 0 && (stopping || scheduleOver())) void finish();
    });
  }
  if (inFlight === 0) void finish();
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
  port.postMessage({ type: 'done', unsent } satisfies FromWorker);
}

function setConcurrency(value: number): void {
  wanted = value;
  // Loops with id ≥ target end after their current request; missing ids start now.
  for (let id = 0; id < value; id++) if (!active.has(id)) void loop(id);
}

function stop(): void {
  if (stopping) return;
  if (data.open && !paused) unsent += backlog(performance.now());
  stopping = true;
  if (wake !== undefined) clearTimeout(wake);
  // Requests in flight may finish; one that hangs is cut after the grace period.
  setTimeout(() => {
    abandoning = true;
    void destroyPools();
  }, STOP_GRACE_MS).unref();
  paused = false;
  const waiters = resumeWaiters;
  resumeWaiters = [];
  for (const w of waiters) w();
  if (data.open ? inFlight === 0 : active.size === 0) void finish();
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'concurrency') {
    if (!data.open) setConcurrency(m.value);
  } else if (m.type === 'rate') {
    if (data.open && !stopping && m.value > 0) {
      if (!paused) unsent += backlog(performance.now());
      rate = m.value;
      if (begun) {
        reanchor();
        pump();
      }
    }
  } else if (m.type === 'pause') {
    if (data.open && !paused && !stopping) unsent += backlog(performance.now());
    paused = true;
  } else if (m.type === 'resume') {
    if (!paused) return;
    paused = false;
    const waiters = resumeWaiters;
    resumeWaiters = [];
    for (const w of waiters) w();
    if (data.open && begun) {
      reanchor();
      pump();
    }
  } else if (m.type === 'go') {
    begin(m.atMs - originOffset);
  } else if (m.type === 'stop') stop();
});

/**
 * Starts sending at `atMs` (`performance.now()` ms): the open model's
 * schedule and the duration count from there.
 */
function begin(atMs: number): void {
  if (begun || stopping) return;
  begun = true;
  if (data.durationMs > 0) {
    deadline = atMs + data.durationMs;
    setTimeout(stop, Math.max(0, deadline - performance.now()));
  }
  if (data.open) {
    anchorMs = atMs;
    wake = setTimeout(pump, Math.max(0, atMs - performance.now()));
  } else for (let id = 0; id < data.concurrency; id++) void loop(id);
}

const ticker = setInterval(flush, data.batchIntervalMs);
if (data.open) {
  // The threads of the open model share one schedule: the main thread
  // answers 'ready' with one start time once every thread is up.
  port.postMessage({ type: 'ready' } satisfies FromWorker);
} else {
  port.postMessage({ type: 'started', atMs: originOffset + startedAt } satisfies FromWorker);
  begin(startedAt);
}

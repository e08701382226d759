import type { ConnectTally, HaClientTarget } from './ha-connector.js';
import type { HeaderTemplate } from './request-headers.js';

/**
 * Messages between the load generator (main thread) and its worker threads.
 * Samples travel in batches of typed arrays, transferred, not copied.
 */

/** What a worker is started with. Times in ms. */
export type LoadWorkerData = {
  url: string;
  /** Closed model: this thread's workers (ignored when `open` is set). */
  concurrency: number;
  /**
   * Open model (absent: closed). This thread sends request j of its own at
   * `t0 + (j × threads + thread) / rate` seconds, so the threads together
   * send request i of the run at t0 + i / rate; at most `maxInFlight`
   * (this thread's share of the cap) are outstanding at once.
   */
  open?: { rate: number; maxInFlight: number };
  /** Stop after this thread has sent this many requests (its share of `--requests`); absent = no limit. */
  requests?: number;
  /** Keep a cookie jar per virtual client and send its cookies back. */
  cookies: boolean;
  /** Accept any server certificate (https targets, `--insecure`). */
  insecure: boolean;
  /** Stop after this long; 0 = run until told to stop. */
  durationMs: number;
  /** `performance.timeOrigin + performance.now()` of the run's start in the main thread; sample times are relative to it. */
  epochStartMs: number;
  /** How often a batch is posted. */
  batchIntervalMs: number;
  /**
   * This thread's virtual clients: indexes `first` … `first + count - 1` of
   * the run's, each sending from its own source address (`spread`: one /24
   * per client); absent = one client, the system's source address. At most
   * `maxOpen` clients keep connections open; beyond that the least recently
   * used one closes its dispatcher (see `openClientBudget`).
   */
  clients?: { first: number; count: number; spread: boolean; maxOpen: number; weights?: number[] };
  /** False: every request on a new connection, closed after it (undici's `reset`). */
  keepAlive: boolean;
  /** Headers sent on every request, placeholders `{client}` and `{seq}` expanded. */
  headers: HeaderTemplate[];
  /** Paths each client's requests take in turn; empty = the URL's path. */
  paths: string[];
  /** Send through this forward proxy (its URL) in absolute form, each client's requests taking the `targets` (origins) in turn, for each path. */
  proxy?: { url: string; targets: string[] };
  /**
   * Global server load balancing: the region names, this thread's clients'
   * home regions (`homes[k]` for client `clients.first + k`), the region
   * the GSLB tier sends each to now (`serving`, the same indexes; updated
   * by `gslb` messages) and the round trip between regions (ms) each
   * request waits before it goes out, as simulated network distance.
   */
  gslb?: { regions: string[]; homes: number[]; serving: number[]; rttMs: number[][] };
  /**
   * Open model: before saying `ready`, send up to `requests` requests,
   * `concurrency` at a time, for at most `maxMs`, none recorded: the
   * connections are open and the code is compiled when the schedule starts.
   */
  warmUp?: { requests: number; concurrency: number; maxMs: number };
  /** HTTP/2: this thread's connections (h2c on http, h2 by ALPN on https), each carrying up to `streams` concurrent streams. */
  http2?: { connections: number; streams: number };
  /** Clients of a balancer pair: the address(es) they connect to and how (see `haConnector`). */
  ha?: HaClientTarget;
  /** This thread's position among `threads`: it numbers its requests (`{seq}`) thread+1, thread+1+threads, … so they are unique in the run. */
  thread: number;
  threads: number;
};

/** Main → worker. `go` (open model) starts the shared schedule at `atMs`, ms since the run started. */
export type ToWorker =
  | { type: 'go'; atMs: number }
  | { type: 'concurrency'; value: number }
  | { type: 'rate'; value: number }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  /** The GSLB tier's new answers: the serving region of every client of the run (index into the regions). */
  | { type: 'gslb'; serving: number[] };

/** Transport error kinds, by code in {@link SampleBatch.kind}: 0 none, then refused, reset, timeout, other. */
export const ERROR_KIND_CODES = ['none', 'refused', 'reset', 'timeout', 'other'] as const;

/**
 * A batch of completed requests, element i of every array describing one
 * request: latency (µs), backend index into the worker's name table (-1 when
 * the response had no `x-lblab-backend`), HTTP status (0 for a transport
 * error), error kind code, completion time (ms since the run started), the
 * virtual client that sent it (0-based index in the run; 0 without clients),
 * and how late it was sent (µs after its scheduled time; open model only,
 * 0 in the closed model). In the open model the latency is counted from the
 * scheduled time (corrected for coordinated omission, as wrk2), so the
 * latency from the real send is `latencyUs − sendDelayUs`. `session` is
 * what the response's `x-lblab-session` said, by code in
 * `SESSION_OUTCOME_CODES` (0: no such header).
 * `newNames` extends the worker's name table, in order. `waitedForSlot`
 * counts the sends of this batch's interval that were due while the
 * in-flight cap was reached and waited for a response to free a slot.
 */
export type SampleBatch = {
  type: 'batch';
  newNames: string[];
  count: number;
  latencyUs: Float64Array<ArrayBuffer>;
  backend: Int16Array<ArrayBuffer>;
  status: Uint16Array<ArrayBuffer>;
  kind: Uint8Array<ArrayBuffer>;
  atMs: Float64Array<ArrayBuffer>;
  client: Uint16Array<ArrayBuffer>;
  sendDelayUs: Float64Array<ArrayBuffer>;
  session: Uint8Array<ArrayBuffer>;
  waitedForSlot: number;
  /** With `ha`: this thread's new connections so far (totals, not this batch's), see {@link ConnectTally}. */
  connects?: ConnectTally;
};

/**
 * Worker → main. The closed model's thread says `started` when it begins
 * sending (`atMs`: ms since the run started; a thread takes a while to
 * start); the open model's says `ready` (after its warm-up, with the
 * requests that took, see `LoadWorkerData.warmUp`) and waits for `go`. `done` follows the last batch; `unsent` counts the open
 * model's requests that were due before the end but never sent (held back
 * by the in-flight cap).
 */
export type FromWorker = SampleBatch | { type: 'ready'; warmUpRequests: number } | { type: 'started'; atMs: number } | { type: 'done'; unsent: number };

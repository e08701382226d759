import type { HeaderTemplate } from './request-headers.js';

/**
 * Messages between the load generator (main thread) and its worker threads.
 * Samples travel in batches of typed arrays, transferred, not copied.
 */

/** What a worker is started with. Times in ms. */
export type LoadWorkerData = {
  url: string;
  concurrency: number;
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
   * used one closes its pool (see `openClientBudget`).
   */
  clients?: { first: number; count: number; spread: boolean; maxOpen: number };
  /** Headers sent on every request, placeholders `{client}` and `{seq}` expanded. */
  headers: HeaderTemplate[];
  /** This thread's position among `threads`: it numbers its requests (`{seq}`) thread+1, thread+1+threads, … so they are unique in the run. */
  thread: number;
  threads: number;
  /** Accept any TLS certificate of an https target (a self-signed one, as `--tls` serves). */
  insecure?: boolean;
};

/** Main → worker. */
export type ToWorker = { type: 'concurrency'; value: number } | { type: 'pause' } | { type: 'resume' } | { type: 'stop' };

/** Transport error kinds, by code in {@link SampleBatch.kind}: 0 none, then refused, reset, timeout, other. */
export const ERROR_KIND_CODES = ['none', 'refused', 'reset', 'timeout', 'other'] as const;

/**
 * A batch of completed requests, element i of every array describing one
 * request: latency (µs), backend index into the worker's name table (-1 when
 * the response had no `x-lblab-backend`), HTTP status (0 for a transport
 * error), error kind code, completion time (ms since the run started), the
 * virtual client that sent it (0-based index in the run; 0 without clients).
 * `newNames` extends the worker's name table, in order.
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
};

/** Worker → main. `done` follows the last batch. */
export type FromWorker = SampleBatch | { type: 'done' };

import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { registerCleanup } from '../cleanup.js';
import { BackendTraffic, TrafficStats, type ErrorKind } from '../metrics/traffic-stats.js';
import { ClientTally, type ClientEpoch } from './client-tally.js';
import { openClientBudget } from './connection-budget.js';
import { ERROR_KIND_CODES, type FromWorker, type LoadWorkerData, type ToWorker } from './protocol.js';
import type { HeaderTemplate } from './request-headers.js';

const WORKER_ENTRY = new URL('./worker.js', import.meta.url);

/** Closed-model load: `concurrency` workers, each sending the next request when the last finished. Times in ms. */
export type LoadConfig = {
  url: string;
  concurrency: number;
  /** 0 = until {@link LoadGenerator.stop}. */
  durationMs: number;
  /** Worker threads to spread the concurrency over; 1 suits a 2-core machine. */
  threads?: number;
  /** ms between sample batches from the workers. */
  batchIntervalMs?: number;
  /** The run's time 0 as `performance.timeOrigin + performance.now()`; default: when {@link LoadGenerator.start} is called. */
  epochStartMs?: number;
  /**
   * Virtual clients (1…10 000), each with its own source address in
   * 127.0.0.0/8 and its own keep-alive pool (see `clientAddress`); requests
   * take the clients in turn. Undefined = one client on the system's source
   * address. Threads never outnumber clients: each has a disjoint range.
   */
  clients?: number;
  /** Give every virtual client a /24 of its own (127.x.y.1) instead of packing 253 per /24. */
  spreadClients?: boolean;
  /** Headers sent on every request; `{client}` (1-based client number) and `{seq}` (unique in the run) are expanded. */
  headers?: HeaderTemplate[];
  /** For an https URL: accept any certificate (undici `connect.rejectUnauthorized: false`), e.g. the self-signed one of `--tls`. */
  insecure?: boolean;
};

type LoadEvents = { batch: [count: number]; done: []; workerError: [Error] };

/**
 * The traffic generator: runs the closed model in worker threads (off the
 * balancer's event loop) over keep-alive undici connections and records every
 * completed request into {@link stats} on the main thread, attributed to a
 * backend by the `x-lblab-backend` response header. Latency is measured from
 * send to last byte of the response, in µs. With virtual clients
 * (`clients`), requests take the clients in turn, each from its own source
 * address, and {@link clientTally} says which backends served which client.
 */
export class LoadGenerator extends EventEmitter<LoadEvents> {
  /** Client-seen results. Times in {@link TrafficStats} are ms since {@link start}. */
  readonly stats = new TrafficStats();
  /** Per virtual client (index 0 without clients), how many responses each backend served it, by epoch. */
  readonly clientTally = new ClientTally();
  private workers: Worker[] = [];
  private concurrencyValue: number;
  private pausedValue = false;
  private donePromise: Promise<void> | undefined;
  private unregister: (() => void) | undefined;
  private epochStartMs = 0;

  constructor(private readonly config: LoadConfig) {
    super();
    this.concurrencyValue = config.concurrency;
  }

  /** Current number of closed-model workers. */
  get concurrency(): number {
    return this.concurrencyValue;
  }

  /** Whether sending is paused. */
  get paused(): boolean {
    return this.pausedValue;
  }

  /** ms since {@link start}. */
  nowMs(): number {
    return performance.timeOrigin + performance.now() - this.epochStartMs;
  }

  /**
   * Starts a new client epoch at `atMs` (ms since {@link start}; default
   * now): responses completed from then on are tallied in it, whenever their
   * batch arrives. See {@link ClientTally.startEpoch}.
   * @throws {RangeError} when `atMs` is before the current epoch's start.
   */
  startClientEpoch(atMs: number = this.nowMs()): ClientEpoch {
    return this.clientTally.startEpoch(atMs);
  }

  /** Starts the worker threads. Resolves at once; {@link done} resolves when every worker has finished. */
  start(): void {
    const { clients } = this.config;
    const threads = Math.max(1, Math.min(this.config.threads ?? 1, this.config.concurrency, clients ?? Infinity));
    this.epochStartMs = this.config.epochStartMs ?? performance.timeOrigin + performance.now();
    const shares = split(this.config.concurrency, threads);
    const clientShares = clients === undefined ? undefined : split(clients, threads);
    const maxOpen = Math.max(1, Math.floor(openClientBudget() / threads));
    let firstClient = 0;
    const finished: Promise<void>[] = [];
    shares.forEach((share, thread) => {
      const clientCount = clientShares?.[thread];
      const data: LoadWorkerData = {
        url: this.config.url,
        concurrency: share,
        durationMs: this.config.durationMs,
        epochStartMs: this.epochStartMs,
        batchIntervalMs: this.config.batchIntervalMs ?? 100,
        clients: clientCount === undefined ? undefined : { first: firstClient, count: clientCount, spread: this.config.spreadClients ?? false, maxOpen },
        headers: this.config.headers ?? [],
        thread,
        threads,
        ...(this.config.insecure ? { insecure: true } : {}),
      };
      firstClient += clientCount ?? 0;
      const worker = new Worker(WORKER_ENTRY, { workerData: data });
      const table: BackendTraffic[] = [];
      const names: string[] = [];
      finished.push(
        new Promise<void>((resolve) => {
          worker.on('message', (m: FromWorker) => {
            if (m.type === 'done') {
              void worker.terminate().then(() => resolve());
              return;
            }
            for (const name of m.newNames) {
              table.push(this.stats.backend(name));
              names.push(name);
            }
            for (let i = 0; i < m.count; i++) {
              const b = m.backend[i]!;
              const kind = m.kind[i]!;
              const atMs = m.atMs[i]!;
              this.stats.record(
                b >= 0 ? table[b] : undefined,
                m.latencyUs[i]!,
                m.status[i]!,
                kind === 0 ? undefined : (ERROR_KIND_CODES[kind] as ErrorKind),
                atMs,
              );
              // Who served whom is told by when the request was sent: the mapping in force then.
              if (b >= 0) this.clientTally.record(atMs - m.latencyUs[i]! / 1000, m.client[i]!, names[b]!);
            }
            this.emit('batch', m.count);
          });
          worker.once('error', (err) => {
            // Reported, not thrown: the run ends with what was measured.
            this.emit('workerError', err);
            resolve();
          });
          worker.once('exit', () => resolve());
        }),
      );
      this.workers.push(worker);
    });
    this.unregister = registerCleanup('load generator', () => this.stop());
    this.donePromise = Promise.all(finished).then(() => {
      this.unregister?.();
      this.emit('done');
    });
  }

  /** Resolves when every worker has finished (duration over, or stopped). */
  done(): Promise<void> {
    return this.donePromise ?? Promise.resolve();
  }

  /** Changes the number of closed-model workers (≥ 1) while running. */
  setConcurrency(value: number): void {
    this.concurrencyValue = Math.max(1, Math.floor(value));
    const shares = split(this.concurrencyValue, this.workers.length);
    this.workers.forEach((w, i) => this.post(w, { type: 'concurrency', value: shares[i]! }));
  }

  /** Pauses or resumes sending; requests already sent complete. */
  setPaused(paused: boolean): void {
    this.pausedValue = paused;
    for (const w of this.workers) this.post(w, { type: paused ? 'pause' : 'resume' });
  }

  /**
   * Stops sending, lets requests in flight finish (the worker cuts those
   * still pending after 2 s and counts them as timeouts) and resolves once
   * every worker has posted its last batch, or after 3 s at most.
   */
  async stop(): Promise<void> {
    for (const w of this.workers) this.post(w, { type: 'stop' });
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 3000).unref());
    await Promise.race([this.done(), timeout]);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private post(worker: Worker, message: ToWorker): void {
    try {
      worker.postMessage(message);
    } catch {
      // The worker has already ended.
    }
  }
}

/** Splits `total` into `parts` whole numbers differing by at most one (the first ones larger). */
function split(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}

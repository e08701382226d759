import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { registerCleanup } from '../cleanup.js';
import { LatencyHistogram, type LatencySummary } from '../metrics/latency-histogram.js';
import type { SessionsSummary } from '../metrics/run-record.js';
import { BackendTraffic, TrafficStats, type ErrorKind } from '../metrics/traffic-stats.js';
import { ClientTally, type ClientEpoch } from './client-tally.js';
import { SessionTally } from './session-tally.js';
import { SESSION_OUTCOME_CODES, type SessionOutcome } from '../backend/sessions.js';
import { openClientBudget } from './connection-budget.js';
import { RegionTally } from './region-tally.js';
import type { GslbConfig } from '../scenario/regions.js';
import type { GslbRecord } from '../metrics/run-record.js';
import { ERROR_KIND_CODES, type FromWorker, type LoadWorkerData, type ToWorker } from './protocol.js';
import type { HeaderTemplate } from './request-headers.js';
import type { ConnectTally, HaClientTarget } from './ha-connector.js';
import { FailoverTally } from './failover-tally.js';

const WORKER_ENTRY = new URL('./worker.js', import.meta.url);

/**
 * A send this many ms or more behind its scheduled time counts as late (open
 * model). Timers fire on whole milliseconds, so up to about 1 ms behind is
 * the schedule kept; 2 ms behind is the generator (or its machine) falling
 * behind.
 */
export const LATE_SEND_MS = 2;

/**
 * The open model's warm-up as `lblab load --rate` runs it (see
 * `LoadConfig.warmUpRequests`): up to this many requests in all, split over
 * the threads, {@link WARM_UP_CONCURRENCY} at a time per thread, for at most
 * {@link WARM_UP_MAX_MS} ms, none counted.
 */
export const DEFAULT_WARM_UP_REQUESTS = 2000;
/** Requests each thread keeps in flight during the warm-up. */
export const WARM_UP_CONCURRENCY = 8;
/** Longest warm-up (ms), whatever the target's latency. */
export const WARM_UP_MAX_MS = 500;

/** Default cap on outstanding requests of the open model (`--max-in-flight`). */
export const DEFAULT_MAX_IN_FLIGHT = 1000;

/** How many responses {@link LoadGenerator.sequence} keeps. */
const SEQUENCE_LENGTH = 100;

/**
 * What to fire. Closed model (default): `concurrency` workers, each sending
 * the next request when the last finished. Open model (`rate` set): request
 * i at t0 + i / rate, whatever the responses do. Times in ms.
 */
export type LoadConfig = {
  url: string;
  /** Closed-model workers; ignored when `rate` is set. */
  concurrency: number;
  /** Open model: requests per second, sent evenly paced; latency counted from each request's scheduled time (wrk2's coordinated-omission correction). */
  rate?: number;
  /** Open model: most requests outstanding at once (default {@link DEFAULT_MAX_IN_FLIGHT}); a request due at the cap waits for a slot and is counted. */
  maxInFlight?: number;
  /** Stop after this many requests have completed (responses and transport errors); with `durationMs`, whichever comes first. */
  requests?: number;
  /** 0 = until {@link LoadGenerator.stop} (or `requests`). */
  durationMs: number;
  /** Worker threads to spread the concurrency over; 1 suits a 2-core machine. */
  threads?: number;
  /** ms between sample batches from the workers. */
  batchIntervalMs?: number;
  /** The run's time 0 as `performance.timeOrigin + performance.now()`; default: when {@link LoadGenerator.start} is called. */
  epochStartMs?: number;
  /**
   * Virtual clients (1…10 000), each with its own source address in
   * 127.0.0.0/8 and its own keep-alive dispatcher (see `clientAddress`); requests
   * take the clients in turn. Undefined = one client on the system's source
   * address. Threads never outnumber clients: each has a disjoint range.
   */
  clients?: number;
  /** Give every virtual client a /24 of its own (127.x.y.1) instead of packing 253 per /24. */
  spreadClients?: boolean;
  /** Headers sent on every request; `{client}` (1-based client number) and `{seq}` (unique in the run) are expanded. */
  headers?: HeaderTemplate[];
  /** Paths (with query) requests take in turn, e.g. `/api/users` and `/static/logo.png` for L7 routes; default the URL's path. */
  paths?: string[];
  /** A cookie jar per virtual client (default true): Set-Cookie is stored and sent back, so cookie stickiness works. */
  cookies?: boolean;
  /** Relative request rates of the virtual clients (one integer ≥ 1 per client, client 1 first); with several threads each takes its range's weights. Default: every client alike. */
  clientWeights?: number[];
  /** Keep connections open between requests (default true); false = one connection per request (undici `reset`), a TLS handshake each on https. */
  keepAlive?: boolean;
  /** https targets: accept any certificate (a self-signed one); default false, the certificate is verified. */
  insecure?: boolean;
  /**
   * Send through a forward proxy at `url` (http://), in absolute form
   * (RFC 9112 §3.2.2): each client's requests take the `targets` (http://
   * origins, the client's own choice of server) in turn; `url` above is
   * then the first target. No cookie jars: the client talks to several servers.
   */
  forwardProxy?: { url: string; targets: string[] };
  /**
   * HTTP/2 (`--protocol http2`): `connections` connections in all (h2 by
   * ALPN on https, h2c with prior knowledge on http), each carrying up to
   * `streams` concurrent streams; the closed model then runs
   * `connections × streams` workers (`concurrency` is ignored). Threads never
   * outnumber connections. Not with `clients` or `keepAlive: false`.
   */
  http2?: { connections: number; streams: number };
  /**
   * Global server load balancing: the regions and RTTs, each client's home
   * region (`homes[i]` for run-wide client i) and the region the GSLB tier
   * sends it to at the start (`serving`); {@link LoadGenerator.setServing}
   * changes that. Needs `clients`.
   */
  gslb?: { config: GslbConfig; homes: number[]; serving: number[] };
  /** Clients of a balancer pair: the address(es) they connect to (the URL's host is replaced) and how (see `haConnector`). */
  ha?: HaClientTarget;
  /**
   * Open model: requests sent before the schedule starts and not counted
   * (default 0, none), so that its first requests find open connections
   * and compiled code rather than paying for both as latency; see
   * {@link DEFAULT_WARM_UP_REQUESTS}. The count that completed is in
   * `open.warmUpRequests`.
   */
  warmUpRequests?: number;
};

/**
 * The open model's own figures: latency from the real send (uncorrected,
 * beside the corrected one in {@link LoadGenerator.stats}), sends at least
 * {@link LATE_SEND_MS} behind schedule, sends that waited because the
 * in-flight cap was reached, and requests due that were never sent (the
 * backlog at the end, at a pause or at a rate change), and the warm-up
 * requests sent before the schedule and not counted anywhere else.
 */
export type OpenModelStats = { uncorrected: LatencyHistogram; lateSends: number; waitedForSlot: number; unsent: number; warmUpRequests: number };

/**
 * What one virtual client got over the run: `requests` it completed
 * (responses and transport errors), of them `rateLimited` answered 429 and
 * `errors` failed (status ≥ 500 or a transport error, as `totals.errors`).
 */
export type ClientOutcome = { requests: number; rateLimited: number; errors: number };

/** Most virtual clients whose outcomes the record lists one by one (`clients.each`). */
export const MAX_CLIENTS_EACH = 1000;

/**
 * How many backends the virtual clients met over the whole run, and with
 * at most {@link MAX_CLIENTS_EACH} clients what each got (`each[i]` is
 * client i + 1); see `RunRecord.clients`.
 */
export type ClientsSummary = { total: number; touched: Record<string, number>; stickiness: number; each?: ClientOutcome[] };

type LoadEvents = { batch: [count: number]; done: []; workerError: [Error] };

/**
 * The traffic generator: runs the closed or the open model in worker threads
 * (off the balancer's event loop) over keep-alive undici connections and
 * records every completed request into {@link stats} on the main thread,
 * attributed to a backend by the `x-lblab-backend` response header. Latency
 * is measured to the last byte of the response, in µs: from the send in the
 * closed model, from the scheduled send in the open one (coordinated
 * omission corrected, as wrk2; the uncorrected figure is in {@link open}). With virtual clients
 * (`clients`), requests take the clients in turn, each from its own source
 * address, and {@link clientTally} says which backends served which client.
 */
export class LoadGenerator extends EventEmitter<LoadEvents> {
  /** Client-seen results. Times in {@link TrafficStats} are ms since {@link start}. */
  readonly stats = new TrafficStats();
  /** Per virtual client (index 0 without clients), how many responses each backend served it, by epoch. */
  readonly clientTally = new ClientTally();
  /** What the responses' `x-lblab-session` said of the users' sessions (backends with `--sessions`). */
  readonly sessions = new SessionTally();
  /** Per virtual client (by run-wide index): completed requests, 429s and failures; empty without `clients` or past {@link MAX_CLIENTS_EACH}. */
  private readonly outcomes: { requests: Uint32Array; rateLimited: Uint32Array; errors: Uint32Array };
  /** Open model only: see {@link OpenModelStats}. */
  readonly open: OpenModelStats = { uncorrected: new LatencyHistogram(), lateSends: 0, waitedForSlot: 0, unsent: 0, warmUpRequests: 0 };
  /** Per worker thread, its first responses with a backend: [completion ms, backend]. */
  private firstResponses: Array<Array<[number, string]>> = [];
  private workers: Worker[] = [];
  private concurrencyValue: number;
  /** With regions: the GSLB tier's answers in force (serving region per run-wide client) and what each region's clients got. */
  private servingNow: number[] | undefined;
  private readonly regions: RegionTally | undefined;
  private rateValue: number | undefined;
  private sendingFromMs: number | undefined;
  private lastCompletionMs = 0;
  private pausedValue = false;
  private donePromise: Promise<void> | undefined;
  private unregister: (() => void) | undefined;
  private epochStartMs = 0;

  constructor(private readonly config: LoadConfig) {
    super();
    this.concurrencyValue = config.concurrency;
    if (config.gslb) {
      this.servingNow = [...config.gslb.serving];
      this.regions = new RegionTally(config.gslb.config, config.gslb.homes);
    }
    this.rateValue = config.rate;
    this.failovers = config.ha ? new FailoverTally() : undefined;
    const each = config.clients !== undefined && config.clients <= MAX_CLIENTS_EACH ? config.clients : 0;
    this.outcomes = { requests: new Uint32Array(each), rateLimited: new Uint32Array(each), errors: new Uint32Array(each) };
  }

  /** Current number of closed-model workers. */
  get concurrency(): number {
    return this.concurrencyValue;
  }

  /**
   * When the first worker thread began sending, ms since {@link start}
   * (threads take tens to hundreds of ms to start); 0 before then. The
   * duration and `--requests` are counted from each thread's own start.
   */
  get sendingSinceMs(): number {
    return this.sendingFromMs ?? 0;
  }

  /** When the last request so far completed, ms since {@link start} (0 before any). */
  get lastCompletionAtMs(): number {
    return this.lastCompletionMs;
  }

  /** Open model: the cap on outstanding requests, over all threads. */
  get maxInFlight(): number {
    return this.config.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  }

  /** With a balancer pair: what the clients saw after each kill of a balancer (the session marks the kills). */
  readonly failovers: FailoverTally | undefined;
  /** With a balancer pair: each thread's connect tally as last posted. */
  private readonly connectTotals = new Map<number, ConnectTally>();
  /** With a balancer pair: what changed in the tallies, and when it was heard (ms since time 0), oldest first. */
  private readonly connectLog: Array<{ atMs: number } & ConnectTally> = [];

  private countConnects(thread: number, now: ConnectTally): void {
    const before = this.connectTotals.get(thread) ?? { opened: 0, retried: 0, retransmitted: 0 };
    this.connectTotals.set(thread, now);
    this.connectLog.push({ atMs: this.nowMs(), opened: now.opened - before.opened, retried: now.retried - before.retried, retransmitted: now.retransmitted - before.retransmitted });
  }

  /**
   * With a balancer pair: the clients' new connections heard of from
   * `fromMs` (ms since time 0, to about a batch interval) on — opened,
   * refused first and opened on the other address (dns-rr), SYNs
   * retransmitted (active-passive). All 0 without one.
   */
  connects(fromMs = 0): ConnectTally {
    const out = { opened: 0, retried: 0, retransmitted: 0 };
    for (const e of this.connectLog) {
      if (e.atMs < fromMs) continue;
      out.opened += e.opened;
      out.retried += e.retried;
      out.retransmitted += e.retransmitted;
    }
    return out;
  }

  /**
   * What the run record takes from the load side besides {@link stats}
   * (see `buildRunRecord`): the open model's figures, how many backends the
   * virtual clients met (with `clients` only), the first responses' backends,
   * and the sessions when responses said what became of them.
   */
  recordInputs(): { open?: { uncorrected: LatencySummary; lateSends: number; waitedForSlot: number; unsent: number; warmUpRequests: number }; clients?: ClientsSummary; sequence: string[]; gslb?: GslbRecord; sessions?: SessionsSummary } {
    const { uncorrected, lateSends, waitedForSlot, unsent, warmUpRequests } = this.open;
    const t = this.sessions.totals;
    return {
      ...(this.regions ? { gslb: this.regions.summary() } : {}),
      ...(t.created + t.found + t.lost > 0 ? { sessions: this.sessions.summary(MAX_CLIENTS_EACH) } : {}),
      ...(this.rateValue !== undefined ? { open: { uncorrected: uncorrected.summary(), lateSends, waitedForSlot, unsent, warmUpRequests } } : {}),
      ...(this.config.clients !== undefined ? { clients: this.clientsSummary(this.config.clients) } : {}),
      sequence: this.sequence(),
    };
  }

  /** Worker threads running the load: `threads` asked for, fewer when the concurrency, clients, requests or HTTP/2 connections are fewer; 0 before {@link start}. */
  get threads(): number {
    return this.workers.length;
  }

  /** With regions: what each region's clients got so far (the record's `totals.gslb`); undefined without. */
  regionSummary(): GslbRecord | undefined {
    return this.regions?.summary();
  }

  /** The GSLB tier's answers now: the serving region of each run-wide client; undefined without regions. */
  get serving(): readonly number[] | undefined {
    return this.servingNow;
  }

  /** Takes the GSLB tier's new answers (`serving[i]`: the region of run-wide client i): each worker's clients follow from their next request. */
  setServing(serving: readonly number[]): void {
    if (!this.servingNow) return;
    this.servingNow = [...serving];
    for (const w of this.workers) this.post(w, { type: 'gslb', serving: this.servingNow });
  }

  /** Open model: the current rate in req/s; undefined for the closed model. */
  get rate(): number | undefined {
    return this.rateValue;
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
   * now): requests sent from then on, or in flight across it, are tallied in
   * it, whenever their batch arrives. See {@link ClientTally.startEpoch}.
   * @throws {RangeError} when `atMs` is before the current epoch's start.
   */
  startClientEpoch(atMs: number = this.nowMs()): ClientEpoch {
    return this.clientTally.startEpoch(atMs);
  }

  /** Starts the worker threads. Resolves at once; {@link done} resolves when every worker has finished. */
  start(): void {
    const { clients, rate, requests } = this.config;
    const maxInFlight = this.config.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    const perThreadBound = rate === undefined ? this.config.concurrency : maxInFlight;
    const h2 = this.config.http2;
    const gslb = this.config.gslb;
    const threads = Math.max(1, Math.min(this.config.threads ?? 1, perThreadBound, clients ?? Infinity, requests ?? Infinity, h2?.connections ?? Infinity));
    this.epochStartMs = this.config.epochStartMs ?? performance.timeOrigin + performance.now();
    // HTTP/2: each thread has its share of the connections, and a worker for every stream they carry.
    const connectionShares = h2 ? split(h2.connections, threads) : undefined;
    const shares = h2 ? connectionShares!.map((c) => c * h2.streams) : split(this.config.concurrency, threads);
    const capShares = split(maxInFlight, threads);
    const requestShares = requests === undefined ? undefined : split(requests, threads);
    const warmUpShares = rate !== undefined && (this.config.warmUpRequests ?? 0) > 0 ? split(this.config.warmUpRequests!, threads) : undefined;
    const clientShares = clients === undefined ? undefined : split(clients, threads);
    const maxOpen = Math.max(1, Math.floor(openClientBudget() / threads));
    let firstClient = 0;
    let ready = 0;
    let expected = threads;
    let went = false;
    // The open model's threads share one schedule: it starts once every thread that started is ready.
    const goWhenReady = (): void => {
      if (rate === undefined || went || ready < expected) return;
      went = true;
      // A few ms ahead, so that every thread gets the message before its first send is due.
      const atMs = this.nowMs() + 5;
      this.sendingFromMs = atMs;
      for (const w of this.workers) this.post(w, { type: 'go', atMs });
    };
    const finished: Promise<void>[] = [];
    shares.forEach((share, thread) => {
      const clientCount = clientShares?.[thread];
      const data: LoadWorkerData = {
        url: this.config.url,
        concurrency: share,
        ...(rate !== undefined ? { open: { rate, maxInFlight: capShares[thread]! } } : {}),
        ...(requestShares ? { requests: requestShares[thread]! } : {}),
        ...(warmUpShares ? { warmUp: { requests: warmUpShares[thread]!, concurrency: WARM_UP_CONCURRENCY, maxMs: WARM_UP_MAX_MS } } : {}),
        cookies: this.config.cookies ?? true,
        insecure: this.config.insecure ?? false,
        durationMs: this.config.durationMs,
        epochStartMs: this.epochStartMs,
        batchIntervalMs: this.config.batchIntervalMs ?? 100,
        clients:
          clientCount === undefined
            ? undefined
            : {
                first: firstClient,
                count: clientCount,
                spread: this.config.spreadClients ?? false,
                maxOpen,
                ...(this.config.clientWeights ? { weights: this.config.clientWeights.slice(firstClient, firstClient + clientCount) } : {}),
              },
        keepAlive: this.config.keepAlive ?? true,
        headers: this.config.headers ?? [],
        paths: this.config.paths ?? [],
        ...(this.config.forwardProxy ? { proxy: this.config.forwardProxy } : {}),
        ...(h2 ? { http2: { connections: connectionShares![thread]!, streams: h2.streams } } : {}),
        ...(gslb && clientCount !== undefined
          ? {
              gslb: {
                regions: gslb.config.regions.map((r) => r.name),
                homes: gslb.homes.slice(firstClient, firstClient + clientCount),
                serving: this.servingNow!.slice(firstClient, firstClient + clientCount),
                rttMs: gslb.config.rttMs,
              },
            }
          : {}),
        ...(this.config.ha ? { ha: this.config.ha } : {}),
        thread,
        threads,
      };
      firstClient += clientCount ?? 0;
      const worker = new Worker(WORKER_ENTRY, { workerData: data });
      const table: BackendTraffic[] = [];
      const names: string[] = [];
      const first: Array<[number, string]> = [];
      let isReady = false;
      this.firstResponses.push(first);
      finished.push(
        new Promise<void>((resolve) => {
          worker.on('message', (m: FromWorker) => {
            if (m.type === 'started') {
              this.sendingFromMs = Math.min(this.sendingFromMs ?? Infinity, m.atMs);
              return;
            }
            if (m.type === 'ready') {
              this.open.warmUpRequests += m.warmUpRequests;
              ready++;
              isReady = true;
              goWhenReady();
              return;
            }
            if (m.type === 'done') {
              this.open.unsent += m.unsent;
              void worker.terminate().then(() => resolve());
              return;
            }
            this.open.waitedForSlot += m.waitedForSlot;
            if (m.connects) this.countConnects(thread, m.connects);
            for (const name of m.newNames) {
              table.push(this.stats.backend(name));
              names.push(name);
            }
            for (let i = 0; i < m.count; i++) {
              const b = m.backend[i]!;
              const kind = m.kind[i]!;
              const atMs = m.atMs[i]!;
              if (atMs > this.lastCompletionMs) this.lastCompletionMs = atMs;
              this.stats.record(
                b >= 0 ? table[b] : undefined,
                m.latencyUs[i]!,
                m.status[i]!,
                kind === 0 ? undefined : (ERROR_KIND_CODES[kind] as ErrorKind),
                atMs,
              );
              const client = m.client[i]!;
              if (this.failovers) {
                const status = m.status[i]!;
                this.failovers.record(atMs - m.latencyUs[i]! / 1000, atMs, status === 0 || status >= 500);
              }
              this.regions?.record(client, b >= 0 ? names[b] : undefined, m.latencyUs[i]!, m.status[i]!);
              if (client < this.outcomes.requests.length) {
                const status = m.status[i]!;
                this.outcomes.requests[client]!++;
                if (status === 429) this.outcomes.rateLimited[client]!++;
                else if (status === 0 || status >= 500) this.outcomes.errors[client]!++;
              }
              // Who served whom is told by when the request was sent (the mapping in force then) and whether it was in flight across a change.
              if (b >= 0) this.clientTally.record(atMs - m.latencyUs[i]! / 1000, m.client[i]!, names[b]!, atMs);
              if (b >= 0 && first.length < SEQUENCE_LENGTH) first.push([atMs, names[b]!]);
              const session = m.session[i]!;
              if (session > 0) this.sessions.record(atMs, client, b >= 0 ? names[b] : undefined, SESSION_OUTCOME_CODES[session] as SessionOutcome);
              if (rate !== undefined) {
                const delayUs = m.sendDelayUs[i]!;
                if (delayUs >= LATE_SEND_MS * 1000) this.open.lateSends++;
                if (m.status[i]! !== 0) this.open.uncorrected.record(m.latencyUs[i]! - delayUs);
              }
            }
            this.emit('batch', m.count);
          });
          worker.once('error', (err) => {
            // Reported, not thrown: the run ends with what was measured.
            this.emit('workerError', err);
            if (!isReady) expected--;
            goWhenReady();
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

  /**
   * Open model: changes the rate (req/s, > 0) while running; the schedule
   * restarts from now at the new rate. Ignored for the closed model.
   */
  setRate(value: number): void {
    if (this.rateValue === undefined || !(value > 0)) return;
    this.rateValue = value;
    for (const w of this.workers) this.post(w, { type: 'rate', value });
  }

  /**
   * The backends that served the first responses (at most 100), in the
   * order they completed (across threads by completion time); responses
   * without `x-lblab-backend` are left out.
   */
  sequence(): string[] {
    return this.firstResponses
      .flat()
      .sort((a, b) => a[0] - b[0])
      .slice(0, SEQUENCE_LENGTH)
      .map(([, name]) => name);
  }

  /**
   * How many backends each of `total` virtual clients met over the whole
   * run (all epochs together): `touched["1"]` clients met exactly one,
   * `touched["2"]` two, …, `touched["0"]` (only when some did) got no
   * response from a named backend; `stickiness` is touched["1"] over the
   * clients that met at least one (0 when none did).
   */
  clientsSummary(total: number): ClientsSummary {
    const perClient = new Map<number, Set<string>>();
    for (const epoch of this.clientTally.epochs) {
      for (const [client, backends] of epoch.perClient) {
        let set = perClient.get(client);
        if (!set) perClient.set(client, (set = new Set()));
        for (const name of backends.keys()) set.add(name);
      }
    }
    const touched: Record<string, number> = {};
    for (const set of perClient.values()) touched[String(set.size)] = (touched[String(set.size)] ?? 0) + 1;
    const unserved = total - perClient.size;
    if (unserved > 0) touched['0'] = unserved;
    const one = touched['1'] ?? 0;
    const { requests, rateLimited, errors } = this.outcomes;
    const each = Array.from(requests, (n, i) => ({ requests: n, rateLimited: rateLimited[i]!, errors: errors[i]! }));
    return { total, touched, stickiness: perClient.size > 0 ? Math.round((one / perClient.size) * 10_000) / 10_000 : 0, ...(each.length > 0 ? { each } : {}) };
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

import type { ConnectTally } from '../load/ha-connector.js';
import type { BackendView } from '../backend/request-view.js';
import type { SessionMode } from '../backend/sessions.js';
import { FAULTS } from '../backend/faults.js';
import type { HealthState } from '../balancer/health/rise-fall.js';
import type { HealthTransition, UpstreamConnectionsRecord } from '../balancer/upstream-backend.js';
import { LATENCY_BUCKET_EDGES_MS, type LatencySummary } from './latency-histogram.js';
import type { TrafficStats } from './traffic-stats.js';
import type { WebSocketCounts, WebSocketLoadResult } from '../load/websocket-load.js';

/** Version of the run record's shape; bumped on incompatible changes. */
export const RUN_RECORD_SCHEMA_VERSION = 1;

/** Latency percentiles of a run record, ms. */
export type RecordLatency = LatencySummary;

/** One backend in a run record (SPEC "Metrics and the run record"). */
export type BackendRecord = {
  name: string;
  url: string;
  weight: number;
  /** Responses this backend served, attributed by `x-lblab-backend`. */
  requests: number;
  /** requests ÷ all attributed responses (0..1). */
  share: number;
  /**
   * The share the algorithm should give it (0..1) among the backends that
   * could take requests at each moment — not DOWN, draining, ejected or
   * behind an open breaker, as HAProxy and nginx share out a DOWN backend's
   * weight — weighted by the responses of each period (`periods`); with
   * routes, its share within its pool times that pool's part of the
   * requests. A backend DOWN for a third of the run expects two thirds of
   * its configured share.
   */
  expectedShare: number;
  /** What it would get with every backend healthy all run long: the configured share (records before schema 1.x lack it). */
  configuredShare?: number;
  /** The pool it belongs to, when routes are configured (`config.routes`). */
  pool?: string;
  /** Responses with status ≥ 500 it served. */
  errors: number;
  /** Tries the balancer sent it that failed at the transport level (refused, reset, timeout), retried or not; absent for `load`. */
  failedTries?: number;
  /** True when it was taken out of the upstream during the run. */
  removed?: boolean;
  /** Balancer side: tries relayed below 500 (`served`), retried elsewhere, or lost (a failure the client saw); absent for `load`. */
  tries?: { served: number; retried: number; lost: number };
  /** Active check results by HAProxy's name (L7OK, L7STS, L4CON, …); absent for `load`. */
  checks?: Record<string, number>;
  /** Each fault on this backend and how long until the balancer noticed it; see {@link deriveDetections}. Absent from older records. */
  detections?: Detection[];
  /** TCP connections the L4 balancer relayed to it (`--mode tcp` only). */
  connections?: ConnectionRecord;
  /**
   * The L7 balancer's keep-alive connections to it (lblab's own balancer in
   * http mode): open and idle at the end, opened and closed over the run,
   * the most open at once, and the average open and busy (see
   * `UpstreamConnectionsRecord`).
   */
  upstreamConnections?: UpstreamConnectionsRecord;
  /** WebSocket upgrades the L7 balancer sent it; absent when there were none. */
  webSockets?: WebSocketRecord;
  /** What the backend itself saw of the requests that reached it: peer addresses, header names, proxy header values (`start` and labs; absent for `load`). */
  seen?: BackendView;
  /** The sessions its responses created, found and lost (`x-lblab-session`, as the clients read it); present when the run had sessions. */
  sessions?: SessionCounts;
  latencyMs: RecordLatency;
  health: { state: HealthState; downMs: number; transitions: HealthTransition[] };
};

/**
 * What an L4 (`--mode tcp`) balancer relayed to one backend, as HAProxy's
 * stats count a server in `mode tcp`: `total` connections established
 * (`stot`), `active` still open when the record was taken (`scur`),
 * `bytesIn` from clients to the backend (`bin`), `bytesOut` from the
 * backend to clients (`bout`), and `connectErrors`, connects to it that
 * were refused, reset or timed out (`econ`).
 */
export type ConnectionRecord = { total: number; active?: number; bytesIn: number; bytesOut: number; connectErrors: number };

/**
 * The upgrade requests (WebSocket handshakes) the L7 balancer sent one
 * backend: `switched` answered 101 and joined, `open` of those still open
 * when the record was taken, `refused` answered anything else (relayed,
 * then closed), `failed` with no answer (refused, reset, timed out).
 */
export type WebSocketRecord = { switched: number; open: number; refused: number; failed: number };

/** Event types that put a fault on a backend (or take it away), as `--event` and the keys log them. */
export const FAULT_EVENT_TYPES = ['kill', 'exit', ...FAULTS] as const;

/** How the balancer noticed a fault: active checks took it DOWN, passive checks ejected it, or its circuit breaker opened. */
export type DetectedBy = 'down' | 'ejected' | 'breaker-open';

/**
 * Time to detect one fault. `fault` is the fault event's type, `atMs` when it
 * happened (ms since the run started); `detectedBy` the first of DOWN,
 * ejected or breaker-open on the same backend after it, and `afterMs` how
 * long after the fault that came (ms). Both null when nothing noticed before
 * the run ended or before the backend was recovered or restarted.
 * `reason` is the detecting event's detail ("3 failed checks, last L4CON").
 */
export type Detection = {
  fault: string;
  atMs: number;
  detectedBy: DetectedBy | null;
  afterMs: number | null;
  reason?: string;
};

const DETECTING: ReadonlySet<string> = new Set<DetectedBy>(['down', 'ejected', 'breaker-open']);
/**
 * Events after which a later DOWN is no longer about the fault: it was
 * cleared, or the process started anew (`started`, when it listens: a
 * `restart` is only asked for, and checks keep failing for the kill until then).
 */
const CLEARING: ReadonlySet<string> = new Set(['recover', 'started']);

/**
 * Derives each fault's time to detect on backend `name` from the run's events
 * and the backend's health transitions (a transition not also logged as an
 * event counts as one). For each fault event (see {@link FAULT_EVENT_TYPES})
 * in time order, the first later event on the same backend among `down`,
 * `ejected` and `breaker-open` is its detection, unless a `recover`,
 * `restart` or `started` of that backend, or that fault switched off
 * (`<fault>-off`), comes first; then, or when the run
 * ends first, `detectedBy` and `afterMs` are null. Times in ms since the run
 * started.
 */
export function deriveDetections(name: string, events: readonly RunEvent[], transitions: readonly HealthTransition[] = []): Detection[] {
  // Array sort is stable: events logged at the same ms keep their logged order.
  const ordered = [...events.filter((e) => e.target === name), ...unloggedTransitions(name, events, transitions)].sort(byTime);
  const faults: ReadonlySet<string> = new Set(FAULT_EVENT_TYPES);
  const out: Detection[] = [];
  ordered.forEach((fault, i) => {
    if (!faults.has(fault.type)) return;
    let found: RunEvent | undefined;
    for (const e of ordered.slice(i + 1)) {
      if (CLEARING.has(e.type) || e.type === `${fault.type}-off`) break;
      if (DETECTING.has(e.type)) {
        found = e;
        break;
      }
    }
    out.push(
      found
        ? { fault: fault.type, atMs: fault.atMs, detectedBy: found.type as DetectedBy, afterMs: Math.max(0, Math.round(found.atMs - fault.atMs)), ...(found.detail ? { reason: found.detail } : {}) }
        : { fault: fault.type, atMs: fault.atMs, detectedBy: null, afterMs: null },
    );
  });
  return out;
}

/**
 * Backend `name`'s health transitions that the event log does not hold
 * already (no event of the same type for it within 1 ms), as events: the
 * log records most of them, but not those that came after the last log line
 * was written.
 */
export function unloggedTransitions(name: string, events: readonly RunEvent[], transitions: readonly HealthTransition[]): RunEvent[] {
  return transitions
    .filter((t) => !events.some((e) => e.target === name && e.type === t.to && Math.abs(e.atMs - t.atMs) < 1))
    .map((t) => ({ atMs: t.atMs, type: t.to, target: name, detail: t.reason }));
}

/** Orders events by time (use with the stable `Array.prototype.sort`: equal times keep their order). */
export function byTime(a: { atMs: number }, b: { atMs: number }): number {
  return a.atMs - b.atMs;
}

/** Sessions by what became of them: `created` (`x-lblab-session: new`), `found`, `lost` (see `SessionOutcome`). */
export type SessionCounts = { created: number; found: number; lost: number };

/**
 * One fault and the sessions it cost, as the load generator saw them:
 * `users` — virtual clients that had a session when it happened;
 * `targetUsers` — of them, those whose last response came from the
 * fault's target (with `memory` sessions and a sticky cookie: the users
 * whose session it held); `loggedOut` — clients that lost a session from
 * the fault until the next one (or the end of the run). With at most
 * `listed` clients (see `SessionTally.summary`) `clients` names them,
 * 1-based. `atMs` in ms since the run started.
 */
export type SessionLoss = {
  atMs: number;
  type: string;
  target: string;
  users: number;
  targetUsers: number;
  loggedOut: number;
  clients?: { target: number[]; loggedOut: number[] };
};

/** What {@link SessionTally.summary} gives the run record: totals, per backend (by `x-lblab-backend`), per second of the run (element i is second [i, i+1)) and the losses around each fault. */
export type SessionsSummary = { totals: SessionCounts; backends: Record<string, SessionCounts>; perSecond: SessionCounts[]; losses: SessionLoss[] };

/** A zeroed {@link SessionCounts}. */
export function noSessions(): SessionCounts {
  return { created: 0, found: 0, lost: 0 };
}

/** A user, lab or process event on the run's time line. `atMs` is ms since the run started. */
export type RunEvent = { atMs: number; type: string; target?: string; detail?: string };

/** One second of the run: completed requests per second, overall and per backend, and the sessions of its responses when the run had sessions. */
export type TimelinePoint = { atMs: number; rps: number; errors: number; perBackend: Record<string, number>; sessions?: SessionCounts };

/**
 * One stretch of a run under one algorithm, one set of weights and one set
 * of backends in rotation: a new period starts whenever the algorithm, a
 * weight, the upstream's members or a backend's health (DOWN/UP, drain,
 * ejection, breaker) change while running. `fromMs`/`toMs` in ms since the
 * run started; shares over the responses of the period; removed backends
 * and those `out` expect 0.
 */
export type PeriodRecord = {
  fromMs: number;
  toMs: number;
  algo: string;
  /** One per backend, in the run's backend order. */
  weights: number[];
  /** The backends that could take no requests in this period (DOWN, draining, ejected, breaker open); absent when none. */
  out?: string[];
  requests: number;
  errors: number;
  /** Completed requests per second over the period. */
  rps: number;
  latencyMs: RecordLatency;
  backends: Array<{ name: string; requests: number; share: number; expectedShare: number; latencyMs: RecordLatency }>;
};

/** What a run was asked to do. */
export type RunConfig = {
  command: 'start' | 'balance' | 'load';
  /** What the balancer balanced: HTTP requests (L7, the default) or TCP connections (L4, `--mode tcp`); absent for `load` and older records. */
  mode?: 'http' | 'tcp';
  algo?: string;
  weights?: number[];
  concurrency?: number;
  /** Open model (`--rate`): requests per second scheduled; `concurrency` is then absent. */
  rate?: number;
  /** Open model: the cap on outstanding requests (`--max-in-flight`). */
  maxInFlight?: number;
  /** `--requests`: the run stopped after this many completed requests (or at its duration, whichever came first). */
  requests?: number;
  /** Virtual clients (`--clients`), when asked for. */
  clients?: number;
  /** `lblab load`: the worker threads the load ran on (each sends from its own event loop). */
  threads?: number;
  /** `http2` when the clients spoke HTTP/2 (`--protocol http2`), with its `connections` and the concurrent `streams` on each; absent: HTTP/1.1. */
  protocol?: 'http2';
  connections?: number;
  streams?: number;
  target?: string;
  health?: HealthRecord;
  /** The balancer's per-try timeouts (ms) and retry policy (`--retry-on` conditions). */
  proxy?: ProxyRecord;
  /**
   * L7 routes as configured (`--route`, `--routes`), in the order they are
   * tried (first match wins): each match in `--route` words (`/api`,
   * `host:static.local`, `header:x-canary=1`) with its pool, the pool's
   * backends and its own algorithm (absent: `algo`); the default pool last,
   * as match `default`. Absent without routes.
   */
  routes?: RouteRecord[];
  /** True when the balancer terminated TLS (`--tls`). */
  tls?: boolean;
  /** True when the balancer spoke HTTP/2 to clients (`--http2`). */
  http2?: boolean;
  /** `forward-proxy` when the clients sent through lblab's forward proxy straight to the backends (`load.proxy: forward`), not to the balancer. */
  clientsVia?: 'forward-proxy';
  /** The real balancer that did the balancing (`--engine`); absent: lblab's own. */
  engine?: 'haproxy' | 'nginx';
  /** `--protocol ws`: the WebSocket clients, their message rate (per second each) and lifetime (ms, absent: the whole run); `concurrency` is then absent. */
  webSocket?: { clients: number; messageRate: number; lifetimeMs?: number };
  /** Where the backends kept user sessions (`--sessions`); absent: none. */
  sessions?: SessionMode;
  /** Two balancers (`--balancers 2`): how they stood in for each other (`--ha`); absent: one. */
  ha?: { balancers: 2; mode: 'active-passive' | 'dns-rr'; intervalMs: number };
};

/**
 * What the WebSocket clients of a `--protocol ws` run measured (see
 * `WebSocketLoadResult`): connects (first ones and reconnects), expired
 * (closed by the client at the end of their lifetime), drops (closed by the
 * other side), failed handshakes, messages sent, echoed, unanswered (of
 * them `unansweredAtDrop` on a dropped connection), still pending at the
 * end, and the backends' pushes; the echo round trip in ms. Per backend (by
 * its hello message) its connects, drops, WebSockets open at the end and
 * their share of the open ones (0..1) against `expectedShare`, the
 * algorithm's share at the end (in the last period).
 */
export type WebSocketClientsRecord = WebSocketCounts & {
  echoMs: RecordLatency;
  backends: Record<string, { connects: number; drops: number; openAtEnd: number; openShare: number; expectedShare: number }>;
};



/** One route of {@link RunConfig.routes}. */
export type RouteRecord = { match: string; pool: string; backends: string[]; algo?: string };

/**
 * Global server load balancing (`--region`), as the clients saw it: the
 * GSLB policy, the round trip of each pair of regions (`us-eu`, ms; `us-us`
 * the same-region one), the requests each region's backends served, and
 * for each region's clients: how many, their requests, how many a backend
 * at home served (`local`) or elsewhere (`remote`), errors, and latency
 * (ms) in all, local and remote (absent when there were none).
 */
export type GslbRecord = {
  policy: string;
  rttMs: Record<string, number>;
  regions: Array<{ name: string; backends: string[]; requests: number }>;
  clientRegions: Array<{
    name: string;
    clients: number;
    requests: number;
    local: number;
    remote: number;
    errors: number;
    latencyMs: { p50: number; p99: number };
    localMs?: { p50: number; p99: number };
    remoteMs?: { p50: number; p99: number };
  }>;
};

/** HTTP/2 at the balancer (`--http2`): client connections that spoke it, the streams (requests) they carried, and the most streams open at once on one connection. */
export type Http2Record = { connections: number; streams: number; maxConcurrentStreams: number };

/** TLS handshakes at the balancer (`--tls`): completed, failed, and the time of a completed one from TCP accept to secure connection (ms). */
export type TlsRecord = { handshakes: number; failed: number; handshakeMs: { p50: number; p99: number; max: number } };

/**
 * The health checks of a run (see `HealthCheckConfig`), times in ms. `mode`,
 * `fastinterMs` and `downinterMs` are absent from records written before
 * they existed; read them as `http` and `intervalMs`.
 */
export type HealthRecord = {
  mode?: 'http' | 'tcp';
  intervalMs: number;
  /** HAProxy `fastinter`: the interval while a backend changes state. */
  fastinterMs?: number;
  /** HAProxy `downinter`: the interval while a backend is fully DOWN. */
  downinterMs?: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  path: string;
};

/** See {@link RunConfig.proxy}. `outlier` and `breaker` as configured (times in ms), absent when off; `backups` names the backup backends. */
export type ProxyRecord = {
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  retries: number;
  retryOn: string[];
  retryNonIdempotent: boolean;
  outlier?: { mode: 'nginx'; maxFails: number; failTimeoutMs: number } | { mode: 'envoy'; consecutive: number; baseEjectionMs: number; maxEjectionPercent: number };
  breaker?: { failures: number; cooldownMs: number };
  backups?: string[];
  /** Slow start ramp (ms), when on. */
  slowStartMs?: number;
  /** Panic threshold (%), when on. */
  panicThreshold?: number;
  /** HAProxy `on-marked-down`, when set: `shutdown-sessions` cut a backend's requests when it was marked DOWN. */
  onMarkedDown?: 'shutdown-sessions';
  /** Sticky sessions, when on: cookie insert with the cookie's name, or the source-IP stick table's expiry (ms) and size (entries). */
  sticky?: { mode: 'cookie'; name: string } | { mode: 'ip'; ttlMs: number; size: number };
  /** Per-client-IP rate limit, when on: refill in requests per second and burst (nginx `limit_req rate= burst= nodelay`). */
  rateLimit?: { ratePerSecond: number; burst: number };
};

/**
 * The run record: one JSON object that says everything measured about a run;
 * written by `--out` and `--json`, read back by `lblab report`. Latencies in
 * ms, durations in ms, rates in req/s.
 */
export type RunRecord = {
  schemaVersion: number;
  config: RunConfig;
  durationMs: number;
  totals: {
    requests: number;
    errors: number;
    rps: number;
    latencyMs: RecordLatency;
    statusCodes: Record<string, number>;
    errorKinds: Record<string, number>;
    /** Counts per latency bucket; `edgesMs[i]` is the upper edge of bucket i, the last bucket is open. */
    latencyBuckets: { edgesMs: number[]; counts: number[] };
    /** Balancer retries on another backend, and how many got a response (start and balance only). */
    retries?: { total: number; succeeded: number };
    /** Requests whose client went away before the response was complete (balance only). */
    clientAborts?: number;
    /** Requests the balancer refused with 429 under `--rate-limit` (never sent to a backend); present when the rate limit was on. */
    rateLimited?: number;
    /** TLS handshakes at the balancer, with `--tls`. */
    tls?: TlsRecord;
    /** HTTP/2 connections and streams at the balancer, with `--http2`. */
    http2?: Http2Record;
    /** Regions and where their clients were served, with `--region`. */
    gslb?: GslbRecord;
    /**
     * Open model only: `latencyMs` counts from each request's scheduled send
     * (corrected for coordinated omission, as wrk2); this is the same from
     * the real send, which hides the time requests waited to go out.
     */
    uncorrectedLatencyMs?: RecordLatency;
    /** Open model only: requests sent 2 ms or more behind their scheduled time. */
    lateSends?: number;
    /** Open model only: requests due while the in-flight cap was reached, sent when a response freed a slot (late too). */
    waitedForSlot?: number;
    /** Open model only: requests due before the run ended (or a pause) that were never sent, held back by the in-flight cap. */
    unsent?: number;
    /** Open model only, when it warmed up (`lblab load --rate`): requests sent before the schedule started, counted in nothing else here. */
    warmUpRequests?: number;
    /**
     * User sessions, when the backends kept them (`--sessions`): responses
     * that logged a user in (`created`), found the user's session, or lost
     * it (a session the backend could not find or verify), from each
     * response's `x-lblab-session` as the load generator read it.
     */
    sessions?: SessionCounts;
  };
  backends: BackendRecord[];
  /** The run's algorithm periods, oldest first (`start` only; one when nothing was switched). */
  periods?: PeriodRecord[];
  events: RunEvent[];
  timeline: TimelinePoint[];
  /**
   * Virtual clients (`--clients N`): how many backends each client was
   * served by over the run. `touched["1"]` = clients served by exactly one
   * backend, and so on; `touched["0"]` (present only when some were) =
   * clients no named backend served; `stickiness` = the share (0…1) of the
   * clients served at all that saw exactly one backend. `each[i]` (with at
   * most 1000 clients) is what client i + 1 got: requests completed, of them
   * 429s (`--rate-limit`) and errors.
   */
  clients?: { total: number; touched: Record<string, number>; stickiness: number; each?: Array<{ requests: number; rateLimited: number; errors: number }> };
  /** The backends of the first responses (at most 100), in the order they completed; with concurrency 1 this is the pick order. */
  sequence?: string[];
  /** With sessions: each fault (kill, exit, a fault switched on, remove, drain) and the users it logged out, in time order (see {@link SessionLoss}). */
  sessionLosses?: SessionLoss[];
  /** The verdict of the lab this run belongs to (`lblab lab run`). */
  lab?: LabVerdict;
  /** `--protocol ws`: what the WebSocket clients measured; absent for HTTP clients. */
  webSocketClients?: WebSocketClientsRecord;
  /** Two balancers (`--balancers 2`): each one's requests, the kills, the takeovers, and what each kill cost the clients. */
  ha?: HaRecord;
  /** `lblab load`: what the generator itself adds to a latency, measured before the run (see {@link GeneratorFloor}). */
  generatorFloor?: GeneratorFloor;
};

/**
 * What the traffic generator itself adds to every latency it reports: p50
 * and p99 in µs of `requests` requests sent one at a time, on a load worker
 * thread as a run's are, to a zero-latency target (a node:http server in
 * lblab's process answering `200 ok` at once) on loopback, just before the
 * run. A latency near the floor is the generator's noise, not the server's.
 */
export type GeneratorFloor = { p50Us: number; p99Us: number; requests: number };

/** A pair member's takeover: when (ms since the run's time 0), what it took and why (the failed checks). */
export type HaTakeover = { atMs: number; balancer: string; address: string; failedChecks: number; lastError: string; firstFailedAtMs: number };

/** A kill of a pair member: when (ms since time 0), what it was, and what it held then. */
export type PairKill = { atMs: number; balancer: string; pid: number; wasActive: boolean; inFlight: number; connections: number };

/** A pair member's state: `active` serves, `passive` watches its peer, `down` its process is gone, `starting` after a restart until it answers. */
export type PairMemberState = 'active' | 'passive' | 'down' | 'starting';

/** What the run record keeps of a pair (see `RunRecord.ha`, which adds the clients' side). */
export type PairReport = {
  mode: 'active-passive' | 'dns-rr';
  /** The address the clients were given: the virtual one (active-passive), or both own addresses (dns-rr). */
  addresses: string[];
  port: number;
  intervalMs: number;
  fall: number;
  /** Each member: its own address, requests received, state at the end, and the pid of its last process. */
  balancers: Array<{ name: string; address: string; requests: number; state: PairMemberState; pid: number }>;
  kills: PairKill[];
  takeovers: HaTakeover[];
};

/**
 * A balancer pair's run (`--balancers 2`): the mode, the address(es) the
 * clients were given and the port, the passive member's check interval
 * (ms) and fall, the takeover budget (`interval × fall + timeout`, ms),
 * each member's requests and state at the end, the kills and takeovers as
 * they happened, and per kill (`failovers`): what the killed member held
 * (in flight, connections), the takeover time (ms from the kill to the
 * other member serving the virtual address; null when none followed: the
 * passive one was killed, or dns-rr), the clients' errors from the kill to
 * the next one, ms until the first good response to a request sent after
 * it, and the clients' new connections since (opened; refused first and
 * opened on the other address, dns-rr; SYNs retransmitted, active-passive).
 */
export type HaRecord = PairReport & {
  budgetMs: number;
  failovers: Array<{
    atMs: number;
    balancer: string;
    wasActive: boolean;
    inFlight: number;
    connections: number;
    takeoverMs: number | null;
    clientErrors: number;
    /** Of `clientErrors`, those of requests sent after the kill (the rest were in flight at it). */
    errorsSentAfter: number;
    firstResponseMs: number | null;
    connects: ConnectTally;
  }>;
};

/** One expectation of a lab, judged against the run: ✓ when `pass`. `expected`/`measured` are human-readable, units included. */
export type ExpectationVerdict = { text: string; expected: string; measured: string; pass: boolean };

/** A lab's verdict: the lab file's name and title, and one line per expectation; `passed` when every one passed. */
export type LabVerdict = { name: string; title: string; passed: boolean; expectations: ExpectationVerdict[] };

/** What the record builder needs to know of one period besides its traffic; see {@link PeriodRecord}. */
export type PeriodInfo = {
  fromMs: number;
  toMs: number;
  algo: string;
  weights: number[];
  /** See {@link PeriodRecord.out}. */
  out?: string[];
  /** One per backend, in the run's backend order. */
  expectedShares: number[];
  stats: TrafficStats;
};

/** What the record builder needs to know of each backend besides its traffic. */
export type BackendInfo = {
  name: string;
  url: string;
  weight: number;
  expectedShare: number;
  /** See {@link BackendRecord.pool}. */
  pool?: string;
  /** See {@link BackendRecord.failedTries}. */
  failedTries?: number;
  /** See {@link BackendRecord.removed}. */
  removed?: boolean;
  /** See {@link BackendRecord.tries}. */
  tries?: { served: number; retried: number; lost: number };
  /** See {@link BackendRecord.checks}. */
  checks?: Record<string, number>;
  /** See {@link BackendRecord.connections}. */
  connections?: ConnectionRecord;
  /** See {@link BackendRecord.upstreamConnections}. */
  upstreamConnections?: UpstreamConnectionsRecord;
  /** See {@link BackendRecord.webSockets}. */
  webSockets?: WebSocketRecord;
  /** See {@link BackendRecord.seen}. */
  seen?: BackendView;
  health?: { state: HealthState; downMs: number; transitions: HealthTransition[] };
};

/**
 * Builds a {@link RunRecord} from measured traffic. `backends` lists the
 * configured backends in order; any other backend named in the traffic (a
 * server behind `lblab load` that sets `x-lblab-backend`) is appended with
 * weight 1 and no expected share. Events and health transitions after
 * `durationMs` (health checks run on while the load winds down) are left
 * out: they happened after the run.
 */
export function buildRunRecord(input: {
  config: RunConfig;
  durationMs: number;
  stats: TrafficStats;
  backends: readonly BackendInfo[];
  events: readonly RunEvent[];
  retries?: { total: number; succeeded: number };
  clientAborts?: number;
  /** See `totals.rateLimited`. */
  rateLimited?: number;
  periods?: readonly PeriodInfo[];
  tls?: TlsRecord;
  http2?: Http2Record;
  gslb?: GslbRecord;
  /** Open model: the uncorrected latency and the send counters; see the `totals` fields of the same names. */
  open?: { uncorrected: LatencySummary; lateSends: number; waitedForSlot: number; unsent: number; warmUpRequests?: number };
  clients?: RunRecord['clients'];
  sequence?: string[];
  /** `--protocol ws`: the clients' result and each backend's expected share at the end (one per backend in `backends` order). */
  webSocketClients?: { result: WebSocketLoadResult; expectedShares: readonly number[] };
  sessions?: SessionsSummary;
  ha?: HaRecord;
  generatorFloor?: GeneratorFloor;
}): RunRecord {
  const { stats } = input;
  const infos: BackendInfo[] = [...input.backends];
  for (const name of stats.backends.keys()) {
    if (!infos.some((b) => b.name === name)) infos.push({ name, url: '', weight: 1, expectedShare: 0 });
  }
  let attributed = 0;
  for (const b of stats.backends.values()) attributed += b.requests;
  // One point per started second of the run; requests that completed after
  // the end (in flight when load stopped) count in the last second.
  const seconds = Math.max(1, Math.ceil(input.durationMs / 1000));
  const timeline: TimelinePoint[] = [];
  for (let s = 0; s < seconds; s++) {
    const perBackend: Record<string, number> = {};
    for (const info of infos) perBackend[info.name] = secondOf(stats.backends.get(info.name)?.perSecond, s, seconds);
    const point: TimelinePoint = { atMs: (s + 1) * 1000, rps: secondOf(stats.perSecond, s, seconds), errors: secondOf(stats.errorsPerSecond, s, seconds), perBackend };
    if (input.sessions) point.sessions = sessionsOfSecond(input.sessions.perSecond, s, seconds);
    timeline.push(point);
  }
  const sessions = input.sessions;
  const durationS = input.durationMs / 1000;
  const events = input.events.filter((e) => e.atMs <= input.durationMs);
  const transitionsIn = (info: BackendInfo): HealthTransition[] => (info.health?.transitions ?? []).filter((t) => t.atMs <= input.durationMs);
  const expected = runExpectedShares(infos, input.periods, attributed);
  return {
    schemaVersion: RUN_RECORD_SCHEMA_VERSION,
    config: input.config,
    durationMs: Math.round(input.durationMs),
    totals: {
      requests: stats.requests,
      errors: stats.errors,
      rps: durationS > 0 ? round(stats.requests / durationS, 1) : 0,
      latencyMs: roundLatency(stats.latency.summary()),
      statusCodes: Object.fromEntries([...stats.statusCodes].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), v])),
      errorKinds: Object.fromEntries(stats.errorKinds),
      latencyBuckets: { edgesMs: [...LATENCY_BUCKET_EDGES_MS], counts: stats.latency.bucketCounts() },
      ...(input.retries ? { retries: input.retries } : {}),
      ...(input.clientAborts !== undefined ? { clientAborts: input.clientAborts } : {}),
      ...(input.rateLimited !== undefined ? { rateLimited: input.rateLimited } : {}),
      ...(input.tls ? { tls: input.tls } : {}),
      ...(input.http2 ? { http2: input.http2 } : {}),
      ...(input.gslb ? { gslb: input.gslb } : {}),
      ...(input.open
        ? {
            uncorrectedLatencyMs: roundLatency(input.open.uncorrected),
            lateSends: input.open.lateSends,
            waitedForSlot: input.open.waitedForSlot,
            unsent: input.open.unsent,
            ...(input.open.warmUpRequests ? { warmUpRequests: input.open.warmUpRequests } : {}),
          }
        : {}),
      ...(sessions ? { sessions: { ...sessions.totals } } : {}),
    },
    backends: infos.map((info) => {
      const t = stats.backends.get(info.name);
      const requests = t?.requests ?? 0;
      return {
        name: info.name,
        url: info.url,
        weight: info.weight,
        requests,
        share: attributed > 0 ? round(requests / attributed, 4) : 0,
        expectedShare: round(expected[infos.indexOf(info)]!, 4),
        configuredShare: round(info.expectedShare, 4),
        ...(info.pool !== undefined ? { pool: info.pool } : {}),
        errors: t?.errors ?? 0,
        ...(info.failedTries !== undefined ? { failedTries: info.failedTries } : {}),
        ...(info.removed ? { removed: true } : {}),
        ...(info.tries ? { tries: { ...info.tries } } : {}),
        ...(info.checks ? { checks: { ...info.checks } } : {}),
        ...(info.connections ? { connections: { ...info.connections } } : {}),
        ...(info.upstreamConnections ? { upstreamConnections: { ...info.upstreamConnections } } : {}),
        ...(info.webSockets ? { webSockets: { ...info.webSockets } } : {}),
        ...(info.seen ? { seen: info.seen } : {}),
        ...(sessions ? { sessions: { ...(sessions.backends[info.name] ?? noSessions()) } } : {}),
        detections: deriveDetections(info.name, events, transitionsIn(info)),
        latencyMs: t ? roundLatency(t.latency.summary()) : { p50: 0, p90: 0, p99: 0, p999: 0, max: 0 },
        health: info.health ? { ...info.health, transitions: transitionsIn(info) } : { state: 'up', downMs: 0, transitions: [] },
      };
    }),
    ...(input.periods ? { periods: input.periods.map((p) => periodRecord(p, infos)) } : {}),
    events,
    timeline,
    ...(input.clients ? { clients: input.clients } : {}),
    ...(input.sequence ? { sequence: [...input.sequence] } : {}),
    ...(input.webSocketClients ? { webSocketClients: webSocketClientsRecord(input.webSocketClients.result, infos, input.webSocketClients.expectedShares) } : {}),
    ...(sessions ? { sessionLosses: sessions.losses.filter((l) => l.atMs <= input.durationMs) } : {}),
    ...(input.ha ? { ha: input.ha } : {}),
    ...(input.generatorFloor ? { generatorFloor: input.generatorFloor } : {}),
  };
}

/** The sessions of second `s`; the last second also takes every later one, as {@link secondOf}. */
function sessionsOfSecond(perSecond: readonly SessionCounts[], s: number, seconds: number): SessionCounts {
  const out = noSessions();
  const last = s < seconds - 1 ? s : perSecond.length - 1;
  for (let i = s; i <= last; i++) {
    const c = perSecond[i];
    if (c) addSessions(out, c);
  }
  return out;
}

/** Adds `c` to `into`, field by field. */
export function addSessions(into: SessionCounts, c: SessionCounts): void {
  into.created += c.created;
  into.found += c.found;
  into.lost += c.lost;
}

/** See {@link WebSocketClientsRecord}: the result's counts, and per backend (configured ones first, in order, then any other its hello named) what the clients saw of it. */
function webSocketClientsRecord(r: WebSocketLoadResult, infos: readonly BackendInfo[], expectedShares: readonly number[]): WebSocketClientsRecord {
  const names = [...infos.map((i) => i.name), ...Object.keys(r.backends).filter((n) => !infos.some((i) => i.name === n))];
  const open = Object.values(r.backends).reduce((n, b) => n + b.openAtEnd, 0);
  const backends: WebSocketClientsRecord['backends'] = {};
  names.forEach((name, i) => {
    const b = r.backends[name] ?? { connects: 0, drops: 0, openAtEnd: 0 };
    backends[name] = { ...b, openShare: open > 0 ? round(b.openAtEnd / open, 4) : 0, expectedShare: round(expectedShares[i] ?? 0, 4) };
  });
  const { url: _url, clients: _clients, messageRate: _rate, durationMs: _ms, echo, backends: _backends, ...counts } = r;
  return { ...counts, echoMs: roundLatency(echo), backends };
}

/**
 * Each backend's expected share over the whole run. With one period (or
 * none) it is the configured one; when the algorithm, weights, members or
 * health changed, it is each period's expected share weighted by the
 * responses that period had, so a switch — or a backend DOWN for a while —
 * does not make the run's shares look wrong.
 */
function runExpectedShares(infos: readonly BackendInfo[], periods: readonly PeriodInfo[] | undefined, attributed: number): number[] {
  if (!periods || periods.length < 2 || attributed === 0) return infos.map((i) => i.expectedShare);
  const out = infos.map(() => 0);
  for (const p of periods) {
    let n = 0;
    for (const b of p.stats.backends.values()) n += b.requests;
    infos.forEach((_, i) => (out[i]! += (n / attributed) * (p.expectedShares[i] ?? 0)));
  }
  return out;
}

function periodRecord(p: PeriodInfo, infos: readonly BackendInfo[]): PeriodRecord {
  let attributed = 0;
  for (const b of p.stats.backends.values()) attributed += b.requests;
  const seconds = (p.toMs - p.fromMs) / 1000;
  return {
    fromMs: Math.round(p.fromMs),
    toMs: Math.round(p.toMs),
    algo: p.algo,
    weights: [...p.weights],
    ...(p.out && p.out.length > 0 ? { out: [...p.out] } : {}),
    requests: p.stats.requests,
    errors: p.stats.errors,
    rps: seconds > 0 ? round(p.stats.requests / seconds, 1) : 0,
    latencyMs: roundLatency(p.stats.latency.summary()),
    backends: infos.map((info, i) => {
      const t = p.stats.backends.get(info.name);
      const requests = t?.requests ?? 0;
      return {
        name: info.name,
        requests,
        share: attributed > 0 ? round(requests / attributed, 4) : 0,
        expectedShare: round(p.expectedShares[i] ?? 0, 4),
        latencyMs: t ? roundLatency(t.latency.summary()) : { p50: 0, p90: 0, p99: 0, p999: 0, max: 0 },
      };
    }),
  };
}

/** Count of second `s`; the last second also takes every later one. */
function secondOf(series: readonly number[] | undefined, s: number, seconds: number): number {
  if (!series) return 0;
  if (s < seconds - 1) return series[s] ?? 0;
  let sum = 0;
  for (let i = s; i < series.length; i++) sum += series[i]!;
  return sum;
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function roundLatency(l: LatencySummary): RecordLatency {
  return { p50: round(l.p50, 3), p90: round(l.p90, 3), p99: round(l.p99, 3), p999: round(l.p999, 3), ...(l.p9999 !== undefined ? { p9999: round(l.p9999, 3) } : {}), max: round(l.max, 3) };
}

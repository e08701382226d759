import type { FaultName } from '../backend/faults.js';
import type { UpstreamState } from '../balancer/balancer-thread.js';
import type { PairMemberView } from '../balancer/ha-pair.js';
import type { HaMode } from '../scenario/ha.js';
import type { RateLimitConfig } from '../balancer/rate-limit.js';
import type { StickyConfig } from '../balancer/sticky/sticky-sessions.js';
import type { SessionMode } from '../backend/sessions.js';
import type { RunEvent, SessionCounts, SessionLoss } from '../metrics/run-record.js';
import type { ConnectionSnapshot } from './connection-snapshot.js';
import type { BackendWebSocketSnapshot, WebSocketRunSnapshot } from './websocket-snapshot.js';

/** The fields of the balancer's view of a backend (`UpstreamState`) that the live views show as they come. */
type ShownUpstreamField = 'name' | 'weight' | 'state' | 'unchecked' | 'removed' | 'draining' | 'backup' | 'effectiveWeight' | 'ejectedForMs' | 'breaker' | 'reportedLoad' | 'checkCounter' | 'lastCheck' | 'inFlight';

/**
 * One backend as the live views (dashboard, headless progress) show it: the
 * balancer's view of it (fields of `UpstreamState`, documented there)
 * and lblab's own. Latencies in ms, rates in req/s, shares 0..1.
 */
export type BackendSnapshot = Pick<UpstreamState, ShownUpstreamField> & {
  port: number;
  /** null while the process is not running. */
  pid: number | null;
  /** Whether the OS process runs: lblab's view, independent of health checks. */
  process: 'starting' | 'running' | 'exited';
  /** Faults switched on, in words: e.g. ["slow ×10", "errors 50%", "hang", "reset mid-response", "degrading +20ms/s (now +140ms)"]. */
  faults: string[];
  /** Responses per second over the last second. */
  rps: number;
  /** Responses served so far. */
  requests: number;
  /** Share of the responses since the last algorithm, weight or membership change (0..1). */
  share: number;
  /** The share the current algorithm should give it (0..1). */
  expectedShare: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses with status ≥ 500 served so far. */
  errors: number;
  /** In tcp mode, the connections the L4 balancer gave it; `share` then is still the share of responses. */
  connections?: ConnectionSnapshot;
  /** With `--protocol ws`, the clients' WebSockets on it (open now, their share against `expectedShare`, connects/s, drops, echo round trip); `share` then stays the share of responses (none). */
  webSockets?: BackendWebSocketSnapshot;
  /** Its pool, when routes are configured. */
  pool?: string;
};

/** How many whole seconds of per-backend req/s a snapshot keeps for the live chart. */
export const HISTORY_SECONDS = 60;

/** Everything a live view draws, copied out of the running session (no live objects). */
export type RunSnapshot = {
  algo: string;
  /** `tcp` when an L4 balancer relays connections; absent or `http` otherwise. */
  mode?: 'http' | 'tcp';
  /** The real balancer doing the balancing (`--engine`); absent: lblab's own. */
  engine?: 'haproxy' | 'nginx';
  /** The balancer's URL, e.g. http://127.0.0.1:43121/ */
  listen: string;
  elapsedMs: number;
  /** When the current algorithm period began (ms since the start): shares count from there. */
  periodStartMs: number;
  /** Planned run length in ms; 0 = until the user quits. */
  durationMs: number;
  /** Completed requests per second over the last second (all backends). */
  rps: number;
  concurrency: number;
  /** Open model (`--rate`): the rate in req/s; absent for the closed model, whose load is `concurrency`. */
  rate?: number;
  paused: boolean;
  /** With `--protocol ws`: the WebSocket clients (there are no requests: `rps`, `requests` and `latency` stay 0). */
  webSockets?: WebSocketRunSnapshot;
  requests: number;
  errors: number;
  /** errors ÷ requests over the last second, 0..1. */
  errorRate: number;
  backends: BackendSnapshot[];
  /** The pools and each one's algorithm now, when routes are configured. */
  pools?: Array<{ name: string; algo: string }>;
  latency: { edgesMs: number[]; counts: number[]; p50: number; p90: number; p99: number; max: number };
  /**
   * Responses per second of each backend (in backend order) over the last
   * {@link HISTORY_SECONDS} whole seconds: `perBackend[i][k]` is backend i's
   * count in second `fromS + k` of the run. What the live chart draws.
   */
  history?: { fromS: number; perBackend: number[][] };
  /** Newest last. */
  events: RunEvent[];
  /**
   * Sticky sessions, when on: the mode, the source-IP stick table's entries
   * now (0 in cookie mode) and the `Set-Cookie`s sent so far (cookie mode).
   */
  sticky?: { config: StickyConfig; entries: number; cookiesSet: number };
  /** The per-client-IP rate limit, when on, and the requests it refused with 429 so far. */
  rateLimit?: { config: RateLimitConfig; limited: number };
  /**
   * With regions: the GSLB policy and, per client region, where the GSLB
   * tier sends its clients now (region names, most first) and what they got
   * so far: requests, the share served in another region, p50 at home and
   * away (ms; absent before any).
   */
  regions?: { policy: string; clientRegions: Array<{ name: string; servedIn: string[]; requests: number; remoteShare: number; localP50?: number; remoteP50?: number }> };
  /**
   * User sessions, when the backends keep them (`--sessions`): where, how
   * many virtual clients have one, the sessions created, found and lost so
   * far, and the latest fault's losses (see `SessionLoss`).
   */
  sessions?: { mode: SessionMode; users: number; totals: SessionCounts; lastLoss?: SessionLoss };
  /** With two balancers (`--balancers 2`): the mode and each one's state, pid, connections open, requests and req/s over the last second. */
  balancers?: { mode: HaMode; members: PairMemberView[] };
};

/** What the dashboard may ask of a running session. Every call returns at once; effects show in later snapshots. */
export interface RunControls {
  /** A copy of everything the live views draw, taken now. */
  snapshot(): RunSnapshot;
  /** SIGKILLs the backend's process (the health checks then notice). */
  kill(backend: string): void;
  /** Starts the backend's process again on its port; a restart under way is not doubled. */
  restart(backend: string): void;
  /** With two balancers: SIGKILLs the one serving now (the active one; dns-rr: the first alive), the `L` key. */
  killActiveBalancer?(): void;
  /**
   * Toggles `fault` on a backend: on when it is off, off when it is on. What
   * each fault does is in its `FAULT_REGISTRY` entry, e.g. hang: the backend
   * reads requests but answers none, `/health` included, so active checks
   * time out (L7TOUT); what it held is answered when the fault is cleared.
   */
  toggleFault(fault: FaultName, backend: string): void;
  /** Clears every fault on a backend (each of `FAULTS`). */
  recover(backend: string): void;
  /** Sets the number of closed-model load workers (clamped to 1…4096). */
  setConcurrency(value: number): void;
  /** Open model: sets the rate in req/s; the dashboard's +/- call it instead of {@link setConcurrency} when the snapshot has a `rate`. */
  setRate?(value: number): void;
  /** Starts or calls off draining a backend (the `d` key). */
  toggleDrain(backend: string): void;
  /** Switches to the next algorithm (the `a` key). */
  cycleAlgorithm(): void;
  /** Sets a backend's weight (1…1000) while running. */
  setWeight(backend: string, weight: number): void;
  /** Pauses or resumes the load; requests already sent complete. */
  togglePause(): void;
  /** Ends the run: the dashboard unmounts and the report is printed. */
  quit(): void;
}

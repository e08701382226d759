import type { FAILOVER_MEASURES } from './lab-schema.js';
import type { EngineName } from '../engines/engines.js';
import type { RunScenario } from '../scenario/scenario.js';

/**
 * Where a windowed expectation starts: a time since the run started (ms), or
 * the first event of `type` on `target` in the run (e.g. `kill b2`); `graceMs`
 * is added to either. The window is every second of the time line that ends
 * after that moment, to the end of the run or, with `forMs`, up to the last
 * second that starts before start + `forMs`.
 */
export type WindowStart = ({ kind: 'time'; atMs: number } | { kind: 'event'; type: string; target?: string }) & {
  /** Added to the start, ms. */
  graceMs: number;
  /** How long the window lasts from its start (after grace), ms; absent: to the end of the run. */
  forMs?: number;
};

/** A latency measure of the run record, ms. */
export type LatencyMetric = 'p50' | 'p90' | 'p99' | 'p999' | 'max';

/** What `upstream-connections` reads of a backend's keep-alive connections (see `UpstreamConnectionsRecord`). */
export type ConnectionMeasure = 'opened' | 'closed' | 'open' | 'idle' | 'peak-open' | 'mean-open' | 'mean-busy' | 'mean-idle' | 'requests-per-connection';

/** What `websockets` reads of the WebSocket clients' record (see `WebSocketClientsRecord`). */
export type WebSocketMeasure = 'open-share' | 'lost' | 'drops';

/** What `client-rate` counts of a virtual client's requests: answered (not 429, not failed), 429s, failures, or all. */
export type ClientMeasure = 'served' | 'rate-limited' | 'errors' | 'requests';

/**
 * What `sessions` reads of the users' sessions (record `totals.sessions`,
 * `timeline[].sessions`, `sessionLosses`): sessions created, found or lost,
 * lost ÷ all responses with a session, the users the fault named in
 * `after` logged out, or of those the ones its target did not serve last.
 */
export type SessionMeasure = 'created' | 'found' | 'lost' | 'lost-share' | 'logged-out' | 'logged-out-elsewhere';

/** A measure `compare` can put two runs side by side on. */
export type CompareMetric = LatencyMetric | 'rps' | 'error-rate' | 'share' | 'keys-moved';

/**
 * One expectation of a lab, read and checked (durations in ms, fractions
 * 0..1). `run` is the name of the run it judges. See `EXPECTATION_SCHEMAS`
 * for what each kind means. `engines`, when given, are the engines it holds
 * on (a difference of a real balancer, explained in the lab's text); absent:
 * every engine.
 */
export type Expectation = ExpectationOfKind & { engines?: EngineName[] };

/** One expectation by its kind. */
export type ExpectationOfKind =
  | { kind: 'share'; run: string; backend: string; is: number; within: number; from?: WindowStart }
  | { kind: 'max-share-deviation'; run: string; max: number }
  | { kind: 'detected'; run: string; backend: string; fault: string; by?: 'down' | 'ejected' | 'breaker-open'; withinMs: number; atLeastMs?: number }
  | { kind: 'error-rate'; run: string; max?: number; min?: number; from?: WindowStart }
  | { kind: 'latency'; run: string; of: LatencyMetric; maxMs?: number; minMs?: number; backend?: string }
  | { kind: 'largest-share'; run: string; min?: number; max?: number }
  | { kind: 'stickiness'; run: string; min: number }
  | { kind: 'backends-per-client'; run: string; max: number }
  | { kind: 'sequence'; run: string; startsWith?: string[]; cycle?: string[]; count: number }
  | { kind: 'requests'; run: string; backend: string; min?: number; max?: number; from?: WindowStart }
  | { kind: 'requests-spread'; run: string; max: number }
  | { kind: 'keys-moved' | 'keys-moved-from-kept'; run: string; min?: number; max?: number }
  | { kind: 'handshakes'; run: string; min?: number; max?: number }
  | { kind: 'failover'; run: string; of: (typeof FAILOVER_MEASURES)[number]; min?: number; max?: number }
  | { kind: 'client-region'; run: string; region: string; of: 'remote-share' | 'error-rate' | 'rtt-paid'; min?: number; max?: number }
  | { kind: 'websockets'; run: string; of: WebSocketMeasure; backend?: string; min?: number; max?: number }
  | { kind: 'upstream-connections'; run: string; backend: string; of: ConnectionMeasure; min?: number; max?: number }
  | { kind: 'client-rate'; run: string; client?: number; except?: number; of: ClientMeasure; min?: number; max?: number }
  | { kind: 'sessions'; run: string; of: SessionMeasure; min?: number; max?: number; from?: WindowStart }
  | { kind: 'seen-by-backends'; run: string; of: 'present'; header: string; present: boolean }
  | { kind: 'seen-by-backends'; run: string; of: 'distinct'; header: string; min?: number; max?: number }
  | { kind: 'seen-by-backends'; run: string; of: 'peers'; min?: number; max?: number }
  | { kind: 'compare'; run: string; than: string; metric: CompareMetric; direction: 'below' | 'above'; by: number; backend?: string };

/** One run of a lab: a `start` scenario, and the backend it removes mid-run if any (for keys moved). */
export type LabRun = { name: string; config: RunScenario; removal?: { target: string; atMs: number } };

/**
 * A lab read from its file and checked: what it teaches, its runs (one, or
 * several for compare-style labs, run one after the other on fresh
 * backends) and its expectations. `durationMs` is the sum of the runs'
 * durations (ms); `file` the path as shown in messages.
 */
export type Lab = {
  name: string;
  file: string;
  order: number;
  title: string;
  teaches: string;
  durationMs: number;
  runs: LabRun[];
  expectations: Expectation[];
  /** The engines this lab runs on (`lblab lab run NAME --engine …`); a lab file's `engines:`, default all. */
  engines: EngineName[];
};

import type { AlgorithmName } from '../balancer/algorithms/index.js';
import type { HashKeySource } from '../balancer/hash-key.js';
import type { HealthCheckConfig } from '../balancer/health/active-health-check.js';
import type { RoutingConfig } from '../balancer/routes.js';
import type { BalancerMode } from '../balancer/tcp/tcp-mode.js';
import type { BackendSpec } from '../backend/fleet.js';
import type { HaConfig } from './ha.js';
import type { SessionMode } from '../backend/sessions.js';
import type { EngineName } from '../engines/engines.js';
import type { ProxySettings } from './balancer-settings.js';
import type { ClientOptions, LoadModel, WebSocketLoadModel } from './load.js';
import type { ScheduledEvent } from './timeline.js';
import type { GslbConfig } from './regions.js';

/**
 * Requests a backend serves at once unless its profile says otherwise; the
 * rest wait in its queue. A real server has a bounded worker pool, and it
 * is this queue that makes a slow backend pile up requests under round
 * robin (the lesson of `lblab compare`).
 */
export const DEFAULT_CAPACITY = 10;

/** Most backends a scenario spawns: enough for a lesson, few enough for a 2-core machine. */
export const MAX_BACKENDS = 16;

/**
 * The balancer side of a scenario, resolved: what `lblab balance` runs in
 * front of any servers, and what `start` runs in front of its own. Times
 * in ms. Weights are one per backend, ≥ 1.
 */
export type UpstreamScenario = ProxySettings & {
  /** `tcp`: an L4 balancer relays connections (see `TcpBalancer`); `http` (L7) otherwise. */
  mode: BalancerMode;
  algo: AlgorithmName;
  /** What balances: lblab's own balancer, or a real HAProxy or nginx started from a generated config. */
  engine: EngineName;
  weights: number[];
  /** Key source of the hash algorithms; default the client address. */
  hashKey?: HashKeySource;
  health: HealthCheckConfig;
  /** L7 routing to pools; undefined = one pool of every backend. */
  routing?: RoutingConfig;
  /** TLS termination at the balancer; the load then speaks HTTPS and accepts its self-signed certificate. */
  tls?: boolean;
  /** HTTP/2 to clients at the balancer (`--http2`): h2 with `tls`, h2c with prior knowledge without; each stream is a request balanced on its own. */
  http2?: boolean;
  /** Balancer listen address and port (0 = any free port). */
  host: string;
  port: number;
};

/**
 * One whole scenario, resolved and checked (see `resolveScenario`): the
 * backends and their profiles, the balancer in front of them, the load,
 * and the timeline of actions. What `lblab start`, each run of `compare`
 * and each run of a lab runs. Times in ms.
 */
export type Scenario = UpstreamScenario &
  LoadModel &
  ClientOptions & {
    backends: BackendSpec[];
    /** Run length; undefined = the front end decides (10 s headless, until quit with the dashboard); 0 = until quit (or `requests` are done). */
    durationMs: number | undefined;
    /** What headless runs take when `durationMs` is undefined: 10 s, or no limit when `requests` bounds the run. */
    headlessDefaultDurationMs: number;
    events: ScheduledEvent[];
    /** Global server load balancing (`--region`): regions, the GSLB policy, the RTT matrix and where the clients are; the balancer's routing then has a pool per region. */
    gslb?: GslbConfig;
    /** `load.protocol: ws`: the clients hold WebSockets instead of sending requests (the load model and client options above are then unused); absent: HTTP. */
    webSocket?: WebSocketLoadModel;
    /** Where the backends keep user sessions (`--sessions`); absent: they keep none. `shared` starts a redis-server for the run. */
    sessions?: SessionMode;
    /** Two balancers (`--balancers 2`), each a process of its own, and how they stand in for each other; absent: one, in a thread of lblab's. */
    ha?: HaConfig;
  };

/** A scenario whose length is decided (0 = until quit), as a run takes it. */
export type RunScenario = Scenario & { durationMs: number };

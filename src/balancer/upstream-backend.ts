import { Pool } from 'undici';
import type { BackendTraffic } from '../metrics/traffic-stats.js';
import type { PickableBackend } from './algorithms/picker.js';
import { checkPassed, formatCheckResult, type CheckResult } from './health/active-health-check.js';
import { RiseFall, type HealthState } from './health/rise-fall.js';
import { CircuitBreaker, OutlierDetector, type BreakerConfig, type OutlierConfig } from './passive/passive-checks.js';

/** A change of health state. `atMs` is ms since the balancer started; `reason` says which checks decided it. */
export type HealthTransition = { atMs: number; from: HealthState; to: HealthState; reason: string };

/**
 * How far behind the balancer's own per-try timeouts undici's are set (ms):
 * its header and body timers tick on a ~1 s clock, so they only catch a try
 * whose own timer failed to.
 */
const UNDICI_BACKSTOP_MS = 1000;

/** Connection settings towards backends. Times in ms. */
export type UpstreamConnectionConfig = { connectTimeoutMs: number; responseTimeoutMs: number };

/**
 * The L7 balancer's keep-alive connections to one backend now, as Envoy's
 * `upstream_cx_*` stats and nginx's `keepalive` cache count them: `open`
 * connections (`cx_active`), of them `idle` (in the pool, carrying no
 * request), and since the start `opened` (`cx_total`) and `closed`
 * (`cx_destroy`: by the backend, a kill, the idle timeout or an error),
 * and the most open at once (`peakOpen`).
 */
export type UpstreamConnections = { open: number; idle: number; opened: number; closed: number; peakOpen: number };

/**
 * {@link UpstreamConnections} at the end of a run, plus the time averages of
 * open and busy (carrying a request) connections, sampled every 100 ms:
 * what `netstat` would have shown on average.
 */
export type UpstreamConnectionsRecord = UpstreamConnections & { meanOpen: number; meanBusy: number };

/**
 * One backend of the upstream as the balancer holds it: its address, weight,
 * in-flight count, rise/fall health, undici dispatcher (keep-alive pool) and
 * what the balancer saw of its traffic.
 */
export class UpstreamBackend implements PickableBackend {
  /** Tries sent to this backend and not yet answered or failed. */
  inFlight = 0;
  /** Times the algorithm chose this backend (HAProxy `lbtot`). */
  selected = 0;
  /** Tries that failed at the transport level (refused, reset, timeout): HAProxy `econ` + `eresp`; a retried status is not one (see {@link tries}). */
  failures = 0;
  /** Every health state change, oldest first. */
  readonly transitions: HealthTransition[] = [];
  /** The latest active check result, undefined before the first check. */
  lastCheck: CheckResult | undefined;
  /** Load from the backend's last `/health` JSON (in-flight ÷ capacity); undefined when it reports none. */
  reportedLoad: number | undefined;
  /**
   * What became of the tries sent here: `served` relayed with a status
   * below 500; `retried` failed (transport error or retried status) and went
   * on to another backend; `lost` reached the client as a failure (a 5xx
   * relayed, a 502/504 of the balancer, or a response cut mid-body).
   */
  readonly tries = { served: 0, retried: 0, lost: 0 };
  /**
   * Upgrade requests (WebSocket handshakes) sent here at L7: `switched`
   * answered 101 and joined, `open` of those still open, `refused` answered
   * anything else (relayed, then closed), `failed` with no answer at all.
   */
  readonly upgrades = { switched: 0, open: 0, refused: 0, failed: 0 };
  /** Active check results so far, by HAProxy's name (L7OK, L7STS, L4CON, …). */
  readonly checkCounts: Record<string, number> = {};
  /** Taken out of the upstream while running: no new requests, no checks. */
  removed = false;
  /** Draining: no new requests; those in flight finish (HAProxy `drain`). */
  draining = false;
  /** A backup backend: it serves only when no primary can (nginx `backup`, HAProxy `backup`). */
  backup = false;
  /** Passive health: outlier ejection from the tries' outcomes. */
  readonly outlier: OutlierDetector;
  /** The circuit breaker, when one is configured. */
  readonly breaker: CircuitBreaker | undefined;
  readonly health: RiseFall;
  /** The keep-alive connections to this backend (an undici dispatcher; "pool" is the routing group's word). */
  readonly dispatcher: Pool;
  private downSinceMs: number | undefined;
  private downTotalMs = 0;
  /** Connections the dispatcher opened and closed (undici `connect` / `disconnect` events), the most open at once, and the samples of open and busy ones. */
  private readonly cx = { opened: 0, closed: 0, peak: 0, samples: 0, openSum: 0, busySum: 0 };

  constructor(
    public index: number,
    readonly name: string,
    /** Scheme, host and port, e.g. `http://127.0.0.1:8001`. */
    readonly origin: string,
    /** The weight the user set (1…1000). */
    public configuredWeight: number,
    /** Responses proxied to this backend, as the balancer saw them. */
    readonly traffic: BackendTraffic,
    rise: number,
    fall: number,
    conn: UpstreamConnectionConfig,
    passive: { outlier?: OutlierConfig; breaker?: BreakerConfig } = {},
  ) {
    this.health = new RiseFall(rise, fall);
    this.outlier = new OutlierDetector(passive.outlier ?? { mode: 'off' });
    this.breaker = passive.breaker ? new CircuitBreaker(passive.breaker) : undefined;
    // Each try times itself out precisely (see ProxyTry); undici's coarse timers stay a second behind as a backstop.
    this.dispatcher = new Pool(origin, {
      connectTimeout: conn.connectTimeoutMs + UNDICI_BACKSTOP_MS,
      headersTimeout: conn.responseTimeoutMs + UNDICI_BACKSTOP_MS,
      bodyTimeout: conn.responseTimeoutMs + UNDICI_BACKSTOP_MS,
      keepAliveTimeout: 4000,
    });
    this.dispatcher.on('connect', () => {
      this.cx.opened++;
      this.cx.peak = Math.max(this.cx.peak, this.cx.opened - this.cx.closed);
    });
    this.dispatcher.on('disconnect', () => {
      this.cx.closed++;
    });
  }

  /** Its keep-alive connections now (see {@link UpstreamConnections}). */
  upstreamConnections(): UpstreamConnections {
    const s = this.dispatcher.stats;
    return { open: s.connected, idle: s.free, opened: this.cx.opened, closed: this.cx.closed, peakOpen: this.cx.peak };
  }

  /** Samples how many of its connections are open and busy now, for the averages of {@link connectionsRecord}. */
  sampleConnections(): void {
    const s = this.dispatcher.stats;
    this.cx.samples++;
    this.cx.openSum += s.connected;
    this.cx.busySum += s.connected - s.free;
  }

  /** Its connections for the run record: now, since the start, and on average over the samples (0 without samples). */
  connectionsRecord(): UpstreamConnectionsRecord {
    const n = this.cx.samples;
    const round = (v: number): number => Math.round(v * 100) / 100;
    return { ...this.upstreamConnections(), meanOpen: n > 0 ? round(this.cx.openSum / n) : 0, meanBusy: n > 0 ? round(this.cx.busySum / n) : 0 };
  }

  /**
   * Slow start (HAProxy `slowstart`): the share of its weight a backend that
   * has just come back UP has reached, 0 < factor ≤ 1; 1 otherwise.
   */
  slowStartFactor = 1;

  /** False while draining or removed: kept out even when panic mode ignores health. */
  get adminUp(): boolean {
    return !this.removed && !this.draining;
  }

  /** The effective weight pickers use: the configured weight, scaled down while slow start ramps it up. */
  get weight(): number {
    return this.slowStartFactor >= 1 ? this.configuredWeight : this.configuredWeight * this.slowStartFactor;
  }

  /**
   * Whether it may take a new request: health checks hold it UP, and it is
   * not removed, draining, ejected, or behind an open circuit breaker.
   */
  get usable(): boolean {
    return this.takesPersistent && !this.draining;
  }

  /**
   * Whether it may take a request pinned to it (sticky sessions): as
   * {@link usable}, but a draining backend still may, as HAProxy's `drain`
   * state "removes the server from load balancing but still allows it … to
   * accept new persistent connections".
   */
  get takesPersistent(): boolean {
    return this.health.state === 'up' && !this.removed && this.outlier.ejectedUntilMs === undefined && (this.breaker === undefined || this.breaker.allows);
  }

  /** Port of the origin. */
  get port(): number {
    return Number(new URL(this.origin).port);
  }

  /**
   * Feeds a check result into the rise/fall counter; returns the transition
   * if the state changed. `atMs` is ms since the balancer started.
   */
  observeCheck(result: CheckResult, atMs: number): HealthTransition | undefined {
    this.lastCheck = result;
    this.checkCounts[result.status] = (this.checkCounts[result.status] ?? 0) + 1;
    if (result.status === 'L7OK') this.reportedLoad = result.load;
    const from = this.health.state;
    const to = this.health.observe(checkPassed(result));
    if (to === undefined) return undefined;
    const what = formatCheckResult(result);
    const reason = to === 'down' ? `${this.health.fall} failed checks, last ${what}` : `${this.health.rise} passed checks, last ${what}`;
    const transition: HealthTransition = { atMs, from, to, reason };
    this.transitions.push(transition);
    if (to === 'down') this.downSinceMs = atMs;
    else if (this.downSinceMs !== undefined) {
      this.downTotalMs += atMs - this.downSinceMs;
      this.downSinceMs = undefined;
    }
    return transition;
  }

  /** Total time spent DOWN up to `nowMs` (ms since the balancer started). */
  downMs(nowMs: number): number {
    return this.downTotalMs + (this.downSinceMs === undefined ? 0 : nowMs - this.downSinceMs);
  }
}

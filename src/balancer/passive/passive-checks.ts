/**
 * Passive health: the balancer judges a backend by the tries it sends it,
 * not by probes. A try fails when it cannot connect, is reset or times out,
 * or is answered with a 5xx status; anything else is a success.
 *
 * Two ways to take a failing backend out for a while (outlier ejection):
 * nginx's `max_fails`/`fail_timeout` and Envoy's `consecutive_5xx` with a
 * growing ejection time and a cap on how much of the upstream may be out;
 * and, apart from both, a per-backend circuit breaker (the seeds'
 * CircuitBreaker). All are pure state machines: the caller passes the time
 * (ms, any monotonic clock) and arms a timer for {@link OutlierDetector.nextChangeAtMs}.
 */

/**
 * Outlier ejection settings. Times in ms.
 * - `nginx`: `maxFails` failed tries within `failTimeoutMs` make the backend
 *   unavailable for `failTimeoutMs` (nginx `server … max_fails=N fail_timeout=T`).
 * - `envoy`: `consecutive` failed tries in a row eject it for
 *   `baseEjectionMs × n`, n being how many times it has been ejected
 *   (Envoy `consecutive_5xx`, `base_ejection_time`); at most
 *   `maxEjectionPercent` of the upstream is out at once, though one backend
 *   may always be (Envoy `max_ejection_percent`).
 */
export type OutlierConfig =
  | { mode: 'off' }
  | { mode: 'nginx'; maxFails: number; failTimeoutMs: number }
  | { mode: 'envoy'; consecutive: number; baseEjectionMs: number; maxEjectionPercent: number };

/** A change of a backend's passive state, for the event log. `atMs` in the caller's clock. */
export type PassiveChange = { type: 'ejected' | 'readmitted' | 'breaker-open' | 'breaker-half-open' | 'breaker-closed'; detail: string };

/** Outlier ejection of one backend; see {@link OutlierConfig}. */
export class OutlierDetector {
  /** While ejected: when it ends (ms); undefined when not ejected. */
  ejectedUntilMs: number | undefined;
  /** Times this backend has been ejected. */
  ejections = 0;
  private consecutive = 0;
  /** nginx mode: times of the failures inside the current window. */
  private recent: number[] = [];

  constructor(private readonly config: OutlierConfig) {}

  /** Whether the backend is out now. */
  get ejected(): boolean {
    return this.ejectedUntilMs !== undefined;
  }

  /** When {@link tick} has something to do next (ms), or undefined. */
  nextChangeAtMs(): number | undefined {
    return this.ejectedUntilMs;
  }

  /**
   * Feeds one try's outcome. `mayEject` says whether the upstream's cap
   * allows one more ejection now (Envoy mode). Returns the change, if any.
   */
  observe(ok: boolean, nowMs: number, mayEject: boolean): PassiveChange | undefined {
    const c = this.config;
    if (c.mode === 'off' || this.ejected) return undefined;
    if (ok) {
      this.consecutive = 0;
      return undefined;
    }
    if (c.mode === 'nginx') {
      this.recent = this.recent.filter((t) => nowMs - t < c.failTimeoutMs);
      this.recent.push(nowMs);
      if (this.recent.length < c.maxFails) return undefined;
      this.recent = [];
      return this.eject(nowMs, c.failTimeoutMs, `${c.maxFails} failed tries within ${c.failTimeoutMs}ms (nginx max_fails)`);
    }
    this.consecutive++;
    if (this.consecutive < c.consecutive || !mayEject) return undefined;
    this.consecutive = 0;
    const forMs = c.baseEjectionMs * (this.ejections + 1);
    return this.eject(nowMs, forMs, `${c.consecutive} failed tries in a row, ejection #${this.ejections + 1} (Envoy consecutive_5xx)`);
  }

  /** Ends an ejection whose time is up. Returns the change, if any. */
  tick(nowMs: number): PassiveChange | undefined {
    if (this.ejectedUntilMs === undefined || nowMs < this.ejectedUntilMs) return undefined;
    this.ejectedUntilMs = undefined;
    return { type: 'readmitted', detail: 'ejection time over: taking requests again' };
  }

  private eject(nowMs: number, forMs: number, why: string): PassiveChange {
    this.ejections++;
    this.ejectedUntilMs = nowMs + forMs;
    return { type: 'ejected', detail: `${why}; out for ${Math.round(forMs)}ms` };
  }
}

/** Circuit breaker settings: `failures` in a row open it; after `cooldownMs` one probe decides. Times in ms. */
export type BreakerConfig = { failures: number; cooldownMs: number };

/** A circuit breaker's state: closed (requests flow), open (none), half-open (one probe). */
export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * A per-backend circuit breaker, as the seeds' CircuitBreaker: CLOSED lets
 * every request through and counts failures in a row; `failures` of them
 * OPEN it — no request goes to the backend; after `cooldownMs` it is
 * HALF-OPEN and lets exactly one request through: success closes it,
 * failure opens it again for another cool-down.
 */
export class CircuitBreaker {
  state: BreakerState = 'closed';
  /** Times it opened. */
  opened = 0;
  private consecutive = 0;
  private openUntilMs: number | undefined;
  private probing = false;

  constructor(private readonly config: BreakerConfig) {}

  /** Whether a new request may go to the backend now: closed, or half-open with no probe under way. */
  get allows(): boolean {
    return this.state === 'closed' || (this.state === 'half-open' && !this.probing);
  }

  /** When {@link tick} has something to do next (ms), or undefined. */
  nextChangeAtMs(): number | undefined {
    return this.state === 'open' ? this.openUntilMs : undefined;
  }

  /** Called when a request is sent; returns whether it is the half-open probe (the caller keeps that with the try). */
  onSend(): boolean {
    if (this.state !== 'half-open' || this.probing) return false;
    this.probing = true;
    return true;
  }

  /** The probe's client went away before an answer: the next request probes instead. Only for the probe. */
  onAbandoned(): void {
    this.probing = false;
  }

  /**
   * Feeds one try's outcome; `probe` says whether it was the half-open
   * probe ({@link onSend}'s answer). While not closed only the probe counts:
   * tries sent before the circuit opened may still end. Returns the change, if any.
   */
  observe(ok: boolean, nowMs: number, probe = false): PassiveChange | undefined {
    if (this.state !== 'closed' && !probe) return undefined;
    if (this.state === 'half-open' && this.probing) {
      this.probing = false;
      if (ok) {
        this.state = 'closed';
        this.consecutive = 0;
        return { type: 'breaker-closed', detail: 'the probe succeeded: circuit closed' };
      }
      return this.open(nowMs, 'the probe failed');
    }
    if (this.state !== 'closed') return undefined;
    if (ok) {
      this.consecutive = 0;
      return undefined;
    }
    this.consecutive++;
    if (this.consecutive < this.config.failures) return undefined;
    return this.open(nowMs, `${this.config.failures} failed tries in a row`);
  }

  /** Moves an open breaker whose cool-down is over to half-open. Returns the change, if any. */
  tick(nowMs: number): PassiveChange | undefined {
    if (this.state !== 'open' || this.openUntilMs === undefined || nowMs < this.openUntilMs) return undefined;
    this.state = 'half-open';
    this.openUntilMs = undefined;
    return { type: 'breaker-half-open', detail: 'cool-down over: the next request is a probe' };
  }

  private open(nowMs: number, why: string): PassiveChange {
    this.state = 'open';
    this.opened++;
    this.consecutive = 0;
    this.openUntilMs = nowMs + this.config.cooldownMs;
    return { type: 'breaker-open', detail: `${why}: circuit open for ${this.config.cooldownMs}ms` };
  }
}

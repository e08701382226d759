import { EventEmitter } from 'node:events';
import net from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import { classifyError } from '../../metrics/error-kind.js';
import { checkIntervalMs, type HealthCounter } from './check-interval.js';

/**
 * What a check does: `http` sends `GET <path>` and needs a 2xx/3xx (HAProxy
 * `option httpchk`); `tcp` only opens a TCP connection and closes it at once
 * (HAProxy `check` without `option httpchk`).
 */
export type HealthCheckMode = 'http' | 'tcp';

/** The check modes, in the order `--help` lists them. */
export const HEALTH_CHECK_MODES: readonly HealthCheckMode[] = ['http', 'tcp'];

/** Active health check settings (HAProxy `check inter … rise … fall …`, `timeout check`). Times in ms. */
export type HealthCheckConfig = {
  /** HTTP GET or a bare TCP connect; see {@link HealthCheckMode}. */
  mode: HealthCheckMode;
  /** Time between two checks of a fully UP backend (HAProxy `inter`). */
  intervalMs: number;
  /** Time between two checks while a backend changes state — UP having failed a check, or DOWN having passed one (HAProxy `fastinter`). */
  fastinterMs: number;
  /** Time between two checks of a fully DOWN backend (HAProxy `downinter`). */
  downinterMs: number;
  /** Time a check may take, connect included (HAProxy `timeout check`). */
  timeoutMs: number;
  /** Consecutive passed checks that bring a DOWN backend UP. */
  rise: number;
  /** Consecutive failed checks that take an UP backend DOWN. */
  fall: number;
  /** Path of the HTTP check, `GET` (HAProxy `option httpchk GET /health`); unused in `tcp` mode. */
  path: string;
};

/** lblab's defaults: http, interval 1s (fastinter and downinter too, as HAProxy when unset), timeout 500ms, rise 2, fall 3, path /health. */
export const DEFAULT_HEALTH_CHECK: HealthCheckConfig = {
  mode: 'http',
  intervalMs: 1000,
  fastinterMs: 1000,
  downinterMs: 1000,
  timeoutMs: 500,
  rise: 2,
  fall: 3,
  path: '/health',
};

/**
 * A check result, named as HAProxy's stats show them: L7OK (2xx/3xx), L7STS
 * (other status), L7TOUT (no response in time), L4OK (a `tcp` check
 * connected), L4CON (connection refused or reset), L4TOUT (connect timed
 * out), SOCKERR (anything else).
 */
export type CheckResult = {
  status: 'L7OK' | 'L7STS' | 'L7TOUT' | 'L4OK' | 'L4CON' | 'L4TOUT' | 'SOCKERR';
  code?: number;
  durationMs: number;
  /** The `load` the backend reported in a JSON body (in-flight ÷ capacity, ≥ 0), as HAProxy's `agent-check` reports a server's state; absent otherwise. */
  load?: number;
};

/** A check result as HAProxy's stats page writes it: `L7STS 503`, `L4CON`. */
export function formatCheckResult(result: CheckResult): string {
  return result.code !== undefined ? `${result.status} ${result.code}` : result.status;
}

/** True for the results that count as a passed check: L7OK, and L4OK (the whole of a `tcp` check). */
export function checkPassed(result: CheckResult): boolean {
  return result.status === 'L7OK' || result.status === 'L4OK';
}

/**
 * One backend a health checker looks after: the origin
 * (`http://127.0.0.1:8001`) and, when the caller keeps one, its rise/fall
 * counter, which picks the interval before the next check (`inter`,
 * `fastinter` or `downinter`); without it every wait is `inter`.
 */
export type CheckTarget = { readonly origin: string; readonly health?: HealthCounter };

/** Largest check body read for a reported load; bigger bodies are discarded unread. */
const MAX_REPORT_BYTES = 4096;

/**
 * Reads the `load` field of a small JSON check body (lblab backends answer
 * `{"load": 0.25, …}`), with or without a content-length (chunked bodies
 * too); undefined for any other body, which is discarded. A body over
 * {@link MAX_REPORT_BYTES} is cut and ignored.
 */
async function reportedLoad(res: Dispatcher.ResponseData): Promise<number | undefined> {
  const type = String(res.headers['content-type'] ?? '');
  const length = Number(res.headers['content-length'] ?? 0);
  if (!type.includes('json') || length > MAX_REPORT_BYTES) {
    await res.body.dump();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REPORT_BYTES) {
      res.body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  try {
    const load = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { load?: unknown }).load;
    return typeof load === 'number' && Number.isFinite(load) && load >= 0 ? load : undefined;
  } catch {
    return undefined;
  }
}

type CheckerEvents = { result: [target: CheckTarget, result: CheckResult] };

/**
 * Checks every target over and over: HTTP `GET <path>` (`http` mode) or a
 * bare TCP connect (`tcp` mode), each on a fresh connection (as HAProxy opens
 * one per check) with `timeoutMs` for connect and response. The wait before
 * the next check is chosen from the target's counter once the result has been
 * handled (see {@link checkIntervalMs}). It only reports results; the
 * rise/fall counting is done by whoever listens (see `RiseFall`).
 */
export class ActiveHealthChecker extends EventEmitter<CheckerEvents> {
  private readonly timers = new Map<CheckTarget, NodeJS.Timeout>();
  /** Ends each `tcp` check under way (so `stop` leaves no socket or timer behind). */
  private readonly tcpChecks = new Set<() => void>();
  private readonly agent: Agent;
  private stopped = false;

  constructor(private readonly config: HealthCheckConfig) {
    super();
    this.agent = new Agent({ connectTimeout: config.timeoutMs, headersTimeout: config.timeoutMs, bodyTimeout: config.timeoutMs });
  }

  /** Starts checking `target`: the first check runs after one interval (chosen from its counter). */
  watch(target: CheckTarget): void {
    this.schedule(target);
  }

  /** Stops checking `target` (a check under way still reports). */
  unwatch(target: CheckTarget): void {
    clearTimeout(this.timers.get(target));
    this.timers.delete(target);
  }

  /** Runs one check now and returns its result (also emitted as `result`). */
  async check(target: CheckTarget): Promise<CheckResult> {
    const result = this.config.mode === 'tcp' ? await this.tcpCheck(target) : await this.httpCheck(target);
    if (!this.stopped) this.emit('result', target, result);
    return result;
  }

  private async httpCheck(target: CheckTarget): Promise<CheckResult> {
    const started = performance.now();
    let result: CheckResult;
    try {
      const res = await request(target.origin + this.config.path, {
        dispatcher: this.agent,
        method: 'GET',
        reset: true,
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      const load = await reportedLoad(res);
      const ok = res.statusCode >= 200 && res.statusCode < 400;
      result = { status: ok ? 'L7OK' : 'L7STS', code: res.statusCode, durationMs: performance.now() - started, ...(load !== undefined ? { load } : {}) };
    } catch (err) {
      const kind = classifyError(err);
      const connectTimeout = (err as { code?: string }).code === 'UND_ERR_CONNECT_TIMEOUT';
      result = {
        status: kind === 'refused' || kind === 'reset' ? 'L4CON' : kind === 'timeout' ? (connectTimeout ? 'L4TOUT' : 'L7TOUT') : 'SOCKERR',
        durationMs: performance.now() - started,
      };
    }
    return result;
  }

  /**
   * Opens a TCP connection to the target's host and port and closes it as
   * soon as it is up: L4OK; refused or reset: L4CON; not up within
   * `timeoutMs`: L4TOUT; any other socket error: SOCKERR.
   */
  private tcpCheck(target: CheckTarget): Promise<CheckResult> {
    const url = new URL(target.origin);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(url.port || 80);
    const started = performance.now();
    return new Promise((resolve) => {
      const socket = net.connect({ host, port });
      const finish = (status: CheckResult['status']): void => {
        clearTimeout(timer);
        this.tcpChecks.delete(end);
        socket.destroy();
        resolve({ status, durationMs: performance.now() - started });
      };
      const end = (): void => finish('SOCKERR');
      const timer = setTimeout(() => finish('L4TOUT'), this.config.timeoutMs);
      this.tcpChecks.add(end);
      socket.once('connect', () => finish('L4OK'));
      socket.on('error', (err: NodeJS.ErrnoException) => {
        finish(err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET' ? 'L4CON' : err.code === 'ETIMEDOUT' ? 'L4TOUT' : 'SOCKERR');
      });
    });
  }

  /** Stops every timer and closes the check connections. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const end of [...this.tcpChecks]) end();
    await this.agent.destroy();
  }

  private schedule(target: CheckTarget): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      void this.check(target).finally(() => {
        if (this.timers.get(target) === timer) this.schedule(target);
      });
    }, target.health ? checkIntervalMs(target.health, this.config) : this.config.intervalMs);
    this.timers.set(target, timer);
  }
}

import { hashesWeights, usesWeights, type AlgorithmName } from '../balancer/algorithms/index.js';
import { DEFAULT_CONNECTION } from '../balancer/balancer.js';
import type { BreakerConfig, OutlierConfig } from '../balancer/passive/passive-checks.js';
import type { RateLimitConfig } from '../balancer/rate-limit.js';
import { DEFAULT_RETRY_POLICY, RETRY_CONDITIONS, type RetryCondition, type RetryPolicy } from '../balancer/retry-policy.js';
import { DEFAULT_STICK_TABLE_SIZE, DEFAULT_STICKY_COOKIE, DEFAULT_STICKY_TTL_MS, type StickyConfig } from '../balancer/sticky/sticky-sessions.js';
import type { UpstreamConnectionConfig } from '../balancer/upstream-backend.js';
import { ON_MARKED_DOWN, type OnMarkedDown } from '../balancer/on-marked-down.js';
import { z } from 'zod';
import { FieldError, type FieldNamer } from './field-error.js';
import { parseDuration, parseInteger } from './values.js';

/** The balancer's settings as written: mode, listen address, timeouts, retries, passive checks, breaker, backups, slow start, panic, on-marked-down, sticky, rate limit, routes, TLS. */
export type BalancerInput = {
  mode?: string;
  host?: string;
  port?: number | string;
  retries?: number | string;
  'retry-on'?: string | readonly string[];
  'retry-non-idempotent'?: boolean;
  'connect-timeout'?: string;
  'response-timeout'?: string;
  'client-timeout'?: string;
  'max-fails'?: number | string;
  'fail-timeout'?: string;
  'eject-consecutive'?: number | string;
  'eject-time'?: string;
  'max-ejection-percent'?: number | string;
  breaker?: number | string;
  'breaker-cooldown'?: string;
  backup?: readonly string[];
  'slow-start'?: string;
  'panic-threshold'?: number | string;
  /** HAProxy `on-marked-down`: `shutdown-sessions` cuts what a backend holds when its checks mark it DOWN. */
  'on-marked-down'?: string;
  sticky?: string;
  'rate-limit'?: string;
  route?: readonly string[];
  /** A routes file (YAML or JSON), instead of `route`. */
  routes?: string;
  tls?: boolean;
  /** HTTP/2 to clients (h2 with `tls`, h2c without), each stream balanced on its own. */
  http2?: boolean;
};

/** The balancer fields as a file gives them (zod): durations are strings with a unit, counts numbers; unknown fields refused. */
export const balancerFileSchema = z.strictObject({
  retries: z.number().optional(),
  'retry-on': z.array(z.string()).optional(),
  'retry-non-idempotent': z.boolean().optional(),
  'connect-timeout': z.string().optional(),
  'response-timeout': z.string().optional(),
  'client-timeout': z.string().optional(),
  'max-fails': z.number().optional(),
  'fail-timeout': z.string().optional(),
  'eject-consecutive': z.number().optional(),
  'eject-time': z.string().optional(),
  'max-ejection-percent': z.number().optional(),
  breaker: z.number().optional(),
  'breaker-cooldown': z.string().optional(),
  backup: z.array(z.string()).optional(),
  'slow-start': z.string().optional(),
  'panic-threshold': z.number().optional(),
  'on-marked-down': z.string().optional(),
  sticky: z.string().optional(),
  'rate-limit': z.string().optional(),
  route: z.array(z.string()).optional(),
  tls: z.boolean().optional(),
  http2: z.boolean().optional(),
  mode: z.enum(['http', 'tcp']).optional(),
});

const HOUR_MS = 3_600_000;

/**
 * The balancer fields that mean something only to an HTTP (L7) balancer,
 * and why: refused with mode tcp rather than ignored (see `applyMode`).
 * `retry-on` (statuses) and the hash key are checked by value there.
 */
export const L7_ONLY_FIELDS: Readonly<Partial<Record<keyof BalancerInput, string>>> = {
  'retry-non-idempotent': 'L4 sees no method',
  'response-timeout': 'L4 sees no response',
  'client-timeout': 'L4 reads no request',
  'max-fails': 'passive checks judge HTTP tries',
  'eject-consecutive': 'passive checks judge HTTP tries',
  breaker: 'the circuit breaker judges HTTP tries',
  'slow-start': 'not built for connections',
  'panic-threshold': 'not built for connections',
  sticky: 'L4 sees no cookies, and the source-IP stick table is built for HTTP only',
  'rate-limit': 'the rate limit answers 429, an HTTP status',
  route: 'L4 sees no path, host or header',
  routes: 'L4 sees no path, host or header',
  tls: 'TLS termination is built for HTTP only',
  http2: 'L4 balances connections and never sees the streams in them; that is the lesson of lab http2-vs-l4',
};

/** How long a client may take to send a request head (ms) unless `client-timeout` says otherwise: HAProxy's usual `timeout http-request 10s`. */
export const DEFAULT_CLIENT_TIMEOUT_MS = 10_000;

/** Defaults of the passive checks and breaker fields, as the flags' help shows them. */
export const PASSIVE_DEFAULTS = { failTimeout: '10s', ejectTime: '30s', maxEjectionPercent: 10, breakerCooldown: '10s' } as const;

/**
 * The proxy settings of a scenario: per-try timeouts, the retry policy,
 * passive checks and breaker, backups, slow start, panic threshold, sticky
 * sessions, rate limit. Times in ms; off when 0 or absent.
 */
export type ProxySettings = {
  connection: UpstreamConnectionConfig;
  /** Time a client may take to send a whole request head, ms: past it, 408 and the connection closed (HAProxy `timeout http-request`, nginx `client_header_timeout`). */
  clientTimeoutMs: number;
  retry: RetryPolicy;
  passive: { outlier: OutlierConfig; breaker?: BreakerConfig };
  backups: string[];
  slowStartMs: number;
  panicThreshold: number;
  /** HAProxy `on-marked-down`, when set: `shutdown-sessions` cuts a backend's requests (connections) when it is marked DOWN. */
  onMarkedDown?: OnMarkedDown;
  sticky?: StickyConfig;
  rateLimit?: RateLimitConfig;
};

const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses `--sticky cookie[:NAME] | ip[:TTL]`: cookie insert under NAME
 * (default SERVERID, an RFC 6265 token) as HAProxy `cookie NAME insert`, or
 * a source-IP stick table (HAProxy `stick on src`) whose entries expire TTL
 * after last use (default 30 min), of {@link DEFAULT_STICK_TABLE_SIZE} entries.
 * @throws {FieldError} naming `field`.
 */
export function parseSticky(value: string, field = '--sticky'): StickyConfig {
  const v = value.trim();
  const [mode, arg] = v.includes(':') ? [v.slice(0, v.indexOf(':')), v.slice(v.indexOf(':') + 1)] : [v, undefined];
  if (mode === 'cookie' && (arg === undefined || COOKIE_NAME.test(arg))) return { mode: 'cookie', name: arg ?? DEFAULT_STICKY_COOKIE };
  if (mode === 'ip') {
    const ttlMs = arg === undefined ? DEFAULT_STICKY_TTL_MS : parseStickyTtl(value, arg, field);
    return { mode: 'ip', ttlMs, size: DEFAULT_STICK_TABLE_SIZE };
  }
  throw new FieldError(field, `to be cookie, cookie:NAME (a cookie name token), ip or ip:TTL (e.g. ip:30m), got ${JSON.stringify(value)}`);
}

function parseStickyTtl(value: string, ttl: string, field: string): number {
  try {
    return parseDuration(field, ttl, { maxMs: 7 * 24 * HOUR_MS });
  } catch {
    throw new FieldError(`${field} ip:TTL`, `to end in a positive duration up to 7d, like 300ms, 30s or 30m, got ${JSON.stringify(value)}`);
  }
}

/**
 * Parses `--rate-limit R/s[:burst]` (or R/m): R a number > 0 of requests
 * per second (per minute), burst a whole number ≥ 0 (default 0, as nginx
 * `limit_req`).
 * @throws {FieldError} naming `field`.
 */
export function parseRateLimit(value: string, field = '--rate-limit'): RateLimitConfig {
  const m = /^(\d+(?:\.\d+)?)\/(s|m)(?::(\d+))?$/.exec(value.trim());
  const rate = m ? Number(m[1]) / (m[2] === 'm' ? 60 : 1) : Number.NaN;
  const burst = m?.[3] !== undefined ? Number(m[3]) : 0;
  if (!m || !(rate > 0) || rate > 1_000_000 || burst > 1_000_000) {
    throw new FieldError(field, `to be a rate above 0 like 100/s, 30/m or 100/s:20 (burst 20), got ${JSON.stringify(value)}`);
  }
  return { ratePerSecond: rate, burst };
}

/** The weighted algorithm that does what a weight-blind one does when the weights are equal, for the error that refuses slow start. */
const WEIGHTED_FORM: Partial<Record<AlgorithmName, AlgorithmName>> = { 'round-robin': 'weighted', 'least-conn': 'weighted-least-conn' };

/**
 * Refuses slow start with an algorithm it cannot act on, rather than ignore
 * it: one that hashes onto whole weights (nginx refuses `slow_start` with
 * `hash` and `ip_hash` too), or one that ignores weights (`round-robin`,
 * `least-conn`, `peak-ewma`), since slow start ramps the weight. HAProxy's
 * `roundrobin` and `leastconn` are weighted, so there the ramp works; in
 * lblab their weighted forms are `weighted` and `weighted-least-conn`.
 * @throws {FieldError} naming `balancer.slow-start`.
 */
export function requireSlowStartAlgorithm(slowStartMs: number, algos: readonly AlgorithmName[], name: FieldNamer): void {
  if (slowStartMs <= 0) return;
  const hashing = algos.find(hashesWeights);
  if (hashing) throw new FieldError(name('balancer.slow-start'), `only with an algorithm that is not hashing onto whole weights, got ${hashing}`);
  const blind = algos.find((a) => !usesWeights(a));
  if (blind) {
    const instead = WEIGHTED_FORM[blind];
    throw new FieldError(
      name('balancer.slow-start'),
      `only with an algorithm that uses weights (slow start ramps the weight), got ${blind}${instead ? `; ${instead} with equal weights balances as ${blind} does and ramps` : ''}`,
    );
  }
}

/**
 * Resolves the proxy fields of `balancer.*` over their defaults (the
 * balancer's {@link DEFAULT_CONNECTION} and {@link DEFAULT_RETRY_POLICY};
 * everything else off). Retries as nginx `proxy_next_upstream[_tries]`.
 * @throws {FieldError} naming the field as `name` words it.
 */
export function resolveProxy(input: BalancerInput = {}, backendNames: readonly string[], name: FieldNamer): ProxySettings {
  const int = (field: keyof BalancerInput, fallback: number, min: number, max: number): number => {
    const v = input[field];
    return v === undefined ? fallback : parseInteger(name(`balancer.${field}`), String(v as string | number), min, max);
  };
  const ms = (field: keyof BalancerInput, fallbackMs: number, allowZero = false): number => {
    const v = input[field] as string | undefined;
    return v === undefined ? fallbackMs : parseDuration(name(`balancer.${field}`), v, { maxMs: HOUR_MS, allowZero });
  };
  return {
    connection: {
      connectTimeoutMs: ms('connect-timeout', DEFAULT_CONNECTION.connectTimeoutMs),
      responseTimeoutMs: ms('response-timeout', DEFAULT_CONNECTION.responseTimeoutMs),
    },
    clientTimeoutMs: ms('client-timeout', DEFAULT_CLIENT_TIMEOUT_MS),
    retry: {
      retries: int('retries', DEFAULT_RETRY_POLICY.retries, 0, 10),
      on: input['retry-on'] === undefined ? new Set(DEFAULT_RETRY_POLICY.on) : retryConditions(input['retry-on'], name),
      nonIdempotent: Boolean(input['retry-non-idempotent']),
    },
    passive: resolvePassive(input, name, int, ms),
    backups: resolveBackups(input.backup ?? [], backendNames, name),
    slowStartMs: ms('slow-start', 0, true),
    panicThreshold: int('panic-threshold', 0, 0, 100),
    ...(input['on-marked-down'] !== undefined ? { onMarkedDown: parseOnMarkedDown(input['on-marked-down'], name('balancer.on-marked-down')) } : {}),
    ...(input.sticky !== undefined ? { sticky: parseSticky(input.sticky, name('balancer.sticky')) } : {}),
    ...(input['rate-limit'] !== undefined ? { rateLimit: parseRateLimit(input['rate-limit'], name('balancer.rate-limit')) } : {}),
  };
}

/**
 * Parses `--on-marked-down ACTION`: one of {@link ON_MARKED_DOWN} (HAProxy's
 * server option of that name; `shutdown-sessions` is the one action it has).
 * @throws {FieldError} naming `field`.
 */
export function parseOnMarkedDown(value: string, field = '--on-marked-down'): OnMarkedDown {
  const v = value.trim();
  if ((ON_MARKED_DOWN as readonly string[]).includes(v)) return v as OnMarkedDown;
  throw new FieldError(field, `to be ${ON_MARKED_DOWN.join(' or ')}, got ${JSON.stringify(value)}`);
}

/** `error,timeout,503` (or a list) into retry conditions; an empty text means none. */
function retryConditions(value: string | readonly string[], name: FieldNamer): Set<RetryCondition> {
  const list = typeof value === 'string' ? (value.trim() === '' ? [] : value.split(',').map((s) => s.trim())) : value;
  const on = new Set<RetryCondition>();
  for (const raw of list) {
    if (!(RETRY_CONDITIONS as readonly string[]).includes(raw)) {
      throw new FieldError(name('balancer.retry-on'), `entry to be one of ${RETRY_CONDITIONS.join(', ')}, got ${JSON.stringify(raw)}`, true);
    }
    on.add(raw as RetryCondition);
  }
  return on;
}

/** Outlier ejection (nginx `max_fails` or Envoy consecutive 5xx, one style at most) and the circuit breaker. */
function resolvePassive(
  input: BalancerInput,
  name: FieldNamer,
  int: (field: keyof BalancerInput, fallback: number, min: number, max: number) => number,
  ms: (field: keyof BalancerInput, fallbackMs: number) => number,
): { outlier: OutlierConfig; breaker?: BreakerConfig } {
  const maxFails = int('max-fails', 0, 0, 1000);
  const consecutive = int('eject-consecutive', 0, 0, 1000);
  if (maxFails > 0 && consecutive > 0) {
    const [nginx, envoy] = [name('balancer.max-fails'), name('balancer.eject-consecutive')];
    throw FieldError.worded(nginx, `Expected one style of passive checks, \`${nginx}\` (nginx) or \`${envoy}\` (Envoy), got both`);
  }
  const failTimeoutMs = ms('fail-timeout', 10_000);
  const baseEjectionMs = ms('eject-time', 30_000);
  const maxEjectionPercent = int('max-ejection-percent', PASSIVE_DEFAULTS.maxEjectionPercent, 0, 100);
  const outlier: OutlierConfig =
    maxFails > 0 ? { mode: 'nginx', maxFails, failTimeoutMs } : consecutive > 0 ? { mode: 'envoy', consecutive, baseEjectionMs, maxEjectionPercent } : { mode: 'off' };
  const failures = int('breaker', 0, 0, 1000);
  const cooldownMs = ms('breaker-cooldown', 10_000);
  return failures > 0 ? { outlier, breaker: { failures, cooldownMs } } : { outlier };
}

/**
 * Checks backup names against the backends; at least one primary must remain.
 * @throws {FieldError} naming `balancer.backup`.
 */
function resolveBackups(values: readonly string[], names: readonly string[], name: FieldNamer): string[] {
  for (const v of values) {
    if (!names.includes(v)) throw new FieldError(name('balancer.backup'), `to be one of ${names.join(', ')}, got ${JSON.stringify(v)}`);
  }
  const backups = [...new Set(values)];
  if (backups.length > 0 && backups.length >= names.length) {
    throw new FieldError(name('balancer.backup'), `to leave at least one primary backend, got all of ${names.join(', ')}`);
  }
  return backups;
}

import type { Command } from 'commander';
import type { AlgorithmName } from '../balancer/algorithms/index.js';
import { DEFAULT_CONNECTION, HASHING_ALGORITHMS } from '../balancer/balancer.js';
import { DEFAULT_RETRY_POLICY, RETRY_CONDITIONS, type RetryCondition, type RetryPolicy } from '../balancer/retry-policy.js';
import type { UpstreamConnectionConfig } from '../balancer/upstream-backend.js';
import type { BreakerConfig, OutlierConfig } from '../balancer/passive/passive-checks.js';
import type { RateLimitConfig } from '../balancer/rate-limit.js';
import { DEFAULT_STICK_TABLE_SIZE, DEFAULT_STICKY_COOKIE, DEFAULT_STICKY_TTL_MS, type StickyConfig } from '../balancer/sticky/sticky-sessions.js';
import { UsageError } from '../errors.js';
import { parseDuration, parseInteger } from './parse.js';

/** Raw proxy flags as commander hands them over (strings). */
export type ProxyFlags = {
  connectTimeout: string;
  responseTimeout: string;
  retries: string;
  retryOn: string;
  retryNonIdempotent?: boolean;
  maxFails: string;
  failTimeout: string;
  ejectConsecutive: string;
  ejectTime: string;
  maxEjectionPercent: string;
  breaker: string;
  breakerCooldown: string;
  backup: string[];
  slowStart: string;
  panicThreshold: string;
  sticky?: string;
  rateLimit?: string;
};

const collect = (value: string, previous: string[]): string[] => [...previous, value];

const HOUR_MS = 3_600_000;

/**
 * Adds the balancer's per-try timeouts and retry flags (used by `start`,
 * `balance` and `compare`), with their defaults in the help.
 */
export function addProxyOptions(cmd: Command): Command {
  return cmd
    .option('--connect-timeout <duration>', 'time a try may take to connect to a backend (nginx proxy_connect_timeout)', `${DEFAULT_CONNECTION.connectTimeoutMs}ms`)
    .option('--response-timeout <duration>', 'time a try may wait for response headers, and between body chunks (nginx proxy_read_timeout)', `${DEFAULT_CONNECTION.responseTimeoutMs / 1000}s`)
    .option('--retries <n>', 'further tries on other backends after a failed one, 0-10 (nginx proxy_next_upstream_tries − 1)', String(DEFAULT_RETRY_POLICY.retries))
    .option('--retry-on <list>', `what allows a retry: ${RETRY_CONDITIONS.join(', ')} (nginx proxy_next_upstream), comma-separated`, [...DEFAULT_RETRY_POLICY.on].join(','))
    .option('--retry-non-idempotent', 'also retry POST and PATCH requests without a body (nginx non_idempotent)')
    .option('--max-fails <n>', 'passive checks, nginx style: this many failed tries (error, timeout, 5xx) within --fail-timeout take a backend out for --fail-timeout; 0 = off', '0')
    .option('--fail-timeout <duration>', 'window and time out of --max-fails (nginx fail_timeout)', '10s')
    .option('--eject-consecutive <n>', 'passive checks, Envoy style: this many failed tries in a row eject a backend for --eject-time × its ejection count; 0 = off', '0')
    .option('--eject-time <duration>', 'base ejection time of --eject-consecutive (Envoy base_ejection_time)', '30s')
    .option('--max-ejection-percent <p>', 'most of the upstream --eject-consecutive may eject at once, 0-100; one backend always may (Envoy max_ejection_percent)', '10')
    .option('--breaker <n>', 'circuit breaker per backend: this many failed tries in a row open it; 0 = off', '0')
    .option('--breaker-cooldown <duration>', 'time an open breaker waits before one probe request decides (half-open)', '10s')
    .option('--backup <backend>', 'a backup backend: serves only when no primary can (nginx/HAProxy backup); repeatable', collect, [])
    .option('--slow-start <duration>', 'a backend back UP ramps its weight up linearly over this long (HAProxy slowstart; not with the hashing algorithms); 0s = off', '0s')
    .option('--panic-threshold <percent>', 'below this share of usable primaries, route to all of them regardless of health (Envoy panic threshold); 0 = off', '0')
    .option(
      '--sticky <mode>',
      `sticky sessions: cookie[:NAME] inserts a cookie naming the backend by an opaque id (HAProxy cookie ${DEFAULT_STICKY_COOKIE} insert indirect nocache; default name ${DEFAULT_STICKY_COOKIE}), ip[:TTL] sticks each client address in a stick table (HAProxy stick on src; default TTL 30m)`,
    )
    .option('--rate-limit <rate>', 'per client IP, R/s or R/m with an optional :burst, e.g. 100/s:20; over it: 429 with Retry-After, nothing forwarded (nginx limit_req … nodelay)');
}

const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses `--sticky cookie[:NAME] | ip[:TTL]`: cookie insert under NAME
 * (default SERVERID, an RFC 6265 token), or a source-IP stick table whose
 * entries expire TTL after last use (default 30 min), of
 * {@link DEFAULT_STICK_TABLE_SIZE} entries.
 * @throws {UsageError} naming `--sticky`.
 */
export function parseSticky(value: string): StickyConfig {
  const v = value.trim();
  const [mode, arg] = v.includes(':') ? [v.slice(0, v.indexOf(':')), v.slice(v.indexOf(':') + 1)] : [v, undefined];
  if (mode === 'cookie' && (arg === undefined || COOKIE_NAME.test(arg))) return { mode: 'cookie', name: arg ?? DEFAULT_STICKY_COOKIE };
  if (mode === 'ip') {
    const ttlMs = arg === undefined ? DEFAULT_STICKY_TTL_MS : parseStickyTtl(value, arg);
    return { mode: 'ip', ttlMs, size: DEFAULT_STICK_TABLE_SIZE };
  }
  throw new UsageError(`Expected \`--sticky\` to be cookie, cookie:NAME (a cookie name token), ip or ip:TTL (e.g. ip:30m), got ${JSON.stringify(value)}`);
}

function parseStickyTtl(value: string, ttl: string): number {
  try {
    return parseDuration('--sticky', ttl, { maxMs: 7 * 24 * HOUR_MS });
  } catch {
    throw new UsageError(`Expected \`--sticky ip:TTL\` to end in a positive duration up to 7d, like 300ms, 30s or 30m, got ${JSON.stringify(value)}`);
  }
}

/**
 * Parses `--rate-limit R/s[:burst]` (or R/m): R a number > 0 of requests
 * per second (per minute), burst a whole number ≥ 0 (default 0, as nginx).
 * @throws {UsageError} naming `--rate-limit`.
 */
export function parseRateLimit(value: string): RateLimitConfig {
  const m = /^(\d+(?:\.\d+)?)\/(s|m)(?::(\d+))?$/.exec(value.trim());
  const rate = m ? Number(m[1]) / (m[2] === 'm' ? 60 : 1) : Number.NaN;
  const burst = m?.[3] !== undefined ? Number(m[3]) : 0;
  if (!m || !(rate > 0) || rate > 1_000_000 || burst > 1_000_000) {
    throw new UsageError(`Expected \`--rate-limit\` to be a rate above 0 like 100/s, 30/m or 100/s:20 (burst 20), got ${JSON.stringify(value)}`);
  }
  return { ratePerSecond: rate, burst };
}

/**
 * Refuses `--slow-start` with an algorithm that hashes onto whole weights
 * (nginx refuses `slow_start` with `hash` and `ip_hash` too), rather than
 * ignore it.
 * @throws {UsageError} naming `--slow-start`.
 */
export function requireSlowStartAlgorithm(slowStartMs: number, algos: readonly AlgorithmName[]): void {
  const hashing = algos.find((a) => HASHING_ALGORITHMS.has(a));
  if (slowStartMs > 0 && hashing) {
    throw new UsageError(`Expected \`--slow-start\` only with an algorithm that is not hashing onto whole weights, got ${hashing}`);
  }
}

/**
 * Validates the proxy flags into the connection settings and the retry policy.
 * @throws {UsageError} naming the flag.
 */
export function parseProxyOptions(
  o: ProxyFlags,
  backendNames: readonly string[],
): {
  connection: UpstreamConnectionConfig;
  retry: RetryPolicy;
  passive: { outlier: OutlierConfig; breaker?: BreakerConfig };
  backups: string[];
  slowStartMs: number;
  panicThreshold: number;
  sticky?: StickyConfig;
  rateLimit?: RateLimitConfig;
} {
  const on = new Set<RetryCondition>();
  for (const raw of o.retryOn.split(',').map((s) => s.trim())) {
    if (raw === '' && o.retryOn.trim() === '') continue;
    if (!(RETRY_CONDITIONS as readonly string[]).includes(raw)) {
      throw new UsageError(`Expected every \`--retry-on\` entry to be one of ${RETRY_CONDITIONS.join(', ')}, got ${JSON.stringify(raw)}`);
    }
    on.add(raw as RetryCondition);
  }
  return {
    connection: {
      connectTimeoutMs: parseDuration('--connect-timeout', o.connectTimeout, { maxMs: HOUR_MS }),
      responseTimeoutMs: parseDuration('--response-timeout', o.responseTimeout, { maxMs: HOUR_MS }),
    },
    retry: { retries: parseInteger('--retries', o.retries, 0, 10), on, nonIdempotent: Boolean(o.retryNonIdempotent) },
    passive: parsePassive(o),
    backups: parseBackups(o.backup, backendNames),
    slowStartMs: parseDuration('--slow-start', o.slowStart, { allowZero: true, maxMs: HOUR_MS }),
    panicThreshold: parseInteger('--panic-threshold', o.panicThreshold, 0, 100),
    ...(o.sticky !== undefined ? { sticky: parseSticky(o.sticky) } : {}),
    ...(o.rateLimit !== undefined ? { rateLimit: parseRateLimit(o.rateLimit) } : {}),
  };
}

/** Outlier ejection (one style at most) and the circuit breaker, from their flags. */
function parsePassive(o: ProxyFlags): { outlier: OutlierConfig; breaker?: BreakerConfig } {
  const maxFails = parseInteger('--max-fails', o.maxFails, 0, 1000);
  const consecutive = parseInteger('--eject-consecutive', o.ejectConsecutive, 0, 1000);
  if (maxFails > 0 && consecutive > 0) {
    throw new UsageError('Expected one style of passive checks, `--max-fails` (nginx) or `--eject-consecutive` (Envoy), got both');
  }
  const failTimeoutMs = parseDuration('--fail-timeout', o.failTimeout, { maxMs: HOUR_MS });
  const baseEjectionMs = parseDuration('--eject-time', o.ejectTime, { maxMs: HOUR_MS });
  const maxEjectionPercent = parseInteger('--max-ejection-percent', o.maxEjectionPercent, 0, 100);
  const outlier: OutlierConfig =
    maxFails > 0 ? { mode: 'nginx', maxFails, failTimeoutMs } : consecutive > 0 ? { mode: 'envoy', consecutive, baseEjectionMs, maxEjectionPercent } : { mode: 'off' };
  const failures = parseInteger('--breaker', o.breaker, 0, 1000);
  const cooldownMs = parseDuration('--breaker-cooldown', o.breakerCooldown, { maxMs: HOUR_MS });
  return failures > 0 ? { outlier, breaker: { failures, cooldownMs } } : { outlier };
}

/**
 * Checks `--backup` names against the backends; at least one primary must remain.
 * @throws {UsageError} naming `--backup`.
 */
function parseBackups(values: readonly string[], names: readonly string[]): string[] {
  for (const v of values) {
    if (!names.includes(v)) throw new UsageError(`Expected \`--backup\` to be one of ${names.join(', ')}, got ${JSON.stringify(v)}`);
  }
  const backups = [...new Set(values)];
  if (backups.length > 0 && backups.length >= names.length) {
    throw new UsageError(`Expected \`--backup\` to leave at least one primary backend, got all of ${names.join(', ')}`);
  }
  return backups;
}

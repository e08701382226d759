import type { ProxyRecord } from '../metrics/run-record.js';
import type { RateLimitConfig } from './rate-limit.js';
import type { StickyConfig } from './sticky/sticky-sessions.js';
import type { BreakerConfig, OutlierConfig } from './passive/passive-checks.js';
import type { OnMarkedDown } from './on-marked-down.js';

/**
 * When the balancer sends a request to another backend after a try failed:
 * nginx `proxy_next_upstream` (the conditions) and
 * `proxy_next_upstream_tries` (the bound). Never the same backend twice for
 * one request.
 */

/** The conditions `--retry-on` names: a transport error, a timeout, or one of these upstream statuses. */
export const RETRY_CONDITIONS = ['error', 'timeout', '500', '502', '503', '504', '429'] as const;

/** One of {@link RETRY_CONDITIONS}. */
export type RetryCondition = (typeof RETRY_CONDITIONS)[number];

/**
 * The retry policy. `retries` = further tries after the first (0 = none);
 * `on` = conditions that allow one; `nonIdempotent` = also retry POST and
 * PATCH (nginx `non_idempotent`). A request with a body is never retried:
 * its body is streamed to the first backend, not kept.
 */
export type RetryPolicy = { retries: number; on: ReadonlySet<RetryCondition>; nonIdempotent: boolean };

/**
 * lblab's default, as SPEC says: one retry on another backend on a
 * connection error, a timeout, or 502/503/504, idempotent methods only.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 1, on: new Set(['error', 'timeout', '502', '503', '504']), nonIdempotent: false };

/** The proxy settings as the run record keeps them (see `RunConfig.proxy`); `ramp` = how health changes are met (slow start, panic, on-marked-down); `layers` = sticky sessions and rate limit, when on. Times in ms. */
export function proxyRecord(
  connection: { connectTimeoutMs: number; responseTimeoutMs: number },
  policy: RetryPolicy,
  passive: { outlier?: OutlierConfig; breaker?: BreakerConfig } | undefined,
  backups: readonly string[] | undefined,
  ramp: { slowStartMs: number; panicThreshold: number; onMarkedDown?: OnMarkedDown | undefined } = { slowStartMs: 0, panicThreshold: 0 },
  layers: { sticky?: StickyConfig | undefined; rateLimit?: RateLimitConfig | undefined } = {},
): ProxyRecord {
  return {
    ...connection,
    retries: policy.retries,
    retryOn: [...policy.on],
    retryNonIdempotent: policy.nonIdempotent,
    ...(passive?.outlier && passive.outlier.mode !== 'off' ? { outlier: { ...passive.outlier } } : {}),
    ...(passive?.breaker ? { breaker: { ...passive.breaker } } : {}),
    ...(backups && backups.length > 0 ? { backups: [...backups] } : {}),
    ...(ramp.slowStartMs > 0 ? { slowStartMs: ramp.slowStartMs } : {}),
    ...(ramp.panicThreshold > 0 ? { panicThreshold: ramp.panicThreshold } : {}),
    ...(ramp.onMarkedDown ? { onMarkedDown: ramp.onMarkedDown } : {}),
    ...(layers.sticky ? { sticky: { ...layers.sticky } } : {}),
    ...(layers.rateLimit ? { rateLimit: { ...layers.rateLimit } } : {}),
  };
}

/** Whether an upstream answer with `status` is a reason to try another backend under `policy`. */
export function retriesOnStatus(policy: RetryPolicy, status: number): boolean {
  return status >= 429 && policy.on.has(String(status) as RetryCondition);
}

import { z } from 'zod';
import { ALGORITHMS } from '../balancer/algorithms/index.js';

/**
 * A scenario as the user writes it, before {@link resolveScenario} reads its
 * values: the shape of a lab file's scenario part, with field names as the
 * `start` flags without their dashes, grouped (`health.interval` is
 * `--health-interval`, `balancer.retry-on` is `--retry-on`,
 * `load.concurrency` is `--concurrency`). Values are still text (durations
 * with their unit, `500ms`), or numbers and lists where a file has them;
 * a field left out takes lblab's default. The CLI builds one from the flags
 * the user typed (see `src/cli/options.ts`), a lab file is one (plus `runs`
 * and `expect`).
 */
export type ScenarioInput = {
  /** How many backends b1..bn, or one profile each. */
  backends?: number | string | BackendInput[];
  algo?: string;
  /** One weight per backend: `5,1,1` or `[5, 1, 1]`. */
  weights?: string | readonly number[];
  'hash-key'?: string;
  health?: HealthInput;
  balancer?: BalancerInput;
  load?: LoadInput;
  /** Scheduled actions: `"5s kill b2"` or `{ at: 5s, kill: b2 }`. */
  timeline?: ReadonlyArray<TimelineEntryInput>;
};

/** One backend's behaviour profile as written; absent fields take `start`'s defaults. */
export type BackendInput = { latency?: string; capacity?: number | string; 'error-rate'?: number | string };

/** The active health checks as written (`--health-*`, `--rise`, `--fall`). */
export type HealthInput = {
  check?: string;
  interval?: string;
  fastinter?: string;
  downinter?: string;
  timeout?: string;
  rise?: number | string;
  fall?: number | string;
  path?: string;
};

/** The balancer's settings as written: mode, listen address, timeouts, retries, passive checks, breaker, backups, slow start, panic, sticky, rate limit, routes, TLS. */
export type BalancerInput = {
  mode?: string;
  host?: string;
  port?: number | string;
  retries?: number | string;
  'retry-on'?: string | readonly string[];
  'retry-non-idempotent'?: boolean;
  'connect-timeout'?: string;
  'response-timeout'?: string;
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
  sticky?: string;
  'rate-limit'?: string;
  route?: readonly string[];
  /** A routes file (YAML or JSON), instead of `route`. */
  routes?: string;
  tls?: boolean;
};

/** The load as written: closed model (`concurrency`) or open model (`rate`, `max-in-flight`), its length, its virtual clients and what they send. */
export type LoadInput = {
  concurrency?: number | string;
  rate?: number | string;
  'max-in-flight'?: number | string;
  requests?: number | string;
  duration?: string;
  clients?: number | string;
  'spread-clients'?: boolean;
  /** `name=value` each, or a mapping of names to values. */
  headers?: readonly string[] | Readonly<Record<string, string>>;
  path?: readonly string[];
  cookies?: boolean;
};

/** A timeline entry as written: the `--event` text, or one action key besides `at`. */
export type TimelineEntryInput = string | Readonly<Record<string, string | number>>;

/** A duration with its unit, read later by `parseDuration`. */
const duration = z.string();

/**
 * The scenario part of a file (a lab), as zod checks its shape before the
 * values are read: durations are strings with a unit (`500ms`), counts are
 * numbers. Unknown fields are refused, so a typo never silently does
 * nothing. Each object is exported for the lab file's schema to build on.
 */
export const scenarioFileSchema = {
  backendProfile: z.strictObject({
    latency: z.string().optional(),
    capacity: z.number().optional(),
    'error-rate': z.number().optional(),
  }),
  health: z.strictObject({
    check: z.enum(['http', 'tcp']).optional(),
    interval: duration.optional(),
    fastinter: duration.optional(),
    downinter: duration.optional(),
    timeout: duration.optional(),
    rise: z.number().optional(),
    fall: z.number().optional(),
    path: z.string().optional(),
  }),
  balancer: z.strictObject({
    retries: z.number().optional(),
    'retry-on': z.array(z.string()).optional(),
    'retry-non-idempotent': z.boolean().optional(),
    'connect-timeout': duration.optional(),
    'response-timeout': duration.optional(),
    'max-fails': z.number().optional(),
    'fail-timeout': duration.optional(),
    'eject-consecutive': z.number().optional(),
    'eject-time': duration.optional(),
    'max-ejection-percent': z.number().optional(),
    breaker: z.number().optional(),
    'breaker-cooldown': duration.optional(),
    backup: z.array(z.string()).optional(),
    'slow-start': duration.optional(),
    'panic-threshold': z.number().optional(),
    sticky: z.string().optional(),
    'rate-limit': z.string().optional(),
    route: z.array(z.string()).optional(),
    tls: z.boolean().optional(),
    mode: z.enum(['http', 'tcp']).optional(),
  }),
  load: z.strictObject({
    concurrency: z.number().optional(),
    rate: z.number().optional(),
    'max-in-flight': z.number().optional(),
    requests: z.number().optional(),
    duration,
    clients: z.number().optional(),
    'spread-clients': z.boolean().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    path: z.array(z.string()).optional(),
    cookies: z.boolean().optional(),
  }),
  /** `{at: 5s, kill: b2}` (one action key besides `at`) or the `--event` string `"5s kill b2"`. */
  timelineEntry: z.union([z.string(), z.record(z.string(), z.union([z.string(), z.number()]))]),
  algo: z.enum(ALGORITHMS),
};

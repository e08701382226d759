import { DEFAULT_HEALTH_CHECK, HEALTH_CHECK_MODES, type HealthCheckConfig, type HealthCheckMode } from '../balancer/health/active-health-check.js';
import { z } from 'zod';
import { FieldError, type FieldNamer } from './field-error.js';
import { parseDuration, parseInteger } from './values.js';

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

/** The health fields as a file gives them (zod): durations are strings with a unit, counts numbers; unknown fields refused. */
export const healthFileSchema = z.strictObject({
  check: z.enum(['http', 'tcp']).optional(),
  interval: z.string().optional(),
  fastinter: z.string().optional(),
  downinter: z.string().optional(),
  timeout: z.string().optional(),
  rise: z.number().optional(),
  fall: z.number().optional(),
  path: z.string().optional(),
});

const HOUR_MS = 3_600_000;

/**
 * Resolves the active health checks of a scenario (`health.*`) into a
 * {@link HealthCheckConfig} (times in ms), over lblab's defaults
 * ({@link DEFAULT_HEALTH_CHECK}; `defaultPath` replaces the check path's, as
 * `balance` uses `/` in front of plain servers). Fastinter and downinter
 * default to the interval, as HAProxy's do when unset; rise/fall as in
 * HAProxy `check`.
 * @throws {FieldError} naming the field as `name` words it.
 */
export function resolveHealth(input: HealthInput = {}, name: FieldNamer, defaultPath = DEFAULT_HEALTH_CHECK.path): HealthCheckConfig {
  const d = DEFAULT_HEALTH_CHECK;
  const check = input.check ?? d.mode;
  if (!(HEALTH_CHECK_MODES as readonly string[]).includes(check)) {
    throw new FieldError(name('health.check'), `to be one of ${HEALTH_CHECK_MODES.join(', ')}, got ${JSON.stringify(check)}`);
  }
  const path = input.path ?? defaultPath;
  if (!path.startsWith('/')) throw new FieldError(name('health.path'), `to start with /, got ${JSON.stringify(path)}`);
  const duration = (field: 'interval' | 'fastinter' | 'downinter' | 'timeout', fallbackMs: number): number => {
    const v = input[field];
    return v === undefined ? fallbackMs : parseDuration(name(`health.${field}`), v, { maxMs: HOUR_MS });
  };
  const intervalMs = duration('interval', d.intervalMs);
  return {
    mode: check as HealthCheckMode,
    intervalMs,
    fastinterMs: duration('fastinter', intervalMs),
    downinterMs: duration('downinter', intervalMs),
    timeoutMs: duration('timeout', d.timeoutMs),
    rise: input.rise === undefined ? d.rise : parseInteger(name('health.rise'), String(input.rise), 1, 100),
    fall: input.fall === undefined ? d.fall : parseInteger(name('health.fall'), String(input.fall), 1, 100),
    path,
  };
}

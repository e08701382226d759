import type { Command } from 'commander';
import { DEFAULT_HEALTH_CHECK, HEALTH_CHECK_MODES, type HealthCheckConfig, type HealthCheckMode } from '../balancer/health/active-health-check.js';
import { UsageError } from '../errors.js';
import { parseDuration, parseInteger } from './parse.js';

const HOUR_MS = 3_600_000;

/** Raw health flags as commander hands them over (strings); fastinter and downinter are absent when not given. */
export type HealthFlags = {
  healthCheck: string;
  healthInterval: string;
  healthFastinter?: string;
  healthDowninter?: string;
  healthTimeout: string;
  rise: string;
  fall: string;
  healthPath: string;
};

/**
 * Adds `--health-check --health-interval --health-fastinter
 * --health-downinter --health-timeout --rise --fall --health-path` with
 * lblab's defaults; `defaultPath` overrides the check path's default
 * (`balance` uses `/`, since plain servers have no /health).
 */
export function addHealthOptions(cmd: Command, defaultPath = DEFAULT_HEALTH_CHECK.path): Command {
  const d = DEFAULT_HEALTH_CHECK;
  return cmd
    .option('--health-check <mode>', 'active check: http (GET --health-path, 2xx/3xx passes) or tcp (a TCP connect, closed at once; as HAProxy check without option httpchk)', d.mode)
    .option('--health-interval <duration>', 'time between two checks of a fully UP backend (HAProxy inter)', `${d.intervalMs}ms`)
    .option('--health-fastinter <duration>', 'time between checks while a backend changes state: UP having failed a check, or DOWN having passed one (HAProxy fastinter) (default: --health-interval)')
    .option('--health-downinter <duration>', 'time between checks of a fully DOWN backend (HAProxy downinter) (default: --health-interval)')
    .option('--health-timeout <duration>', 'time a check may take: connect and response, the connect alone with tcp (HAProxy timeout check)', `${d.timeoutMs}ms`)
    .option('--rise <n>', 'consecutive passed checks to mark a DOWN backend UP', String(d.rise))
    .option('--fall <n>', 'consecutive failed checks to mark an UP backend DOWN', String(d.fall))
    .option('--health-path <path>', 'path of the HTTP check (GET); 2xx/3xx passes; ignored with --health-check tcp, as HAProxy does', defaultPath);
}

/**
 * Validates the health flags into a {@link HealthCheckConfig} (times in ms).
 * Fastinter and downinter default to the interval, as HAProxy's do when unset.
 * @throws {UsageError} naming the flag.
 */
export function parseHealthOptions(o: HealthFlags): HealthCheckConfig {
  if (!(HEALTH_CHECK_MODES as readonly string[]).includes(o.healthCheck)) {
    throw new UsageError(`Expected \`--health-check\` to be one of ${HEALTH_CHECK_MODES.join(', ')}, got ${JSON.stringify(o.healthCheck)}`);
  }
  if (!o.healthPath.startsWith('/')) {
    throw new UsageError(`Expected \`--health-path\` to start with /, got ${JSON.stringify(o.healthPath)}`);
  }
  const intervalMs = parseDuration('--health-interval', o.healthInterval, { maxMs: HOUR_MS });
  return {
    mode: o.healthCheck as HealthCheckMode,
    intervalMs,
    fastinterMs: o.healthFastinter === undefined ? intervalMs : parseDuration('--health-fastinter', o.healthFastinter, { maxMs: HOUR_MS }),
    downinterMs: o.healthDowninter === undefined ? intervalMs : parseDuration('--health-downinter', o.healthDowninter, { maxMs: HOUR_MS }),
    timeoutMs: parseDuration('--health-timeout', o.healthTimeout, { maxMs: HOUR_MS }),
    rise: parseInteger('--rise', o.rise, 1, 100),
    fall: parseInteger('--fall', o.fall, 1, 100),
    path: o.healthPath,
  };
}

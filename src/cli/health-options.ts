import type { Command } from 'commander';
import { DEFAULT_HEALTH_CHECK, type HealthCheckConfig } from '../balancer/health/active-health-check.js';
import { UsageError } from '../errors.js';
import { parseDuration, parseInteger } from './parse.js';

const HOUR_MS = 3_600_000;

/** Raw health flags as commander hands them over (strings). */
export type HealthFlags = { healthInterval: string; healthTimeout: string; rise: string; fall: string; healthPath: string };

/**
 * Adds `--health-interval --health-timeout --rise --fall --health-path` with
 * lblab's defaults; `defaultPath` overrides the check path's default (`balance`
 * uses `/`, since plain servers have no /health).
 */
export function addHealthOptions(cmd: Command, defaultPath = DEFAULT_HEALTH_CHECK.path): Command {
  const d = DEFAULT_HEALTH_CHECK;
  return cmd
    .option('--health-interval <duration>', 'time between two active checks of a backend (HAProxy inter)', `${d.intervalMs}ms`)
    .option('--health-timeout <duration>', 'time a check may take (HAProxy timeout check)', `${d.timeoutMs}ms`)
    .option('--rise <n>', 'consecutive passed checks to mark a DOWN backend UP', String(d.rise))
    .option('--fall <n>', 'consecutive failed checks to mark an UP backend DOWN', String(d.fall))
    .option('--health-path <path>', 'path of the HTTP check (GET); 2xx/3xx passes', defaultPath);
}

/**
 * Validates the health flags into a {@link HealthCheckConfig} (times in ms).
 * @throws {UsageError} naming the flag.
 */
export function parseHealthOptions(o: HealthFlags): HealthCheckConfig {
  if (!o.healthPath.startsWith('/')) {
    throw new UsageError(`Expected \`--health-path\` to start with /, got ${JSON.stringify(o.healthPath)}`);
  }
  return {
    intervalMs: parseDuration('--health-interval', o.healthInterval, { maxMs: HOUR_MS }),
    timeoutMs: parseDuration('--health-timeout', o.healthTimeout, { maxMs: HOUR_MS }),
    rise: parseInteger('--rise', o.rise, 1, 100),
    fall: parseInteger('--fall', o.fall, 1, 100),
    path: o.healthPath,
  };
}

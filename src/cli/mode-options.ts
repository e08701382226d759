import type { Command } from 'commander';
import type { AlgorithmName } from '../balancer/algorithms/index.js';
import type { HashKeySource } from '../balancer/hash-key.js';
import type { HealthCheckConfig } from '../balancer/health/active-health-check.js';
import type { BreakerConfig, OutlierConfig } from '../balancer/passive/passive-checks.js';
import type { RetryCondition, RetryPolicy } from '../balancer/retry-policy.js';
import { BALANCER_MODES, isTcpAlgorithm, KEEP_ALIVE_NOTE, TCP_ALGORITHMS, type BalancerMode } from '../balancer/tcp/tcp-mode.js';
import { UsageError } from '../errors.js';
import type { ScheduledEvent } from './parse.js';

/** The raw `--mode` flag. */
export type ModeFlags = { mode: string };

/** What a connection-level retry can be about: a connect refused or reset, or one that timed out. */
const TCP_RETRY_CONDITIONS: readonly RetryCondition[] = ['error', 'timeout'];

/**
 * Flags that mean something only to an HTTP balancer, refused with `--mode
 * tcp` rather than ignored: the option key as commander names it, and its
 * flag. `--hash-key` (other than ip) and `--retry-on` (statuses) are checked
 * by value, `--algo` against {@link TCP_ALGORITHMS}.
 */
const HTTP_ONLY_FLAGS: ReadonlyArray<[key: string, flag: string, why: string]> = [
  ['retryNonIdempotent', '--retry-non-idempotent', 'L4 sees no method'],
  ['responseTimeout', '--response-timeout', 'L4 sees no response'],
  ['maxFails', '--max-fails', 'passive checks judge HTTP tries'],
  ['ejectConsecutive', '--eject-consecutive', 'passive checks judge HTTP tries'],
  ['breaker', '--breaker', 'the circuit breaker judges HTTP tries'],
  ['slowStart', '--slow-start', 'not built for connections'],
  ['panicThreshold', '--panic-threshold', 'not built for connections'],
  ['sticky', '--sticky', 'L4 sees no cookies, and the source-IP stick table is built for HTTP only'],
  ['rateLimit', '--rate-limit', 'the rate limit answers 429, an HTTP status'],
  ['route', '--route', 'L4 sees no path, host or header'],
  ['routes', '--routes', 'L4 sees no path, host or header'],
  ['tls', '--tls', 'TLS termination is built for HTTP only'],
];

/** Adds `--mode http|tcp` (default http) with a line on what L4 cannot do. */
export function addModeOption(cmd: Command): Command {
  return cmd.option(
    '--mode <mode>',
    `what to balance: http (L7, each request) or tcp (L4, each TCP connection, no HTTP parsing; algorithms ${TCP_ALGORITHMS.join(', ')}). ${KEEP_ALIVE_NOTE}`,
    'http',
  );
}

/** The option keys the user typed (not defaults) for `cmd`, to tell a given flag from its default. */
export function givenOptions(cmd: Command): ReadonlySet<string> {
  return new Set(Object.keys(cmd.opts()).filter((k) => cmd.getOptionValueSource(k) === 'cli'));
}

/** The parts of a `start` or `balance` config that `--mode` decides or checks. */
type ModeSensitive = {
  algo: AlgorithmName;
  hashKey?: HashKeySource;
  health: HealthCheckConfig;
  retry: RetryPolicy;
  passive?: { outlier?: OutlierConfig; breaker?: BreakerConfig };
  events?: readonly ScheduledEvent[];
};

/**
 * Reads `--mode` and, for `tcp`, checks the rest of the config can be done
 * at L4 and adapts it: health checks become TCP connects unless
 * `--health-check` was given, and retries are on connect errors and
 * timeouts only (the default `--retry-on` lists statuses L4 never sees).
 * `given` holds the option keys the user typed (see {@link givenOptions}).
 * @throws {UsageError} naming `--mode` and the flag that needs HTTP: an
 * algorithm outside {@link TCP_ALGORITHMS} (given or in an `--event`),
 * `--hash-key` other than ip, `--retry-on` with a status, or one of
 * {@link HTTP_ONLY_FLAGS}.
 */
export function applyMode<T extends ModeSensitive>(config: T, o: ModeFlags, given: ReadonlySet<string>): T & { mode: BalancerMode } {
  if (!(BALANCER_MODES as readonly string[]).includes(o.mode)) {
    throw new UsageError(`Expected \`--mode\` to be one of ${BALANCER_MODES.join(', ')}, got ${JSON.stringify(o.mode)}`);
  }
  const mode = o.mode as BalancerMode;
  if (mode === 'http') return { ...config, mode };
  if (!isTcpAlgorithm(config.algo)) {
    throw new UsageError(`Expected \`--algo\` with \`--mode tcp\` to be one of ${TCP_ALGORITHMS.join(', ')}, got ${JSON.stringify(config.algo)}`);
  }
  const switched = config.events?.find((e) => e.action === 'algo' && !isTcpAlgorithm(e.algo));
  if (switched?.action === 'algo') {
    throw new UsageError(`Expected \`--event\` algo with \`--mode tcp\` to be one of ${TCP_ALGORITHMS.join(', ')}, got ${JSON.stringify(switched.algo)}`);
  }
  if (config.hashKey && config.hashKey.kind !== 'ip') {
    throw new UsageError(`Expected \`--hash-key\` with \`--mode tcp\` to be ip (a TCP connection has no path, header or cookie), got ${config.hashKey.kind}`);
  }
  for (const [key, flag, why] of HTTP_ONLY_FLAGS) {
    if (given.has(key)) throw new UsageError(`Expected \`${flag}\` only with \`--mode http\` (${why}), got it with \`--mode tcp\``);
  }
  let on = new Set(config.retry.on);
  if (given.has('retryOn')) {
    const status = [...on].find((c) => !TCP_RETRY_CONDITIONS.includes(c));
    if (status) throw new UsageError(`Expected \`--retry-on\` with \`--mode tcp\` to list only ${TCP_RETRY_CONDITIONS.join(', ')} (L4 sees no status), got ${status}`);
  } else on = new Set(TCP_RETRY_CONDITIONS);
  return {
    ...config,
    mode,
    health: given.has('healthCheck') ? config.health : { ...config.health, mode: 'tcp' },
    retry: { ...config.retry, on },
  };
}

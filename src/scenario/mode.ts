import type { AlgorithmName } from '../balancer/algorithms/index.js';
import type { HashKeySource } from '../balancer/hash-key.js';
import type { HealthCheckConfig } from '../balancer/health/active-health-check.js';
import type { BreakerConfig, OutlierConfig } from '../balancer/passive/passive-checks.js';
import type { RetryCondition, RetryPolicy } from '../balancer/retry-policy.js';
import { BALANCER_MODES, isTcpAlgorithm, TCP_ALGORITHMS, type BalancerMode } from '../balancer/tcp/tcp-mode.js';
import { L7_ONLY_FIELDS } from './balancer-settings.js';
import { FieldError, type FieldNamer } from './field-error.js';
import type { ScheduledEvent } from './timeline.js';

/** What a connection-level retry can be about: a connect refused or reset, or one that timed out. */
const TCP_RETRY_CONDITIONS: readonly RetryCondition[] = ['error', 'timeout'];


/** The parts of a `start` or `balance` config that `--mode` decides or checks. */
type ModeSensitive = {
  algo: AlgorithmName;
  hashKey?: HashKeySource;
  health: HealthCheckConfig;
  retry: RetryPolicy;
  passive?: { outlier?: OutlierConfig; breaker?: BreakerConfig };
};

/**
 * Reads `balancer.mode` (default http) and, for `tcp`, checks the rest of
 * the config can be done at L4 and adapts it: health checks become TCP
 * connects unless `health.check` was given, and retries are on connect
 * errors and timeouts only (the default retry-on lists statuses L4 never
 * sees). `events` are the timeline's (an `algo` switch must be L4 too). `given` holds the paths of the fields the user gave (see
 * `givenFields`), `name` words them for messages.
 * @throws {FieldError} naming the mode and the field that needs HTTP: an
 * algorithm outside {@link TCP_ALGORITHMS} (given or in a timeline `algo`),
 * `hash-key` other than ip, `retry-on` with a status, or one of
 * {@link L7_ONLY_FIELDS}.
 */
export function applyMode<T extends ModeSensitive>(
  config: T,
  written: string | undefined,
  given: ReadonlySet<string>,
  name: FieldNamer,
  events: readonly ScheduledEvent[] = [],
): T & { mode: BalancerMode } {
  const modeField = name('balancer.mode');
  const value = written ?? 'http';
  if (!(BALANCER_MODES as readonly string[]).includes(value)) {
    throw new FieldError(modeField, `to be one of ${BALANCER_MODES.join(', ')}, got ${JSON.stringify(value)}`);
  }
  const mode = value as BalancerMode;
  if (mode === 'http') return { ...config, mode };
  const tcp = `\`${modeField} tcp\``;
  if (!isTcpAlgorithm(config.algo)) {
    throw new FieldError(name('algo'), `with ${tcp} to be one of ${TCP_ALGORITHMS.join(', ')}, got ${JSON.stringify(config.algo)}`);
  }
  const switched = events.find((e) => e.action === 'algo' && !isTcpAlgorithm(e.algo));
  if (switched?.action === 'algo') {
    throw new FieldError(`${name('timeline')}\` algo with \`${modeField} tcp`, `to be one of ${TCP_ALGORITHMS.join(', ')}, got ${JSON.stringify(switched.algo)}`);
  }
  if (config.hashKey && config.hashKey.kind !== 'ip') {
    throw new FieldError(name('hash-key'), `with ${tcp} to be ip (a TCP connection has no path, header or cookie), got ${config.hashKey.kind}`);
  }
  for (const [field, why] of Object.entries(L7_ONLY_FIELDS)) {
    const path = `balancer.${field}`;
    if (given.has(path)) throw new FieldError(name(path), `only with \`${modeField} http\` (${why}), got it with ${tcp}`);
  }
  let on = new Set(config.retry.on);
  if (given.has('balancer.retry-on')) {
    const status = [...on].find((c) => !TCP_RETRY_CONDITIONS.includes(c));
    if (status) throw new FieldError(name('balancer.retry-on'), `with ${tcp} to list only ${TCP_RETRY_CONDITIONS.join(', ')} (L4 sees no status), got ${status}`);
  } else on = new Set(TCP_RETRY_CONDITIONS);
  return {
    ...config,
    mode,
    health: given.has('health.check') ? config.health : { ...config.health, mode: 'tcp' },
    retry: { ...config.retry, on },
  };
}

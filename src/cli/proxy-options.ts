import type { Command } from 'commander';
import { DEFAULT_CONNECTION } from '../balancer/balancer.js';
import { DEFAULT_RETRY_POLICY, RETRY_CONDITIONS, type RetryCondition, type RetryPolicy } from '../balancer/retry-policy.js';
import type { UpstreamConnectionConfig } from '../balancer/upstream-backend.js';
import { UsageError } from '../errors.js';
import { parseDuration, parseInteger } from './parse.js';

/** Raw proxy flags as commander hands them over (strings). */
export type ProxyFlags = { connectTimeout: string; responseTimeout: string; retries: string; retryOn: string; retryNonIdempotent?: boolean };

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
    .option('--retry-non-idempotent', 'also retry POST and PATCH requests without a body (nginx non_idempotent)');
}

/**
 * Validates the proxy flags into the connection settings and the retry policy.
 * @throws {UsageError} naming the flag.
 */
export function parseProxyOptions(o: ProxyFlags): { connection: UpstreamConnectionConfig; retry: RetryPolicy } {
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
  };
}

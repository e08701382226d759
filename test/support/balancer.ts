import { Balancer, type BalancerConfig } from '../../src/balancer/balancer.js';
import type { HealthCheckConfig } from '../../src/balancer/health/active-health-check.js';
import { TcpBalancer, type TcpBalancerConfig } from '../../src/balancer/tcp/tcp-balancer.js';
import type { Closers } from './loopback.js';

/**
 * HTTP checks far apart (60 s every state, 500 ms timeout, rise 2, fall 3, on
 * `/`): a test that uses them sees the request path alone, never a check.
 */
export const SLOW_HTTP_CHECKS: HealthCheckConfig = { mode: 'http', intervalMs: 60_000, fastinterMs: 60_000, downinterMs: 60_000, timeoutMs: 500, rise: 2, fall: 3, path: '/' };

/**
 * HTTP checks every 100 ms (1 s timeout, rise 1, fall 1, on `/`): a backend
 * whose server closed is DOWN one failed check later.
 */
export const FAST_HTTP_CHECKS: HealthCheckConfig = { mode: 'http', intervalMs: 100, fastinterMs: 100, downinterMs: 100, timeoutMs: 1000, rise: 1, fall: 1, path: '/' };

/** `urls` as upstream backends named b1, b2, … in order, weight `weights[i]` (default 1). */
export function backendsAt(urls: readonly string[], weights: readonly number[] = []): BalancerConfig['backends'] {
  return urls.map((url, i) => ({ name: `b${i + 1}`, url, weight: weights[i] ?? 1 }));
}

/**
 * Starts an in-process HTTP {@link Balancer} on 127.0.0.1, port 0 (a free
 * port), round robin with {@link SLOW_HTTP_CHECKS} unless `config` says
 * otherwise. `beforeListen` runs on the new balancer before it listens (to
 * attach event listeners before any check can fire). Once it listens, its
 * close is pushed to `closers`, so `closeAll` stops it after the test.
 * Resolves to the balancer and its base URL (`http(s)://127.0.0.1:<port>/`).
 */
export async function startBalancer(
  config: Partial<BalancerConfig> & Pick<BalancerConfig, 'backends'>,
  closers: Closers,
  beforeListen?: (b: Balancer) => void,
): Promise<{ b: Balancer; url: string; port: number }> {
  const b = new Balancer({ algo: 'round-robin', health: SLOW_HTTP_CHECKS, host: '127.0.0.1', port: 0, ...config });
  beforeListen?.(b);
  const { url, port } = await b.listen();
  closers.push(() => b.close());
  return { b, url, port };
}

/**
 * Starts an in-process L4 {@link TcpBalancer} (`--mode tcp`) on 127.0.0.1,
 * port 0, round robin unless `config` says otherwise; its close is pushed to
 * `closers` once it listens. Resolves to the balancer, its port and its URL.
 */
export async function startTcpBalancer(
  config: Partial<TcpBalancerConfig> & Pick<TcpBalancerConfig, 'backends' | 'health'>,
  closers: Closers,
): Promise<{ lb: TcpBalancer; port: number; url: string }> {
  const lb = new TcpBalancer({ algo: 'round-robin', host: '127.0.0.1', port: 0, ...config });
  const { port, url } = await lb.listen();
  closers.push(() => lb.close());
  return { lb, port, url };
}

import type { AlgorithmName } from '../algorithms/index.js';

/**
 * What the balancer balances: `http` proxies each HTTP request (layer 7,
 * HAProxy `mode http`); `tcp` relays whole TCP connections without reading
 * them (layer 4, HAProxy `mode tcp`, nginx `stream`).
 */
export type BalancerMode = 'http' | 'tcp';

/** The `--mode` values, in the order `--help` lists them. */
export const BALANCER_MODES: readonly BalancerMode[] = ['http', 'tcp'];

/**
 * The algorithms that work on a connection with nothing but its addresses:
 * the ones nginx's `stream` module and HAProxy `mode tcp` offer. Least
 * connections counts open connections; the hashes key on the client's
 * source address. Those that learn from responses (response time) or read
 * a report need HTTP.
 */
export const TCP_ALGORITHMS: readonly AlgorithmName[] = ['round-robin', 'least-conn', 'random', 'ip-hash', 'consistent-hash'];

/** Whether `algo` can balance TCP connections (see {@link TCP_ALGORITHMS}). */
export function isTcpAlgorithm(algo: string): boolean {
  return (TCP_ALGORITHMS as readonly string[]).includes(algo);
}

/**
 * One line for `--help` and the report: why round robin over connections
 * does not spread requests evenly.
 */
export const KEEP_ALIVE_NOTE =
  'L4 balances connections, not requests: a keep-alive connection stays on the backend it was given for its whole life, so requests split by connections, not evenly (e.g. 2 connections over 3 backends: one backend gets nothing).';

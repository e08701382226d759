import { algorithmsWith, isAlgorithmName, isL4, type AlgorithmName } from '../algorithms/index.js';

/**
 * What the balancer balances: `http` proxies each HTTP request (layer 7,
 * HAProxy `mode http`); `tcp` relays whole TCP connections without reading
 * them (layer 4, HAProxy `mode tcp`, nginx `stream`).
 */
export type BalancerMode = 'http' | 'tcp';

/** The `--mode` values, in the order `--help` lists them. */
export const BALANCER_MODES: readonly BalancerMode[] = ['http', 'tcp'];

/**
 * The algorithms that work on a connection with nothing but its addresses,
 * in the order of `ALGORITHMS`: those whose registry entry is `l4`
 * (`AlgorithmTraits.l4` in algorithms/index.ts says why).
 */
export const TCP_ALGORITHMS: readonly AlgorithmName[] = algorithmsWith((t) => t.l4);

/** Whether `algo` can balance TCP connections (see {@link TCP_ALGORITHMS}); false for a name lblab does not know. */
export function isTcpAlgorithm(algo: string): boolean {
  return isAlgorithmName(algo) && isL4(algo);
}

/**
 * One line for `--help` and the report: why round robin over connections
 * does not spread requests evenly.
 */
export const KEEP_ALIVE_NOTE =
  'L4 balances connections, not requests: a keep-alive connection stays on the backend it was given for its whole life, so requests split by connections, not evenly (e.g. 2 connections over 3 backends: one backend gets nothing).';

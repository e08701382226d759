import { ConsistentHash } from './consistent-hash.js';
import { IpHash } from './ip-hash.js';
import { LeastConnections } from './least-connections.js';
import { LeastReportedLoad } from './least-reported-load.js';
import { LeastResponseTime } from './least-response-time.js';
import { Maglev } from './maglev.js';
import { PeakEwma } from './peak-ewma.js';
import type { Picker } from './picker.js';
import { PowerOfTwoChoices } from './power-of-two-choices.js';
import { RandomPicker } from './random.js';
import { RoundRobin } from './round-robin.js';
import { SmoothWeightedRoundRobin } from './smooth-weighted-round-robin.js';
import { WeightedLeastConnections } from './weighted-least-connections.js';

/** The `--algo` names lblab knows (SPEC "Names of the algorithms"). */
export const ALGORITHMS = [
  'round-robin',
  'weighted',
  'least-conn',
  'weighted-least-conn',
  'random',
  'p2c',
  'ip-hash',
  'consistent-hash',
  'maglev',
  'least-response-time',
  'peak-ewma',
  'resource',
] as const;

/** One of {@link ALGORITHMS}. */
export type AlgorithmName = (typeof ALGORITHMS)[number];

/**
 * How each algorithm is built and whether it honours weights (which decides
 * the expected share). The hash algorithms honour weights in how they spread
 * keys, so their share follows the weights only when the keys are many and
 * spread (one client IP is one backend). `peak-ewma` (Finagle, linkerd2) and
 * `resource` ignore weights, as their sources do; `least-conn` ignores them
 * by definition (`weighted-least-conn` is the weighted one).
 */
const REGISTRY: Record<AlgorithmName, { create: () => Picker; usesWeights: boolean; usesHashKey: boolean; summary: string }> = {
  'round-robin': { create: () => new RoundRobin(), usesWeights: false, usesHashKey: false, summary: 'each backend in turn' },
  weighted: { create: () => new SmoothWeightedRoundRobin(), usesWeights: true, usesHashKey: false, summary: 'smooth weighted round robin (nginx)' },
  'least-conn': { create: () => new LeastConnections(), usesWeights: false, usesHashKey: false, summary: 'fewest in-flight, ties round robin' },
  'weighted-least-conn': {
    create: () => new WeightedLeastConnections(),
    usesWeights: true,
    usesHashKey: false,
    summary: 'lowest in-flight ÷ weight, ties smooth weighted round robin (nginx least_conn)',
  },
  random: { create: () => new RandomPicker(), usesWeights: true, usesHashKey: false, summary: 'random, weighted when weights differ' },
  p2c: {
    create: () => new PowerOfTwoChoices(),
    usesWeights: true,
    usesHashKey: false,
    summary: 'two weighted random draws, lower in-flight ÷ weight wins (HAProxy random(2), Envoy LEAST_REQUEST)',
  },
  'ip-hash': {
    create: () => new IpHash(),
    usesWeights: true,
    usesHashKey: false,
    summary: "hash of the client's /24 (nginx ip_hash): all of 127.0.0.0/24 lands on one backend",
  },
  'consistent-hash': {
    create: () => new ConsistentHash(),
    usesWeights: true,
    usesHashKey: true,
    summary: 'ketama ring of 160 points per weight on --hash-key (nginx hash … consistent)',
  },
  maglev: {
    create: () => new Maglev(),
    usesWeights: true,
    usesHashKey: true,
    summary: 'Maglev lookup table of 65537 entries on --hash-key (Envoy MAGLEV)',
  },
  'least-response-time': {
    create: () => new LeastResponseTime(),
    usesWeights: true,
    usesHashKey: false,
    summary: 'lowest average response time × (in-flight + 1) ÷ weight (nginx least_time)',
  },
  'peak-ewma': {
    create: () => new PeakEwma(),
    usesWeights: false,
    usesHashKey: false,
    summary: 'lower peak-EWMA latency × (in-flight + 1) of two random backends (Finagle, linkerd2)',
  },
  resource: {
    create: () => new LeastReportedLoad(),
    usesWeights: false,
    usesHashKey: false,
    summary: 'lowest load reported by /health, as fresh as the last check (HAProxy agent-check idea)',
  },
};

/** The algorithms whose share follows the weights. */
export const WEIGHTED_ALGORITHMS: readonly AlgorithmName[] = ALGORITHMS.filter((a) => REGISTRY[a].usesWeights);

/** The algorithms that pick by `ctx.hashKey` (chosen with `--hash-key`); the others ignore it. */
export const HASH_KEY_ALGORITHMS: readonly AlgorithmName[] = ALGORITHMS.filter((a) => REGISTRY[a].usesHashKey);

/** Whether the algorithm picks by the request's hash key (`--hash-key`). */
export function usesHashKey(name: AlgorithmName): boolean {
  return REGISTRY[name].usesHashKey;
}

/** Whether `name` is a known algorithm. */
export function isAlgorithmName(name: string): name is AlgorithmName {
  return (ALGORITHMS as readonly string[]).includes(name);
}

/** A fresh picker for `name`. */
export function createPicker(name: AlgorithmName): Picker {
  return REGISTRY[name].create();
}

/** Whether the algorithm's share follows the weights (else every backend expects an equal share). */
export function usesWeights(name: AlgorithmName): boolean {
  return REGISTRY[name].usesWeights;
}

/** One-line description of an algorithm, for `--help`. */
export function describeAlgorithm(name: AlgorithmName): string {
  return REGISTRY[name].summary;
}

/** The `--help` section listing every algorithm with its one-line description. */
export function algorithmsHelp(): string {
  const width = Math.max(...ALGORITHMS.map((a) => a.length));
  return `Algorithms (--algo):\n${ALGORITHMS.map((a) => `  ${a.padEnd(width)}  ${describeAlgorithm(a)}`).join('\n')}`;
}

/**
 * The share (0..1) of requests each backend should get under `name` when all
 * are healthy: weight ÷ total weight for weighted algorithms, 1/n otherwise.
 */
export function expectedShares(name: AlgorithmName, weights: readonly number[]): number[] {
  if (!usesWeights(name)) return weights.map(() => 1 / weights.length);
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}

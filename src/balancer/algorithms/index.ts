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
 * What an algorithm is, besides how it picks: the traits every other module
 * asks about (CLI checks, the TCP front end, slow start, the comparison
 * notes, the dashboard's load column) so that adding an algorithm is one
 * file plus one entry here.
 */
export type AlgorithmTraits = {
  /** A fresh picker; an algorithm never does I/O. */
  create: () => Picker;
  /**
   * Whether the share follows the weights (which decides the expected
   * share). The hashes honour weights in how they spread keys, so their
   * share follows the weights only when the keys are many and spread (one
   * client IP is one backend). `peak-ewma` (Finagle, linkerd2) and
   * `resource` ignore weights, as their sources do; `least-conn` ignores them
   * by definition (`weighted-least-conn` is the weighted one).
   */
  usesWeights: boolean;
  /** Whether it picks by `ctx.hashKey` (chosen with `--hash-key`); the others ignore it. */
  usesHashKey: boolean;
  /**
   * Whether it works on a TCP connection with nothing but its addresses
   * (`--mode tcp`): the ones nginx's `stream` module and HAProxy `mode tcp`
   * offer. Least connections counts open connections; the hashes key on the
   * client's source address. Those that learn from responses (response
   * time) or read a report need HTTP.
   */
  l4: boolean;
  /**
   * Whether it hashes onto whole weights (rings, tables, ip_hash's walk), so
   * a fractional weight means nothing to it: slow start does not apply, as
   * in nginx.
   */
  hashesWeights: boolean;
  /** Whether it steers by what it measures (in-flight, latency, reported load) rather than by a fixed share. */
  adaptive: boolean;
  /** Whether it picks by the load each backend reports on `/health`, so the dashboard shows that load. */
  reportsLoad: boolean;
  /** The weights of `n` backends when none are given: whole numbers, one per backend. */
  defaultWeights: (n: number) => number[];
  /** One line for `--help`. */
  summary: string;
};

/** Every backend weighs 1: the default for every algorithm but `weighted`. */
function equalWeights(n: number): number[] {
  return Array.from({ length: n }, () => 1);
}

/** n, n−1, …, 1: `weighted` with no `--weights` shows uneven shares at once instead of looking like round robin. */
function descendingWeights(n: number): number[] {
  return Array.from({ length: n }, (_, i) => n - i);
}

/** The traits most algorithms share; an entry spells out only where it differs. */
const PLAIN = { usesWeights: false, usesHashKey: false, l4: false, hashesWeights: false, adaptive: false, reportsLoad: false, defaultWeights: equalWeights } as const;

/** The one table of algorithms: every trait any module asks about is read from here. */
const REGISTRY: Record<AlgorithmName, AlgorithmTraits> = {
  'round-robin': { ...PLAIN, create: () => new RoundRobin(), l4: true, summary: 'each backend in turn' },
  weighted: { ...PLAIN, create: () => new SmoothWeightedRoundRobin(), usesWeights: true, defaultWeights: descendingWeights, summary: 'smooth weighted round robin (nginx)' },
  'least-conn': { ...PLAIN, create: () => new LeastConnections(), l4: true, adaptive: true, summary: 'fewest in-flight, ties round robin' },
  'weighted-least-conn': {
    ...PLAIN,
    create: () => new WeightedLeastConnections(),
    usesWeights: true,
    adaptive: true,
    summary: 'lowest in-flight ÷ weight, ties smooth weighted round robin (nginx least_conn)',
  },
  random: { ...PLAIN, create: () => new RandomPicker(), usesWeights: true, l4: true, summary: 'random, weighted when weights differ' },
  p2c: {
    ...PLAIN,
    create: () => new PowerOfTwoChoices(),
    usesWeights: true,
    adaptive: true,
    summary: 'two weighted random draws, lower in-flight ÷ weight wins (HAProxy random(2), Envoy LEAST_REQUEST)',
  },
  'ip-hash': {
    ...PLAIN,
    create: () => new IpHash(),
    usesWeights: true,
    l4: true,
    hashesWeights: true,
    summary: "hash of the client's /24 (nginx ip_hash): all of 127.0.0.0/24 lands on one backend",
  },
  'consistent-hash': {
    ...PLAIN,
    create: () => new ConsistentHash(),
    usesWeights: true,
    usesHashKey: true,
    l4: true,
    hashesWeights: true,
    summary: 'ketama ring of 160 points per weight on --hash-key (nginx hash … consistent)',
  },
  maglev: {
    ...PLAIN,
    create: () => new Maglev(),
    usesWeights: true,
    usesHashKey: true,
    hashesWeights: true,
    summary: 'Maglev lookup table of 65537 entries on --hash-key (Envoy MAGLEV)',
  },
  'least-response-time': {
    ...PLAIN,
    create: () => new LeastResponseTime(),
    usesWeights: true,
    adaptive: true,
    summary: 'lowest average response time × (in-flight + 1) ÷ weight (nginx least_time)',
  },
  'peak-ewma': {
    ...PLAIN,
    create: () => new PeakEwma(),
    adaptive: true,
    summary: 'lower peak-EWMA latency × (in-flight + 1) of two random backends (Finagle, linkerd2)',
  },
  resource: {
    ...PLAIN,
    create: () => new LeastReportedLoad(),
    adaptive: true,
    reportsLoad: true,
    summary: 'lowest load reported by /health, as fresh as the last check (HAProxy agent-check idea)',
  },
};

/** The algorithms whose share follows the weights. */
export const WEIGHTED_ALGORITHMS: readonly AlgorithmName[] = algorithmsWith((t) => t.usesWeights);

/** The algorithms that pick by `ctx.hashKey` (chosen with `--hash-key`); the others ignore it. */
export const HASH_KEY_ALGORITHMS: readonly AlgorithmName[] = algorithmsWith((t) => t.usesHashKey);

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

/** Whether the algorithm can balance TCP connections (`--mode tcp`); see {@link AlgorithmTraits.l4}. */
export function isL4(name: AlgorithmName): boolean {
  return REGISTRY[name].l4;
}

/** Whether the algorithm hashes onto whole weights, so slow start does not apply to it (nginx); see {@link AlgorithmTraits.hashesWeights}. */
export function hashesWeights(name: AlgorithmName): boolean {
  return REGISTRY[name].hashesWeights;
}

/** Whether the algorithm steers by what it measures, so its share may leave the expected one on purpose. */
export function isAdaptive(name: AlgorithmName): boolean {
  return REGISTRY[name].adaptive;
}

/** Whether the algorithm picks by the load backends report on `/health` (the dashboard then shows it). */
export function reportsLoad(name: AlgorithmName): boolean {
  return REGISTRY[name].reportsLoad;
}

/** The weights of `n` backends when none are given: n..1 for `weighted`, all 1 otherwise. */
export function defaultWeights(name: AlgorithmName, n: number): number[] {
  return REGISTRY[name].defaultWeights(n);
}

/** The algorithms for which `trait` holds, in the order of {@link ALGORITHMS}. */
export function algorithmsWith(trait: (traits: AlgorithmTraits) => boolean): AlgorithmName[] {
  return ALGORITHMS.filter((a) => trait(REGISTRY[a]));
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

import { describe, expect, it } from 'vitest';
import { ALGORITHMS, defaultWeights, hashesWeights, isAdaptive, reportsLoad } from '../../src/balancer/algorithms/index.js';
import { HASHING_ALGORITHMS } from '../../src/balancer/balancer.js';
import { isTcpAlgorithm, TCP_ALGORITHMS } from '../../src/balancer/tcp/tcp-mode.js';

describe('algorithm traits from the registry', () => {
  it('derives the L4 algorithms, in the order --help lists them', () => {
    expect(TCP_ALGORITHMS).toEqual(['round-robin', 'least-conn', 'random', 'ip-hash', 'consistent-hash']);
    expect(isTcpAlgorithm('maglev')).toBe(false);
    expect(isTcpAlgorithm('no-such-algo')).toBe(false);
  });

  it('derives the algorithms that hash onto whole weights (no slow start)', () => {
    expect([...HASHING_ALGORITHMS]).toEqual(['ip-hash', 'consistent-hash', 'maglev']);
    expect(ALGORITHMS.filter(hashesWeights)).toEqual(['ip-hash', 'consistent-hash', 'maglev']);
  });

  it('marks the adaptive algorithms and the one that reads reported load', () => {
    expect(ALGORITHMS.filter(isAdaptive)).toEqual(['least-conn', 'weighted-least-conn', 'p2c', 'least-response-time', 'peak-ewma', 'resource']);
    expect(ALGORITHMS.filter(reportsLoad)).toEqual(['resource']);
  });

  it('gives weighted n..1 and every other algorithm all 1 by default', () => {
    expect(defaultWeights('weighted', 3)).toEqual([3, 2, 1]);
    expect(defaultWeights('round-robin', 3)).toEqual([1, 1, 1]);
    expect(defaultWeights('maglev', 0)).toEqual([]);
  });
});

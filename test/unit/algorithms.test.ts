import { describe, expect, it } from 'vitest';
import { createPicker, expectedShares } from '../../src/balancer/algorithms/index.js';
import { LeastConnections } from '../../src/balancer/algorithms/least-connections.js';
import type { PickableBackend, PickContext, Picker } from '../../src/balancer/algorithms/picker.js';
import { RandomPicker } from '../../src/balancer/algorithms/random.js';
import { RoundRobin } from '../../src/balancer/algorithms/round-robin.js';
import { SmoothWeightedRoundRobin } from '../../src/balancer/algorithms/smooth-weighted-round-robin.js';

type B = { index: number; name: string; origin: string; weight: number; inFlight: number; usable: boolean; reportedLoad: number | undefined };

function backends(weights: number[]): B[] {
  return weights.map((weight, index) => ({ index, name: String.fromCharCode(97 + index), origin: `http://127.0.0.1:${8001 + index}`, weight, inFlight: 0, usable: true, reportedLoad: undefined }));
}

const ctx: PickContext = { clientIp: '127.0.0.1', exclude: undefined };

function picks(picker: Picker, bs: readonly PickableBackend[], n: number, c: PickContext = ctx): string {
  let out = '';
  for (let i = 0; i < n; i++) out += picker.pick(bs, c)?.name ?? '-';
  return out;
}

describe('smooth weighted round robin (nginx)', () => {
  it('weights 5,1,1 pick a a b a c a a, and repeat', () => {
    expect(picks(new SmoothWeightedRoundRobin(), backends([5, 1, 1]), 14)).toBe('aabacaa' + 'aabacaa');
  });

  it('weights 3,2,1 interleave instead of sending blocks', () => {
    const seq = picks(new SmoothWeightedRoundRobin(), backends([3, 2, 1]), 6);
    expect(seq).toBe('abacba');
    expect(seq).not.toContain('aaa');
  });

  it('skips a DOWN backend and keeps the others in proportion', () => {
    const bs = backends([2, 1, 1]);
    bs[0]!.usable = false;
    expect(picks(new SmoothWeightedRoundRobin(), bs, 6)).toBe('bcbcbc');
  });

  it('returns undefined when nothing is usable, and honours the retry exclusion', () => {
    const bs = backends([1, 1]);
    const p = new SmoothWeightedRoundRobin();
    expect(p.pick(bs, { clientIp: '', exclude: new Set([bs[0]!]) })?.name).toBe('b');
    bs.forEach((b) => (b.usable = false));
    expect(p.pick(bs, ctx)).toBeUndefined();
  });
});

describe('round robin', () => {
  it('takes each backend in turn, weights ignored', () => {
    expect(picks(new RoundRobin(), backends([5, 1, 1]), 7)).toBe('abcabca');
  });

  it('skips DOWN backends without disturbing the order of the rest', () => {
    const bs = backends([1, 1, 1]);
    const p = new RoundRobin();
    expect(picks(p, bs, 2)).toBe('ab');
    bs[2]!.usable = false;
    expect(picks(p, bs, 4)).toBe('abab');
    bs[2]!.usable = true;
    expect(picks(p, bs, 3)).toBe('cab');
  });
});

describe('least connections', () => {
  it('picks the backend with the fewest in-flight requests', () => {
    const bs = backends([1, 1, 1]);
    bs[0]!.inFlight = 4;
    bs[1]!.inFlight = 1;
    bs[2]!.inFlight = 3;
    expect(new LeastConnections().pick(bs, ctx)?.name).toBe('b');
  });

  it('rotates ties round robin', () => {
    const bs = backends([1, 1, 1]);
    expect(picks(new LeastConnections(), bs, 6)).toBe('abcabc');
  });

  it('balances in-flight when requests stay open', () => {
    const bs = backends([1, 1, 1]);
    const p = new LeastConnections();
    for (let i = 0; i < 9; i++) (p.pick(bs, ctx) as B).inFlight++;
    expect(bs.map((b) => b.inFlight)).toEqual([3, 3, 3]);
    bs[1]!.inFlight = 0;
    expect(p.pick(bs, ctx)?.name).toBe('b');
  });

  it('never picks a DOWN backend even when it is idle', () => {
    const bs = backends([1, 1]);
    bs[0]!.usable = false;
    bs[1]!.inFlight = 50;
    expect(new LeastConnections().pick(bs, ctx)?.name).toBe('b');
  });
});

describe('random', () => {
  it('draws in proportion to weight', () => {
    // A deterministic, evenly spread stream of "random" numbers.
    let i = 0;
    const n = 6000;
    const p = new RandomPicker(() => ((i++ * 0.6180339887) % 1));
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    const bs = backends([3, 2, 1]);
    for (let k = 0; k < n; k++) counts[p.pick(bs, ctx)!.name]!++;
    expect(counts.a! / n).toBeCloseTo(0.5, 1);
    expect(counts.b! / n).toBeCloseTo(1 / 3, 1);
    expect(counts.c! / n).toBeCloseTo(1 / 6, 1);
  });

  it('with Math.random, equal weights come out near uniform', () => {
    const p = createPicker('random');
    const bs = backends([1, 1, 1, 1]);
    const counts = [0, 0, 0, 0];
    for (let k = 0; k < 20_000; k++) counts[p.pick(bs, ctx)!.index]!++;
    // 20k draws: the standard deviation of a share is ~0.3 points; 2 points is > 6 sigma.
    for (const c of counts) expect(Math.abs(c / 20_000 - 0.25)).toBeLessThan(0.02);
  });

  it('never draws a DOWN backend', () => {
    const bs = backends([1, 1, 1]);
    bs[1]!.usable = false;
    expect(picks(new RandomPicker(), bs, 200)).not.toContain('b');
  });
});

describe('expected shares', () => {
  it('follow weights for weighted algorithms and are equal otherwise', () => {
    expect(expectedShares('weighted', [3, 2, 1])).toEqual([0.5, 2 / 6, 1 / 6]);
    expect(expectedShares('round-robin', [3, 2, 1])).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expect(expectedShares('least-conn', [1, 1])).toEqual([0.5, 0.5]);
  });
});

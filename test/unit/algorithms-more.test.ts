import { describe, expect, it } from 'vitest';
import type { PickableBackend, PickContext, Picker } from '../../src/balancer/algorithms/picker.js';
import { PowerOfTwoChoices } from '../../src/balancer/algorithms/power-of-two-choices.js';
import { SmoothWeightedRoundRobin } from '../../src/balancer/algorithms/smooth-weighted-round-robin.js';
import { WeightedLeastConnections } from '../../src/balancer/algorithms/weighted-least-connections.js';

type B = { index: number; name: string; origin: string; weight: number; inFlight: number; usable: boolean; reportedLoad: number | undefined };

/** Backends a, b, c… on 127.0.0.1:8001, 8002… with the given weights. */
function backends(weights: number[]): B[] {
  return weights.map((weight, index) => ({
    index,
    name: String.fromCharCode(97 + index),
    origin: `http://127.0.0.1:${8001 + index}`,
    weight,
    inFlight: 0,
    usable: true,
    reportedLoad: undefined,
  }));
}

const ctx: PickContext = { clientIp: '127.0.0.1', exclude: undefined };

function picks(picker: Picker, bs: readonly PickableBackend[], n: number, c: PickContext = ctx): string {
  let out = '';
  for (let i = 0; i < n; i++) out += picker.pick(bs, c)?.name ?? '-';
  return out;
}

/** A seeded PRNG (mulberry32) so "random" tests are the same on every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A "random" source that returns the given values in turn, then repeats them. */
function scripted(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

/** For n equal-weight candidates, the draw value that lands on candidate k. */
const at = (k: number, n: number) => (k + 0.5) / n;


describe('weighted least connections (nginx least_conn with weights)', () => {
  it('picks the lowest in-flight ÷ weight', () => {
    const bs = backends([3, 1, 1]);
    bs[0]!.inFlight = 5; // 5/3 ≈ 1.67
    bs[1]!.inFlight = 2; // 2
    bs[2]!.inFlight = 2; // 2
    expect(new WeightedLeastConnections().pick(bs, ctx)?.name).toBe('a');
    bs[0]!.inFlight = 7; // 7/3 ≈ 2.33
    expect(new WeightedLeastConnections().pick(bs, ctx)?.name).toBe('b');
  });

  it('compares ratios by cross-multiplying, so 3/9 and 1/3 are a tie', () => {
    const bs = backends([9, 3]);
    bs[0]!.inFlight = 3;
    bs[1]!.inFlight = 1;
    // Tied: smooth WRR among both, the weight-9 backend first, then 9:3.
    expect(picks(new WeightedLeastConnections(), bs, 8)).toBe(picks(new SmoothWeightedRoundRobin(), bs, 8));
  });

  it('breaks ties with smooth weighted round robin: idle weights 5,1,1 pick a a b a c a a', () => {
    expect(picks(new WeightedLeastConnections(), backends([5, 1, 1]), 14)).toBe('aabacaa' + 'aabacaa');
  });

  it('runs the tie-break over the tied backends only', () => {
    const bs = backends([2, 1, 1]);
    bs[1]!.inFlight = 1; // b is not tied with the idle a and c
    // SWRR over a (2) and c (1) alone: a c a, a c a…
    expect(picks(new WeightedLeastConnections(), bs, 6)).toBe('acaaca');
  });

  it('fills backends in proportion to weight when requests stay open', () => {
    const bs = backends([3, 2, 1]);
    const p = new WeightedLeastConnections();
    for (let i = 0; i < 60; i++) (p.pick(bs, ctx) as B).inFlight++;
    expect(bs.map((b) => b.inFlight)).toEqual([30, 20, 10]);
  });
});

describe('power of two choices (Envoy LEAST_REQUEST, HAProxy random(2))', () => {
  it('never keeps the busier of the two draws; the first draw wins ties', () => {
    const bs = backends([1, 1, 1, 1]);
    bs.forEach((b, i) => (b.inFlight = [3, 1, 2, 1][i]!));
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        const got = new PowerOfTwoChoices(scripted(at(i, 4), at(j, 4))).pick(bs, ctx)!;
        const expected = bs[j]!.inFlight < bs[i]!.inFlight ? bs[j]! : bs[i]!;
        expect(got.name, `draws ${bs[i]!.name}, ${bs[j]!.name}`).toBe(expected.name);
      }
    }
  });

  it('draws with replacement: both draws on one backend pick it', () => {
    const bs = backends([1, 1]);
    bs[0]!.inFlight = 9;
    expect(new PowerOfTwoChoices(scripted(at(0, 2), at(0, 2))).pick(bs, ctx)?.name).toBe('a');
  });

  it('gives a busy backend only the share where both draws hit it, (1/n)²', () => {
    const bs = backends([1, 1, 1, 1]);
    bs[1]!.inFlight = 5;
    const p = new PowerOfTwoChoices(seeded(42));
    const n = 40_000;
    const counts = [0, 0, 0, 0];
    for (let k = 0; k < n; k++) counts[p.pick(bs, ctx)!.index]!++;
    // 40k picks: the standard deviation of the busy share (1/16) is ~0.12 points.
    expect(Math.abs(counts[1]! / n - 1 / 16)).toBeLessThan(0.01);
    for (const i of [0, 2, 3]) expect(Math.abs(counts[i]! / n - 5 / 16)).toBeLessThan(0.015);
  });

  it('draws in proportion to weight', () => {
    const bs = backends([3, 1]);
    const p = new PowerOfTwoChoices(seeded(7));
    const n = 20_000;
    let a = 0;
    for (let k = 0; k < n; k++) if (p.pick(bs, ctx)!.name === 'a') a++;
    // All idle, so the first draw always wins: a's share is its weight share.
    expect(Math.abs(a / n - 0.75)).toBeLessThan(0.02);
  });

  it('draws only among candidates', () => {
    const bs = backends([1, 1, 1]);
    bs[0]!.usable = false;
    bs[2]!.inFlight = 4;
    // Two candidates b, c: a draw value of 0.99 lands on c, 0 on b.
    expect(new PowerOfTwoChoices(scripted(0.99, 0)).pick(bs, ctx)?.name).toBe('b');
    expect(picks(new PowerOfTwoChoices(seeded(1)), bs, 300, { clientIp: '', exclude: new Set([1]) })).toBe('c'.repeat(300));
  });
});

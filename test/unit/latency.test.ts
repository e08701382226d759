import { describe, expect, it } from 'vitest';
import { formatLatency, lognormalParameters, sampleLatencyMs } from '../../src/backend/latency.js';
import { parseLatency, type LatencyProfile } from '../../src/scenario/latency-profile.js';
import { UsageError } from '../../src/errors.js';

/** A seeded uniform [0, 1) source (mulberry32), so the statistics below are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function draw(profile: LatencyProfile, n = 20_000, seed = 42): number[] {
  const random = seeded(seed);
  return Array.from({ length: n }, () => sampleLatencyMs(profile, random));
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function sd(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

describe('parseLatency', () => {
  it('keeps the short forms: 20ms fixed, 10ms-30ms uniform', () => {
    expect(parseLatency('--latency', '20ms')).toEqual({ kind: 'fixed', ms: 20 });
    expect(parseLatency('--latency', '10ms-30ms')).toEqual({ kind: 'uniform', minMs: 10, maxMs: 30 });
    expect(parseLatency('--latency', '0ms')).toEqual({ kind: 'fixed', ms: 0 });
  });

  it('reads the explicit forms', () => {
    expect(parseLatency('--latency', 'fixed:20ms')).toEqual({ kind: 'fixed', ms: 20 });
    expect(parseLatency('--latency', 'uniform:10ms:30ms')).toEqual({ kind: 'uniform', minMs: 10, maxMs: 30 });
    expect(parseLatency('--latency', 'normal:50ms:10ms')).toEqual({ kind: 'normal', meanMs: 50, sdMs: 10 });
    expect(parseLatency('--latency', 'lognormal:50ms:20ms')).toEqual({ kind: 'lognormal', meanMs: 50, sdMs: 20 });
    expect(parseLatency('--latency', 'normal:1s:0ms')).toEqual({ kind: 'normal', meanMs: 1000, sdMs: 0 });
    expect(parseLatency('--latency', 'LogNormal:50ms:20ms')).toEqual({ kind: 'lognormal', meanMs: 50, sdMs: 20 });
  });

  it('refuses bad values with a UsageError naming --latency', () => {
    const bad: Array<[string, RegExp]> = [
      ['gauss:5ms:1ms', /kind to be one of fixed, uniform, normal, lognormal, got "gauss"/],
      ['normal:50ms', /to read normal:MEAN:SD/],
      ['normal:50ms:10ms:1ms', /to read normal:MEAN:SD/],
      ['uniform:30ms:10ms', /low to high/],
      ['uniform:10ms', /to read uniform:10ms:30ms/],
      ['fixed:20ms:30ms', /to read fixed:20ms/],
      ['normal:50:10ms', /duration like 500ms/],
      ['normal:-5ms:1ms', /duration/],
      ['lognormal:0ms:10ms', /log-normal mean to be above 0/],
      ['30ms-10ms', /low to high/],
      ['soon', /to be like 20ms, 10ms-30ms, fixed:20ms/],
      ['', /to be like/],
    ];
    for (const [value, message] of bad) {
      let caught: unknown;
      try {
        parseLatency('--latency', value);
      } catch (err) {
        caught = err;
      }
      expect(caught, value).toBeInstanceOf(UsageError);
      expect((caught as Error).message, value).toMatch(/^Expected `--latency`/);
      expect((caught as Error).message, value).toMatch(message);
    }
  });
});

describe('formatLatency', () => {
  it('writes every kind back in a form parseLatency reads to the same profile (how it reaches a forked backend)', () => {
    const profiles: LatencyProfile[] = [
      { kind: 'fixed', ms: 20 },
      { kind: 'fixed', ms: 1e-7 },
      { kind: 'uniform', minMs: 10, maxMs: 30.5 },
      { kind: 'normal', meanMs: 50, sdMs: 10 },
      { kind: 'lognormal', meanMs: 50, sdMs: 20 },
    ];
    for (const p of profiles) expect(parseLatency('--latency', formatLatency(p))).toEqual(p);
    expect(formatLatency({ kind: 'normal', meanMs: 50, sdMs: 10 })).toBe('normal:50ms:10ms');
    expect(formatLatency({ kind: 'lognormal', meanMs: 50, sdMs: 20 })).toBe('lognormal:50ms:20ms');
    expect(formatLatency({ kind: 'uniform', minMs: 10, maxMs: 30 })).toBe('10ms-30ms');
    expect(formatLatency({ kind: 'fixed', ms: 1e-7 })).toBe('0.0000001ms');
  });
});

describe('sampleLatencyMs', () => {
  it('fixed and uniform', () => {
    expect(sampleLatencyMs({ kind: 'fixed', ms: 20 })).toBe(20);
    const xs = draw({ kind: 'uniform', minMs: 10, maxMs: 30 });
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...xs)).toBeLessThanOrEqual(30);
    expect(mean(xs)).toBeCloseTo(20, 0);
  });

  it('normal: mean and SD of 20k draws within 3%', () => {
    const xs = draw({ kind: 'normal', meanMs: 50, sdMs: 10 });
    expect(Math.abs(mean(xs) - 50) / 50).toBeLessThan(0.03);
    expect(Math.abs(sd(xs) - 10) / 10).toBeLessThan(0.03);
    expect(Math.abs(median(xs) - 50) / 50).toBeLessThan(0.03);
  });

  it('normal is truncated at 0: no negative draw, even when the mean sits at 0', () => {
    const xs = draw({ kind: 'normal', meanMs: 0, sdMs: 10 });
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    // A half-normal: mean σ·√(2/π) ≈ 7.98
    expect(Math.abs(mean(xs) - 10 * Math.sqrt(2 / Math.PI)) / 7.98).toBeLessThan(0.03);
  });

  it('lognormal: the mean and SD given are those of the latency; the median is e^μ, below the mean', () => {
    const profile: LatencyProfile = { kind: 'lognormal', meanMs: 50, sdMs: 20 };
    const xs = draw(profile);
    expect(Math.min(...xs)).toBeGreaterThan(0);
    expect(Math.abs(mean(xs) - 50) / 50).toBeLessThan(0.03);
    expect(Math.abs(sd(xs) - 20) / 20).toBeLessThan(0.05);
    const { mu, sigma } = lognormalParameters(50, 20);
    expect(sigma ** 2).toBeCloseTo(Math.log(1 + 400 / 2500), 12);
    const expectedMedian = Math.exp(mu);
    expect(expectedMedian).toBeCloseTo(50 / Math.sqrt(1 + 400 / 2500), 9);
    expect(Math.abs(median(xs) - expectedMedian) / expectedMedian).toBeLessThan(0.03);
    expect(median(xs)).toBeLessThan(mean(xs));
  });

  it('a zero SD gives the mean every time', () => {
    expect(new Set(draw({ kind: 'normal', meanMs: 30, sdMs: 0 }, 100))).toEqual(new Set([30]));
    for (const x of draw({ kind: 'lognormal', meanMs: 30, sdMs: 0 }, 100)) expect(x).toBeCloseTo(30, 9);
  });
});

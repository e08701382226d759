import type { LatencyProfile } from '../scenario/latency-profile.js';

/** Redraws of a negative normal value before giving up and answering 0 (mean ≥ 0, so each draw is ≥ 0 with p ≥ ½). */
const MAX_REDRAWS = 64;

/**
 * Draws one service time (ms) from a latency profile: `fixed` returns its
 * value, `uniform` a value evenly spread between its bounds, `normal` a
 * normal value redrawn while negative (truncated at 0), `lognormal` a value
 * whose distribution has the profile's mean and SD. Normal values come from
 * the Box–Muller transform of two draws of `random` (uniform on [0, 1)).
 */
export function sampleLatencyMs(profile: LatencyProfile, random: () => number = Math.random): number {
  switch (profile.kind) {
    case 'fixed':
      return profile.ms;
    case 'uniform':
      return profile.minMs + (profile.maxMs - profile.minMs) * random();
    case 'normal':
      for (let i = 0; i < MAX_REDRAWS; i++) {
        const v = profile.meanMs + profile.sdMs * standardNormal(random);
        if (v >= 0) return v;
      }
      return 0;
    case 'lognormal': {
      const { mu, sigma } = lognormalParameters(profile.meanMs, profile.sdMs);
      return Math.exp(mu + sigma * standardNormal(random));
    }
  }
}

/**
 * The parameters μ and σ of the underlying normal of a log-normal whose own
 * mean is `meanMs` (> 0) and standard deviation `sdMs`: σ² = ln(1 + sd²/mean²),
 * μ = ln(mean) − σ²/2. Its median is e^μ.
 */
export function lognormalParameters(meanMs: number, sdMs: number): { mu: number; sigma: number } {
  const variance = Math.log(1 + (sdMs * sdMs) / (meanMs * meanMs));
  return { mu: Math.log(meanMs) - variance / 2, sigma: Math.sqrt(variance) };
}

/** One standard normal value by Box–Muller; `1 - random()` keeps the logarithm's argument in (0, 1]. */
function standardNormal(random: () => number): number {
  const u1 = 1 - random();
  const u2 = random();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * Writes a profile back the way the user types it, so that `parseLatency`
 * reads it again (this is how the profile reaches a forked backend):
 * `20ms`, `10ms-30ms`, `normal:50ms:10ms`, `lognormal:50ms:20ms`.
 */
export function formatLatency(profile: LatencyProfile): string {
  switch (profile.kind) {
    case 'fixed':
      return ms(profile.ms);
    case 'uniform':
      return `${ms(profile.minMs)}-${ms(profile.maxMs)}`;
    case 'normal':
    case 'lognormal':
      return `${profile.kind}:${ms(profile.meanMs)}:${ms(profile.sdMs)}`;
  }
}

/** `n` ms in plain decimal notation: the `ms` library that reads it back knows no exponents (1e-7). */
function ms(n: number): string {
  const plain = String(n).includes('e') ? n.toFixed(20).replace(/\.?0+$/, '') : String(n);
  return `${plain}ms`;
}

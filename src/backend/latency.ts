import type { LatencyProfile } from '../cli/parse.js';

/**
 * Draws one service time (ms) from a latency profile: `fixed` returns its
 * value, `uniform` a value evenly spread between its bounds.
 */
export function sampleLatencyMs(profile: LatencyProfile, random: () => number = Math.random): number {
  return profile.kind === 'fixed' ? profile.ms : profile.minMs + (profile.maxMs - profile.minMs) * random();
}

/** Writes a profile back the way the user types it: `20ms` or `10ms-30ms`. */
export function formatLatency(profile: LatencyProfile): string {
  return profile.kind === 'fixed' ? `${profile.ms}ms` : `${profile.minMs}ms-${profile.maxMs}ms`;
}

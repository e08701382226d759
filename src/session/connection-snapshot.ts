import type { UpstreamState } from '../balancer/balancer-thread.js';

/**
 * One backend's connections as the live views show them in tcp mode:
 * `active` open now, `rate` established per second over the last second,
 * `total` since the start, `share` of the connections established since the
 * current period began (0..1), bytes both ways and connect errors.
 */
export type ConnectionSnapshot = {
  active: number;
  rate: number;
  total: number;
  share: number;
  bytesIn: number;
  bytesOut: number;
  connectErrors: number;
};

/** Each backend's total connections now, by name: the baseline a new period counts shares from. */
export function connectionTotals(states: readonly UpstreamState[]): Map<string, number> {
  return new Map(states.map((s) => [s.name, s.connections?.total ?? 0]));
}

/**
 * The connection view of each backend (undefined for an HTTP balancer's
 * states, which carry no connections); shares count from `base` (see
 * {@link connectionTotals}).
 */
export function connectionSnapshots(states: readonly UpstreamState[], base: ReadonlyMap<string, number>): Array<ConnectionSnapshot | undefined> {
  const since = states.map((s) => (s.connections ? s.connections.total - (base.get(s.name) ?? 0) : 0));
  const all = since.reduce((a, b) => a + b, 0);
  return states.map((s, i) => {
    const c = s.connections;
    if (!c) return undefined;
    return { active: c.active, rate: c.rate, total: c.total, share: all > 0 ? since[i]! / all : 0, bytesIn: c.bytesIn, bytesOut: c.bytesOut, connectErrors: c.connectErrors };
  });
}

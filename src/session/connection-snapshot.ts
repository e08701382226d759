import type { UpstreamState } from '../balancer/balancer-thread.js';
import type { ConnectionState } from '../balancer/tcp/tcp-upstream-backend.js';

/**
 * One backend's connections as the live views show them in tcp mode:
 * `active` open now, `rate` established per second over the last second,
 * `total` since the start, `share` of the connections established since the
 * current period began (0..1), bytes both ways and connect errors.
 */
export type ConnectionSnapshot = ConnectionState & { share: number };

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
    return { ...c, share: all > 0 ? since[i]! / all : 0 };
  });
}

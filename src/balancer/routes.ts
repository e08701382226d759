import type { IncomingHttpHeaders } from 'node:http';
import { expectedShares, type AlgorithmName } from './algorithms/index.js';

/**
 * What one route matches on; every condition given must hold. Semantics as
 * in the field: `pathPrefix` is a plain string prefix of the request target
 * (nginx `location /api`, HAProxy `path_beg /api`, Envoy `prefix`) in its
 * normal form (see `normalizeTarget`), so `/api`
 * also matches `/apis`: write `/api/` for the subtree alone; `host` is the
 * `Host` header without its port or a trailing dot, case-insensitive (HAProxy `hdr(host)`),
 * `*.example.com` matching any subdomain; `header` a request header (name
 * lower case) that is present, or equal to `value` when one is given.
 */
export type RouteMatch = {
  pathPrefix?: string;
  host?: string;
  header?: { name: string; value?: string };
};

/**
 * A named pool of backends (an HAProxy `backend` section, an nginx
 * `upstream`): each has its own picker, members and backups. `algo` is its
 * own algorithm; undefined = the balancer's (`--algo`), which the `a` key
 * and `algo` events switch.
 */
export type PoolConfig = { name: string; backends: string[]; algo?: AlgorithmName };

/** One route: requests that match go to `pool` (a {@link PoolConfig} name). */
export type RouteConfig = { match: RouteMatch; pool: string };

/**
 * L7 routing as configured: routes tried in order, first match wins (HAProxy
 * `use_backend` lines); a request matching none goes to `defaultPool`
 * (HAProxy `default_backend`), or gets 404 when there is none. Every
 * backend is in at most one pool.
 */
export type RoutingConfig = { routes: RouteConfig[]; pools: PoolConfig[]; defaultPool?: string };

/** The name of the pool of backends no route names (and of the one pool when nothing is routed). */
export const DEFAULT_POOL = 'default';

/** A match as the user writes it on `--route`: `/api`, `host:static.local`, `header:x-canary=1`; several joined by ` & `. */
export function describeMatch(m: RouteMatch): string {
  const parts: string[] = [];
  if (m.host !== undefined) parts.push(`host:${m.host}`);
  if (m.pathPrefix !== undefined) parts.push(m.pathPrefix);
  if (m.header) parts.push(`header:${m.header.name}${m.header.value !== undefined ? `=${m.header.value}` : ''}`);
  return parts.join(' & ');
}

/** The routes as the run record keeps them: each match in `--route` words with its pool, its backends and the pool's own algorithm; the default pool last, as match `default`. */
export function routesRecord(routing: RoutingConfig): Array<{ match: string; pool: string; backends: string[]; algo?: string }> {
  const pool = (name: string) => routing.pools.find((p) => p.name === name)!;
  const entry = (match: string, name: string) => {
    const p = pool(name);
    return { match, pool: name, backends: [...p.backends], ...(p.algo ? { algo: p.algo } : {}) };
  };
  const out = routing.routes.map((r) => entry(describeMatch(r.match), r.pool));
  if (routing.defaultPool !== undefined) out.push(entry('default', routing.defaultPool));
  return out;
}

/** The `Host` header's name part, lower case, without the port and without a trailing dot (`Static.Local.:80` → `static.local`, `[::1]:80` → `[::1]`). */
function hostName(headers: IncomingHttpHeaders): string {
  const host = headers.host;
  if (!host) return '';
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.indexOf(':');
  const name = (end > 0 ? host.slice(0, end) : host).toLowerCase();
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function hostMatches(pattern: string, host: string): boolean {
  return pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1 : host === pattern;
}

function headerMatches(want: { name: string; value?: string }, headers: IncomingHttpHeaders): boolean {
  const v = headers[want.name];
  if (v === undefined) return false;
  if (want.value === undefined) return true;
  return Array.isArray(v) ? v.includes(want.value) : v === want.value;
}

/** Whether a request with target `url` and `headers` meets every condition of `m`. */
export function routeMatches(m: RouteMatch, url: string, headers: IncomingHttpHeaders): boolean {
  if (m.pathPrefix !== undefined && !url.startsWith(m.pathPrefix)) return false;
  if (m.host !== undefined && !hostMatches(m.host, hostName(headers))) return false;
  if (m.header !== undefined && !headerMatches(m.header, headers)) return false;
  return true;
}

/**
 * Matches requests to targets (the balancer's pools): the first route whose
 * conditions all hold wins, else the fallback (the default pool), else
 * undefined. With no routes it returns the fallback without reading the
 * request, so an unrouted balancer pays nothing.
 */
export class Router<T> {
  constructor(
    private readonly routes: ReadonlyArray<{ match: RouteMatch; target: T }>,
    private readonly fallback: T | undefined,
  ) {}

  /** The target for a request with target `url` (path and query) and `headers`. */
  route(url: string, headers: IncomingHttpHeaders): T | undefined {
    for (const r of this.routes) if (routeMatches(r.match, url, headers)) return r.target;
    return this.fallback;
  }
}

/**
 * The share (0..1) of all requests each backend of `names` should get when
 * requests are routed to pools: within its pool, the pool's algorithm's
 * share over the pool's `member` backends (see `expectedShares`), times the
 * pool's part of the traffic, `traffic[i]` for `pools[i]` (requests, any
 * unit). With no traffic yet every pool counts equally. A backend in no pool
 * or not a member (removed, backup) expects 0. One pool holding every
 * backend gives the plain `expectedShares`.
 */
export function pooledExpectedShares(
  names: readonly string[],
  pools: ReadonlyArray<{ backends: readonly string[]; algo: AlgorithmName }>,
  weightOf: (name: string) => number,
  member: (name: string) => boolean,
  traffic: readonly number[],
): number[] {
  const out = names.map(() => 0);
  const total = traffic.reduce((a, b) => a + b, 0);
  pools.forEach((pool, i) => {
    const members = pool.backends.filter(member);
    if (members.length === 0) return;
    const part = total > 0 ? (traffic[i] ?? 0) / total : 1 / pools.length;
    const shares = expectedShares(pool.algo, members.map(weightOf));
    members.forEach((name, k) => {
      const at = names.indexOf(name);
      if (at >= 0) out[at] = shares[k]! * part;
    });
  });
  return out;
}

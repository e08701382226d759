import { z } from 'zod';
import type { RoutingConfig } from '../balancer/routes.js';
import { FieldError, type FieldNamer } from './field-error.js';
import { parseDuration } from './values.js';

/**
 * How the GSLB tier answers a client (as DNS-based global server load
 * balancing with health checks does): `geo` sends each client to the
 * nearest region (lowest RTT from its own) that has a healthy backend;
 * `weighted` spreads the clients over the healthy regions in proportion to
 * their healthy backends' weights, wherever they are; `failover` sends
 * everyone to the first region listed while it has a healthy backend,
 * else to the next (active/standby sites).
 */
export const GSLB_POLICIES = ['geo', 'weighted', 'failover'] as const;
/** One of {@link GSLB_POLICIES}. */
export type GslbPolicy = (typeof GSLB_POLICIES)[number];

/** Round trip between two clients and servers in one region unless `rtt` says otherwise (ms). */
export const SAME_REGION_RTT_MS = 1;

/** Virtual clients a run with regions has unless `clients` says otherwise: clients are what the GSLB tier places. */
export const DEFAULT_GSLB_CLIENTS = 20;

/** The header a request carries to name the region the GSLB tier sent it to: the balancer routes it to that region's pool. */
export const REGION_HEADER = 'x-lblab-region';

/** Regions as written: `--region us=b1,b2` (repeatable), or a mapping of names to backend lists. */
export type RegionsInput = readonly string[] | Readonly<Record<string, readonly string[]>>;
/** The round-trip matrix as written: `--rtt us-eu=80ms` (repeatable), or a mapping of `a-b` to durations. */
export type RttInput = readonly string[] | Readonly<Record<string, string>>;
/** Clients per region as written: `us=60%,eu=40%`, or a mapping of names to `60%` or 0.6. */
export type ClientRegionsInput = string | Readonly<Record<string, string | number>>;

/** Their shapes in a file (zod). */
export const regionsFileSchema = z.record(z.string(), z.array(z.string()));
export const rttFileSchema = z.record(z.string(), z.string());
export const clientRegionsFileSchema = z.record(z.string(), z.union([z.string(), z.number()]));

/** One region: its name and the backends that serve there (its own pool, algorithm and health checks). */
export type Region = { name: string; backends: string[] };

/**
 * Global server load balancing, resolved: the regions in the order given,
 * the GSLB policy, the round trip between regions (`rttMs[a][b]`, ms,
 * symmetric; the diagonal is the same-region RTT) and the share of the
 * virtual clients placed in each region (fractions that sum to 1). The
 * RTT is simulated distance: the load generator waits it before each
 * request (the servers are real and on loopback).
 */
export type GslbConfig = { policy: GslbPolicy; regions: Region[]; rttMs: number[][]; clientShares: number[] };

const NAME = /^[a-z][a-z0-9]*$/;

/**
 * Reads `regions` against the backends `names`: at least two, each a name
 * of lowercase letters and digits with at least one backend, every backend
 * in exactly one region. Undefined when no region is given.
 * @throws {FieldError} naming the field.
 */
export function resolveRegions(input: RegionsInput | undefined, names: readonly string[], name: FieldNamer): Region[] | undefined {
  if (input === undefined) return undefined;
  const field = name('regions');
  const entries: Array<[string, string[]]> = Array.isArray(input)
    ? (input as readonly string[]).map((spec) => {
        const eq = spec.indexOf('=');
        if (eq <= 0) throw new FieldError(field, `to read NAME=BACKENDS, e.g. us=b1,b2, got ${JSON.stringify(spec)}`);
        return [spec.slice(0, eq).trim(), spec.slice(eq + 1).split(',').map((s) => s.trim()).filter((s) => s !== '')];
      })
    : Object.entries(input as Readonly<Record<string, readonly string[]>>).map(([k, v]) => [k, [...v]]);
  if (entries.length === 0) return undefined;
  if (entries.length < 2) throw new FieldError(field, `to name at least two regions (one is no choice to make), got ${entries.length}`);
  const owner = new Map<string, string>();
  const regions: Region[] = [];
  for (const [region, backends] of entries) {
    if (!NAME.test(region)) throw new FieldError(field, `to name each region with lowercase letters and digits, like us or eu1, got ${JSON.stringify(region)}`);
    if (regions.some((r) => r.name === region)) throw new FieldError(field, `to name each region once, got ${region} twice`);
    if (backends.length === 0) throw new FieldError(field, `to give region ${region} at least one backend`);
    for (const b of backends) {
      if (!names.includes(b)) throw new FieldError(field, `to name backends of this run (${names.join(', ')}), got ${JSON.stringify(b)} in region ${region}`);
      const other = owner.get(b);
      if (other !== undefined) throw new FieldError(field, `to put each backend in one region, got ${b} in ${other} and ${region}`);
      owner.set(b, region);
    }
    regions.push({ name: region, backends });
  }
  const homeless = names.filter((b) => !owner.has(b));
  if (homeless.length > 0) throw new FieldError(field, `to put every backend in a region, got ${homeless.join(', ')} in none`);
  return regions;
}

/**
 * The routing that makes each region a pool of the balancer: a request
 * whose {@link REGION_HEADER} names a region goes to that region's pool,
 * which keeps the balancer's algorithm and each backend's health checks;
 * one that names none goes nowhere (404), as a name no GSLB answered.
 */
export function regionRouting(regions: readonly Region[]): RoutingConfig {
  return {
    pools: regions.map((r) => ({ name: r.name, backends: [...r.backends] })),
    routes: regions.map((r) => ({ match: { header: { name: REGION_HEADER, value: r.name } }, pool: r.name })),
  };
}

/**
 * Reads the rest of GSLB for `regions`: the policy (default `geo`), the
 * RTT matrix (`a-b=80ms`; same region {@link SAME_REGION_RTT_MS} unless
 * `a-a` is given; a pair not given between two regions is refused, since
 * the distance is the lesson) and the clients' shares (default equal).
 * @throws {FieldError} naming the field: an unknown policy or region, a
 * pair missing or given twice, shares that do not sum to 100%.
 */
export function resolveGslb(
  regions: readonly Region[],
  input: { gslb?: string | undefined; rtt?: RttInput | undefined; clientRegions?: ClientRegionsInput | undefined },
  name: FieldNamer,
): GslbConfig {
  const policy = input.gslb ?? 'geo';
  if (!(GSLB_POLICIES as readonly string[]).includes(policy)) throw new FieldError(name('gslb'), `to be one of ${GSLB_POLICIES.join(', ')}, got ${JSON.stringify(policy)}`);
  const index = new Map(regions.map((r, i) => [r.name, i]));
  const n = regions.length;
  const rttMs = Array.from({ length: n }, (_, a) => Array.from({ length: n }, (_, b) => (a === b ? SAME_REGION_RTT_MS : Number.NaN)));
  const rttField = name('rtt');
  const pairs: Array<[string, string]> =
    input.rtt === undefined
      ? []
      : Array.isArray(input.rtt)
        ? (input.rtt as readonly string[]).map((spec) => {
            const eq = spec.indexOf('=');
            if (eq <= 0) throw new FieldError(rttField, `to read A-B=DURATION, e.g. us-eu=80ms, got ${JSON.stringify(spec)}`);
            return [spec.slice(0, eq).trim(), spec.slice(eq + 1).trim()];
          })
        : Object.entries(input.rtt as Readonly<Record<string, string>>);
  for (const [pair, value] of pairs) {
    const [a, b, extra] = pair.split('-');
    const ia = a === undefined ? undefined : index.get(a);
    const ib = b === undefined ? undefined : index.get(b);
    if (extra !== undefined || ia === undefined || ib === undefined) {
      throw new FieldError(rttField, `to name a pair of regions (${regions.map((r) => r.name).join(', ')}) as A-B, got ${JSON.stringify(pair)}`);
    }
    const ms = parseDuration(rttField, value, { allowZero: true, maxMs: 10_000 });
    rttMs[ia]![ib] = ms;
    rttMs[ib]![ia] = ms;
  }
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      if (Number.isNaN(rttMs[a]![b])) throw new FieldError(rttField, `to give the round trip between every two regions, got none for ${regions[a]!.name}-${regions[b]!.name}`);
    }
  }
  return { policy: policy as GslbPolicy, regions: [...regions], rttMs, clientShares: resolveClientShares(regions, input.clientRegions, name) };
}

/** `us=60%,eu=40%` (or a mapping) as one fraction per region, in region order; default equal. */
function resolveClientShares(regions: readonly Region[], input: ClientRegionsInput | undefined, name: FieldNamer): number[] {
  if (input === undefined) return regions.map(() => 1 / regions.length);
  const field = name('load.client-regions');
  const entries: Array<[string, string | number]> =
    typeof input === 'string'
      ? input.split(',').map((part) => {
          const eq = part.indexOf('=');
          if (eq <= 0) throw new FieldError(field, `to read REGION=SHARE,…, e.g. us=60%,eu=40%, got ${JSON.stringify(input)}`);
          return [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
        })
      : Object.entries(input);
  const shares = regions.map(() => 0);
  for (const [region, raw] of entries) {
    const i = regions.findIndex((r) => r.name === region);
    if (i < 0) throw new FieldError(field, `to name regions given in \`${name('regions')}\` (${regions.map((r) => r.name).join(', ')}), got ${JSON.stringify(region)}`);
    const text = String(raw).trim();
    const share = text.endsWith('%') ? Number(text.slice(0, -1)) / 100 : Number(text);
    if (!Number.isFinite(share) || share < 0 || share > 1) throw new FieldError(field, `to give each region a share like 60% or 0.6, got ${JSON.stringify(String(raw))} for ${region}`);
    shares[i] = share;
  }
  const sum = shares.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 0.005) throw new FieldError(field, `to have shares that sum to 100%, got ${Math.round(sum * 1000) / 10}%`);
  return shares;
}

/**
 * The home region of each of `clients` virtual clients (index into the
 * regions): the first ones in the first region, and so on, each region
 * getting its share rounded by largest remainder, so 10 clients at
 * 60%/40% are 6 and 4.
 */
export function clientHomes(shares: readonly number[], clients: number): number[] {
  const exact = shares.map((s) => s * clients);
  const counts = exact.map(Math.floor);
  let left = clients - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    counts[i]!++;
    left--;
  }
  return counts.flatMap((c, i) => Array.from({ length: c }, () => i));
}

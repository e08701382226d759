import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ALGORITHMS, isAlgorithmName, type AlgorithmName } from '../balancer/algorithms/index.js';
import { DEFAULT_POOL, describeMatch, type PoolConfig, type RouteConfig, type RouteMatch, type RoutingConfig } from '../balancer/routes.js';
import { formatFieldPath } from '../errors.js';
import { FieldError } from './field-error.js';

/** An HTTP header name (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Validates the routing flags into a {@link RoutingConfig} (undefined when
 * none is given), against the backends `names` and the `backups`.
 * @throws {FieldError} naming `--route`, or `--routes` with the file and field.
 */
export function resolveRouting(
  o: { route?: readonly string[]; routes?: string },
  names: readonly string[],
  backups: readonly string[],
  fields: RouteFields = CLI_ROUTE_FIELDS,
): RoutingConfig | undefined {
  const specs = o.route ?? [];
  if (specs.length > 0 && o.routes !== undefined) throw FieldError.worded(fields.route, `Expected either \`${fields.route}\` or \`${fields.routes}\`, got both`);
  if (o.routes !== undefined) return readRoutesFile(o.routes, names, backups, fields);
  if (specs.length === 0) return undefined;
  return routingFromSpecs(
    specs.map((v) => parseRouteSpec(v, names, fields.route)),
    names,
    backups,
    fields,
  );
}

/** How the front end words the two routing fields (`balancer.route`, `balancer.routes`); the CLI's `--route` and `--routes` by default. */
export type RouteFields = { route: string; routes: string; backup: string };

/** The CLI's words for the routing fields. */
export const CLI_ROUTE_FIELDS: RouteFields = { route: '--route', routes: '--routes', backup: '--backup' };

/** One `--route` as written: its match (or the default pool), its backends and its own algorithm. */
type RouteSpec = { raw: string; match: RouteMatch | 'default'; backends: string[]; algo?: AlgorithmName };

/**
 * Parses one `--route MATCH=BACKENDS[:ALGO]`. The backends follow the last
 * `=` (a header's value may hold one), the algorithm the first `:` after it.
 * @throws {FieldError} naming `--route`.
 */
export function parseRouteSpec(value: string, names: readonly string[], field = '--route'): RouteSpec {
  const eq = value.lastIndexOf('=');
  if (eq <= 0 || eq === value.length - 1) {
    throw new FieldError(field, `to read MATCH=BACKENDS[:ALGO], e.g. "/api=b1,b2" or "host:static.local=b3:least-conn", got ${JSON.stringify(value)}`);
  }
  const left = value.slice(0, eq).trim();
  const right = value.slice(eq + 1).trim();
  const colon = right.indexOf(':');
  const list = colon < 0 ? right : right.slice(0, colon);
  const algo = colon < 0 ? undefined : right.slice(colon + 1).trim();
  if (algo !== undefined && !isAlgorithmName(algo)) {
    throw new FieldError(field, `algorithm to be one of ${ALGORITHMS.join(', ')}, got ${JSON.stringify(algo)} in ${JSON.stringify(value)}`);
  }
  const backends = list.split(',').map((s) => s.trim());
  for (const b of backends) {
    if (!names.includes(b)) throw new FieldError(field, `backend to be one of ${names.join(', ')}, got ${JSON.stringify(b)} in ${JSON.stringify(value)}`);
  }
  return { raw: value, match: parseMatch(left, value, field), backends: [...new Set(backends)], ...(algo ? { algo } : {}) };
}

function parseMatch(left: string, value: string, field: string): RouteMatch | 'default' {
  if (left === 'default' || left === '*') return 'default';
  if (left.startsWith('/')) return { pathPrefix: left };
  if (left.startsWith('host:')) {
    const host = left.slice(5).trim().toLowerCase();
    if (!/^(\*\.)?[a-z0-9.[\]:-]+$/.test(host)) throw new FieldError(field, `host to be a host name like static.local, got ${JSON.stringify(value)}`);
    return { host };
  }
  if (left.startsWith('header:')) {
    const rest = left.slice(7);
    const eq = rest.indexOf('=');
    const name = (eq < 0 ? rest : rest.slice(0, eq)).trim().toLowerCase();
    if (!TOKEN.test(name)) throw new FieldError(field, `header to be header:NAME or header:NAME=VALUE, got ${JSON.stringify(value)}`);
    return { header: eq < 0 ? { name } : { name, value: rest.slice(eq + 1) } };
  }
  throw new FieldError(field, `match to be /PATH, host:NAME, header:NAME[=VALUE] or default, got ${JSON.stringify(left)} in ${JSON.stringify(value)}`);
}

/** A pool's name from the first route to it: the path, the host, the header (`x-canary=1`), or `default`. */
function poolName(match: RouteMatch | 'default'): string {
  if (match === 'default') return DEFAULT_POOL;
  if (match.pathPrefix !== undefined) return match.pathPrefix;
  if (match.host !== undefined) return match.host;
  return `${match.header!.name}${match.header!.value !== undefined ? `=${match.header!.value}` : ''}`;
}

/**
 * Builds pools from `--route` specs: routes naming the same set of
 * backends share a pool (named after the first of them), so a backend is
 * in one pool.
 * @throws {FieldError} naming `--route` for overlapping pools, clashing algorithms or a repeated match.
 */
function routingFromSpecs(specs: readonly RouteSpec[], names: readonly string[], backups: readonly string[], fields: RouteFields): RoutingConfig {
  const pools: Array<PoolConfig & { key: string; raw: string }> = [];
  const routes: RouteConfig[] = [];
  let explicitDefault: string | undefined;
  const seen = new Set<string>();
  for (const spec of specs) {
    const text = spec.match === 'default' ? 'default' : describeMatch(spec.match);
    if (seen.has(text)) throw FieldError.worded(fields.route, `Expected each \`${fields.route}\` match once (the first would always win), got ${text} twice`);
    seen.add(text);
    const key = [...spec.backends].sort().join(',');
    let pool = pools.find((p) => p.key === key);
    if (!pool) {
      for (const b of spec.backends) {
        const other = pools.find((p) => p.backends.includes(b));
        if (other) {
          throw FieldError.worded(
            fields.route,
            `Expected each \`${fields.route}\` backend in one pool, got ${b} in ${JSON.stringify(other.raw)} and ${JSON.stringify(spec.raw)}; routes to the very same backends share a pool`,
          );
        }
      }
      let name = poolName(spec.match);
      while (pools.some((p) => p.name === name)) name += "'";
      pool = { name, backends: [...spec.backends], key, raw: spec.raw, ...(spec.algo ? { algo: spec.algo } : {}) };
      pools.push(pool);
    } else if (spec.algo && pool.algo && spec.algo !== pool.algo) {
      throw FieldError.worded(fields.route, `Expected routes to the same backends (${key}) to share one algorithm, got ${pool.algo} and ${spec.algo} in ${JSON.stringify(spec.raw)}`);
    } else if (spec.algo) pool.algo = spec.algo;
    if (spec.match === 'default') explicitDefault = pool.name;
    else routes.push({ match: spec.match, pool: pool.name });
  }
  return finishRouting(
    pools.map(({ name, backends, algo }) => ({ name, backends, ...(algo ? { algo } : {}) })),
    routes,
    explicitDefault,
    names,
    backups,
    fields,
    fields.route,
    `\`${fields.route}\``,
  );
}

/**
 * Completes routing: the default pool is the one named, else the backends
 * no pool holds (pool `default`), else none (unmatched requests get 404);
 * every pool needs a primary backend.
 * @throws {FieldError} prefixed with `where`.
 */
function finishRouting(
  pools: PoolConfig[],
  routes: RouteConfig[],
  explicitDefault: string | undefined,
  names: readonly string[],
  backups: readonly string[],
  fields: RouteFields,
  field: string,
  where: string,
): RoutingConfig {
  const rest = names.filter((n) => !pools.some((p) => p.backends.includes(n)));
  let defaultPool = explicitDefault;
  if (rest.length > 0) {
    if (defaultPool !== undefined) {
      throw FieldError.worded(field, `Expected ${where} to put every backend in a pool once a default pool is named, got ${rest.join(', ')} in none`);
    }
    pools.push({ name: DEFAULT_POOL, backends: rest });
    defaultPool = DEFAULT_POOL;
  }
  for (const p of pools) {
    if (p.backends.every((b) => backups.includes(b))) {
      throw FieldError.worded(field, `Expected ${where} pool ${p.name} to hold a backend that is not a \`${fields.backup}\`, got only ${p.backends.join(', ')}`);
    }
  }
  return { routes, pools, ...(defaultPool !== undefined ? { defaultPool } : {}) };
}

const fileSchema = z
  .object({
    pools: z.record(
      z.string().regex(/^[\w./*:=-]+$/, 'a pool name of letters, digits and ._-/'),
      z.object({ backends: z.array(z.string()).min(1), algo: z.enum(ALGORITHMS).optional() }).strict(),
    ),
    routes: z.array(
      z
        .object({
          path: z.string().startsWith('/').optional(),
          host: z.string().min(1).optional(),
          header: z.string().regex(TOKEN, 'an HTTP header name').optional(),
          value: z.union([z.string(), z.number().transform(String)]).optional(),
          pool: z.string(),
        })
        .strict()
        .refine((r) => r.path !== undefined || r.host !== undefined || r.header !== undefined, 'a route needs path, host or header')
        .refine((r) => r.value === undefined || r.header !== undefined, 'value goes with header'),
    ),
    default: z.string().optional(),
  })
  .strict();

/**
 * Reads a routes file (YAML or JSON: pools, routes, default) and checks it
 * with zod, then against the backends.
 * @throws {FieldError} naming `--routes`, the file and the field.
 */
function readRoutesFile(file: string, names: readonly string[], backups: readonly string[], fields: RouteFields): RoutingConfig {
  const where = (field: string) => `\`${fields.routes}\` file ${file} field ${field}`;
  let data: unknown;
  try {
    data = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code && !e.code.startsWith('YAML') && e.name !== 'YAMLParseError') throw FieldError.worded(fields.routes, `Expected \`${fields.routes}\` to be a readable file, but ${file}: ${e.code}`);
    throw FieldError.worded(fields.routes, `Expected \`${fields.routes}\` file ${file} to be YAML or JSON, but it does not parse: ${e.message.split('\n')[0]}`);
  }
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw FieldError.worded(fields.routes, `Expected ${where(formatFieldPath('', issue.path))} to be valid: ${issue.message}`);
  }
  const f = parsed.data;
  const pools: PoolConfig[] = [];
  const owner = new Map<string, string>();
  for (const [name, p] of Object.entries(f.pools)) {
    p.backends.forEach((b, i) => {
      if (!names.includes(b)) throw FieldError.worded(fields.routes, `Expected ${where(`pools.${name}.backends[${i}]`)} to be one of ${names.join(', ')}, got ${JSON.stringify(b)}`);
      const other = owner.get(b);
      if (other !== undefined && other !== name) throw FieldError.worded(fields.routes, `Expected ${where(`pools.${name}.backends[${i}]`)} to be in one pool only, got ${b} in ${other} too`);
      owner.set(b, name);
    });
    pools.push({ name, backends: [...new Set(p.backends)], ...(p.algo ? { algo: p.algo } : {}) });
  }
  const poolNames = pools.map((p) => p.name);
  const known = (field: string, name: string): string => {
    if (!poolNames.includes(name)) throw FieldError.worded(fields.routes, `Expected ${where(field)} to be one of the pools ${poolNames.join(', ') || '(none)'}, got ${JSON.stringify(name)}`);
    return name;
  };
  const routes: RouteConfig[] = f.routes.map((r, i) => {
    const match: RouteMatch = {};
    if (r.path !== undefined) match.pathPrefix = r.path;
    if (r.host !== undefined) match.host = r.host.toLowerCase();
    if (r.header !== undefined) match.header = r.value !== undefined ? { name: r.header.toLowerCase(), value: r.value } : { name: r.header.toLowerCase() };
    return { match, pool: known(`routes[${i}].pool`, r.pool) };
  });
  const explicitDefault = f.default !== undefined ? known('default', f.default) : poolNames.includes(DEFAULT_POOL) ? DEFAULT_POOL : undefined;
  return finishRouting(pools, routes, explicitDefault, names, backups, fields, fields.routes, `\`${fields.routes}\` file ${file}`);
}

/** The algorithms the pools use of their own (for checks that depend on the algorithm: `--hash-key`, `--slow-start`). */
export function poolAlgorithms(routing: RoutingConfig | undefined): AlgorithmName[] {
  return (routing?.pools ?? []).flatMap((p) => (p.algo ? [p.algo] : []));
}

/**
 * The paths `start` sends to when `--path` is not given: with path routes,
 * each route's prefix in turn (and `/` when a default pool takes what no
 * route matches), so `--route "/api=b1,b2" --route "/static=b3"` gets
 * traffic on both routes as written; otherwise `/`.
 */
export function requestPaths(routing: RoutingConfig | undefined): string[] {
  const prefixes = [...new Set((routing?.routes ?? []).flatMap((r) => (r.match.pathPrefix !== undefined && r.match.host === undefined && r.match.header === undefined ? [r.match.pathPrefix] : [])))];
  if (prefixes.length === 0) return ['/'];
  return routing?.defaultPool !== undefined && !prefixes.includes('/') ? [...prefixes, '/'] : prefixes;
}

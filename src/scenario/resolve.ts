import { ALGORITHMS, HASH_KEY_ALGORITHMS, WEIGHTED_ALGORITHMS, defaultWeights, isAlgorithmName, usesHashKey, usesWeights, type AlgorithmName } from '../balancer/algorithms/index.js';
import { parseHashKey } from '../balancer/hash-key.js';
import { ENGINES, isEngineName } from '../engines/engines.js';
import { checkEngineSupport } from '../engines/support.js';
import type { BackendSpec } from '../backend/fleet.js';
import { requireSlowStartAlgorithm, resolveProxy } from './balancer-settings.js';
import { FieldError, pathNamer, type FieldNamer } from './field-error.js';
import { resolveHealth } from './health.js';
import type { BackendInput, ScenarioInput, TimelineEntryInput } from './input.js';
import { parseLatency, type LatencyProfile } from './latency-profile.js';
import { resolveClients, resolveLoadModel, resolveProtocol } from './load.js';
import { resolveHa } from './ha.js';
import { DEFAULT_GSLB_CLIENTS, regionRouting, resolveGslb, resolveRegions } from './regions.js';
import { parseSessionMode } from './sessions.js';
import { validateLoopback } from './loopback.js';
import { applyMode } from './mode.js';
import { poolAlgorithms, resolveRouting } from './routes.js';
import { DEFAULT_CAPACITY, MAX_BACKENDS, type Scenario, type UpstreamScenario } from './scenario.js';
import { EVENT_ACTIONS, parseEvent, type ScheduledEvent } from './timeline.js';
import { parseDuration, parseFraction, parseInteger, parsePort, parseWeights } from './values.js';

/** The service time of a backend whose profile sets none: uniform 5–15 ms. */
export const DEFAULT_LATENCY: LatencyProfile = { kind: 'uniform', minMs: 5, maxMs: 15 };

/** How {@link resolveScenario} and {@link resolveUpstream} read an input. */
export type ResolveOptions = {
  /** Words a field for messages (the CLI: `--retry-on`; a lab: `balancer.retry-on`); default its path. */
  name?: FieldNamer;
  /** Weights when none are given: `algorithm` (its default, n..1 for weighted) or `equal` (all 1, as `balance` and `compare` take them). */
  defaultWeights?: 'algorithm' | 'equal';
  /** The HTTP check's path when `health.path` is not given (default `/health`). */
  healthPath?: string;
  /** The listen port when `balancer.port` is not given (default 0, any free port). */
  defaultPort?: number;
};

/**
 * Reads and checks a whole scenario: backends and their profiles, the
 * balancer, the load and the timeline, over lblab's defaults, with every
 * check that spans fields (weights against the algorithm, the hash key
 * against the algorithms it may meet, slow start, events within the run,
 * what mode tcp can do).
 * @throws {FieldError} naming the first bad field, worded by `opts.name`.
 */
export function resolveScenario(input: ScenarioInput, opts: ResolveOptions = {}): Scenario {
  const name = opts.name ?? pathNamer;
  const profiles = backendProfiles(input.backends, name);
  const backends = profiles.map((p, i) => resolveBackend(`b${i + 1}`, p, i, name));
  const names = backends.map((b) => b.name);
  const ha = resolveHa(input, name);
  const balancerNames = ha ? ha.balancers.map((b) => b.name) : [];
  const events = (input.timeline ?? []).map((entry, i) => parseEvent(name(`timeline[${i}]`), timelineText(entry, i, name), names, ALGORITHMS, balancerNames));
  const load = input.load ?? {};
  const model = resolveLoadModel(load, name);
  const webSocket = resolveProtocol(load, name);
  const durationMs = load.duration !== undefined ? parseDuration(name('load.duration'), load.duration) : undefined;
  const upstream = resolveUpstream(input, names, { ...opts, name }, events);
  if (webSocket && upstream.tls) {
    throw FieldError.worded(name('balancer.tls'), `Expected \`${name('balancer.tls')}\` only with \`${name('load.protocol')} http\` (the WebSocket clients speak ws://, not wss://)`);
  }
  const late = durationMs !== undefined ? events.find((e) => e.atMs >= durationMs) : undefined;
  if (late) {
    throw new FieldError(name('timeline'), `to fall within \`${name('load.duration')}\` (${load.duration}), got one at ${late.atMs}ms`, true);
  }
  const clients = resolveClients(load, name);
  const regions = resolveRegions(input.regions, names, name);
  if (!regions) {
    for (const field of ['gslb', 'rtt', 'load.client-regions'] as const) {
      const given = field === 'load.client-regions' ? load['client-regions'] : input[field];
      if (given !== undefined) throw FieldError.worded(name(field), `Expected \`${name(field)}\` only with \`${name('regions')}\`, got it alone`);
    }
  }
  const gslb = regions ? resolveGslb(regions, { gslb: input.gslb, rtt: input.rtt, clientRegions: load['client-regions'] }, name) : undefined;
  if (gslb && clients.clients === undefined) clients.clients = DEFAULT_GSLB_CLIENTS;
  if (gslb && clients.clients! < gslb.regions.length) throw new FieldError(name('load.clients'), `with regions to be at least one client a region (${gslb.regions.length}), got ${clients.clients}`);
  if (gslb && (model.http2Clients || webSocket)) throw FieldError.worded(name('load.protocol'), `Expected \`${name('load.protocol')} ${webSocket ? 'ws' : 'http2'}\` not with \`${name('regions')}\` (the GSLB tier places HTTP/1.1 clients)`);
  if (ha) checkHaSupport(upstream, { gslb: gslb !== undefined, webSocket: webSocket !== undefined, forwardProxy: clients.proxy === 'forward' }, name);
  return {
    ...upstream,
    backends,
    ...model,
    ...clients,
    ...(gslb ? { gslb } : {}),
    durationMs,
    // A run bounded by its count: a default time limit would cut it short.
    headlessDefaultDurationMs: model.requests !== undefined ? 0 : 10_000,
    events,
    ...(webSocket && { webSocket }),
    ...(input.sessions !== undefined ? { sessions: parseSessionMode(name('sessions'), input.sessions) } : {}),
    ...(ha ? { ha } : {}),
  };
}

/**
 * What two balancers cannot be paired with, refused rather than ignored:
 * a real engine (lblab starts its own balancer twice; a keepalived pair of
 * HAProxies is not built), regions (the GSLB tier is one place), WebSocket
 * clients and a forward proxy (neither takes the address list nor retries a
 * lost SYN).
 * @throws {FieldError} naming the field that clashes.
 */
function checkHaSupport(upstream: UpstreamScenario, with_: { gslb: boolean; webSocket: boolean; forwardProxy: boolean }, name: FieldNamer): void {
  const two = `\`${name('balancers')} 2\``;
  if (upstream.engine !== 'lblab') throw FieldError.worded(name('engine'), `Expected \`${name('engine')} lblab\` with ${two} (lblab runs its own balancer twice; two ${upstream.engine} processes with keepalived are not built), got ${upstream.engine}`);
  if (with_.gslb) throw FieldError.worded(name('regions'), `Expected \`${name('regions')}\` or ${two}, not both (the GSLB tier sends clients to one balancer)`);
  if (with_.webSocket) throw FieldError.worded(name('load.protocol'), `Expected \`${name('load.protocol')} http\` or \`http2\` with ${two} (the WebSocket clients do not retry a lost SYN or take two addresses)`);
  if (with_.forwardProxy) throw FieldError.worded(name('load.proxy'), `Expected no \`${name('load.proxy')}\` with ${two} (through a forward proxy the clients do not reach the balancers)`);
}

/**
 * Reads and checks the balancer side of a scenario for the backends
 * `names`: algorithm, weights, hash key, health, proxy settings, routes,
 * TLS, listen address and mode. `events` are the timeline's, for the checks
 * that depend on an algorithm switched to later.
 * @throws {FieldError} naming the first bad field, worded by `opts.name`.
 */
export function resolveUpstream(input: ScenarioInput, names: readonly string[], opts: ResolveOptions = {}, events: readonly ScheduledEvent[] = []): UpstreamScenario {
  const name = opts.name ?? pathNamer;
  const algo = resolveAlgorithm(input.algo, name);
  const weights = resolveWeights(input.weights, algo, names.length, opts.defaultWeights ?? 'algorithm', name);
  const hashKey = input['hash-key'] !== undefined ? parseHashKey(name('hash-key'), input['hash-key']) : undefined;
  const balancer = input.balancer ?? {};
  const { backups, ...proxy } = resolveProxy(balancer, names, name);
  const regions = resolveRegions(input.regions, names, name);
  if (regions && (balancer.route?.length || balancer.routes !== undefined)) {
    const route = name(balancer.routes !== undefined ? 'balancer.routes' : 'balancer.route');
    throw FieldError.worded(route, `Expected \`${name('regions')}\` or \`${route}\`, not both: each region is a pool the GSLB tier routes to`);
  }
  if (regions && balancer.mode === 'tcp') throw FieldError.worded(name('regions'), `Expected \`${name('regions')}\` only with \`${name('balancer.mode')} http\` (the GSLB answer reaches the region's pool in a request header), got it with \`${name('balancer.mode')} tcp\``);
  const routing = regions ? regionRouting(regions) : resolveRouting(balancer, names, backups, { route: name('balancer.route'), routes: name('balancer.routes'), backup: name('balancer.backup') });
  const pools = poolAlgorithms(routing);
  requireSlowStartAlgorithm(proxy.slowStartMs, [algo, ...pools], name);
  const switchedTo = [...events.flatMap((e) => (e.action === 'algo' ? [e.algo] : [])), ...pools];
  if (hashKey && ![algo, ...switchedTo].some((a) => isAlgorithmName(a) && usesHashKey(a))) {
    throw new FieldError(name('hash-key'), `only with an algorithm that hashes a key (${HASH_KEY_ALGORITHMS.join(', ')}), got ${name('algo')} ${algo}`);
  }
  const engine = input.engine ?? 'lblab';
  if (!isEngineName(engine)) throw new FieldError(name('engine'), `to be one of ${ENGINES.join(', ')}, got ${JSON.stringify(engine)}`);
  const config = {
    algo,
    engine,
    weights,
    ...(hashKey ? { hashKey } : {}),
    health: resolveHealth(input.health, name, opts.healthPath),
    ...proxy,
    backups,
    ...(routing ? { routing } : {}),
    ...(balancer.tls ? { tls: true } : {}),
    ...(balancer.http2 ? { http2: true } : {}),
    host: balancer.host !== undefined ? validateLoopback(name('balancer.host'), balancer.host) : '127.0.0.1',
    port: parsePort(name('balancer.port'), String(balancer.port ?? opts.defaultPort ?? 0)),
  };
  const upstream = applyMode(config, balancer.mode, givenFields(input), name, events);
  checkEngineSupport(engine, upstream, name, events);
  return upstream;
}

/**
 * The paths of the fields an input gives (`balancer.retry-on`, `health.check`,
 * `timeline`): what the user wrote, as opposed to a default. A list counts
 * as one field.
 */
export function givenFields(input: ScenarioInput): Set<string> {
  const out = new Set<string>();
  const walk = (value: unknown, path: string): void => {
    if (value === undefined) return;
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && path.split('.').length < 2) {
      for (const [k, v] of Object.entries(value)) walk(v, path === '' ? k : `${path}.${k}`);
    } else out.add(path);
  };
  walk(input, '');
  return out;
}

function resolveAlgorithm(value: string | undefined, name: FieldNamer): AlgorithmName {
  const algo = value ?? 'round-robin';
  if (!isAlgorithmName(algo)) throw new FieldError(name('algo'), `to be one of ${ALGORITHMS.join(', ')}, got ${JSON.stringify(algo)}`);
  return algo;
}

/**
 * One weight per backend: as given (only with an algorithm that uses them: a
 * silently ignored field would mislead the lesson), else the algorithm's
 * default (its registry entry's `defaultWeights`: n..1 for weighted, so
 * the effect shows) or all 1.
 */
function resolveWeights(value: string | readonly number[] | undefined, algo: AlgorithmName, n: number, defaults: 'algorithm' | 'equal', name: FieldNamer): number[] {
  if (value === undefined) return defaults === 'algorithm' ? defaultWeights(algo, n) : Array.from({ length: n }, () => 1);
  if (!usesWeights(algo)) {
    throw new FieldError(name('weights'), `only with an algorithm that uses weights (${WEIGHTED_ALGORITHMS.join(', ')}), got ${name('algo')} ${algo}`);
  }
  return parseWeights(name('weights'), typeof value === 'string' ? value : value.join(','), n);
}

function backendProfiles(value: ScenarioInput['backends'], name: FieldNamer): BackendInput[] {
  if (Array.isArray(value)) return value as BackendInput[];
  const n = parseInteger(name('backends'), String(value ?? 3), 1, MAX_BACKENDS);
  return Array.from({ length: n }, () => ({}));
}

function resolveBackend(backend: string, p: BackendInput, i: number, name: FieldNamer): BackendSpec {
  const at = (field: string): string => name(`backends[${i}].${field}`);
  return {
    name: backend,
    latency: p.latency !== undefined ? parseLatency(at('latency'), p.latency) : DEFAULT_LATENCY,
    capacity: p.capacity !== undefined ? parseInteger(at('capacity'), String(p.capacity), 1, 100_000) : DEFAULT_CAPACITY,
    errorRate: p['error-rate'] !== undefined ? parseFraction(at('error-rate'), String(p['error-rate'])) : 0,
    ...(p['ws-push'] !== undefined && { wsPushMs: parseDuration(at('ws-push'), p['ws-push'], { maxMs: 3_600_000 }) }),
  };
}

/** A timeline entry as `--event` writes it: `"5s kill b2"` as is; `{at: 5s, kill: b2}` → `"5s kill b2"`. */
function timelineText(entry: TimelineEntryInput, i: number, name: FieldNamer): string {
  if (typeof entry === 'string') return entry;
  const path = `timeline[${i}]`;
  const at = entry.at;
  if (at === undefined) throw new FieldError(name(`${path}.at`), 'a time like 5s (when the action happens), got nothing');
  const actions = Object.keys(entry).filter((k) => k !== 'at');
  if (actions.length !== 1) {
    throw new FieldError(name(path), `one action besides at (one of ${EVENT_ACTIONS.join(', ')}), got ${actions.length === 0 ? 'none' : actions.join(', ')}`);
  }
  const action = actions[0]!;
  if (!(EVENT_ACTIONS as readonly string[]).includes(action)) throw new FieldError(name(`${path}.${action}`), `an action, one of ${EVENT_ACTIONS.join(', ')}`);
  return `${String(at)} ${action} ${String(entry[action])}`;
}

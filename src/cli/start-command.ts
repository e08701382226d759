import type { Command } from 'commander';
import { checkOutPath } from './output.js';
import { dashboardKeysHelp } from '../tui/keymap.js';
import {
  ALGORITHMS,
  HASH_KEY_ALGORITHMS,
  WEIGHTED_ALGORITHMS,
  algorithmsHelp,
  isAlgorithmName,
  usesHashKey,
  usesWeights,
  type AlgorithmName,
} from '../balancer/algorithms/index.js';
import type { BackendSpec } from '../backend/fleet.js';
import { parseHashKey } from '../balancer/hash-key.js';
import { UsageError } from '../errors.js';
import { addClientOptions, parseClientOptions, type ClientFlags } from './client-options.js';
import { addLoadModelOptions, DEFAULT_CONCURRENCY, parseLoadModelOptions, type LoadModelFlags } from './load-model-options.js';
import { addHealthOptions, parseHealthOptions, type HealthFlags } from './health-options.js';
import { addModeOption, applyMode, givenOptions, type ModeFlags } from './mode-options.js';
import { addProxyOptions, parseProxyOptions, requireSlowStartAlgorithm, type ProxyFlags } from './proxy-options.js';
import { addRouteOptions, parseRouteOptions, poolAlgorithms, ROUTES_HELP, type RouteFlags } from './route-options.js';
import {
  parseDuration,
  EVENT_FORMS,
  parseEvent,
  parseFraction,
  parseInteger,
  parseLatency,
  parsePort,
  parseWeights,
  requireWeightedAlgorithm,
  splitPerBackend,
  type LatencyProfile,
} from './parse.js';

/**
 * Requests a backend of `start` serves at once unless `--capacity` says
 * otherwise; the rest wait in its queue. A real server has a bounded worker
 * pool, and it is this queue that makes a slow backend pile up requests
 * under round robin (the lesson of `lblab compare`).
 */
export const DEFAULT_CAPACITY = 10;

/** Most backends `start` runs: enough for a lesson, few enough for a 2-core machine. */
export const MAX_BACKENDS = 16;

/** Raw `start` flags as commander hands them over (strings); `compare` shares the scenario part. */
export type StartFlags = HealthFlags &
  ProxyFlags &
  RouteFlags &
  ClientFlags &
  LoadModelFlags & {
  backends: string;
  algo: string;
  weights?: string;
  duration?: string;
  latency: string[];
  capacity: string[];
  errorRate: string[];
  port: string;
  event: string[];
  hashKey?: string;
  headless?: boolean;
  json?: boolean;
  out?: string;
};

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `lblab start`: backends + balancer + load + live dashboard (the main job). */
export function registerStartCommand(program: Command): void {
  const cmd = program
    .command('start')
    .description('spawn backends, start the balancer, fire load and show the live dashboard')
    .option('--algo <name>', `balancing algorithm: ${ALGORITHMS.join(', ')}`, 'round-robin')
    .option('--duration <duration>', 'run length (default: 10s headless, until q with the dashboard; with --requests: until they are done)');
  addModeOption(cmd);
  addLoadModelOptions(addScenarioOptions(cmd))
    .option('--port <port>', 'balancer port on 127.0.0.1 (0 = any free port)', '0')
    .option('--headless', 'no dashboard: a progress line per second on stderr, the report at the end')
    .option('--json', 'print the run record as JSON instead of the report')
    .option('--out <file>', 'also write the run record to FILE');
  addRouteOptions(addProxyOptions(addHealthOptions(cmd)))
    .addHelpText(
      'after',
      `
Examples:
  lblab start --backends 3 --algo weighted
  lblab start --backends 3 --algo weighted --weights 5,1,1 --concurrency 32 --duration 30s
  lblab start --backends 4 --algo least-conn --latency b4=200ms --event "10s kill b2" --event "20s restart b2"
  lblab start --backends 3 --headless --duration 10s --json --out run.json
  lblab start --backends 3 --headless --rate 500 --duration 5s
  lblab start --backends 3 --algo round-robin --concurrency 1 --requests 9
  lblab start --backends 3 --algo least-conn --event "5s degrade b2" --event "25s recover b2"
  lblab start --backends 3 --sticky cookie --clients 20 --event "5s kill b2"
  lblab start --backends 3 --sticky ip:30s --clients 50 --spread-clients
  lblab start --backends 2 --rate-limit 100/s:20 --clients 4 --headless --duration 10s
  lblab start --mode tcp --backends 3 --concurrency 2 --duration 5s --headless
  lblab start --backends 4 --route "/api=b1,b2:least-conn" --route "/static=b3"   (b4: the default pool)
  lblab start --backends 2 --tls --headless --duration 5s       (HTTPS to the balancer; the report counts handshakes)

${algorithmsHelp()}

${ROUTES_HELP}
  Without --path the load sends each client's requests to the path routes'
  prefixes in turn (and / when a default pool takes the rest), so
  --route "/api=b1,b2" --route "/static=b3" gets traffic on both as written;
  --path /api/users --path /static/logo.png picks the paths yourself. Host
  and header routes take the load's --header:
    lblab start --backends 3 --route "host:static.local=b3" --header "host=static.local"
    lblab start --backends 3 --route "header:x-canary=1=b3" --clients 4 --header "x-canary={client}"
  (the second sends client 1's requests, a quarter, to b3 and the rest to b1,b2).

TLS (--tls): the balancer serves HTTPS with a self-signed certificate made at
start (selfsigned, EC P-256, one day, for 127.0.0.1) and forwards plain HTTP
with X-Forwarded-Proto: https; the built-in load accepts that certificate. The
report counts the handshakes and their time: a keep-alive connection pays once.

${dashboardKeysHelp()}`,
    )
    .action(async (o: StartFlags & ModeFlags, command: Command) => {
      const config = applyMode(parseStartOptions(o), o, givenOptions(command));
      checkOutPath(o.out);
      const { runStart } = await import('./start-run.js');
      await runStart(config, { headless: o.headless, json: o.json, out: o.out });
    });
}

/**
 * Adds the flags that describe a scenario, shared by `start` and `compare`:
 * backends and their profiles, weights, load, timeline events, hash key,
 * virtual clients. `weightsHelp` is the `--weights` help line.
 */
export function addScenarioOptions(cmd: Command, weightsHelp = 'comma-separated weights, one per backend (weighted default: n..1)'): Command {
  cmd
    .option('--backends <n>', `number of backends b1..bn (1-${MAX_BACKENDS})`, '3')
    .option('--weights <list>', weightsHelp)
    .option('--concurrency <n>', `closed-model load workers (default ${DEFAULT_CONCURRENCY})`)
    .option('--latency <latency>', 'service time of every backend or one (b2=200ms): fixed 20ms, uniform 10ms-30ms, normal:50ms:10ms or lognormal:50ms:20ms (mean:sd); repeatable', collect, [])
    .option('--capacity <n>', `max requests a backend serves at once, the rest queue (default ${DEFAULT_CAPACITY}, a server's worker pool; b1=4 for one); repeatable`, collect, [])
    .option('--error-rate <fraction>', 'share of requests a backend answers 500 (b2=0.05 for one); repeatable', collect, [])
    .option('--hash-key <key>', 'key of consistent-hash and maglev: ip (default), path, header:NAME or cookie:NAME')
    .option('--event <spec>', `scheduled action ${EVENT_FORMS}, e.g. "10s kill b2", "10s hang b2", "20s recover b2", "10s weight b1=5", "15s algo p2c"; repeatable`, collect, []);
  return addClientOptions(cmd);
}

/**
 * Validates every `start` flag into a StartConfig.
 * @throws {UsageError} naming the first bad flag.
 */
export function parseStartOptions(o: StartFlags) {
  const n = parseInteger('--backends', o.backends, 1, MAX_BACKENDS);
  if (!isAlgorithmName(o.algo)) {
    throw new UsageError(`Expected \`--algo\` to be one of ${ALGORITHMS.join(', ')}, got ${JSON.stringify(o.algo)}`);
  }
  const algo: AlgorithmName = o.algo;
  const names = Array.from({ length: n }, (_, i) => `b${i + 1}`);
  if (o.weights !== undefined) requireWeightedAlgorithm(algo, usesWeights(algo), WEIGHTED_ALGORITHMS);
  const weights =
    o.weights !== undefined
      ? parseWeights('--weights', o.weights, n)
      : algo === 'weighted'
        ? names.map((_, i) => n - i)
        : names.map(() => 1);
  const latency = perBackend('--latency', o.latency, names, { kind: 'uniform', minMs: 5, maxMs: 15 } as LatencyProfile, (v) => parseLatency('--latency', v));
  const capacity = perBackend('--capacity', o.capacity, names, DEFAULT_CAPACITY, (v) => parseInteger('--capacity', v, 1, 100_000));
  const errorRate = perBackend('--error-rate', o.errorRate, names, 0, (v) => parseFraction('--error-rate', v));
  const backends: BackendSpec[] = names.map((name, i) => ({ name, latency: latency[i]!, capacity: capacity[i]!, errorRate: errorRate[i]! }));
  const model = parseLoadModelOptions(o);
  // --requests bounds the run by count; a default time limit would cut it short.
  const headlessDefault = model.requests !== undefined ? 0 : 10_000;
  const durationMs = o.duration !== undefined ? parseDuration('--duration', o.duration) : undefined;
  const events = o.event.map((e) => parseEvent('--event', e, names, ALGORITHMS));
  const hashKey = o.hashKey !== undefined ? parseHashKey('--hash-key', o.hashKey) : undefined;
  const proxy = parseProxyOptions(o, names);
  const routing = parseRouteOptions(o, names, proxy.backups);
  requireSlowStartAlgorithm(proxy.slowStartMs, [algo, ...poolAlgorithms(routing)]);
  const switchedTo = [...events.flatMap((e) => (e.action === 'algo' ? [e.algo] : [])), ...poolAlgorithms(routing)];
  if (hashKey && ![algo, ...switchedTo].some((a) => isAlgorithmName(a) && usesHashKey(a))) {
    throw new UsageError(`Expected \`--hash-key\` only with an algorithm that hashes a key (${HASH_KEY_ALGORITHMS.join(', ')}), got --algo ${algo}`);
  }
  const late = durationMs !== undefined ? events.find((e) => e.atMs >= durationMs) : undefined;
  if (late) {
    throw new UsageError(`Expected every \`--event\` to fall within \`--duration\` (${o.duration}), got one at ${late.atMs}ms`);
  }
  return {
    backends,
    weights,
    algo,
    ...(hashKey ? { hashKey } : {}),
    health: parseHealthOptions(o),
    ...proxy,
    ...(routing ? { routing } : {}),
    ...(o.tls ? { tls: true } : {}),
    host: '127.0.0.1',
    port: parsePort('--port', o.port),
    ...model,
    durationMs,
    headlessDefaultDurationMs: headlessDefault,
    events,
    ...parseClientOptions(o),
  };
}

/** The result of {@link parseStartOptions}; `durationMs` undefined = mode default. */
export type ParsedStart = ReturnType<typeof parseStartOptions>;

/**
 * Applies repeatable per-backend values (`20ms` for all, `b2=200ms` for one,
 * later ones win) over a default.
 * @throws {UsageError} on an unknown backend name.
 */
function perBackend<T>(flag: string, values: readonly string[], names: readonly string[], fallback: T, parse: (v: string) => T): T[] {
  const out = names.map(() => fallback);
  for (const raw of values) {
    const { name, value } = splitPerBackend(raw);
    const parsed = parse(value);
    if (name === undefined) out.fill(parsed);
    else {
      const i = names.indexOf(name);
      if (i < 0) throw new UsageError(`Expected \`${flag}\` backend to be one of ${names.join(', ')}, got ${JSON.stringify(name)}`);
      out[i] = parsed;
    }
  }
  return out;
}

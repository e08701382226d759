import { Command, Option } from 'commander';
import { ALGORITHMS } from '../balancer/algorithms/index.js';
import { ENGINES } from '../engines/engines.js';
import { DEFAULT_CONNECTION } from '../balancer/balancer.js';
import { DEFAULT_HEALTH_CHECK } from '../balancer/health/active-health-check.js';
import { DEFAULT_RETRY_POLICY, RETRY_CONDITIONS } from '../balancer/retry-policy.js';
import { DEFAULT_STICKY_COOKIE } from '../balancer/sticky/sticky-sessions.js';
import { KEEP_ALIVE_NOTE, TCP_ALGORITHMS } from '../balancer/tcp/tcp-mode.js';
import { MAX_CLIENTS } from '../load/client-addresses.js';
import { DEFAULT_MAX_IN_FLIGHT } from '../load/load-generator.js';
import { DEFAULT_CLIENT_TIMEOUT_MS, PASSIVE_DEFAULTS } from '../scenario/balancer-settings.js';
import { FieldError, type FieldNamer } from '../scenario/field-error.js';
import type { BalancerInput } from '../scenario/balancer-settings.js';
import type { HealthInput } from '../scenario/health.js';
import type { BackendInput, ScenarioInput } from '../scenario/input.js';
import type { LoadInput } from '../scenario/load.js';
import { DEFAULT_CONCURRENCY, MAX_STREAMS } from '../scenario/load.js';
import { DEFAULT_CAPACITY, MAX_BACKENDS } from '../scenario/scenario.js';
import { EVENT_FORMS } from '../scenario/timeline.js';
import { DEFAULT_HA_INTERVAL_MS, HA_FALL, HA_MODES, HA_VIRTUAL_ADDRESS } from '../scenario/ha.js';
import { GSLB_POLICIES, SAME_REGION_RTT_MS } from '../scenario/regions.js';
import { parseInteger } from '../scenario/values.js';
import { splitPerBackend } from './parse.js';

/** The commands whose flags fill a scenario. */
export type ScenarioCommand = 'start' | 'balance' | 'compare' | 'load' | 'export';

/** Where a flag sits in `--help`: each command adds the groups it takes, in its own order. */
export type OptionGroup = 'algo' | 'duration' | 'mode' | 'scenario' | 'clients' | 'load-model' | 'listen' | 'health' | 'proxy' | 'routes' | 'regions' | 'ha';

/** What one commander value looks like for a flag: text, a list of texts (repeatable) or a switch. */
type FlagValue = string | string[] | boolean;

/**
 * One flag of a scenario field: its commander flags, help and shown default
 * (per command where they differ), its group, and the commands that take it.
 * Only flags the user typed become input fields: defaults live in
 * `src/scenario/`, the help only shows them.
 */
export type OptionSpec = {
  flags: string;
  help: string | Partial<Record<ScenarioCommand, string>>;
  default?: FlagValue | Partial<Record<ScenarioCommand, FlagValue>>;
  group: OptionGroup;
  commands: readonly ScenarioCommand[];
  /** Repeatable: each use adds one entry to a list. */
  repeatable?: true;
};

/** The path of every field of a {@link ScenarioInput}, as a file writes it (`health.interval`). */
export type InputPath =
  | Exclude<keyof ScenarioInput, 'health' | 'balancer' | 'load'>
  | `health.${keyof HealthInput & string}`
  | `balancer.${keyof BalancerInput & string}`
  | `load.${keyof LoadInput & string}`;

const SPAWNING: readonly ScenarioCommand[] = ['start', 'compare'];
const BALANCING: readonly ScenarioCommand[] = ['start', 'balance', 'compare', 'export'];
const LOADING: readonly ScenarioCommand[] = ['start', 'compare', 'load', 'export'];
const d = DEFAULT_HEALTH_CHECK;

/**
 * Every field of a scenario and its flag, or `null` when no flag sets it
 * (typed against {@link ScenarioInput}: a field without an entry is a
 * compile error, so the CLI never drifts from the scenario). Declaration
 * order is `--help` order within a group.
 */
export const OPTION_TABLE: { readonly [P in InputPath]: OptionSpec | null } = {
  algo: { flags: '--algo <name>', help: `balancing algorithm: ${ALGORITHMS.join(', ')}`, default: 'round-robin', group: 'algo', commands: ['start', 'balance', 'export'] },
  engine: {
    flags: '--engine <name>',
    help: `what balances: ${ENGINES.join(', ')}; haproxy and nginx are the real programs (on PATH), started from a generated config (see lblab export)`,
    default: 'lblab',
    group: 'algo',
    commands: ['start', 'balance'],
  },
  'balancer.mode': {
    flags: '--mode <mode>',
    help: `what to balance: http (L7, each request) or tcp (L4, each TCP connection, no HTTP parsing; algorithms ${TCP_ALGORITHMS.join(', ')}). ${KEEP_ALIVE_NOTE}`,
    default: 'http',
    group: 'mode',
    commands: ['start', 'balance', 'export'],
  },
  backends: { flags: '--backends <n>', help: `number of backends b1..bn (1-${MAX_BACKENDS})`, default: '3', group: 'scenario', commands: SPAWNING },
  weights: {
    flags: '--weights <list>',
    help: {
      start: 'comma-separated weights, one per backend (weighted default: n..1)',
      compare: 'comma-separated weights, one per backend, for the algorithms that use weights (default: all 1)',
      balance: 'comma-separated weights, one per backend (default: all 1)',
    },
    group: 'scenario',
    commands: BALANCING,
  },
  'load.concurrency': {
    flags: '--concurrency <n>',
    help: {
      start: `closed-model load workers (default ${DEFAULT_CONCURRENCY})`,
      compare: `closed-model load workers (default ${DEFAULT_CONCURRENCY})`,
      load: `closed-model workers, each sends the next request when its last one finished (default ${DEFAULT_CONCURRENCY})`,
    },
    group: 'scenario',
    commands: LOADING,
  },
  'hash-key': { flags: '--hash-key <key>', help: 'key of consistent-hash and maglev: ip (default), path, header:NAME or cookie:NAME', group: 'scenario', commands: BALANCING },
  timeline: {
    flags: '--event <spec>',
    help: `scheduled action ${EVENT_FORMS}, e.g. "10s kill b2", "10s hang b2", "20s recover b2", "10s weight b1=5", "15s algo p2c"; with --balancers 2 also "5s kill lb1", "8s restart lb1"; repeatable`,
    default: [],
    repeatable: true,
    group: 'scenario',
    commands: SPAWNING,
  },
  regions: {
    flags: '--region <name=backends>',
    help: 'a region for global server load balancing, e.g. us=b1,b2: its own pool (algorithm, health checks) behind the GSLB tier; repeatable, every backend in one (see Regions below)',
    repeatable: true,
    group: 'regions',
    commands: ['start'],
  },
  gslb: {
    flags: '--gslb <policy>',
    help: `how the GSLB tier sends clients to regions: ${GSLB_POLICIES.join(', ')} (default geo: the nearest region with a healthy backend)`,
    group: 'regions',
    commands: ['start'],
  },
  rtt: {
    flags: '--rtt <a-b=duration>',
    help: `round trip between two regions, e.g. us-eu=80ms, that each request pays as simulated network delay (same region ${SAME_REGION_RTT_MS}ms unless us-us=… says); repeatable, one for every two regions`,
    repeatable: true,
    group: 'regions',
    commands: ['start'],
  },
  'load.client-regions': {
    flags: '--client-regions <shares>',
    help: 'where the virtual clients are, e.g. us=60%,eu=40% (default equal shares; --clients defaults to 20 with regions)',
    group: 'regions',
    commands: ['start'],
  },
  balancers: {
    flags: '--balancers <n>',
    help: 'balancers: 1 (default, in a thread of lblab) or 2, each a process of its own on its own loopback address, standing in for each other as --ha says',
    group: 'ha',
    commands: ['start'],
  },
  ha: {
    flags: '--ha <mode>',
    help: `with --balancers 2: ${HA_MODES.join(' or ')} (default active-passive: lb1 holds ${HA_VIRTUAL_ADDRESS}, lb2 checks it and takes the address over; dns-rr: clients get both addresses and try the other when a connect fails)`,
    group: 'ha',
    commands: ['start'],
  },
  'ha-interval': {
    flags: '--ha-interval <duration>',
    help: `with --ha active-passive: how often the passive balancer checks the active one (keepalived's advert_int; default ${DEFAULT_HA_INTERVAL_MS / 1000}s); it takes over after ${HA_FALL} failed checks in a row`,
    group: 'ha',
    commands: ['start'],
  },
  sessions: {
    flags: '--sessions <mode>',
    help: 'backends keep user sessions (login cookie lblab_session, x-lblab-session: new|found|lost): memory (each its own), shared (one redis-server for all, started for the run) or token (signed JWTs, nothing stored); default none',
    group: 'scenario',
    commands: ['start'],
  },
  'load.clients': {
    flags: '--clients <n>',
    help: `virtual clients (1-${MAX_CLIENTS}), each with its own source address 127.0.x.y and keep-alive connections; requests take them in turn`,
    group: 'clients',
    commands: LOADING,
  },
  'load.spread-clients': { flags: '--spread-clients', help: 'give every virtual client its own /24 (127.x.y.1), so ip_hash-style hashing of 3 octets tells them apart', group: 'clients', commands: LOADING },
  'load.headers': {
    flags: '--header <name=value>',
    help: 'header sent on every request; {client} = client number, {seq} = request number; repeatable',
    default: [],
    repeatable: true,
    group: 'clients',
    commands: LOADING,
  },
  'load.cookies': {
    flags: '--no-cookies',
    help: 'no cookie jars: Set-Cookie is not kept or sent back (by default each client keeps its own, as a browser)',
    group: 'clients',
    commands: LOADING,
  },
  'load.client-weights': {
    flags: '--client-weights <list>',
    help: 'comma-separated weights, one per virtual client: how often each sends, e.g. 8,1,1,1 for one greedy client (default: all alike)',
    group: 'clients',
    commands: LOADING,
  },
  'load.keep-alive': {
    flags: '--no-keep-alive',
    help: 'a new connection for every request (Connection: close), as a client without keep-alive; with --tls, a TLS handshake each',
    group: 'clients',
    commands: LOADING,
  },
  'load.path': {
    flags: '--path <path>',
    help: 'request path (and query), e.g. /api/users; repeatable: requests take the paths in turn',
    default: [],
    repeatable: true,
    group: 'clients',
    commands: LOADING,
  },
  /** Lab files only: a run through lblab's forward proxy (`lblab proxy` is the command of its own). */
  'load.proxy': null,
  'load.rate': {
    flags: '--rate <req/s>',
    help: 'open model: send this many requests per second on a fixed schedule, whatever the responses do (not with --concurrency)',
    group: 'load-model',
    commands: ['start', 'load', 'export'],
  },
  'load.protocol': {
    flags: '--protocol <name>',
    help: {
      start:
        'what the clients speak: http (HTTP/1.1 requests, the default), http2 (--connections each carrying --streams; h2c, or h2 with --tls) or ws (each of --clients holds one WebSocket, sends --message-rate a second and reconnects when dropped; not with --rate, --concurrency, --requests)',
      load: 'what the clients speak: http (HTTP/1.1, the default) or http2 (h2c on http://, h2 by ALPN on https://: --connections each carrying --streams); a ws:// URL makes WebSocket clients',
    },
    group: 'load-model',
    commands: ['start', 'load'],
  },
  'load.message-rate': {
    flags: '--message-rate <n>',
    help: { start: 'with --protocol ws: messages a second each WebSocket client sends (required)', load: 'ws:// only: messages a second each WebSocket client sends (default 1)' },
    group: 'load-model',
    commands: ['start', 'load'],
  },
  'load.ws-lifetime': {
    flags: '--ws-lifetime <duration>',
    help: { start: 'with --protocol ws: each client closes its WebSocket after this long and connects again (default: the whole run)', load: 'ws:// only: each client closes its WebSocket after this long and connects again (default: the whole run)' },
    group: 'load-model',
    commands: ['start', 'load'],
  },
  'load.max-in-flight': {
    flags: '--max-in-flight <n>',
    help: `open model: most requests outstanding at once (default ${DEFAULT_MAX_IN_FLIGHT}); a request due at the cap waits for a slot and is counted`,
    group: 'load-model',
    commands: ['start', 'load', 'export'],
  },
  'load.connections': {
    flags: '--connections <n>',
    help: '--protocol http2: connections in all (default 1)',
    group: 'load-model',
    commands: ['start', 'load'],
  },
  'load.streams': {
    flags: '--streams <n>',
    help: `--protocol http2: concurrent streams on each connection, 1-${MAX_STREAMS} (default ${DEFAULT_CONCURRENCY}); the closed model runs connections × streams workers`,
    group: 'load-model',
    commands: ['start', 'load'],
  },
  'load.requests': {
    flags: '--requests <n>',
    help: 'stop after this many requests have completed (with --duration: whichever comes first; without it, no time limit)',
    group: 'load-model',
    commands: ['start', 'load', 'export'],
  },
  'load.duration': {
    flags: '--duration <duration>',
    help: {
      start: 'run length (default: 10s headless, until q with the dashboard; with --requests: until they are done)',
      compare: 'run length of each algorithm',
      load: 'how long to fire (default 10s; with --requests and no --duration: until they are done)',
    },
    default: { compare: '10s' },
    group: 'duration',
    commands: LOADING,
  },
  'load.fail-on-errors': {
    flags: '--fail-on-errors <rate>',
    help: 'exit 3 when the error rate (5xx and transport errors ÷ requests) is above this fraction 0-1, e.g. 0.01, after the report and --out are written (as a k6 threshold rate<0.01)',
    group: 'duration',
    commands: ['start', 'load'],
  },
  'balancer.port': {
    flags: '--port <port>',
    help: { start: 'balancer port on 127.0.0.1 (0 = any free port)', balance: 'port to listen on (0 = any free port)' },
    default: { start: '0', balance: '8080', export: '8080' },
    group: 'listen',
    commands: ['start', 'balance', 'export'],
  },
  'balancer.host': { flags: '--host <address>', help: 'loopback address to listen on', default: '127.0.0.1', group: 'listen', commands: ['balance', 'export'] },
  'health.check': {
    flags: '--health-check <mode>',
    help: 'active check: http (GET --health-path, 2xx/3xx passes) or tcp (a TCP connect, closed at once; as HAProxy check without option httpchk)',
    default: d.mode,
    group: 'health',
    commands: BALANCING,
  },
  'health.interval': { flags: '--health-interval <duration>', help: 'time between two checks of a fully UP backend (HAProxy inter)', default: `${d.intervalMs}ms`, group: 'health', commands: BALANCING },
  'health.fastinter': {
    flags: '--health-fastinter <duration>',
    help: 'time between checks while a backend changes state: UP having failed a check, or DOWN having passed one (HAProxy fastinter) (default: --health-interval)',
    group: 'health',
    commands: BALANCING,
  },
  'health.downinter': {
    flags: '--health-downinter <duration>',
    help: 'time between checks of a fully DOWN backend (HAProxy downinter) (default: --health-interval)',
    group: 'health',
    commands: BALANCING,
  },
  'health.timeout': {
    flags: '--health-timeout <duration>',
    help: 'time a check may take: connect and response, the connect alone with tcp (HAProxy timeout check)',
    default: `${d.timeoutMs}ms`,
    group: 'health',
    commands: BALANCING,
  },
  'health.rise': { flags: '--rise <n>', help: 'consecutive passed checks to mark a DOWN backend UP', default: String(d.rise), group: 'health', commands: BALANCING },
  'health.fall': { flags: '--fall <n>', help: 'consecutive failed checks to mark an UP backend DOWN', default: String(d.fall), group: 'health', commands: BALANCING },
  'health.path': {
    flags: '--health-path <path>',
    help: 'path of the HTTP check (GET); 2xx/3xx passes; ignored with --health-check tcp, as HAProxy does',
    default: { start: d.path, compare: d.path, balance: '/' },
    group: 'health',
    commands: BALANCING,
  },
  'balancer.connect-timeout': {
    flags: '--connect-timeout <duration>',
    help: 'time a try may take to connect to a backend (nginx proxy_connect_timeout)',
    default: `${DEFAULT_CONNECTION.connectTimeoutMs}ms`,
    group: 'proxy',
    commands: BALANCING,
  },
  'balancer.response-timeout': {
    flags: '--response-timeout <duration>',
    help: 'time a try may wait for response headers, and between body chunks (nginx proxy_read_timeout)',
    default: `${DEFAULT_CONNECTION.responseTimeoutMs / 1000}s`,
    group: 'proxy',
    commands: BALANCING,
  },
  'balancer.client-timeout': {
    flags: '--client-timeout <duration>',
    help: 'time a client may take to send a whole request head; past it: 408 and the connection closed, a guard against slow clients (HAProxy timeout http-request)',
    default: `${DEFAULT_CLIENT_TIMEOUT_MS / 1000}s`,
    group: 'proxy',
    commands: BALANCING,
  },
  'balancer.retries': {
    flags: '--retries <n>',
    help: 'further tries on other backends after a failed one, 0-10 (nginx proxy_next_upstream_tries − 1)',
    default: String(DEFAULT_RETRY_POLICY.retries),
    group: 'proxy',
    commands: BALANCING,
  },
  'balancer.retry-on': {
    flags: '--retry-on <list>',
    help: `what allows a retry: ${RETRY_CONDITIONS.join(', ')} (nginx proxy_next_upstream), comma-separated`,
    default: [...DEFAULT_RETRY_POLICY.on].join(','),
    group: 'proxy',
    commands: BALANCING,
  },
  'balancer.retry-non-idempotent': { flags: '--retry-non-idempotent', help: 'also retry POST and PATCH requests without a body (nginx non_idempotent)', group: 'proxy', commands: BALANCING },
  'balancer.max-fails': {
    flags: '--max-fails <n>',
    help: 'passive checks, nginx style: this many failed tries (error, timeout, 5xx) within --fail-timeout take a backend out for --fail-timeout; 0 = off',
    default: '0',
    group: 'proxy',
    commands: BALANCING,
  },
  'balancer.fail-timeout': { flags: '--fail-timeout <duration>', help: 'window and time out of --max-fails (nginx fail_timeout)', default: PASSIVE_DEFAULTS.failTimeout, group: 'proxy', commands: BALANCING },
  'balancer.eject-consecutive': {
    flags: '--eject-consecutive <n>',
    help: 'passive checks, Envoy style: this many failed tries in a row eject a backend for --eject-time × its ejection count; 0 = off',
    default: '0',
    group: 'proxy',
    commands: BALANCING,
  },
  'balancer.eject-time': { flags: '--eject-time <duration>', help: 'base ejection time of --eject-consecutive (Envoy base_ejection_time)', default: PASSIVE_DEFAULTS.ejectTime, group: 'proxy', commands: BALANCING },
  'balancer.max-ejection-percent': {
    flags: '--max-ejection-percent <p>',
    help: 'most of the upstream --eject-consecutive may eject at once, 0-100; one backend always may (Envoy max_ejection_percent)',
    default: String(PASSIVE_DEFAULTS.maxEjectionPercent),
    group: 'proxy',
    commands: BALANCING,
  },
  'balancer.breaker': { flags: '--breaker <n>', help: 'circuit breaker per backend: this many failed tries in a row open it; 0 = off', default: '0', group: 'proxy', commands: BALANCING },
  'balancer.breaker-cooldown': {
    flags: '--breaker-cooldown <duration>',
    help: 'time an open breaker waits before one probe request decides (half-open)',
    default: PASSIVE_DEFAULTS.breakerCooldown,
    group: 'proxy',
    commands: BALANCING,
  },
  'balancer.backup': {
    flags: '--backup <backend>',
    help: 'a backup backend: serves only when no primary can (nginx/HAProxy backup); repeatable',
    default: [],
    repeatable: true,
    group: 'proxy',
    commands: BALANCING,
  },
  'balancer.slow-start': {
    flags: '--slow-start <duration>',
    help: 'a backend back UP ramps its weight up linearly over this long (HAProxy slowstart; not with the hashing algorithms); 0s = off',
    default: '0s',
    group: 'proxy',
    commands: BALANCING,
  },
  'balancer.panic-threshold': {
    flags: '--panic-threshold <percent>',
    help: 'below this share of usable primaries, route to all of them regardless of health (Envoy panic threshold); 0 = off',
    default: '0',
    group: 'proxy',
    commands: BALANCING,
  },
  'balancer.on-marked-down': {
    flags: '--on-marked-down <action>',
    help: 'shutdown-sessions: when health checks mark a backend DOWN, cut the requests (tcp: connections) it holds at once, as errors of that backend and not retried, instead of waiting for their timeout (HAProxy on-marked-down shutdown-sessions); default: they wait',
    group: 'proxy',
    commands: BALANCING,
  },
  'balancer.sticky': {
    flags: '--sticky <mode>',
    help: `sticky sessions: cookie[:NAME] inserts a cookie naming the backend by an opaque id (HAProxy cookie ${DEFAULT_STICKY_COOKIE} insert indirect nocache; default name ${DEFAULT_STICKY_COOKIE}), ip[:TTL] sticks each client address in a stick table (HAProxy stick on src; default TTL 30m)`,
    group: 'proxy',
    commands: BALANCING,
  },
  'balancer.rate-limit': {
    flags: '--rate-limit <rate>',
    help: 'per client IP, R/s or R/m with an optional :burst, e.g. 100/s:20; over it: 429 with Retry-After, nothing forwarded (nginx limit_req … nodelay)',
    group: 'proxy',
    commands: BALANCING,
  },
  'balancer.route': {
    flags: '--route <spec>',
    help: 'L7 route MATCH=BACKENDS[:ALGO]; MATCH is /PATH (prefix), host:NAME, header:NAME[=VALUE] or default; first match wins; repeatable (see Routes below)',
    default: [],
    repeatable: true,
    group: 'routes',
    commands: ['start', 'balance', 'export'],
  },
  'balancer.routes': { flags: '--routes <file>', help: 'routes and pools from a YAML or JSON file (see Routes below); instead of --route', group: 'routes', commands: ['start', 'balance', 'export'] },
  'balancer.tls': {
    flags: '--tls',
    help: 'serve HTTPS to clients with a self-signed certificate made at start (TLS termination); backends get plain HTTP',
    group: 'routes',
    commands: ['start', 'balance', 'export'],
  },
  'balancer.http2': {
    flags: '--http2',
    help: 'speak HTTP/2 to clients as well as HTTP/1.1 (h2 by ALPN with --tls, h2c with prior knowledge without); each stream is balanced on its own, backends get HTTP/1.1',
    group: 'routes',
    commands: ['start', 'balance', 'export'],
  },
};

/**
 * The per-backend profile flags of `start` and `compare`: `--latency 20ms`
 * for every backend, `--latency b2=200ms` for one; each sets
 * `backends[i].<field>` of the scenario input.
 */
export const PROFILE_OPTIONS: { readonly [K in keyof BackendInput]-?: OptionSpec } = {
  latency: {
    flags: '--latency <latency>',
    help: 'service time of every backend or one (b2=200ms): fixed 20ms, uniform 10ms-30ms, normal:50ms:10ms or lognormal:50ms:20ms (mean:sd); repeatable',
    default: [],
    repeatable: true,
    group: 'scenario',
    commands: SPAWNING,
  },
  capacity: {
    flags: '--capacity <n>',
    help: `max requests a backend serves at once, the rest queue (default ${DEFAULT_CAPACITY}, a server's worker pool; b1=4 for one); repeatable`,
    default: [],
    repeatable: true,
    group: 'scenario',
    commands: SPAWNING,
  },
  'error-rate': {
    flags: '--error-rate <fraction>',
    help: 'share of requests a backend answers 500 (b2=0.05 for one); repeatable',
    default: [],
    repeatable: true,
    group: 'scenario',
    commands: SPAWNING,
  },
  'ws-push': {
    flags: '--ws-push <duration>',
    help: 'on each open WebSocket, a backend pushes a message every <duration> (b2=1s for one; default never); repeatable',
    default: [],
    repeatable: true,
    group: 'scenario',
    commands: SPAWNING,
  },
};

/** The scenario group that the profile flags are listed in, after `--concurrency`. */
const PROFILES_AFTER: InputPath = 'load.concurrency';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

type Entry = readonly [path: string, spec: OptionSpec];

/** The table's entries in `--help` order, the profile flags in their place. */
function entries(): Entry[] {
  const out: Entry[] = [];
  for (const [path, spec] of Object.entries(OPTION_TABLE) as Array<[string, OptionSpec | null]>) {
    if (spec) out.push([path, spec]);
    if (path === PROFILES_AFTER) for (const [field, p] of Object.entries(PROFILE_OPTIONS)) out.push([`backends[].${field}`, p]);
  }
  return out;
}

/** The option commander makes of a flag, to read its attribute name (`--no-cookies` → `cookies`). */
function commanderOption(spec: OptionSpec): Option {
  return new Option(spec.flags);
}

/** Where a command with no help or default of its own for a flag takes them: `export` speaks as `balance`, then as `load`. */
const SPEAKS_AS: Partial<Record<ScenarioCommand, readonly ScenarioCommand[]>> = { export: ['balance', 'load'] };

function perCommand<T>(value: T | Partial<Record<ScenarioCommand, T>>, command: ScenarioCommand): T | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value as T;
  const per = value as Partial<Record<ScenarioCommand, T>>;
  return [command, ...(SPEAKS_AS[command] ?? [])].map((c) => per[c]).find((v) => v !== undefined);
}

/** Adds the flags of `group` that `command` takes to `cmd`, in table order. */
export function addOptionGroup(cmd: Command, group: OptionGroup, command: ScenarioCommand): Command {
  for (const [, spec] of entries()) {
    if (spec.group !== group || !spec.commands.includes(command)) continue;
    const help = perCommand(spec.help, command) ?? '';
    const fallback = spec.default === undefined ? undefined : perCommand(spec.default, command);
    if (spec.repeatable) cmd.option(spec.flags, help, collect, (fallback as string[] | undefined) ?? []);
    else if (fallback !== undefined) cmd.option(spec.flags, help, fallback as string | boolean);
    else cmd.option(spec.flags, help);
  }
  return cmd;
}

/**
 * The scenario input of the flags the user typed on `cmd` (a flag left at
 * its default gives no field: the scenario's defaults apply, and mode tcp
 * can tell a typed `--health-check` from the default one). Per-backend
 * profile flags become `backends[i]` entries, which needs the backend count;
 * `--latency b7=…` naming no backend is refused here.
 * @throws {FieldError} naming the flag.
 */
export function inputFromFlags(cmd: Command, command: ScenarioCommand): ScenarioInput {
  const opts = cmd.opts<Record<string, FlagValue | undefined>>();
  const typed = (spec: OptionSpec): FlagValue | undefined => {
    const key = commanderOption(spec).attributeName();
    return cmd.getOptionValueSource(key) === 'cli' ? opts[key] : undefined;
  };
  const input: Record<string, unknown> = {};
  const profiles: Array<[field: keyof BackendInput, values: string[]]> = [];
  for (const [path, spec] of entries()) {
    if (!spec.commands.includes(command)) continue;
    const value = typed(spec);
    if (value === undefined) continue;
    if (path.startsWith('backends[].')) {
      profiles.push([path.slice('backends[].'.length) as keyof BackendInput, value as string[]]);
      continue;
    }
    const dot = path.indexOf('.');
    if (dot < 0) input[path] = value;
    else ((input[path.slice(0, dot)] ??= {}) as Record<string, unknown>)[path.slice(dot + 1)] = value;
  }
  if (profiles.length > 0) input.backends = profileInputs(input.backends as string | undefined, profiles);
  return input as ScenarioInput;
}

/**
 * The profiles of `--backends N` with the per-backend flags applied in
 * order (`20ms` for all, `b2=200ms` for one; later ones win).
 */
function profileInputs(count: string | undefined, profiles: ReadonlyArray<[keyof BackendInput, string[]]>): BackendInput[] {
  const n = parseInteger('--backends', count ?? '3', 1, MAX_BACKENDS);
  const names = Array.from({ length: n }, (_, i) => `b${i + 1}`);
  const out: BackendInput[] = names.map(() => ({}));
  for (const [field, values] of profiles) {
    for (const raw of values) {
      const { name, value } = splitPerBackend(raw);
      if (name === undefined) for (const p of out) p[field] = value;
      else {
        const i = names.indexOf(name);
        if (i < 0) throw new FieldError(flagOf(`backends.${field}`), `backend to be one of ${names.join(', ')}, got ${JSON.stringify(name)}`);
        out[i]![field] = value;
      }
    }
  }
  return out;
}

/** The flag of each field path, indices dropped (`backends.latency`, `timeline`). */
const FLAG_OF = new Map<string, string>(entries().map(([path, spec]) => [path.replace('[]', ''), commanderOption(spec).long!]));

/**
 * The flag that sets scenario field `path` (`balancer.retry-on` →
 * `--retry-on`, `backends[2].latency` → `--latency`, `timeline[0]` →
 * `--event`); the path itself for a field no flag sets. What the CLI gives
 * `resolveScenario` as its {@link FieldNamer}.
 */
export const flagOf: FieldNamer = (path) => FLAG_OF.get(path.replace(/\[\d+\]/g, '')) ?? path;

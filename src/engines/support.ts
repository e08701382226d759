import type { AlgorithmName } from '../balancer/algorithms/index.js';
import type { RetryCondition } from '../balancer/retry-policy.js';
import { FieldError, type FieldNamer } from '../scenario/field-error.js';
import type { UpstreamScenario } from '../scenario/scenario.js';
import type { ScheduledEvent } from '../scenario/timeline.js';
import type { EngineName, ExternalEngine } from './engines.js';

/**
 * How an external engine does one lblab algorithm: the directive it becomes
 * (for messages and the README table), or `null` when the engine has none,
 * with `closest` the lblab algorithm that comes nearest and why.
 */
type AlgorithmSupport = { directive: string } | { directive: null; closest: AlgorithmName; why: string };

/**
 * Each algorithm on each external engine (HAProxy 2.6 `balance`, nginx 1.22
 * OSS upstream directives), as `haproxyConfig` and `nginxConfig` write them.
 */
export const ENGINE_ALGORITHMS: Record<ExternalEngine, Record<AlgorithmName, AlgorithmSupport>> = {
  haproxy: {
    'round-robin': { directive: 'balance roundrobin' },
    weighted: { directive: 'balance roundrobin + weight on each server' },
    'least-conn': { directive: 'balance leastconn' },
    'weighted-least-conn': { directive: 'balance leastconn + weight on each server' },
    random: { directive: 'balance random(1)' },
    p2c: { directive: 'balance random(2)' },
    'ip-hash': { directive: 'balance source' },
    'consistent-hash': { directive: 'balance source (or the --hash-key) + hash-type consistent' },
    maglev: { directive: null, closest: 'consistent-hash', why: 'HAProxy has no Maglev table; hash-type consistent is its ring' },
    'least-response-time': { directive: null, closest: 'least-conn', why: 'HAProxy does not pick by response time' },
    'peak-ewma': { directive: null, closest: 'p2c', why: 'HAProxy has no latency EWMA; random(2) is its power of two choices' },
    resource: { directive: null, closest: 'least-conn', why: 'HAProxy reads load only through agent-check weights, which lblab does not export' },
  },
  nginx: {
    'round-robin': { directive: 'the default (smooth weighted round robin)' },
    weighted: { directive: 'weight= on each server' },
    'least-conn': { directive: 'least_conn' },
    'weighted-least-conn': { directive: 'least_conn + weight= on each server' },
    random: { directive: 'random' },
    p2c: { directive: 'random two least_conn' },
    'ip-hash': { directive: 'ip_hash' },
    'consistent-hash': { directive: 'hash $remote_addr consistent (or the --hash-key)' },
    maglev: { directive: null, closest: 'consistent-hash', why: 'nginx has no Maglev table; hash … consistent is its ketama ring' },
    'least-response-time': { directive: null, closest: 'least-conn', why: 'least_time is NGINX Plus only' },
    'peak-ewma': { directive: null, closest: 'p2c', why: 'nginx has no latency EWMA; random two least_conn is its power of two choices' },
    resource: { directive: null, closest: 'least-conn', why: 'nginx OSS reads no load reports' },
  },
};

/** A setting an engine cannot carry out: the input path of its field, and what the engine has instead. */
type Refusal = { path: string; value: string; closest: string };

/** HAProxy `retry-on` has no 429 keyword (its list: conn-failure, empty-response, response-timeout, 404, 408, 425, 500, 501, 502, 503, 504). */
const HAPROXY_RETRY_ON: readonly RetryCondition[] = ['error', 'timeout', '500', '502', '503', '504'];

/** The settings of `u` that `engine` cannot carry out, in the order a user would fix them. */
function refusals(engine: ExternalEngine, u: UpstreamScenario, events: readonly ScheduledEvent[]): Refusal[] {
  const out: Refusal[] = [];
  const outlier = u.passive.outlier;
  const tcp = u.mode === 'tcp';
  if (u.passive.breaker) {
    out.push({ path: 'balancer.breaker', value: String(u.passive.breaker.failures), closest: engine === 'nginx' ? '--max-fails (max_fails / fail_timeout)' : 'active checks (--fall)' });
  }
  if (u.panicThreshold > 0) out.push({ path: 'balancer.panic-threshold', value: String(u.panicThreshold), closest: 'none (an Envoy setting); leave it off' });
  if (outlier.mode === 'envoy') {
    out.push({ path: 'balancer.eject-consecutive', value: String(outlier.consecutive), closest: engine === 'nginx' ? '--max-fails (max_fails / fail_timeout)' : 'active checks (--fall)' });
  }
  if (engine === 'haproxy') {
    if (outlier.mode === 'nginx') out.push({ path: 'balancer.max-fails', value: String(outlier.maxFails), closest: 'active checks (--fall), which HAProxy runs' });
    const notThere = [...u.retry.on].filter((c) => !HAPROXY_RETRY_ON.includes(c));
    if (notThere.length > 0) out.push({ path: 'balancer.retry-on', value: notThere.join(','), closest: `retry-on without it (${HAPROXY_RETRY_ON.join(',')})` });
    if (u.retry.nonIdempotent) out.push({ path: 'balancer.retry-non-idempotent', value: 'on', closest: 'leave it off: HAProxy retry-on does not resend a POST' });
  }
  if (engine === 'nginx') {
    if (u.onMarkedDown) out.push({ path: 'balancer.on-marked-down', value: u.onMarkedDown, closest: 'none: nginx OSS has no active checks to mark a server DOWN; use --engine haproxy (on-marked-down shutdown-sessions)' });
    if (u.slowStartMs > 0) out.push({ path: 'balancer.slow-start', value: `${u.slowStartMs}ms`, closest: 'none: slow_start is NGINX Plus only; use --engine haproxy (slowstart)' });
    if (u.sticky?.mode === 'cookie') out.push({ path: 'balancer.sticky', value: 'cookie', closest: '--algo consistent-hash --hash-key cookie:NAME (hash $cookie_NAME consistent); sticky cookie is NGINX Plus only' });
    if (u.sticky?.mode === 'ip') out.push({ path: 'balancer.sticky', value: 'ip', closest: '--algo ip-hash (ip_hash)' });
    if (tcp && u.algo === 'ip-hash') out.push({ path: 'algo', value: 'ip-hash', closest: 'consistent-hash (hash $remote_addr consistent): the stream module has no ip_hash' });
    if (u.backups.length > 0) {
      const hashing = [u.algo, ...(u.routing?.pools.flatMap((p) => (p.algo ? [p.algo] : [])) ?? [])].find((a) => ['ip-hash', 'consistent-hash', 'random', 'p2c'].includes(a));
      if (hashing) out.push({ path: 'balancer.backup', value: u.backups.join(','), closest: `round-robin or least-conn: nginx refuses backup servers with ${hashing}` });
    }
  }
  const fixedAlgo = events.find((e) => e.action === 'algo');
  if (fixedAlgo) out.push({ path: 'timeline', value: `${fixedAlgo.atMs}ms algo`, closest: `lblab compare --engines (the algorithm is fixed in ${engine}'s config)` });
  if (engine === 'nginx') {
    const live = events.find((e) => e.action === 'weight' || e.action === 'drain' || e.action === 'remove');
    if (live) out.push({ path: 'timeline', value: `${live.atMs}ms ${live.action}`, closest: '--engine haproxy (its runtime API sets weights and states); nginx OSS has none' });
  }
  return out;
}

/**
 * Checks that `engine` can run upstream scenario `u` as lblab would: every
 * algorithm (`algo`, each route pool's own) has a directive there, and
 * every setting given has an equivalent. `lblab` runs everything.
 * `events` are the timeline's (an `algo` switch needs lblab's balancer;
 * live weight, drain and remove need HAProxy's runtime API); `asked` words
 * how the engine was asked for (`--engine nginx`, `lblab export nginx`).
 * @throws {FieldError} (exit 2) naming the flag (worded by `name`), the
 * engine and the closest thing it has: "Expected `--algo` to be one that
 * nginx has, got maglev: nginx has no Maglev table; hash … consistent is its
 * ketama ring (closest: consistent-hash)".
 */
export function checkEngineSupport(engine: EngineName, u: UpstreamScenario, name: FieldNamer, events: readonly ScheduledEvent[] = [], asked = `${name('engine')} ${engine}`): void {
  if (engine === 'lblab') return;
  const algorithms = [
    { path: 'algo', algo: u.algo },
    ...(u.routing?.pools.flatMap((p) => (p.algo ? [{ path: 'balancer.route', algo: p.algo }] : [])) ?? []),
  ];
  for (const { path, algo } of algorithms) {
    const s = ENGINE_ALGORITHMS[engine][algo];
    if (s.directive === null) {
      throw new FieldError(name(path), `to be an algorithm ${engine} has with \`${asked}\`, got ${algo}: ${s.why} (closest: ${s.closest})`);
    }
  }
  const first = refusals(engine, u, events)[0];
  if (first) throw new FieldError(name(first.path), `to be a setting ${engine} has with \`${asked}\`, got ${first.value} (closest: ${first.closest})`);
}

import type { Command } from 'commander';
import { checkOutPath } from './output.js';
import { ALGORITHMS, HASH_KEY_ALGORITHMS, WEIGHTED_ALGORITHMS, algorithmsHelp, isAlgorithmName, usesHashKey, usesWeights } from '../balancer/algorithms/index.js';
import { parseHashKey } from '../balancer/hash-key.js';
import { UsageError } from '../errors.js';
import { addHealthOptions, parseHealthOptions, type HealthFlags } from './health-options.js';
import { addModeOption, applyMode, givenOptions, type ModeFlags } from './mode-options.js';
import { addProxyOptions, parseProxyOptions, requireSlowStartAlgorithm, type ProxyFlags } from './proxy-options.js';
import { addRouteOptions, parseRouteOptions, poolAlgorithms, ROUTES_HELP, type RouteFlags } from './route-options.js';
import { requireLoopbackUrl, validateLoopback } from './loopback.js';
import { parseDuration, parseHttpUrl, parsePort, parseWeights, requireWeightedAlgorithm, splitPerBackend } from './parse.js';

type BalanceFlags = HealthFlags &
  ProxyFlags &
  ModeFlags &
  RouteFlags & {
  backend: string[];
  algo: string;
  weights?: string;
  hashKey?: string;
  port: string;
  host: string;
  duration?: string;
  json?: boolean;
  out?: string;
};

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `lblab balance`: the balancer alone in front of any HTTP servers on this machine. */
export function registerBalanceCommand(program: Command): void {
  const cmd = program
    .command('balance')
    .description('run the balancer alone in front of HTTP servers on this machine')
    .option('--backend <url>', 'a backend: URL or name=URL (repeatable, in order b1..bn)', collect, [])
    .option('--algo <name>', `balancing algorithm: ${ALGORITHMS.join(', ')}`, 'round-robin')
    .option('--weights <list>', 'comma-separated weights, one per backend (default: all 1)')
    .option('--hash-key <key>', 'key of consistent-hash and maglev: ip (default), path, header:NAME or cookie:NAME')
    .option('--port <port>', 'port to listen on (0 = any free port)', '8080')
    .option('--host <address>', 'loopback address to listen on', '127.0.0.1')
    .option('--duration <duration>', 'stop by itself after this long (default: until Ctrl-C / SIGTERM)')
    .option('--json', 'print the run record as JSON instead of the report')
    .option('--out <file>', 'also write the run record to FILE');
  addModeOption(cmd);
  addRouteOptions(addProxyOptions(addHealthOptions(cmd, '/')))
    .addHelpText(
      'after',
      `
Examples:
  lblab balance --algo round-robin --backend http://127.0.0.1:8001 --backend http://127.0.0.1:8002 --port 8080
  lblab balance --algo weighted --weights 2,1,1 --backend api1=http://127.0.0.1:8001 \\
                --backend api2=http://127.0.0.1:8002 --backend api3=http://127.0.0.1:8003
  lblab balance --sticky cookie --rate-limit 10/s:5 --backend http://127.0.0.1:8001 --backend http://127.0.0.1:8002
  lblab balance --backend api1=http://127.0.0.1:8001 --backend api2=http://127.0.0.1:8002 \\
                --backend static=http://127.0.0.1:8003 --route "/api=api1,api2:least-conn" --route "/static=static"
  lblab balance --tls --backend http://127.0.0.1:8001 --port 8443      then: curl -k https://127.0.0.1:8443/

With --sticky cookie the first answer sets SERVERID=<opaque id> and later
requests carrying it go to the same backend while it is UP:
  curl -si -c jar -b jar http://127.0.0.1:8080/ | grep -i -e set-cookie -e x-lblab-backend

The seed lab: start three servers (python3 -m http.server 8001, 8002, 8003),
run the first example with a third --backend, then
  for i in $(seq 9); do curl -s -o /dev/null -D - http://127.0.0.1:8080/ | grep x-lblab-backend; done
Health transitions print on stderr as they happen; Ctrl-C prints the report.
In front of servers with no HTTP check to offer, check the port alone:
  lblab balance --health-check tcp --health-interval 2s --health-fastinter 200ms --backend http://127.0.0.1:8001
At layer 4, relaying whole TCP connections (checks become TCP connects; only the
host and port of each --backend count):
  lblab balance --mode tcp --algo least-conn --backend http://127.0.0.1:8001 --backend http://127.0.0.1:8002

${algorithmsHelp()}

${ROUTES_HELP}

TLS (--tls): serves HTTPS with a self-signed certificate made at start (for the
--host address; curl -k, or undici with rejectUnauthorized: false, accepts it),
forwards plain HTTP with X-Forwarded-Proto: https, and reports the handshakes.`,
    )
    .action(async (o: BalanceFlags, command: Command) => {
      if (o.backend.length === 0) throw new UsageError('Expected at least one `--backend` URL, got none');
      const backends = o.backend.map((raw, i) => {
        const { name, value } = raw.includes('://') && !/^[A-Za-z][\w-]*=/.test(raw) ? { name: undefined, value: raw } : splitPerBackend(raw);
        const url = requireLoopbackUrl('--backend', parseHttpUrl('--backend', value));
        if ((url.pathname !== '/' && url.pathname !== '') || url.search) {
          throw new UsageError(`Expected \`--backend\` to be an origin like http://127.0.0.1:8001 (no path: requests keep theirs), got ${JSON.stringify(value)}`);
        }
        return { name: name ?? `b${i + 1}`, url: url.origin };
      });
      const dup = backends.find((b, i) => backends.findIndex((x) => x.name === b.name) !== i);
      if (dup) throw new UsageError(`Expected every \`--backend\` name to be unique, got ${dup.name} twice`);
      if (!isAlgorithmName(o.algo)) {
        throw new UsageError(`Expected \`--algo\` to be one of ${ALGORITHMS.join(', ')}, got ${JSON.stringify(o.algo)}`);
      }
      if (o.weights !== undefined) requireWeightedAlgorithm(o.algo, usesWeights(o.algo), WEIGHTED_ALGORITHMS);
      const weights = o.weights !== undefined ? parseWeights('--weights', o.weights, backends.length) : backends.map(() => 1);
      const hashKey = o.hashKey !== undefined ? parseHashKey('--hash-key', o.hashKey) : undefined;
      const { backups, ...proxy } = parseProxyOptions(
        o,
        backends.map((b) => b.name),
      );
      const routing = parseRouteOptions(
        o,
        backends.map((b) => b.name),
        backups,
      );
      if (hashKey && ![o.algo, ...poolAlgorithms(routing)].some(usesHashKey)) {
        throw new UsageError(`Expected \`--hash-key\` only with an algorithm that hashes a key (${HASH_KEY_ALGORITHMS.join(', ')}), got --algo ${o.algo}`);
      }
      requireSlowStartAlgorithm(proxy.slowStartMs, [o.algo, ...poolAlgorithms(routing)]);
      const base = {
        backends: backends.map((b, i) => ({ ...b, weight: weights[i]!, ...(backups.includes(b.name) ? { backup: true } : {}) })),
        algo: o.algo,
        ...(hashKey ? { hashKey } : {}),
        health: parseHealthOptions(o),
        ...proxy,
        ...(routing ? { routing } : {}),
        ...(o.tls ? { tls: true } : {}),
        host: validateLoopback('--host', o.host),
        port: parsePort('--port', o.port),
      };
      const config = applyMode(base, o, givenOptions(command));
      const durationMs = o.duration !== undefined ? parseDuration('--duration', o.duration) : 0;
      checkOutPath(o.out);
      const { runBalance } = await import('./balance-run.js');
      await runBalance(config, durationMs, { json: o.json, out: o.out });
    });
}

import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { ExternalEngine } from '../engines/engines.js';
import { serverOf } from '../engines/engine-config.js';
import { checkEngineSupport } from '../engines/support.js';
import type { Expectation } from '../lab/lab.js';
import { FieldError } from '../scenario/field-error.js';
import { resolveScenario } from '../scenario/resolve.js';
import type { Scenario, UpstreamScenario } from '../scenario/scenario.js';
import { parsePort } from '../scenario/values.js';
import { BACKEND_HELP, collectBackend, parseBalance } from './balance-flags.js';
import { addOptionGroup, flagOf, inputFromFlags } from './options.js';

/** What `lblab export` writes. */
const TARGETS = ['haproxy', 'nginx', 'k6'] as const;
type Target = (typeof TARGETS)[number];

/** `export`'s own flags. */
type ExportFlags = { backend: string[]; lab?: string; run?: string };

/** The first port of the servers a lab's exported config points at when no `--backend` is given: b1 on 8001, b2 on 8002, … */
const LAB_FIRST_PORT = 8001;

/** `lblab export haproxy|nginx|k6`: the scenario as a config the real engine runs, or as a k6 script of its load. */
export function registerExportCommand(program: Command): void {
  const cmd = program
    .command('export')
    .description('print the scenario as an HAProxy or nginx config that runs as is, or its load as a k6 script')
    .argument('<target>', `what to write: ${TARGETS.join(', ')}`)
    .option('--backend <url>', BACKEND_HELP, collectBackend, [])
    .option('--lab <name>', "export a lab's scenario (see lblab lab list) instead of the flags; its backends are 127.0.0.1:8001… unless --backend names them")
    .option('--run <name>', 'with --lab: the run of a lab with several (default: the first)');
  for (const group of ['algo', 'scenario', 'listen', 'mode', 'health', 'proxy', 'routes', 'clients', 'load-model', 'duration'] as const) addOptionGroup(cmd, group, 'export');
  cmd
    .addHelpText(
      'after',
      `
Examples:
  lblab export haproxy --backend http://127.0.0.1:8001 --backend http://127.0.0.1:8002 --algo least-conn --sticky cookie > haproxy.cfg
  haproxy -c -f haproxy.cfg && haproxy -f haproxy.cfg
  lblab export nginx --backend http://127.0.0.1:8001 --backend http://127.0.0.1:8002 --algo weighted --weights 3,1 > nginx.conf
  mkdir -p /tmp/ngx && nginx -p /tmp/ngx -c "$PWD/nginx.conf"
  lblab export nginx --lab failover > failover-nginx.conf
  lblab export k6 --lab failover > failover.js && k6 run failover.js
  lblab export k6 --concurrency 64 --duration 30s --path /api --port 8080 > load.js

Every line that comes from an lblab flag carries it as a comment. What the
engine cannot do exits 2 naming the flag and the closest it has (nginx OSS:
no active health checks, no sticky cookie, no slow start; HAProxy: no
peak-ewma or maglev). The config listens where --host and --port say
(default 127.0.0.1:8080); a k6 script targets that address. With --tls the
HAProxy config reads lblab.pem (certificate and key), nginx lblab.crt and
lblab.key, beside it.`,
    )
    .action(async (target: string, o: ExportFlags, command: Command) => {
      if (!(TARGETS as readonly string[]).includes(target)) throw new UsageError(`Expected <target> to be one of ${TARGETS.join(', ')}, got ${JSON.stringify(target)}`);
      process.stdout.write(await exportText(target as Target, o, command));
    });
}

/** The command line a config comes from, for its header comment (arguments quoted where the shell needs it). */
function commandLine(): string {
  return ['lblab', ...process.argv.slice(2)].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * What `export` prints for `target`: from the flags (`balance`'s), or from
 * lab `o.lab`'s run.
 * @throws {UsageError} for bad flags, a lab that does not exist, or what the engine cannot do.
 */
async function exportText(target: Target, o: ExportFlags, command: Command): Promise<string> {
  if (o.lab !== undefined) return exportLab(target, o, command);
  if (o.run !== undefined) throw new UsageError('Expected `--run` only with `--lab`');
  const upstream = parseBalance(o.backend, command, 'export');
  if (upstream.port === 0) throw new FieldError('--port', 'to be a port the exported config listens on (1-65535), got 0');
  if (target === 'k6') {
    const input = inputFromFlags(command, 'export');
    const scenario = resolveScenario({ ...input, backends: upstream.backends.length }, { name: flagOf, defaultWeights: 'equal', healthPath: '/', defaultPort: 8080 });
    return k6Text({ ...scenario, host: upstream.host, port: upstream.port, tls: upstream.tls }, commandLine());
  }
  checkEngineSupport(target, { ...upstream, engine: target }, flagOf, [], `lblab export ${target}`);
  return engineText(target, upstream, upstream.backends.map((b) => serverOf(b.name, b.url)), commandLine());
}

/** A lab's run, exported: its scenario with the listen address of the flags and the servers of `--backend` (or 127.0.0.1:8001…). */
async function exportLab(target: Target, o: ExportFlags, command: Command): Promise<string> {
  const typed = inputFromFlags(command, 'export');
  const { balancer, ...rest } = typed;
  const { host, port, ...otherBalancer } = balancer ?? {};
  const extra = [...Object.keys(rest), ...Object.keys(otherBalancer).map((k) => `balancer.${k}`)];
  if (extra.length > 0) throw new UsageError(`Expected no \`${flagOf(extra[0]!)}\` with \`--lab\`: the lab's scenario is exported as it is (only --backend, --host, --port and --run go with it)`);
  const { findLab } = await import('../lab/lab-directory.js');
  const lab = await findLab(o.lab!);
  const run = o.run !== undefined ? lab.runs.find((r) => r.name === o.run) : lab.runs[0]!;
  if (!run) throw new FieldError('--run', `to be a run of lab ${lab.name} (${lab.runs.map((r) => r.name).join(', ')}), got ${JSON.stringify(o.run)}`);
  const names = run.config.backends.map((b) => b.name);
  if (o.backend.length > 0 && o.backend.length !== names.length) {
    throw new FieldError('--backend', `to be given once per backend of lab ${lab.name} (${names.length}: ${names.join(', ')}), got ${o.backend.length}`);
  }
  const servers = o.backend.length > 0 ? parseBalance(o.backend, command, 'export').backends.map((b, i) => serverOf(names[i]!, b.url)) : names.map((n, i) => ({ name: n, host: '127.0.0.1', port: LAB_FIRST_PORT + i }));
  const listen = {
    host: host !== undefined ? String(host) : '127.0.0.1',
    port: port !== undefined ? parsePort('--port', String(port)) : 8080,
  };
  const scenario: Scenario = { ...run.config, ...listen };
  const source = `lblab export ${target} --lab ${lab.name}${lab.runs.length > 1 ? ` (run ${run.name} of ${lab.runs.map((r) => r.name).join(', ')})` : ''}`;
  if (scenario.ha) {
    throw new UsageError(
      target === 'k6'
        ? `Expected a lab k6 can play with \`lblab export k6\`, got ${lab.name}: its clients reach two balancers (a virtual address they retransmit their SYN to, or two addresses they retry), which a k6 script has no form of`
        : `Expected a lab with one balancer for \`lblab export ${target}\`, got ${lab.name}: it runs two of lblab's balancers, and a keepalived pair of ${target} configs is not generated`,
    );
  }
  // The k6 script's target may be any balancer: the expectations that hold on some engines only are left out.
  if (target === 'k6') {
    // What k6 cannot play is refused rather than written wrong: a script that sends nothing the lesson needs.
    if (scenario.gslb) throw new UsageError(`Expected a lab k6 can play with \`lblab export k6\`, got ${lab.name}: its clients are placed in regions and sent by lblab's GSLB tier (the x-lblab-region header, the RTT waited before each request), which a k6 script has no form of; export haproxy or nginx and run the lab with --engine`);
    if (scenario.http2Clients && !scenario.tls) throw new UsageError(`Expected a lab k6 can play with \`lblab export k6\`, got ${lab.name}${lab.runs.length > 1 ? ` (run ${run.name})` : ''}: its clients speak h2c (HTTP/2 without TLS), and k6 speaks HTTP/2 only over TLS by ALPN`);
    return k6Text(scenario, source, lab.expectations.filter((e) => e.run === run.name && e.engines === undefined));
  }
  // The lab's own words for a field (`algo`, `balancer.sticky`), the engine named.
  checkEngineSupport(target, { ...scenario, engine: target }, (path) => path, scenario.events, `lblab export ${target} --lab ${lab.name}`);
  const note = scenario.events.length > 0 ? `\n# The lab's timeline (${scenario.events.length} events: kills, faults) is lblab's to play; it is not part of a balancer's config.\n` : '';
  const fleet = o.backend.length > 0 ? '' : `# Start the servers first, e.g. ${servers.map((s) => `lblab backend --name ${s.name} --port ${s.port}`).join('; ')}\n`;
  return fleet + note + (await engineText(target, scenario, servers, source));
}

/** The HAProxy or nginx config of `upstream` over `servers`, with the files beside it. */
async function engineText(engine: ExternalEngine, upstream: UpstreamScenario, servers: ReadonlyArray<{ name: string; host: string; port: number }>, source: string): Promise<string> {
  const input = {
    upstream,
    backends: servers,
    files: { statsSocket: 'unix@lblab-haproxy.sock', certificate: engine === 'haproxy' ? 'lblab.pem' : 'lblab.crt', certificateKey: 'lblab.key' },
    source,
  };
  if (engine === 'haproxy') {
    const { haproxyConfig } = await import('../engines/haproxy-config.js');
    return haproxyConfig(input);
  }
  const { nginxConfig } = await import('../engines/nginx-config.js');
  const { nginxStreamModule } = await import('../engines/engines.js');
  return nginxConfig(input, upstream.mode === 'tcp' ? nginxStreamModule() : undefined);
}

/** The k6 script of `scenario`'s load against its listen address, with a lab's expectations as thresholds. */
async function k6Text(scenario: Scenario, source: string, expectations?: readonly Expectation[]): Promise<string> {
  const { k6Script } = await import('../engines/k6-script.js');
  const target = `${scenario.tls ? 'https' : 'http'}://${scenario.host}:${scenario.port}`;
  return k6Script({ scenario, target, title: source, ...(expectations ? { expectations } : {}) });
}

import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { algorithmsHelp } from '../balancer/algorithms/index.js';
import { resolveScenario } from '../scenario/resolve.js';
import type { Scenario } from '../scenario/scenario.js';
import { parseFraction } from '../scenario/values.js';
import { CLIENTS_HELP, ROUTES_HELP } from './help-sections.js';
import { addOptionGroup, flagOf, inputFromFlags } from './options.js';
import { checkOutputPaths } from './output.js';
import { dashboardKeysHelp } from '../tui/keymap.js';

/** The `start` flags that are not scenario fields: how the run is shown and kept. */
type StartOutputFlags = { headless?: boolean; json?: boolean; out?: string; html?: string };

/** `lblab start`: backends + balancer + load + live dashboard (the main job). */
export function registerStartCommand(program: Command): void {
  const cmd = program.command('start').description('spawn backends, start the balancer, fire load and show the live dashboard');
  for (const group of ['algo', 'duration', 'mode', 'scenario', 'clients'] as const) addOptionGroup(cmd, group, 'start');
  cmd.addHelpText('after', CLIENTS_HELP);
  addOptionGroup(addOptionGroup(cmd, 'load-model', 'start'), 'listen', 'start')
    .option('--headless', 'no dashboard: a progress line per second on stderr, the report at the end')
    .option('--json', 'print the run record as JSON instead of the report')
    .option('--out <file>', 'also write the run record to FILE')
    .option('--html <file>', 'also write the report as one self-contained HTML page (inline SVG charts) to FILE');
  for (const group of ['health', 'proxy', 'routes', 'regions', 'ha'] as const) addOptionGroup(cmd, group, 'start');
  cmd
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
  lblab start --backends 3 --balancers 2 --ha active-passive --ha-interval 200ms --event "5s kill lb1"
  lblab start --mode tcp --backends 3 --concurrency 2 --duration 5s --headless
  lblab start --backends 4 --route "/api=b1,b2:least-conn" --route "/static=b3"   (b4: the default pool)
  lblab start --backends 2 --tls --headless --duration 5s       (HTTPS to the balancer; the report counts handshakes)
  lblab start --backends 4 --region us=b1,b2 --region eu=b3,b4 --rtt us-eu=80ms --client-regions us=60%,eu=40%
  lblab start --backends 3 --algo least-conn --protocol ws --clients 30 --message-rate 5 --event "5s kill b2"
  lblab start --backends 3 --http2 --protocol http2 --connections 1 --streams 64

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

Regions (--region, global server load balancing): each region is a pool of
its own backends (the algorithm and health checks as usual) behind a GSLB
tier that answers each virtual client as DNS-based GSLB with health checks
does: --gslb geo sends it to the nearest region with a healthy backend (its
own while it has one), weighted over the healthy regions by their backends'
weights, failover to the first healthy region listed. --client-regions
places the clients (default equal shares; 20 clients unless --clients), and
--rtt a-b=80ms is the round trip each request pays between regions, as a
delay the load generator adds (simulated distance; the servers are real).
A kill that leaves a region without a healthy backend moves its clients to
the next nearest at the next health transition: they pay the RTT.

Two balancers (--balancers 2, --ha): each is a process of its own in front of
the same backends, with its own health checks. active-passive: lb1 holds the
virtual address 127.0.0.10, lb2 checks lb1 at 127.0.0.11 every --ha-interval
and binds 127.0.0.10 itself after 3 failed checks in a row (keepalived's
VRRP). A client's connect to the address while nobody holds it is a lost SYN
on a real network: the clients retransmit it after 1 s, 2 s, 4 s, as TCP
does. dns-rr: lb1 on 127.0.0.11 and lb2 on 127.0.0.12 both serve; each new
connection goes to the next address of the two, and to the other one when
it is refused. "5s kill lb1" (or the dashboard's L key) is a SIGKILL of the
balancer; "8s restart lb1" brings it back (as the passive one). The report
gives the takeover time and the client errors it cost.

TLS (--tls): the balancer serves HTTPS with a self-signed certificate made at
start (selfsigned, EC P-256, one day, for 127.0.0.1) and forwards plain HTTP
with X-Forwarded-Proto: https; the built-in load accepts that certificate. The
report counts the handshakes and their time: a keep-alive connection pays once.

${dashboardKeysHelp()}`,
    )
    .action(async (o: StartOutputFlags, command: Command) => {
      const scenario = parseStart(command);
      const failOn = inputFromFlags(command, 'start').load?.['fail-on-errors'];
      const failOnErrors = failOn === undefined ? undefined : parseFraction(flagOf('load.fail-on-errors'), String(failOn));
      checkOutputPaths(o.out, o.html);
      const { runStart } = await import('./start-run.js');
      await runStart(scenario, { headless: o.headless, json: o.json, out: o.out, html: o.html, failOnErrors });
    });
}

/**
 * The scenario of the `start` flags the user typed, resolved and checked.
 * @throws {FieldError} naming the first bad flag.
 */
export function parseStart(command: Command): Scenario {
  return resolveScenario(inputFromFlags(command, 'start'), { name: flagOf });
}

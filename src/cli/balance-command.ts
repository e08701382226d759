import type { Command } from 'commander';
import { algorithmsHelp } from '../balancer/algorithms/index.js';
import { parseDuration } from '../scenario/values.js';
import { BACKEND_HELP, collectBackend, parseBalance } from './balance-flags.js';
import { ROUTES_HELP } from './help-sections.js';
import { addOptionGroup } from './options.js';
import { checkOutPath } from './output.js';

/** The `balance` flags that are not scenario fields: the servers behind it, how long it runs, how its record is kept. */
type BalanceFlags = { backend: string[]; duration?: string; json?: boolean; out?: string };

/** `lblab balance`: the balancer alone in front of any HTTP servers on this machine. */
export function registerBalanceCommand(program: Command): void {
  const cmd = program
    .command('balance')
    .description('run the balancer alone in front of HTTP servers on this machine')
    .option('--backend <url>', BACKEND_HELP, collectBackend, []);
  for (const group of ['algo', 'scenario', 'listen'] as const) addOptionGroup(cmd, group, 'balance');
  cmd
    .option('--duration <duration>', 'stop by itself after this long (default: until Ctrl-C / SIGTERM)')
    .option('--json', 'print the run record as JSON instead of the report')
    .option('--out <file>', 'also write the run record to FILE');
  for (const group of ['mode', 'health', 'proxy', 'routes'] as const) addOptionGroup(cmd, group, 'balance');
  cmd
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
      const config = parseBalance(o.backend, command, 'balance');
      const durationMs = o.duration !== undefined ? parseDuration('--duration', o.duration) : 0;
      checkOutPath(o.out);
      const { runBalance } = await import('./balance-run.js');
      await runBalance(config, durationMs, { json: o.json, out: o.out });
    });
}


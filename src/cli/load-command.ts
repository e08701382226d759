import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { requireLoopbackUrl } from '../scenario/loopback.js';
import { resolveClients, resolveLoadModel } from '../scenario/load.js';
import { parseDuration, parseFraction, parseInteger } from '../scenario/values.js';
import { CLIENTS_HELP } from './help-sections.js';
import { addOptionGroup, flagOf, inputFromFlags } from './options.js';
import { checkOutPath } from './output.js';
import { parseHttpUrl } from './parse.js';

/** Run length of `lblab load` when neither `--duration` nor `--requests` is given (ms). */
const DEFAULT_DURATION_MS = 10_000;

/** The `load` flags that are not scenario fields. */
type LoadFlags = { threads: string; insecure?: boolean; json?: boolean; out?: string };

/** `lblab load`: the traffic generator alone against a URL on this machine. */
export function registerLoadCommand(program: Command): void {
  const cmd = program
    .command('load')
    .description('fire closed- or open-model load at a URL on this machine and report latency and who answered')
    .argument('<url>', 'target, e.g. http://127.0.0.1:8080/ (https:// too)');
  for (const group of ['scenario', 'load-model', 'duration'] as const) addOptionGroup(cmd, group, 'load');
  cmd
    .option('--threads <n>', 'worker threads to spread the load over', '1')
    .option('--insecure', 'https: accept any server certificate (a self-signed one, as the balancer --tls serves)')
    .option('--json', 'print the run record as JSON instead of the report')
    .option('--out <file>', 'also write the run record to FILE');
  addOptionGroup(cmd, 'clients', 'load')
    .addHelpText('after', CLIENTS_HELP)
    .addHelpText(
      'after',
      `
Examples:
  lblab load http://127.0.0.1:8080/ --concurrency 64 --duration 10s
  lblab load http://127.0.0.1:8080/ --rate 2000 --duration 10s
  lblab load http://127.0.0.1:8080/ --requests 1000 --concurrency 4
  lblab load http://127.0.0.1:8001/ --duration 5s --json > load.json
  lblab load http://127.0.0.1:8080/ --clients 100 --header "x-user=u{client}"
  lblab load https://127.0.0.1:8443/ --insecure --rate 500 --duration 5s

Closed model (--concurrency): latency from send to the last byte. Open model
(--rate): request i goes out at t0 + i/rate, evenly paced, and latency counts
from that scheduled time (corrected for coordinated omission, as wrk2), so a
stalled server is charged for the requests it kept waiting; the report gives
the uncorrected figure beside it and counts late sends (2ms+ behind
schedule), sends that waited for a slot under --max-in-flight, and requests
never sent. Recorded in µs (hdr-histogram), reported in ms. Responses
carrying x-lblab-backend are counted per backend.

Exit status: 0 when the run got responses (whatever their status), 1 when
no request got a response (every one a transport error: refused, reset,
timed out), 3 when --fail-on-errors is given and the error rate is above it.
The report, --json and --out come first either way.`,
    )
    .action(async (rawUrl: string, o: LoadFlags, command: Command) => {
      const url = requireLoopbackUrl('<url>', parseHttpUrl('<url>', rawUrl, true));
      const load = inputFromFlags(command, 'load').load ?? {};
      const clients = resolveClients(load, flagOf);
      if (clients.clients !== undefined && !/^127\.\d+\.\d+\.\d+$/.test(url.hostname)) {
        // Client source addresses are IPv4 loopback; localhost may resolve to ::1.
        throw new UsageError(`Expected \`<url>\` to name an address in 127.0.0.0/8 with \`--clients\`, got ${JSON.stringify(url.href)}`);
      }
      if (o.insecure && url.protocol !== 'https:') {
        throw new UsageError(`Expected \`--insecure\` only with an https:// URL, got ${JSON.stringify(url.href)}`);
      }
      const model = resolveLoadModel(load, flagOf);
      const durationMs = load.duration !== undefined ? parseDuration('--duration', load.duration) : model.requests !== undefined ? 0 : DEFAULT_DURATION_MS;
      const config = {
        url: url.href,
        ...model,
        durationMs,
        threads: parseInteger('--threads', o.threads, 1, 16),
        insecure: o.insecure ?? false,
        ...clients,
      };
      const failOnErrors = load['fail-on-errors'] === undefined ? undefined : parseFraction(flagOf('load.fail-on-errors'), String(load['fail-on-errors']));
      checkOutPath(o.out);
      const { runLoad } = await import('./load-run.js');
      await runLoad(config, { json: o.json, out: o.out, failOnErrors });
    });
}

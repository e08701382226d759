import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { addClientOptions, parseClientOptions, type ClientFlags } from './client-options.js';
import { checkOutPath } from './output.js';
import { requireLoopbackUrl } from './loopback.js';
import { parseDuration, parseHttpUrl, parseInteger } from './parse.js';

type LoadFlags = ClientFlags & { concurrency: string; duration: string; threads: string; json?: boolean; out?: string };

/** `lblab load`: the traffic generator alone against a URL on this machine. */
export function registerLoadCommand(program: Command): void {
  const cmd = program
    .command('load')
    .description('fire closed-model load at a URL on this machine and report latency and who answered')
    .argument('<url>', 'target, e.g. http://127.0.0.1:8080/')
    .option('--concurrency <n>', 'closed-model workers (each sends the next request when its last one finished)', '16')
    .option('--duration <duration>', 'how long to fire', '10s')
    .option('--threads <n>', 'worker threads to spread the workers over', '1')
    .option('--json', 'print the run record as JSON instead of the report')
    .option('--out <file>', 'also write the run record to FILE');
  addClientOptions(cmd)
    .addHelpText(
      'after',
      `
Examples:
  lblab load http://127.0.0.1:8080/ --concurrency 64 --duration 10s
  lblab load http://127.0.0.1:8001/ --duration 5s --json > load.json
  lblab load http://127.0.0.1:8080/ --clients 100 --header "x-user=u{client}"

Latency is measured from send to the last byte, recorded in µs (hdr-histogram)
and reported in ms. Responses carrying x-lblab-backend are counted per backend.`,
    )
    .action(async (rawUrl: string, o: LoadFlags) => {
      const url = requireLoopbackUrl('<url>', parseHttpUrl('<url>', rawUrl));
      const clients = parseClientOptions(o);
      if (clients.clients !== undefined && !/^127\.\d+\.\d+\.\d+$/.test(url.hostname)) {
        // Client source addresses are IPv4 loopback; localhost may resolve to ::1.
        throw new UsageError(`Expected \`<url>\` to name an address in 127.0.0.0/8 with \`--clients\`, got ${JSON.stringify(url.href)}`);
      }
      const config = {
        url: url.href,
        concurrency: parseInteger('--concurrency', o.concurrency, 1, 4096),
        durationMs: parseDuration('--duration', o.duration),
        threads: parseInteger('--threads', o.threads, 1, 16),
        ...clients,
      };
      checkOutPath(o.out);
      const { runLoad } = await import('./load-run.js');
      await runLoad(config, { json: o.json, out: o.out });
    });
}

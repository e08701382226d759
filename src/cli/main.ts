import { Command, CommanderError } from 'commander';
import { runCleanup } from '../cleanup.js';
import { ExitCode, isCodedError } from '../errors.js';
import { registerBackendCommand } from './backend-command.js';
import { registerBalanceCommand } from './balance-command.js';
import { registerCompareCommand } from './compare-command.js';
import { registerExportCommand } from './export-command.js';
import { registerLabCommand } from './lab-command.js';
import { registerLoadCommand } from './load-command.js';
import { registerProxyCommand } from './proxy-command.js';
import { registerReportCommand } from './report-command.js';
import { registerStartCommand } from './start-command.js';

/**
 * The lblab command line. Commands parse and validate their options into
 * typed configs and call the library; heavy modules (ink, undici, workers)
 * are imported only by the command that needs them.
 */
const program = new Command()
  .name('lblab')
  .description('A terminal lab for load balancing: real backends, an in-process balancer, load, and a live dashboard.')
  .version('0.1.0')
  .exitOverride()
  .configureOutput({
    // One line, in lblab's voice: "lblab: unknown option '--frobnicate'".
    outputError: (message, write) => write(`lblab: ${message.replace(/^error: /, '')}`),
  });

program.addHelpText(
  'after',
  `
Examples:
  lblab start --backends 3 --algo weighted
  lblab balance --backend http://127.0.0.1:8001 --backend http://127.0.0.1:8002 --port 8080
  lblab load http://127.0.0.1:8080/ --concurrency 64 --duration 10s
  lblab compare --algos round-robin,least-conn --backends 4 --latency b4=100ms
  lblab lab run failover
  lblab report run.json
  lblab proxy --port 3128

Every command has --help. Exit status: 0 ok, 1 runtime failure, 2 bad usage or input,
3 a lab whose expectations failed or a threshold crossed (--fail-on-errors).`,
);

registerStartCommand(program);
registerBackendCommand(program);
registerBalanceCommand(program);
registerLoadCommand(program);
registerReportCommand(program);
registerCompareCommand(program);
registerLabCommand(program);
registerExportCommand(program);
registerProxyCommand(program);

let failing = false;

/**
 * Prints a one-line error, tears everything down and exits with the error's
 * code. Runs once: an error raised while failing (say, EPIPE on a stderr
 * whose reader is gone) must not start another round.
 */
async function fail(err: unknown): Promise<void> {
  if (failing) return;
  failing = true;
  let code: number = ExitCode.failure;
  if (err instanceof CommanderError) {
    // Help and version are not failures; commander already printed its message.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
      code = ExitCode.ok;
    } else {
      code = ExitCode.usage;
    }
  } else if (isCodedError(err)) {
    process.stderr.write(`lblab: ${err.message}\n`);
    code = err.exitCode;
  } else {
    const e = err as Error;
    process.stderr.write(`lblab: unexpected error: ${e?.message ?? String(err)}\n`);
    if (process.env.LBLAB_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
  }
  await runCleanup(5000, code);
  process.exit(code);
}

// A parent that died leaves our stderr a broken pipe; writing to it must not
// become an error of its own.
process.stderr.on('error', () => undefined);
process.on('uncaughtException', (err) => void fail(err));
process.on('unhandledRejection', (err) => void fail(err));

try {
  await program.parseAsync(process.argv);
} catch (err) {
  await fail(err);
}

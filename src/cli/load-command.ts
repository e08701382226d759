import os from 'node:os';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { requireLoopbackUrl } from '../scenario/loopback.js';
import { DEFAULT_WS_CLIENTS, resolveClients, resolveLoadModel, resolveWebSocketLoad } from '../scenario/load.js';
import { parseDuration, parseFraction, parseInteger } from '../scenario/values.js';
import { CLIENTS_HELP } from './help-sections.js';
import { addOptionGroup, flagOf, inputFromFlags } from './options.js';
import { checkOutPath } from './output.js';
import { parseHttpUrl } from './parse.js';

/** Run length of `lblab load` when neither `--duration` nor `--requests` is given (ms). */
const DEFAULT_DURATION_MS = 10_000;

/** The `load` flags that are not scenario fields. */
type LoadFlags = { threads?: string; insecure?: boolean; json?: boolean; out?: string };

/**
 * Load worker threads when `--threads` is not given: the cores this process
 * may run on (its CPU affinity: one under `taskset -c 1`) less one for the
 * main thread's own work (batches, the report), at least one.
 */
export function defaultLoadThreads(): number {
  return Math.max(1, os.availableParallelism() - 1);
}

/** Messages a second each WebSocket client sends when `--message-rate` is not given. */
const DEFAULT_MESSAGE_RATE = 1;

/** `lblab load`: the traffic generator alone against a URL on this machine. */
export function registerLoadCommand(program: Command): void {
  const cmd = program
    .command('load')
    .description('fire closed- or open-model load at a URL on this machine and report latency and who answered')
    .argument('<url>', 'target, e.g. http://127.0.0.1:8080/ (https:// too; ws:// for WebSocket clients)');
  for (const group of ['scenario', 'load-model', 'duration'] as const) addOptionGroup(cmd, group, 'load');
  cmd
    .option('--threads <n>', `worker threads to spread the load over (default: the cores it may use less one, at least 1; here ${defaultLoadThreads()})`)
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
  lblab load ws://127.0.0.1:8080/ --clients 30 --message-rate 10 --duration 10s

Closed model (--concurrency): latency from send to the last byte. Open model
(--rate): request i goes out at t0 + i/rate, evenly paced, and latency counts
from that scheduled time (corrected for coordinated omission, as wrk2), so a
stalled server is charged for the requests it kept waiting; the report gives
the uncorrected figure beside it and counts late sends (2ms+ behind
schedule), sends that waited for a slot under --max-in-flight, and requests
never sent. Recorded in µs (hdr-histogram), reported in ms. Responses
carrying x-lblab-backend are counted per backend.

WebSockets (ws://): --clients N virtual clients each hold one WebSocket
(default ${DEFAULT_WS_CLIENTS}), send --message-rate messages a second and time
each echo (HDR, µs); a dropped or refused client reconnects 100ms later.
The report counts connects, reconnects, drops, failed handshakes, messages
unanswered on a dropped connection, and per backend (by its hello message)
connects, drops and open at the end. --json prints that result as JSON.

Exit status (http:// and https://): 0 when the run got responses (whatever
their status), 1 when no request got a response (every one a transport
error: refused, reset, timed out), 3 when --fail-on-errors is given and the
error rate is above it. The report, --json and --out come first either way.`,
    )
    .action(async (rawUrl: string, o: LoadFlags, command: Command) => {
      if (/^wss?:/i.test(rawUrl)) return loadWebSockets(rawUrl, o, command);
      const load = inputFromFlags(command, 'load').load ?? {};
      if (load.protocol === 'ws') throw new UsageError(`Expected a ws:// URL for WebSocket clients (\`lblab load ws://…\`), got \`--protocol ws\` with ${JSON.stringify(rawUrl)}`);
      for (const field of ['message-rate', 'ws-lifetime'] as const) {
        if (load[field] !== undefined) throw new UsageError(`Expected \`${flagOf(`load.${field}`)}\` only with a ws:// URL, got ${JSON.stringify(rawUrl)}`);
      }
      const url = requireLoopbackUrl('<url>', parseHttpUrl('<url>', rawUrl, true));
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
        ...(model.http2Clients ? { http2: model.http2Clients } : {}),
        threads: o.threads === undefined ? defaultLoadThreads() : parseInteger('--threads', o.threads, 1, 16),
        insecure: o.insecure ?? false,
        ...clients,
      };
      const failOnErrors = load['fail-on-errors'] === undefined ? undefined : parseFraction(flagOf('load.fail-on-errors'), String(load['fail-on-errors']));
      checkOutPath(o.out);
      const { runLoad } = await import('./load-run.js');
      await runLoad(config, { json: o.json, out: o.out, failOnErrors });
    });
}

/**
 * `lblab load ws://…`: WebSocket clients (see `runWebSocketLoad`), a
 * progress line every second on stderr, then the report (or JSON).
 * @throws {UsageError} for wss://, a URL off loopback, a load flag that has no meaning here, or a bad `--message-rate` / `--clients`.
 */
async function loadWebSockets(rawUrl: string, o: LoadFlags, command: Command): Promise<void> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new UsageError(`Expected \`<url>\` to be a URL like ws://127.0.0.1:8080/, got ${JSON.stringify(rawUrl)}`);
  }
  if (url.protocol !== 'ws:') throw new UsageError(`Expected \`<url>\` to be a ws:// URL (wss:// is not supported), got ${JSON.stringify(rawUrl)}`);
  requireLoopbackUrl('<url>', url);
  const load = inputFromFlags(command, 'load').load ?? {};
  if (load.protocol !== undefined) throw new UsageError(`Expected \`--protocol\` only with an http(s):// URL (a ws:// URL makes WebSocket clients), got --protocol ${load.protocol} with ${JSON.stringify(rawUrl)}`);
  const { clients, messageRate, lifetimeMs } = resolveWebSocketLoad(load, flagOf, { httpWords: 'an http(s):// URL', rateRequired: false, defaultRate: DEFAULT_MESSAGE_RATE });
  for (const [flag, given] of [['--threads', o.threads !== undefined], ['--insecure', o.insecure], ['--out', o.out !== undefined]] as const) {
    if (given) throw new UsageError(`Expected \`${flag}\` only with an http(s):// URL, got it with ${JSON.stringify(rawUrl)}`);
  }
  const durationMs = load.duration !== undefined ? parseDuration('--duration', load.duration) : DEFAULT_DURATION_MS;
  const { runWebSocketLoad } = await import('../load/websocket-load.js');
  const { formatWebSocketLoad } = await import('../report/websocket-load-text.js');
  const { onSignal } = await import('./output.js');
  const stop = new AbortController();
  const signal = onSignal(() => stop.abort());
  const result = await runWebSocketLoad({
    url: url.href,
    clients,
    messageRate,
    durationMs,
    ...(lifetimeMs !== undefined && { lifetimeMs }),
    onSecond: (p) =>
      process.stderr.write(`${`+${(p.atMs / 1000).toFixed(1)}s`.padStart(7)}  open ${p.open}  sent ${p.sent}  echoed ${p.echoed}  drops ${p.drops}  reconnects ${p.reconnects}\n`),
  }, stop.signal);
  signal.dispose();
  process.stdout.write(o.json ? `${JSON.stringify(result, null, 2)}\n` : formatWebSocketLoad(result));
}

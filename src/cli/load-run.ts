import { checkClientAddresses } from '../load/client-addresses.js';
import { measureGeneratorFloor } from '../load/generator-floor.js';
import { DEFAULT_WARM_UP_REQUESTS, LoadGenerator, type LoadConfig } from '../load/load-generator.js';
import { checkLoadOutcome } from '../load/run-outcome.js';
import { checkServerCertificate } from '../load/tls-check.js';
import { buildRunRecord } from '../metrics/run-record.js';
import { formatMs, formatPct, formatRate } from '../report/format.js';
import { emitRecord, untilSignal } from './output.js';

/**
 * Runs `lblab load`: fires for the configured duration or number of
 * requests (or until Ctrl-C / SIGTERM), printing a progress line every
 * second on stderr, then the report; then judges the run
 * ({@link checkLoadOutcome}) with `out.failOnErrors` (a fraction 0…1).
 * @throws {UsageError} naming `--clients` when this machine cannot bind the clients' source addresses.
 * @throws {RuntimeError} when an https target's certificate is refused (self-signed without `--insecure`), or when no request got a response.
 * @throws {ThresholdFailedError} when the error rate is above `out.failOnErrors`.
 */
export async function runLoad(config: LoadConfig, out: { json?: boolean; out?: string; failOnErrors?: number | undefined }): Promise<void> {
  if (config.clients !== undefined) await checkClientAddresses(config.clients, config.spreadClients);
  const target = new URL(config.url);
  if (target.protocol === 'https:' && !config.insecure) await checkServerCertificate(target);
  // Before the run, on the machine as the run finds it: what the generator's own latency is.
  const generatorFloor = await measureGeneratorFloor();
  // The open model warms up before its schedule (not counted; the report says how many).
  const load = new LoadGenerator(config.rate !== undefined && config.warmUpRequests === undefined ? { ...config, warmUpRequests: DEFAULT_WARM_UP_REQUESTS } : config);
  load.on('workerError', (err) => process.stderr.write(`lblab: load worker failed: ${err.message}\n`));
  load.start();
  void untilSignal(() => void load.stop());
  let last = 0;
  const ticker = setInterval(() => {
    const s = load.stats;
    const rps = s.requests - last;
    last = s.requests;
    const late = load.rate !== undefined ? `  late ${load.open.lateSends}` : '';
    process.stderr.write(
      `${`+${(load.nowMs() / 1000).toFixed(1)}s`.padStart(7)}  ${formatRate(rps).padStart(6)} req/s  err ${formatPct(s.requests ? s.errors / s.requests : 0, 2)}  p99 ${formatMs(s.latency.percentileMs(99))}${late}\n`,
    );
  }, 1000);
  await load.done();
  clearInterval(ticker);
  // From when sending began (a thread takes a while to start) to the last
  // response, not to when the threads were torn down.
  const elapsed = Math.max(0, (load.stats.requests > 0 ? load.lastCompletionAtMs : load.nowMs()) - load.sendingSinceMs);
  const record = buildRunRecord({
    config: {
      command: 'load',
      target: config.url,
      ...(config.rate !== undefined ? { rate: config.rate, maxInFlight: load.maxInFlight } : { concurrency: config.concurrency }),
      ...(config.requests !== undefined && { requests: config.requests }),
      ...(config.clients !== undefined && { clients: config.clients }),
      ...(config.http2 && { protocol: 'http2' as const, ...config.http2 }),
      threads: load.threads,
    },
    durationMs: config.durationMs > 0 ? Math.min(elapsed, config.durationMs) : elapsed,
    stats: load.stats,
    backends: [],
    events: [],
    ...load.recordInputs(),
    generatorFloor,
  });
  await emitRecord(record, out);
  checkLoadOutcome(record.totals, out.failOnErrors);
}

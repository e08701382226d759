import { checkClientAddresses } from '../load/client-addresses.js';
import { LoadGenerator, type LoadConfig } from '../load/load-generator.js';
import { buildRunRecord } from '../metrics/run-record.js';
import { formatMs, formatPct, formatRate } from '../report/format.js';
import { emitRecord, untilSignal } from './output.js';

/**
 * Runs `lblab load`: fires for the configured duration (or until Ctrl-C /
 * SIGTERM), printing a progress line every second on stderr, then the report.
 * @throws {UsageError} naming `--clients` when this machine cannot bind the clients' source addresses.
 */
export async function runLoad(config: LoadConfig, out: { json?: boolean; out?: string }): Promise<void> {
  if (config.clients !== undefined) await checkClientAddresses(config.clients, config.spreadClients);
  const load = new LoadGenerator(config);
  load.on('workerError', (err) => process.stderr.write(`lblab: load worker failed: ${err.message}\n`));
  load.start();
  void untilSignal(() => void load.stop());
  let last = 0;
  const ticker = setInterval(() => {
    const s = load.stats;
    const rps = s.requests - last;
    last = s.requests;
    process.stderr.write(
      `${`+${(load.nowMs() / 1000).toFixed(1)}s`.padStart(7)}  ${formatRate(rps).padStart(6)} req/s  err ${formatPct(s.requests ? s.errors / s.requests : 0, 2)}  p99 ${formatMs(s.latency.percentileMs(99))}\n`,
    );
  }, 1000);
  await load.done();
  clearInterval(ticker);
  const record = buildRunRecord({
    config: { command: 'load', target: config.url, concurrency: config.concurrency, ...(config.clients !== undefined && { clients: config.clients }) },
    durationMs: Math.min(load.nowMs(), config.durationMs),
    stats: load.stats,
    backends: [],
    events: [],
  });
  await emitRecord(record, out);
}

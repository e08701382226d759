import { checkClientAddresses } from '../load/client-addresses.js';
import { checkErrorRate } from '../load/run-outcome.js';
import type { RunRecord } from '../metrics/run-record.js';
import type { RunScenario, Scenario } from '../scenario/scenario.js';
import { requestPaths } from '../scenario/routes.js';
import { RunSession } from '../session/run-session.js';
import { formatProgressLine, formatEventLine } from '../session/progress-line.js';
import { emitRecord, isHeadless, untilSignal } from './output.js';

/**
 * Runs `lblab start` with parsed options: the dashboard in a terminal, or
 * headless (progress line every second on stderr). Either way the run ends on
 * its duration, `q`, Ctrl-C or SIGTERM, then the report (or JSON) is printed
 * and every process lblab started is gone; then `out.failOnErrors`
 * (`--fail-on-errors`, a fraction 0…1) judges the client-seen error rate.
 * @throws {ThresholdFailedError} when the error rate is above `out.failOnErrors`.
 */
export async function runStart(parsed: Scenario, out: { headless?: boolean; json?: boolean; out?: string; html?: string; failOnErrors?: number | undefined }): Promise<void> {
  const headless = isHeadless(out.headless);
  const durationMs = parsed.durationMs ?? (headless ? parsed.headlessDefaultDurationMs : 0);
  const session = new RunSession({ ...parsed, durationMs });
  void untilSignal(() => session.quit());
  const record = await driveSession(session, { headless });
  await emitRecord(record, out);
  if (session.failure) throw session.failure;
  checkErrorRate(record.totals, out.failOnErrors);
}

/** Options of {@link driveSession}. */
export type DriveOptions = {
  /** No dashboard: a progress line a second on stderr (decide with `isHeadless`). */
  headless: boolean;
  /** Names the run in the headless view's first line, e.g. `lab failover`; default `lblab`. */
  label?: string;
  /** Called once load flows, before the run is watched (e.g. to schedule client epochs). */
  onStarted?: (session: RunSession) => void;
};

/**
 * Runs one session to its end — the dashboard in a terminal, or headless —
 * and returns its run record once every backend process is gone. The run
 * ends on its duration or on `session.quit()` (the dashboard's `q`/Ctrl-C;
 * the caller wires signals). `session.failure` is left for the caller to
 * throw after printing. Used by `lblab start` and `lblab lab run`.
 * @throws {RuntimeError} if a backend does not start; {@link UsageError} if the port is taken.
 */
export async function driveSession(session: RunSession, opts: DriveOptions): Promise<RunRecord> {
  const { headless } = opts;
  const config: RunScenario = session.config;
  // React's development build checks and warns on every render, several times
  // slower than production: a dashboard is not a place for it.
  if (!headless) process.env.NODE_ENV ??= 'production';
  // Load ink before load starts: importing it mid-run stalls the balancer's event loop.
  const dashboardModule = headless ? undefined : await import('../tui/render-dashboard.js');
  if (config.clients !== undefined) await checkClientAddresses(config.clients, config.spreadClients);
  try {
    await session.start();
  } catch (err) {
    await session.abort();
    throw err;
  }
  opts.onStarted?.(session);

  if (headless) {
    session.onEvent = (e) => process.stderr.write(formatEventLine(e) + '\n');
    const ws = config.webSocket;
    const lifetime = ws?.lifetimeMs !== undefined ? `, each reconnecting after ${ws.lifetimeMs / 1000}s` : '';
    const load = ws
      ? `${ws.clients} WebSocket clients, ${ws.messageRate} msg/s each${lifetime}`
      : config.rate !== undefined
        ? `rate ${config.rate} req/s`
        : `concurrency ${config.concurrency}`;
    const count = config.requests !== undefined ? `, ${config.requests} requests` : '';
    const paths = ws ? ['/'] : (config.paths ?? requestPaths(config.routing));
    const to = paths.length > 1 || paths[0] !== '/' ? `, paths ${paths.join(' ')} in turn` : '';
    process.stderr.write(`${opts.label ?? 'lblab'}: ${config.backends.length} backends, ${config.algo}${config.mode === 'tcp' ? ' over TCP connections (L4)' : ''}, ${config.ha ? `2 balancers (${config.ha.mode}${config.ha.mode === 'dns-rr' ? ', clients take 127.0.0.11 and 127.0.0.12' : ', lb1 active'})` : 'balancer'} on ${session.snapshot().listen}, ${load}${count}${to}\n`);
    // What was logged while the run started (where the sessions live).
    for (const e of session.events) process.stderr.write(formatEventLine(e) + '\n');
    session.onEvent = (e) => process.stderr.write(formatEventLine(e) + '\n');
    const ticker = setInterval(() => process.stderr.write(formatProgressLine(session.snapshot()) + '\n'), 1000);
    await session.untilQuit();
    clearInterval(ticker);
  } else {
    const dashboard = dashboardModule!.renderDashboard(session);
    await session.untilQuit();
    dashboard.unmount();
    await dashboard.waitUntilExit();
  }
  return session.finish();
}

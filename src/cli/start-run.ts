import { checkClientAddresses } from '../load/client-addresses.js';
import { RunSession } from '../session/run-session.js';
import { formatProgressLine, formatEventLine } from '../session/progress-line.js';
import { emitRecord, isHeadless, untilSignal } from './output.js';
import type { ParsedStart } from './start-command.js';
import type { BalancerMode } from '../balancer/tcp/tcp-mode.js';

/**
 * Runs `lblab start` with parsed options: the dashboard in a terminal, or
 * headless (progress line every second on stderr). Either way the run ends on
 * its duration, `q`, Ctrl-C or SIGTERM, then the report (or JSON) is printed
 * and every process lblab started is gone.
 */
export async function runStart(parsed: ParsedStart & { mode?: BalancerMode }, out: { headless?: boolean; json?: boolean; out?: string }): Promise<void> {
  const headless = isHeadless(out.headless);
  const durationMs = parsed.durationMs ?? (headless ? parsed.headlessDefaultDurationMs : 0);
  const session = new RunSession({ ...parsed, durationMs });
  // React's development build checks and warns on every render, several times
  // slower than production: a dashboard is not a place for it.
  if (!headless) process.env.NODE_ENV ??= 'production';
  // Load ink before load starts: importing it mid-run stalls the balancer's event loop.
  const dashboardModule = headless ? undefined : await import('../tui/render-dashboard.js');
  if (parsed.clients !== undefined) await checkClientAddresses(parsed.clients, parsed.spreadClients);
  void untilSignal(() => session.quit());
  try {
    await session.start();
  } catch (err) {
    await session.abort();
    throw err;
  }

  if (headless) {
    session.onEvent = (e) => process.stderr.write(formatEventLine(e) + '\n');
    const load = parsed.rate !== undefined ? `rate ${parsed.rate} req/s` : `concurrency ${parsed.concurrency}`;
    const count = parsed.requests !== undefined ? `, ${parsed.requests} requests` : '';
    process.stderr.write(`lblab: ${parsed.backends.length} backends, ${parsed.algo}${parsed.mode === 'tcp' ? ' over TCP connections (L4)' : ''}, balancer on ${session.snapshot().listen}, ${load}${count}\n`);
    const ticker = setInterval(() => process.stderr.write(formatProgressLine(session.snapshot()) + '\n'), 1000);
    await session.untilQuit();
    clearInterval(ticker);
  } else {
    const dashboard = dashboardModule!.renderDashboard(session);
    await session.untilQuit();
    dashboard.unmount();
    await dashboard.waitUntilExit();
  }
  const record = await session.finish();
  await emitRecord(record, out);
  if (session.failure) throw session.failure;
}

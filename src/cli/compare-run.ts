import { renderComparison, summarizeRun, type Comparison } from '../report/comparison.js';
import { formatProgressLine } from '../session/progress-line.js';
import type { RunScenario } from '../scenario/scenario.js';
import { RunSeries } from '../session/run-series.js';
import type { AlgorithmName } from '../balancer/algorithms/index.js';
import { checkClientAddresses } from '../load/client-addresses.js';
import { terminalWidth, untilSignal, writeComparisonHtml, writeOut } from './output.js';

/** What `compare` runs: one scenario per algorithm, the algorithms, the run length (ms) and the backend removed halfway, if any. */
export type ComparePlan = { algos: AlgorithmName[]; runs: RunScenario[]; durationMs: number; remove: string | undefined };

/**
 * Runs `lblab compare`: each algorithm in turn on fresh backends (a whole
 * `start` run, headless, as a {@link RunSeries}), then prints the comparison
 * table (or JSON) on stdout. Progress lines go to stderr. Ctrl-C or SIGTERM
 * ends the run under way and prints what was measured so far, marked partial.
 * Once it is printed, the comparison JSON goes to `--out` and its HTML page
 * (the table, then every run's report) to `--html`.
 * @throws {RuntimeError} (from errors.js) when a run fails or `--out` or `--html` cannot be written.
 */
export async function runCompare(plan: ComparePlan, out: { json?: boolean; out?: string; html?: string }): Promise<void> {
  const first = plan.runs[0]!;
  if (first.clients !== undefined) await checkClientAddresses(first.clients, first.spreadClients);
  const series = new RunSeries();
  void untilSignal(() => series.interrupt());
  const removal = plan.remove !== undefined ? { target: plan.remove, atMs: Math.round(plan.durationMs / 2) } : undefined;
  const runs = plan.runs.map((scenario) => ({ name: runLabel(scenario, plan.runs), scenario, ...(removal ? { removal } : {}) }));
  const outcome = await series.run(runs, async (session, run, i, onStarted) => {
    const label = `[${i + 1}/${runs.length}] ${run.name}`;
    try {
      await session.start();
    } catch (err) {
      await session.abort();
      throw err;
    }
    if (series.wasInterrupted) {
      // Ctrl-C while this run was starting: it measured nothing worth a column.
      await session.abort();
      return undefined;
    }
    const config = run.scenario;
    process.stderr.write(`lblab compare ${label}: ${config.backends.length} backends, concurrency ${config.concurrency}, ${config.durationMs / 1000}s\n`);
    session.onEvent = (e) => process.stderr.write(`${label}  ${e.type}${e.target ? ` ${e.target}` : ''}${e.detail ? `  ${e.detail}` : ''}\n`);
    const ticker = setInterval(() => process.stderr.write(`${label} ${formatProgressLine(session.snapshot())}\n`), 1000);
    onStarted(session);
    await session.untilQuit();
    clearInterval(ticker);
    return session.finish();
  });
  const results = outcome.results.map((r) => summarizeRun(r.record, r.backendsPerClient, r.keysMoved, r.scenario.clients !== undefined && r.scenario.clients > 1));
  const comparison: Comparison = {
    schemaVersion: 1,
    partial: outcome.interrupted || results.length < plan.runs.length,
    scenario: scenarioOf(first, plan.durationMs, plan.remove),
    results,
  };
  const json = JSON.stringify(comparison, null, 2) + '\n';
  // Printed before the file is written: a failed --out never loses the result.
  process.stdout.write(out.json ? json : renderComparison(comparison, { width: terminalWidth() }));
  await writeOut(out.out, json);
  await writeComparisonHtml(out.html, comparison);
  if (outcome.failure) throw outcome.failure;
}

/** The scenario line of a comparison: the first run's backends, load and events (every run shares them). */
export function scenarioOf(first: RunScenario, durationMs: number, remove?: string): Comparison['scenario'] {
  return {
    backends: first.backends.map((b, i) => ({ name: b.name, weight: first.weights[i]!, latency: b.latency, capacity: Number.isFinite(b.capacity) ? b.capacity : null, errorRate: b.errorRate })),
    concurrency: first.concurrency,
    durationMs,
    ...(first.clients !== undefined ? { clients: first.clients } : {}),
    ...(remove !== undefined ? { remove } : {}),
    events: first.events.map((e) => ({ ...e })),
  };
}

/** A run's name in progress lines: its algorithm, and its engine when the runs compare engines (`weighted (haproxy)`). */
function runLabel(scenario: RunScenario, all: readonly RunScenario[]): string {
  return all.some((r) => r.engine !== 'lblab') ? `${scenario.algo} (${scenario.engine})` : scenario.algo;
}

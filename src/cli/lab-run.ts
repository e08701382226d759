import { Chalk } from 'chalk';
import { scenarioOf } from './compare-run.js';
import { emitRecord, isHeadless, onSignal, terminalWidth, writeComparisonHtml, writeOut } from './output.js';
import { driveSession } from './start-run.js';
import { LabFailedError, RuntimeError } from '../errors.js';
import type { LabVerdict } from '../metrics/run-record.js';
import { renderComparison, summarizeRun, type Comparison } from '../report/comparison.js';
import { formatDuration } from '../report/format.js';
import { wrapText } from '../report/text-width.js';
import { RunSeries } from '../session/run-series.js';
import { evaluateExpectations, type LabRunResult } from '../lab/evaluate.js';
import type { Lab } from '../lab/lab.js';
import type { BackendsPerClient } from '../load/client-tally.js';

/** Output options of `lblab lab run`, as for `start`. */
export type LabRunOptions = { headless?: boolean; json?: boolean; out?: string; html?: string };

/**
 * Runs a lab: each of its runs in turn on fresh backends (the dashboard in a
 * terminal, else a progress line a second on stderr), then the report and
 * the verdict, one line per expectation. One run: the run record with its
 * `lab` verdict (`--json`, `--out`), its report ending with the verdict.
 * Several runs: each run's report, the comparison table and the verdict;
 * `--json`/`--out` give the comparison JSON (as `lblab compare`), each run's
 * record carrying the verdict. Ctrl-C (or `q`) ends the run under way as in
 * `start`: everything is torn down, what ran is reported, and there is no verdict.
 * @throws {LabFailedError} (exit 3) when an expectation failed;
 * {@link RuntimeError} when the lab was interrupted or a run failed.
 */
export async function runLab(lab: Lab, opts: LabRunOptions): Promise<void> {
  const series = new RunSeries();
  const interrupt = onSignal(() => series.interrupt());
  try {
    await runSeriesOfLab(lab, series, opts);
  } finally {
    interrupt.dispose();
  }
}

/** The body of {@link runLab}: its runs, then the report and the verdict. */
async function runSeriesOfLab(lab: Lab, series: RunSeries, opts: LabRunOptions): Promise<void> {
  const headless = isHeadless(opts.headless);
  const runs = lab.runs.map((r) => ({ name: r.name, scenario: r.config, ...(r.removal ? { removal: r.removal } : {}) }));
  const outcome = await series.run(runs, (session, run, i, onStarted) => {
    const which = lab.runs.length > 1 ? ` [${i + 1}/${lab.runs.length}] ${run.name}` : '';
    const on = run.scenario.engine !== 'lblab' ? ` on a real ${run.scenario.engine}` : '';
    const intro = `${wrapText(`lab ${lab.name}${which}${on}: ${lab.title} (${formatDuration(run.scenario.durationMs)})`, terminalWidth(), '  ').join('\n')}\n`;
    // The dashboard is drawn below this line; headless, the progress goes to stderr with it.
    (headless ? process.stderr : process.stdout).write(intro);
    return driveSession(session, { headless, label: `lab ${lab.name}${which}`, onStarted });
  });
  const { failure, interrupted } = outcome;
  const results: LabRunResult[] = outcome.results.map((r) => ({ name: r.name, record: r.record, ...('keysMoved' in r ? { keysMoved: r.keysMoved } : {}) }));
  /** Per run, how many backends each virtual client met before any removal (the comparison's clients row). */
  const perClient: BackendsPerClient[] = outcome.results.map((r) => r.backendsPerClient);

  if (failure || interrupted) {
    const { renderReport } = await import('../report/render-report.js');
    for (const r of results) process.stdout.write(renderReport(r.record, { width: terminalWidth() }));
    if (failure) throw failure;
    const ran = results.reduce((sum, r) => sum + r.record.durationMs, 0);
    throw new RuntimeError(`lab ${lab.name} was stopped after ${formatDuration(ran)} of ${formatDuration(lab.durationMs)}: no verdict`);
  }

  const expectations = evaluateExpectations(lab.expectations, results);
  const verdict: LabVerdict = { name: lab.name, title: lab.title, passed: expectations.every((e) => e.pass), expectations };
  if (results.length === 1) {
    await emitRecord({ ...results[0]!.record, lab: verdict }, opts);
  } else {
    await emitComparison(lab, results, perClient, verdict, opts);
  }
  if (!verdict.passed) {
    const failed = expectations.filter((e) => !e.pass);
    throw new LabFailedError(`lab ${lab.name}: ${failed.length} of ${expectations.length} expectations failed (${failed.map((e) => e.text).join('; ')})`);
  }
}

/**
 * The output of a lab with several runs: each run's report, the comparison
 * and the verdict; or the comparison JSON. Then, once that is printed, the
 * comparison JSON to `--out` and its HTML page (every run's report, the
 * comparison and the verdict) to `--html`, each written whole or not at all.
 */
async function emitComparison(lab: Lab, results: readonly LabRunResult[], perClient: readonly BackendsPerClient[], verdict: LabVerdict, opts: LabRunOptions): Promise<void> {
  const first = lab.runs[0]!.config;
  const comparison: Comparison = {
    schemaVersion: 1,
    partial: false,
    scenario: scenarioOf(first, first.durationMs, lab.runs[0]!.removal?.target),
    results: results.map((r, i) => {
      const clients = lab.runs[i]!.config.clients;
      return { name: r.name, ...summarizeRun({ ...r.record, lab: verdict }, perClient[i]!, r.keysMoved, clients !== undefined && clients > 1) };
    }),
  };
  const json = JSON.stringify(comparison, null, 2) + '\n';
  if (opts.json) process.stdout.write(json);
  else {
    const { renderReport } = await import('../report/render-report.js');
    const { renderVerdict } = await import('../report/render-verdict.js');
    const c = new Chalk();
    const width = terminalWidth();
    for (const [i, r] of results.entries()) {
      process.stdout.write(wrapText(c.bold(`Run ${i + 1}/${results.length}: ${r.name}`), width, '  ').join('\n') + '\n' + renderReport(r.record, { width }) + '\n');
    }
    process.stdout.write(renderComparison(comparison, { width }) + '\n' + renderVerdict(verdict, { width }));
  }
  // Printed before the files are written: a failed --out or --html never loses the result.
  await writeOut(opts.out, json);
  await writeComparisonHtml(opts.html, comparison, results.map((r) => r.name));
}

/** One lab's line in the summary of `lab run --all`. */
type AllRow = { lab: Lab; verdict: 'passed' | 'failed' | 'not valid'; detail: string; wallMs: number };

/**
 * `lblab lab run --all`: every lab in course order, each run as `lab run
 * NAME` runs it (its report and verdict as they come), then one summary
 * table — lab, verdict, wall time — on stdout. With an engine, a lab not
 * valid for it is listed as such and not run (`notValid` gives why).
 * Ctrl-C stops after the lab under way; the table shows what ran.
 * @throws {LabFailedError} (exit 3) when any lab failed; {@link RuntimeError} when a lab could not run or was interrupted.
 */
export async function runAllLabs(labs: ReadonlyArray<Lab | { notValid: Lab; why: string }>, opts: LabRunOptions): Promise<void> {
  const rows: AllRow[] = [];
  let stopped: Error | undefined;
  for (const entry of labs) {
    if ('notValid' in entry) {
      rows.push({ lab: entry.notValid, verdict: 'not valid', detail: entry.why, wallMs: 0 });
      continue;
    }
    const started = performance.now();
    try {
      await runLab(entry, opts);
      rows.push({ lab: entry, verdict: 'passed', detail: '', wallMs: performance.now() - started });
    } catch (err) {
      if (!(err instanceof LabFailedError)) {
        stopped = err as Error;
        break;
      }
      rows.push({ lab: entry, verdict: 'failed', detail: err.message.replace(/^lab \S+: /, ''), wallMs: performance.now() - started });
    }
  }
  const c = new Chalk();
  const width = terminalWidth();
  const { fitTable } = await import('../report/text-table.js');
  const table = fitTable(c, {
    head: ['#', 'lab', 'verdict', 'wall time'],
    rows: rows.map((r) => [
      r.lab.order === 999 ? '' : String(r.lab.order),
      r.lab.name,
      r.verdict === 'passed' ? c.green('✓ passed') : r.verdict === 'failed' ? c.red('✗ failed') : c.dim('– not valid'),
      r.wallMs > 0 ? formatDuration(r.wallMs) : '-',
    ]),
    align: ['right', 'left', 'left', 'right'],
    width,
  });
  const failed = rows.filter((r) => r.verdict === 'failed');
  const passed = rows.filter((r) => r.verdict === 'passed').length;
  const notes = rows.filter((r) => r.verdict !== 'passed' && r.detail).flatMap((r) => wrapText(c.dim(`${r.lab.name}: ${r.detail}`), width, '  '));
  const ran = labs.length - rows.filter((r) => r.verdict === 'not valid').length;
  const heading = wrapText(c.bold(`lblab lab run --all: ${passed} of ${ran} passed${stopped ? `, stopped after ${rows.length} of ${labs.length}` : ''}`), width, '  ');
  process.stdout.write(`\n${heading.join('\n')}\n${table.join('\n')}\n${notes.length > 0 ? `${notes.join('\n')}\n` : ''}`);
  if (stopped) throw stopped;
  if (failed.length > 0) throw new LabFailedError(`${failed.length} of ${ran} labs failed: ${failed.map((r) => r.lab.name).join(', ')}`);
}

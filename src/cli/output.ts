import { accessSync, constants, statSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { RunRecord } from '../metrics/run-record.js';
import type { Comparison } from '../report/comparison.js';
import { RuntimeError, UsageError } from '../errors.js';

/**
 * Whether to draw no dashboard: stdout or stdin is not a TTY (pipes, CI), `--headless`
 * was given, or the environment says CI the way ink's `is-in-ci` reads it
 * (`CI` or `CONTINUOUS_INTEGRATION` present, even empty, and `CI` not
 * "false"/"0"); ink draws only a final frame there, so a dashboard would
 * stay blank.
 */
export function isHeadless(flag: boolean | undefined): boolean {
  const env = process.env;
  const ci = env.CI !== 'false' && env.CI !== '0' && ('CI' in env || 'CONTINUOUS_INTEGRATION' in env);
  // ink reads keys from stdin in raw mode: without a terminal there, no dashboard.
  return Boolean(flag) || !process.stdout.isTTY || !process.stdin.isTTY || ci;
}

/**
 * The width, in columns, every text report and table lblab prints is drawn
 * at, decided here once for the whole CLI: the terminal's width when stdout
 * is a TTY, else 100 (a pipe, a file, CI). The renderers take it as their
 * `width` option (and draw nothing narrower than 80).
 */
export function terminalWidth(): number {
  const cols = process.stdout.isTTY ? process.stdout.columns : undefined;
  return cols !== undefined && cols > 0 ? cols : 100;
}

/**
 * Ends a run: prints the record as JSON (`--json`) or as the text report on
 * stdout first — whatever then happens to the files, the result is not
 * lost — then writes it to `--out` when given, and its HTML report (one
 * self-contained page, as `lblab report --html` writes it) to `--html`.
 * @throws {RuntimeError} when `--out` or `--html` cannot be written (after printing).
 */
export async function emitRecord(record: RunRecord, opts: { json?: boolean; out?: string; html?: string }): Promise<void> {
  const json = JSON.stringify(record, null, 2) + '\n';
  if (opts.json) process.stdout.write(json);
  else {
    const { renderReport } = await import('../report/render-report.js');
    process.stdout.write(renderReport(record, { width: terminalWidth() }));
  }
  await writeOut(opts.out, json);
  if (opts.html !== undefined) {
    const { renderHtml } = await import('../report/render-html.js');
    await writeOut(opts.html, renderHtml(record), '--html');
    process.stderr.write(`lblab: HTML report written to ${opts.html}\n`);
  }
}

/**
 * Writes the HTML page of a comparison (`lblab compare --html`, a lab of
 * several runs) to `file` when given, whole or not at all as `--out`, and
 * says where on stderr. `names` titles each run's part of the page.
 * @throws {RuntimeError} when it cannot be written.
 */
export async function writeComparisonHtml(file: string | undefined, comparison: Comparison, names?: readonly string[]): Promise<void> {
  if (file === undefined) return;
  const { renderComparisonHtml } = await import('../report/render-html.js');
  await writeOut(file, renderComparisonHtml(comparison, names), '--html');
  process.stderr.write(`lblab: HTML report written to ${file}\n`);
}

/**
 * Writes `text` to the `--out` file when one was given, whole or not at
 * all: into a temporary file beside it, then renamed over it, so a full
 * disk never leaves half a record. A target that exists and is not a
 * regular file (a device such as /dev/stdout) is written in place.
 * @throws {RuntimeError} (one line, naming the file and the error code) when it cannot be written.
 */
export async function writeOut(file: string | undefined, text: string, flag = '--out'): Promise<void> {
  if (file === undefined) return;
  let special = false;
  try {
    special = !statSync(file).isFile();
  } catch {
    // Not there yet: the usual case.
  }
  const temp = join(dirname(resolve(file)), `.${basename(file)}.${process.pid}.tmp`);
  try {
    if (special) await writeFile(file, text);
    else {
      await writeFile(temp, text);
      await rename(temp, file);
    }
  } catch (err) {
    if (!special) await rm(temp, { force: true }).catch(() => undefined);
    const e = err as NodeJS.ErrnoException;
    throw new RuntimeError(`could not write ${flag} ${file}: ${e.code ?? e.message}; the result above is complete`);
  }
}

/**
 * Resolves on the first SIGINT or SIGTERM; a second one forces exit 130
 * (the run is torn down by the cleanup registry first).
 */
export function untilSignal(onFirst?: () => void): Promise<NodeJS.Signals> {
  return onSignal(onFirst).signal;
}

/**
 * {@link untilSignal} that can be taken back: `dispose` removes the
 * handlers, for a caller that runs several times in one process (`lab run
 * --all` runs one lab after another).
 */
export function onSignal(onFirst?: () => void): { signal: Promise<NodeJS.Signals>; dispose: () => void } {
  let handler: ((signal: NodeJS.Signals) => void) | undefined;
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    let seen = false;
    handler = (s: NodeJS.Signals): void => {
      if (seen) {
        void import('../cleanup.js').then(({ runCleanup }) => runCleanup(3000, 130)).then(() => process.exit(130));
        return;
      }
      seen = true;
      onFirst?.();
      resolve(s);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
  return {
    signal,
    dispose: () => {
      process.off('SIGINT', handler!);
      process.off('SIGTERM', handler!);
    },
  };
}

/**
 * Checks before a run that `--out FILE` can be written (its folder exists and
 * is writable, and FILE is not a folder), so a long run does not end in a
 * failed write.
 * @throws {UsageError} naming `--out`.
 */
export function checkOutPath(file: string | undefined, flag = '--out'): void {
  if (file === undefined) return;
  if (file.trim() === '') throw new UsageError(`Expected \`${flag}\` to name a file, got ""`);
  const dir = dirname(resolve(file));
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UsageError(`Expected \`${flag}\` to be a file in a writable folder, got ${JSON.stringify(file)} (${dir} is missing or not writable)`);
  }
  try {
    if (statSync(file).isDirectory()) throw new UsageError(`Expected \`${flag}\` to be a file, got the folder ${JSON.stringify(file)}`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
  }
}

/**
 * {@link checkOutPath} for `--out` and `--html` together, and that they do
 * not name one file (the page would replace the record).
 * @throws {UsageError} naming the flag.
 */
export function checkOutputPaths(out: string | undefined, html: string | undefined): void {
  checkOutPath(out);
  checkOutPath(html, '--html');
  if (html !== undefined && out !== undefined && resolve(html) === resolve(out)) throw new UsageError('Expected `--html` and `--out` to be two files, got the same one twice');
}

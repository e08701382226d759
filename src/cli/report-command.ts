import type { Command } from 'commander';
import { accessSync, constants, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { formatFieldPath, RuntimeError, UsageError } from '../errors.js';
import { RUN_RECORD_SCHEMA_VERSION, type RunRecord } from '../metrics/run-record.js';
import { terminalWidth } from './output.js';

/** What `lblab report` prints: the text report, the record as JSON, Markdown on stdout, or an HTML page written to a file. */
export type ReportOutput = { kind: 'text' } | { kind: 'json' } | { kind: 'markdown' } | { kind: 'html'; file: string };

/**
 * `lblab report FILE [--json | --markdown | --html OUT.html]`: prints the
 * report of a saved run record again, as text (default), JSON, Markdown, or
 * one self-contained HTML page written to OUT.html (its path is printed).
 */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('re-print the report of a saved run record (text, Markdown or an HTML page)')
    .argument('<file>', 'a run record written by --out (or --json)')
    .option('--json', 'print the record itself (pretty JSON)')
    .option('--markdown', 'print the report as Markdown (GitHub tables, charts in code blocks)')
    .option('--html <out>', 'write the report as one self-contained HTML page (inline SVG charts, no network) to this file')
    .addHelpText(
      'after',
      `
Examples:
  lblab start --backends 3 --algo weighted --headless --duration 10s --out run.json
  lblab report run.json
  lblab report run.json --markdown > run.md
  lblab report run.json --html run.html`,
    )
    .action(async (file: string, o: { json?: boolean; markdown?: boolean; html?: string }) => {
      const output = parseReportOutput(file, o);
      const record = await readRunRecord(file);
      switch (output.kind) {
        case 'json':
          process.stdout.write(JSON.stringify(record, null, 2) + '\n');
          return;
        case 'markdown': {
          const { renderMarkdown } = await import('../report/render-markdown.js');
          process.stdout.write(renderMarkdown(record));
          return;
        }
        case 'html': {
          const { renderHtml } = await import('../report/render-html.js');
          try {
            await writeFile(output.file, renderHtml(record));
          } catch (err) {
            throw new RuntimeError(`could not write --html ${output.file}: ${(err as Error).message}`);
          }
          process.stdout.write(output.file + '\n');
          return;
        }
        case 'text': {
          const { renderReport } = await import('../report/render-report.js');
          process.stdout.write(renderReport(record, { width: terminalWidth() }));
        }
      }
    });
}

/**
 * Checks the output flags of `lblab report`: at most one of `--json`,
 * `--markdown`, `--html`; the `--html` file in a writable folder, not a
 * folder, and not the run record itself. Returns the `--html` path resolved.
 * @throws {UsageError} naming the flag.
 */
export function parseReportOutput(recordFile: string, o: { json?: boolean; markdown?: boolean; html?: string }): ReportOutput {
  const given = (['json', 'markdown', 'html'] as const).filter((k) => o[k] !== undefined && o[k] !== false);
  if (given.length > 1) {
    throw new UsageError(`Expected \`--${given[1]}\` not to be combined with \`--${given[0]}\` (one output at a time), got both`);
  }
  if (o.json) return { kind: 'json' };
  if (o.markdown) return { kind: 'markdown' };
  if (o.html === undefined) return { kind: 'text' };
  if (o.html.trim() === '') throw new UsageError('Expected `--html` to name the HTML file to write, got ""');
  const file = resolve(o.html);
  if (file === resolve(recordFile)) throw new UsageError(`Expected \`--html\` to be a file other than the run record, got ${JSON.stringify(o.html)}`);
  const dir = dirname(file);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UsageError(`Expected \`--html\` to be a file in a writable folder, got ${JSON.stringify(o.html)} (${dir} is missing or not writable)`);
  }
  let isDir = false;
  try {
    isDir = statSync(file).isDirectory();
  } catch {
    // Not there yet: it will be created.
  }
  if (isDir) throw new UsageError(`Expected \`--html\` to be a file, got the folder ${JSON.stringify(o.html)}`);
  return { kind: 'html', file };
}

/**
 * Reads and checks a run record file.
 * @throws {UsageError} when the file is missing, not JSON, or not a run record of schema version 1.
 */
export async function readRunRecord(file: string): Promise<RunRecord> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`Expected \`<file>\` to be a readable run record, but ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UsageError(`Expected \`<file>\` ${file} to hold JSON (a run record from --out), but it does not parse`);
  }
  const version = (data as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== RUN_RECORD_SCHEMA_VERSION) {
    throw new UsageError(`Expected \`<file>\` ${file} to be a run record with schemaVersion ${RUN_RECORD_SCHEMA_VERSION}, got ${JSON.stringify(version)}`);
  }
  if (data !== null && typeof data === 'object' && 'scenario' in data && 'results' in data) {
    throw new UsageError(
      `Expected \`<file>\` ${file} to be a run record, but it is a comparison (from lblab compare or a lab with several runs): print it again with the command that made it, or save one run with lblab start --out`,
    );
  }
  const { runRecordSchema } = await import('../metrics/run-record-schema.js');
  const parsed = runRecordSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`Expected \`<file>\` ${file} field ${formatFieldPath('', issue.path)} to be valid: ${issue.message}`);
  }
  return parsed.data as RunRecord;
}

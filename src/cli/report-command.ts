import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import type { RunRecord } from '../metrics/run-record.js';

/** `lblab report FILE`: prints the report of a saved run record again. */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('re-print the report of a saved run record')
    .argument('<file>', 'a run record written by --out (or --json)')
    .option('--json', 'print the record itself (pretty JSON)')
    .addHelpText(
      'after',
      `
Examples:
  lblab start --backends 3 --algo weighted --headless --duration 10s --out run.json
  lblab report run.json`,
    )
    .action(async (file: string, o: { json?: boolean }) => {
      const record = await readRunRecord(file);
      if (o.json) {
        process.stdout.write(JSON.stringify(record, null, 2) + '\n');
        return;
      }
      const { renderReport } = await import('../report/render-report.js');
      process.stdout.write(renderReport(record));
    });
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
  if (version !== 1) {
    throw new UsageError(`Expected \`<file>\` ${file} to be a run record with schemaVersion 1, got ${JSON.stringify(version)}`);
  }
  const { runRecordSchema } = await import('../metrics/run-record-schema.js');
  const parsed = runRecordSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    throw new UsageError(`Expected \`<file>\` ${file} field ${path || '(top)'} to be valid: ${issue.message}`);
  }
  return parsed.data as RunRecord;
}

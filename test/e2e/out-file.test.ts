import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { runCliToEnd, tagsAfterEach } from '../support/cli.js';

const tags = tagsAfterEach();
const RUN = ['start', '--backends', '2', '--headless', '--duration', '2s', '--concurrency', '2'];

/**
 * `--out` never costs the result: the report (or `--json`) is printed first,
 * whatever then happens to the file; the file is written whole (a temporary
 * name beside it, then renamed) or not at all, and a failed write is one
 * line and exit 1.
 */
describe('--out: the result first, the file whole or not at all', () => {
  it('a full disk (/dev/full): the JSON record is still printed, then one line and exit 1', async () => {
    const r = await runCliToEnd([...RUN, '--json', '--out', '/dev/full']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(1);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(record.totals.requests).toBeGreaterThan(0);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(/^lblab: could not write --out \/dev\/full: ENOSPC; the result above is complete$/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a file that cannot be replaced (/proc/version): the text report is still printed, then exit 1', async () => {
    const r = await runCliToEnd([...RUN, '--out', '/proc/version']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^lblab start .*\n[\s\S]*\nBackends\n/);
    expect(r.stderr).toMatch(/lblab: could not write --out \/proc\/version: /);
  });

  it('a writable folder: the whole record, and no temporary file left beside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lblab-out-'));
    const file = join(dir, 'run.json');
    const r = await runCliToEnd([...RUN, '--out', file]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(readFileSync(file, 'utf8')) as RunRecord).schemaVersion).toBe(1);
    expect(readdirSync(dir)).toEqual(['run.json']);
  });
});

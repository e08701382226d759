import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { runCliToEnd, tagsAfterEach } from '../support/cli.js';

/** `--html FILE` on `start` and `lab run` (issue 16): the report as one HTML page, written after the result is printed. */

const tags = tagsAfterEach();
const dir = mkdtempSync(join(tmpdir(), 'lblab-html-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--html on start and lab run', () => {
  it('start writes the HTML report beside the record it prints, and says where', async () => {
    const page = join(dir, 'run.html');
    const out = join(dir, 'run.json');
    const r = await runCliToEnd(['start', '--backends', '2', '--headless', '--duration', '2s', '--json', '--out', out, '--html', page]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(r.stdout) as RunRecord;
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(record);
    const html = readFileSync(page, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain(`${record.totals.requests}`);
    expect(html).toMatch(/<svg/);
    expect(r.stderr).toContain(`lblab: HTML report written to ${page}`);
  });

  it('lab run of one run writes its page with the verdict; a lab of several runs and a bad path are refused before anything runs', async () => {
    const page = join(dir, 'lab.html');
    const r = await runCliToEnd(['lab', 'run', 'round-robin', '--headless', '--html', page]);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(page, 'utf8')).toMatch(/round-robin/);
    for (const [args, message] of [
      [['lab', 'run', 'weighted', '--headless', '--html', join(dir, 'w.html')], /`--html` with a lab of one run, got weighted with 2/],
      [['start', '--headless', '--html', join(dir, 'missing', 'x.html')], /`--html` to be a file in a writable folder/],
      [['start', '--headless', '--html', join(dir, 'same.json'), '--out', join(dir, 'same.json')], /two files, got the same one twice/],
    ] as const) {
      const bad = await runCliToEnd([...args]);
      tags.push(bad.tag);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).toMatch(message);
    }
    expect(existsSync(join(dir, 'w.html'))).toBe(false);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCliToEnd, tagsAfterEach } from '../support/cli.js';

/**
 * `lblab lab run --all` (issue 16): every lab in course order, then one
 * summary table; exit 3 when any failed. The whole course takes minutes, so
 * the summary is checked on a folder of three short labs run for real: one
 * that passes, one whose expectation is wrong on purpose, and one not valid
 * for the engine asked for.
 */

const tags = tagsAfterEach();
const dir = mkdtempSync(join(tmpdir(), 'lblab-all-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lab = (name: string, order: number, share: number, engines = '') =>
  writeFileSync(
    join(dir, `${name}.yaml`),
    `order: ${order}\ntitle: ${name}\nteaches: t\n${engines}backends: 2\nload: { concurrency: 2, duration: 1s }\nexpect:\n  - share: { backend: b1, is: ${share}, within: 0.05 }\n`,
  );

describe('lblab lab run --all', () => {
  it('runs each lab of a folder in order, prints one summary table, and exits 3 when one failed', async () => {
    lab('even', 1, 0.5);
    lab('wrong', 2, 0.9);
    lab('elsewhere', 3, 0.5, 'engines: [lblab]\n');
    const r = await runCliToEnd(['lab', 'run', '--all', dir, '--headless', '--engine', 'haproxy']);
    tags.push(r.tag);
    expect(r.code, r.stderr).toBe(3);
    const summary = r.stdout.slice(r.stdout.lastIndexOf('lblab lab run --all'));
    expect(summary).toMatch(/^lblab lab run --all: 1 of 2 passed/);
    expect(summary).toMatch(/1\s+even\s+✓ passed\s+\d+\.\ds/);
    expect(summary).toMatch(/2\s+wrong\s+✗ failed\s+\d+\.\ds/);
    expect(summary).toMatch(/3\s+elsewhere\s+– not valid\s+-/);
    expect(summary).toMatch(/wrong: 1 of 1 expectations failed/);
    expect(summary).toMatch(/elsewhere: not valid for --engine haproxy \(runs on lblab\)/);
    expect(r.stderr.trim().split('\n').pop()).toBe('lblab: 1 of 2 labs failed: wrong');
  });

  it('refuses --all with a file, with --json, and a run with neither', async () => {
    for (const [args, message] of [
      [['lab', 'run', '--all', 'failover'], /a folder of lab files with `--all`/],
      [['lab', 'run', '--all', '--json'], /no `--json`, `--out` or `--html` with `--all`/],
      [['lab', 'run'], /a lab name .* or `--all`, got neither/],
    ] as const) {
      const r = await runCliToEnd([...args]);
      tags.push(r.tag);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});

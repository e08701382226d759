import { readFileSync } from 'node:fs';
import { stripVTControlCharacters } from 'node:util';
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { loadAllLabs } from '../../src/lab/lab-directory.js';
import { renderLabExplain, renderLabList } from '../../src/lab/lab-text.js';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { renderComparison, type Comparison } from '../../src/report/comparison.js';
import { renderReport } from '../../src/report/render-report.js';
import { renderVerdict } from '../../src/report/render-verdict.js';
import { chalkFor, fitTable } from '../../src/report/text-table.js';

/**
 * Every line of the text report fits the terminal (issue 16): the records
 * of real runs in test/fixtures (a start run with a kill, the failover lab
 * with its verdict, the weighted lab's two runs and their comparison, a
 * four-algorithm compare with a kill), drawn in colour at 80 and at 100
 * columns, measured as a terminal shows them (ANSI stripped, wide
 * characters two columns: string-width).
 */

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url), 'utf8')) as T;
const columns = (line: string): number => stringWidth(stripVTControlCharacters(line));
const widest = (text: string): number => Math.max(...text.split('\n').map(columns));
const tooWide = (text: string, width: number): string[] => text.split('\n').filter((l) => columns(l) > width).map(stripVTControlCharacters);

const records = ['run-kill-detected', 'run-weighted-kill', 'run-failover-lab'] as const;
const comparisons = ['lab-weighted-comparison', 'compare-four-algos'] as const;

describe.each([80, 100])('at %i columns', (width) => {
  it.each(records)('the report of %s has no line wider', (name) => {
    expect(tooWide(renderReport(fixture<RunRecord>(name), { color: true, width }), width)).toEqual([]);
  });

  it.each(comparisons)('the comparison %s and each of its runs\' reports have no line wider', (name) => {
    const cmp = fixture<Comparison>(name);
    expect(tooWide(renderComparison(cmp, { color: true, width }), width)).toEqual([]);
    for (const r of cmp.results) expect(tooWide(renderReport(r.record, { color: true, width }), width)).toEqual([]);
  });

  it('the verdict rows and header fit', () => {
    const lab = fixture<RunRecord>('run-failover-lab').lab!;
    expect(tooWide(renderVerdict(lab, { color: true, width }), width)).toEqual([]);
  });

  it('lab list and every lab explain fit', async () => {
    const labs = await loadAllLabs();
    expect(tooWide(renderLabList(labs, width), width)).toEqual([]);
    for (const lab of labs) expect(tooWide(renderLabExplain(lab, width), width), lab.name).toEqual([]);
  });
});

describe('the width is the renderer\'s parameter', () => {
  const record = fixture<RunRecord>('run-kill-detected');

  it('at 100 the backends table is whole; at 80 it leaves out p90, max and chg and says so, keeping every row', () => {
    const at100 = renderReport(record, { color: false, width: 100 });
    const at80 = renderReport(record, { color: false, width: 80 });
    expect(widest(at100)).toBe(100);
    expect(at100).not.toContain('not shown');
    expect(at80).toContain('not shown at 80 columns: p90, max, chg');
    const b2 = at80.split('\n').find((l) => l.startsWith('b2 ') && l.includes('DOWN'))!;
    expect(b2).toMatch(/^b2\s+2\s+1100\s+18\.4%\/33\.3%\s+0\s+640\s+11\.9ms\s+40\.0ms\s+DOWN\s+3\.1s$/);
  });

  it('wraps a prose line between words instead of running over, and never goes under 80', () => {
    const at80 = renderReport(record, { color: false, width: 80 }).split('\n');
    // the failures item is 83 columns at 100: at 80 it breaks after a word, the rest indented
    const i = at80.findIndex((l) => l.startsWith('+6.0s slow b3'));
    expect(at80.slice(i, i + 2)).toEqual(['+6.0s slow b3 → not noticed (no DOWN, ejection or open circuit before the end or', '  a recover)']);
    expect(renderReport(record, { color: false, width: 40 })).toBe(renderReport(record, { color: false, width: 80 }));
  });
});

describe('fitTable', () => {
  const c = chalkFor(false);

  it('wraps the text column of a table too wide for the width, and keeps numbers whole', () => {
    const lines = fitTable(c, {
      head: ['at', 'backend', 'detail'],
      rows: [['+1.0s', 'b1', 'a rather long explanation of what happened to this backend, in words'], ['+12.5s', 'b2', 'short']],
      align: ['right', 'left', 'left'],
      width: 40,
    });
    for (const l of lines) expect(columns(l)).toBeLessThanOrEqual(40);
    expect(lines[0]).toBe('    at  backend  detail');
    expect(lines[1]).toBe(' +1.0s  b1       a rather long');
    expect(lines.at(-1)).toBe('+12.5s  b2       short');
    // every word is still there, in order
    expect(lines.slice(1, -1).map((l) => l.slice(17)).join(' ')).toBe('a rather long explanation of what happened to this backend, in words');
  });
});

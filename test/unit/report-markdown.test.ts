import { describe, expect, it } from 'vitest';
import { buildReportModel } from '../../src/report/report-model.js';
import { md, renderMarkdown } from '../../src/report/render-markdown.js';
import { FAILED_LAB, fixture, makeRecord } from './report-fixtures.js';

/** The lines of the `## title` section, up to the next `## `. */
function section(text: string, title: string): string[] {
  const lines = text.split('\n');
  const from = lines.indexOf(`## ${title}`);
  expect(from, title).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((l, i) => i > from && l.startsWith('## '));
  return lines.slice(from + 1, end < 0 ? undefined : end);
}

describe('renderMarkdown', () => {
  const record = fixture('run-kill-detected');
  const text = renderMarkdown(record);

  it('has a heading per section of the model, in the same order, under the title', () => {
    expect(text.startsWith('# lblab start · weighted (weights 3,2,1) · concurrency 16 · 9.0s\n')).toBe(true);
    const headings = text.split('\n').filter((l) => l.startsWith('## '));
    expect(headings).toEqual(buildReportModel(record).sections.map((s) => `## ${s.title}`));
  });

  it('writes the per-backend table as a GitHub table, numbers right-aligned, stand-out values bold', () => {
    const rows = section(text, 'Backends').filter((l) => l.startsWith('|'));
    expect(rows[0]).toBe('| backend | wght | served | share/exp | errors | failed | p50 | p90 | p99 | max | state | down | chg |');
    expect(rows[1]).toBe('|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---|---:|---:|');
    expect(rows).toHaveLength(2 + record.backends.length);
    expect(rows.find((r) => r.startsWith('| b2 '))).toMatch(/^\| b2 \| 2 \| \d+ \| \*\*[\d.]+%\/33\.3%\*\* \| .* \| \*\*DOWN\*\* \| 3\.1s \| 1 \|$/);
  });

  it('puts the histogram, the req/s sparklines and the health strips in code blocks, as the terminal draws them', () => {
    const fenced = (title: string): string[] => {
      const lines = section(text, title);
      const open = lines.indexOf('```text');
      const close = lines.indexOf('```', open + 1);
      expect(open, title).toBeGreaterThanOrEqual(0);
      return lines.slice(open + 1, close);
    };
    expect(fenced('Latency').some((l) => /≤10ms █+\s+\d+\s+[\d.]+%/.test(l))).toBe(true);
    expect(fenced('Requests per second')).toContain('b2     ▅▅▅▂▂▁···  peak 333/s  mean 143/s');
    expect(fenced('Health')).toContain('b2     ███xx▼···  DOWN 3.1s');
    expect(text).not.toMatch(/\u001b\[/);
  });

  it('lists the failures with their cost as nested items', () => {
    const items = section(text, 'Failures').filter((l) => l.includes('- '));
    expect(items[0]).toBe('- +3.0s **kill** b2 → **DOWN** after 2.9s (3 failed checks, last L4CON)');
    expect(items[1]).toBe('  - client errors +3s–+6s (all backends): **12** · b2 over the run: retried 628, lost 12');
  });

  it('ends with the verdict: a list with ✓ and ✗, expected vs measured, the failed one bold', () => {
    const withLab = renderMarkdown({ ...record, lab: FAILED_LAB });
    const verdict = section(withLab, 'Verdict: failover');
    expect(withLab.trimEnd().split('\n').at(-1)).toMatch(/^- ✗ /);
    expect(verdict).toContain('**✗ failed**: 1 of 2 expectations met');
    expect(verdict).toContain('- ✓ b2 marked down within 4s of its kill: expected ≤ 4s, measured 2.1s');
    expect(verdict).toContain('- ✗ **errors after the kill ≤ 0.5% \\*strict\\***: expected ≤ 0.5%, measured 1.2% \\<script\\>alert(1)\\</script\\>');
    expect(verdict).toContain('_Kill b2 \\<mid-run\\> &amp; keep \\| serving_');
  });

  it('escapes what the record says, so a pipe cannot split a table cell nor a tag reach the page', () => {
    const r = makeRecord({ seconds: 3, backends: ['b1'], events: [{ atMs: 1000, type: 'kill', target: 'b1', detail: 'a | b <img src=x> *c* `d`' }] });
    const row = section(renderMarkdown(r), 'Events').find((l) => l.includes('kill'))!;
    expect(row).toBe('| +1.0s | **kill** | b1 | a \\| b \\<img src=x\\> \\*c\\* \\`d\\` |');
    expect(row.split(/(?<!\\)\|/)).toHaveLength(6);
    expect(md('x_y [z](u) #h ~s~ &lt;')).toBe('x\\_y \\[z\\](u) \\#h \\~s\\~ &amp;lt;');
  });
});

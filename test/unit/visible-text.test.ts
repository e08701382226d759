import { describe, expect, it } from 'vitest';
import { parseLab } from '../../src/lab/load-lab.js';
import type { RunRecord } from '../../src/metrics/run-record.js';
import { renderMarkdown } from '../../src/report/render-markdown.js';
import { renderReport } from '../../src/report/render-report.js';
import { visibleStrings, visibleText } from '../../src/report/visible-text.js';
import record from '../fixtures/run-kill-detected.json' with { type: 'json' };

/** A colour escape, an OSC title change ended by BEL, a C1 CSI and a DEL: what a hostile record may carry. */
const HOSTILE = '\u001b[31mred\u001b]0;pwned\u0007\u009b2J\u007f';
/** Any C0 control but the newline, DEL or C1 control. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe('strings from a record or a lab file are shown, never obeyed', () => {
  it('writes every C0/C1 control character and DEL out as \\xNN', () => {
    expect(visibleText(HOSTILE)).toBe('\\x1b[31mred\\x1b]0;pwned\\x07\\x9b2J\\x7f');
    expect(visibleText('a\nb')).toBe('a\\x0ab');
    expect(visibleText('a\nb\tc', true)).toBe('a\nb\\x09c');
    expect(visibleText('b2 · 5ms–15ms ✓')).toBe('b2 · 5ms–15ms ✓');
  });

  it('copies a record only when one of its strings (or keys) needs it', () => {
    const clean = record as unknown as RunRecord;
    expect(visibleStrings(clean)).toBe(clean);
    const dirty = { a: [{ [HOSTILE]: HOSTILE }], n: 3 };
    expect(visibleStrings(dirty)).toEqual({ a: [{ [visibleText(HOSTILE)]: visibleText(HOSTILE) }], n: 3 });
    expect(dirty.a[0]![HOSTILE]).toBe(HOSTILE);
  });

  it('prints a record whose event details and backend names hold escapes with none of them raw', () => {
    const base = record as unknown as RunRecord;
    const hostile: RunRecord = {
      ...base,
      events: base.events.map((e) => ({ ...e, detail: `${e.detail ?? ''} ${HOSTILE}` })),
      backends: base.backends.map((b, i) => (i === 0 ? { ...b, name: `b1${HOSTILE}` } : b)),
    };
    for (const text of [renderReport(hostile, { color: false }), renderMarkdown(hostile)]) {
      expect(text).not.toMatch(RAW_CONTROL);
      expect(text).toContain('\\x1b]0;pwned\\x07');
    }
    // The report of a clean record is what it always was.
    expect(renderReport(base, { color: false })).toBe(renderReport(structuredClone(base), { color: false }));
  });

  it('shows a lab file title and lesson with control characters visible, keeping the lesson lines', () => {
    const lab = parseLab(
      `title: "Hi \\e]0;pwned\\a"\nteaches: "line one\\nline two \\e[2J"\nbackends: 2\nload: { duration: 2s }\nexpect:\n  - error-rate: { max: 0 }\n`,
      'labs/x.yaml',
    );
    expect(lab.title).toBe('Hi \\x1b]0;pwned\\x07');
    expect(lab.teaches).toBe('line one\nline two \\x1b[2J');
  });
});

import type { LabVerdict } from '../metrics/run-record.js';
import { chalkFor, fitTable } from './text-table.js';
import { reportWidth, wrapText } from './text-width.js';
import { visibleStrings } from './visible-text.js';

/**
 * Renders a lab's verdict: a heading with the lab's name, title and how many
 * expectations held, then one line per expectation — ✓ or ✗, what it is
 * about, what was expected and what was measured (units included). A pure
 * function of the verdict; `color` forces colour on or off (default: chalk's
 * detection, as the report); no line is wider than `width` columns (default
 * 100: see {@link reportWidth}): the heading and the cells wrap (wrap-ansi).
 */
export function renderVerdict(written: LabVerdict, options: { color?: boolean; width?: number } = {}): string {
  const lab = visibleStrings(written);
  const c = chalkFor(options.color);
  const width = reportWidth(options.width);
  const held = lab.expectations.filter((e) => e.pass).length;
  const total = lab.expectations.length;
  const status = lab.passed ? c.green.bold(`PASSED ${held}/${total}`) : c.red.bold(`FAILED ${total - held} of ${total}`);
  const rows = fitTable(c, {
    head: ['', 'expectation', 'expected', 'measured'],
    rows: lab.expectations.map((e) => [e.pass ? c.green('✓') : c.red('✗'), e.text, e.expected, e.pass ? e.measured : c.red(e.measured)]),
    align: ['left', 'left', 'left', 'left'],
    width,
    indent: '  ',
  });
  const heading = wrapText(`${c.bold(`Lab ${lab.name}`)} · ${lab.title} · ${status}`, width, '  ');
  return `${heading.join('\n')}\n${rows.join('\n')}\n`;
}

import type { LabVerdict } from '../metrics/run-record.js';
import { borderlessTable, chalkFor } from './text-table.js';
import { visibleStrings } from './visible-text.js';

/**
 * Renders a lab's verdict: a heading with the lab's name, title and how many
 * expectations held, then one line per expectation — ✓ or ✗, what it is
 * about, what was expected and what was measured (units included). A pure
 * function of the verdict; `color` forces colour on or off (default: chalk's
 * detection, as the report).
 */
export function renderVerdict(written: LabVerdict, options: { color?: boolean } = {}): string {
  const lab = visibleStrings(written);
  const c = chalkFor(options.color);
  const held = lab.expectations.filter((e) => e.pass).length;
  const total = lab.expectations.length;
  const status = lab.passed ? c.green.bold(`PASSED ${held}/${total}`) : c.red.bold(`FAILED ${total - held} of ${total}`);
  const table = borderlessTable(c, ['', 'expectation', 'expected', 'measured'], { indent: '  ' });
  for (const e of lab.expectations) {
    table.push([e.pass ? c.green('✓') : c.red('✗'), e.text, e.expected, e.pass ? e.measured : c.red(e.measured)]);
  }
  // cli-table3 pads the last column too: trailing blanks are noise in a pipe or a diff.
  const rows = table.toString().split('\n').map((l) => l.trimEnd());
  return `${c.bold(`Lab ${lab.name}`)} · ${lab.title} · ${status}\n${rows.join('\n')}\n`;
}

import { Chalk, type ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import type { Span, Tone } from './blocks.js';
import { textWidth, wrapText } from './text-width.js';

/** A chalk for a text report: colour forced on or off by `color`, else chalk's own detection (NO_COLOR / FORCE_COLOR / TTY). */
export function chalkFor(color?: boolean): ChalkInstance {
  return color === undefined ? new Chalk() : new Chalk({ level: color ? 1 : 0 });
}

/**
 * A cli-table3 table without borders, columns two spaces apart, the
 * heading cyan when `c` colours, each row after `indent` (default none).
 * Column alignment, widths and wrapping pass through in `options`.
 */
export function borderlessTable(
  c: ChalkInstance,
  head: string[],
  options: Omit<Table.TableConstructorOptions, 'head' | 'style' | 'chars'> & { indent?: string } = {},
): Table.Table {
  const { indent = '', ...rest } = options;
  return new Table({
    ...rest,
    head,
    style: { head: c.level > 0 ? ['cyan'] : [], border: [], 'padding-left': 0, 'padding-right': 0 },
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: indent, 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
    },
  });
}

/** What {@link fitTable} draws: head, cells (coloured or not), an alignment per column, the row indent, and the width to fit. */
export type FitTableInput = {
  head: string[];
  rows: string[][];
  align: Array<'left' | 'right'>;
  width: number;
  indent?: string;
  /** Columns (by index) that must stay as wide as each other, such as the seconds of a time line. */
  equal?: readonly number[];
  /** Columns (by index) that may be left out, the first first, when the table does not fit `width` whole-worded. */
  optional?: readonly number[];
};

/** A text column is not narrowed below this many columns while another can give room. */
const MIN_TEXT = 8;
/** No column is narrowed below this. */
const MIN_ANY = 4;

/**
 * Column widths that fit `natural` (each column's widest cell) into `room`
 * columns of cells: nothing changes when they fit; else, a column at a time
 * from the widest, every column narrows down to its longest word
 * (`words`: wrapped between words, nothing cut), then text (left-aligned)
 * columns down to {@link MIN_TEXT}, then any column down to {@link MIN_ANY}.
 * Columns listed in `equal` shrink together. May still exceed `room` when
 * every column is at its floor.
 */
function fitColumnWidths(
  natural: readonly number[],
  align: ReadonlyArray<'left' | 'right'>,
  room: number,
  equal: readonly number[] = [],
  words: readonly number[] = natural,
): number[] {
  const widths = [...natural];
  const sum = (): number => widths.reduce((a, b) => a + b, 0);
  const shrink = (floor: (i: number) => number | undefined): boolean => {
    let best = -1;
    widths.forEach((w, i) => {
      const f = floor(i);
      if (f === undefined || w <= f) return;
      if (best < 0 || w > widths[best]!) best = i;
    });
    if (best < 0) return false;
    const w = widths[best]! - 1;
    for (const i of equal.includes(best) ? equal : [best]) widths[i] = w;
    return true;
  };
  while (sum() > room && shrink((i) => Math.max(MIN_ANY, words[i]!)));
  while (sum() > room && shrink((i) => (align[i] === 'left' ? MIN_TEXT : undefined)));
  while (sum() > room && shrink(() => MIN_ANY));
  return widths;
}

/**
 * A borderless table (as {@link borderlessTable}) whose lines are at most
 * `width` columns wide. When its cells would make it wider, its `optional`
 * columns are left out one by one (a dim line under the table names them)
 * until the rest fits with no word cut; then columns are narrowed by
 * {@link fitColumnWidths} and their cells wrapped with wrap-ansi, so a row
 * takes several lines instead of running over. Returns the lines, trailing
 * blanks trimmed. Widths are measured with string-width (colour codes count
 * nothing).
 */
export function fitTable(c: ChalkInstance, t: FitTableInput): string[] {
  const indent = t.indent ?? '';
  const cellWidth = (s: string): number => Math.max(0, ...s.split('\n').map(textWidth));
  const wordWidth = (s: string): number => Math.max(0, ...s.split(/\s+/).map(textWidth));
  const measure = (keep: readonly number[]): { natural: number[]; words: number[]; room: number } => {
    const natural = keep.map((i) => Math.max(cellWidth(t.head[i] ?? ''), ...t.rows.map((r) => cellWidth(r[i] ?? ''))));
    const words = keep.map((i) => Math.max(wordWidth(t.head[i] ?? ''), ...t.rows.map((r) => wordWidth(r[i] ?? ''))));
    const equal = keep.flatMap((col, k) => (t.equal?.includes(col) ? [k] : []));
    if (equal.length > 0) {
      const widest = Math.max(...equal.map((k) => natural[k]!));
      for (const k of equal) natural[k] = widest;
    }
    return { natural, words, room: t.width - textWidth(indent) - 2 * (keep.length - 1) };
  };
  let keep = t.head.map((_, i) => i);
  const dropped: number[] = [];
  for (const col of t.optional ?? []) {
    const m = measure(keep);
    if (m.words.reduce((a, b) => a + b, 0) <= m.room) break;
    keep = keep.filter((i) => i !== col);
    dropped.push(col);
  }
  const { natural, words, room } = measure(keep);
  const equal = keep.flatMap((col, k) => (t.equal?.includes(col) ? [k] : []));
  const align = keep.map((i) => t.align[i] ?? 'left');
  const widths = fitColumnWidths(natural, align, room, equal, words);
  const fit = (s: string, k: number): string => (cellWidth(s) <= widths[k]! ? s : wrapText(s, widths[k]!).join('\n'));
  const table = borderlessTable(c, keep.map((i, k) => fit(t.head[i] ?? '', k)), { colAligns: align, colWidths: widths, indent });
  for (const row of t.rows) table.push(keep.map((i, k) => fit(row[i] ?? '', k)));
  const lines = table
    .toString()
    .split('\n')
    .map((l) => l.trimEnd());
  if (dropped.length > 0) lines.push(...wrapText(c.dim(`${indent}not shown at ${t.width} columns: ${dropped.map((i) => t.head[i]).join(', ')}`), t.width));
  return lines;
}

/** A span in the terminal: the tone as a chalk colour. */
export function spanText(span: Span, c: ChalkInstance): string {
  return tone(span.tone, c)(span.text);
}

function tone(t: Tone | undefined, c: ChalkInstance): (s: string) => string {
  switch (t) {
    case 'good':
      return c.green;
    case 'bad':
      return c.red;
    case 'warn':
      return c.yellow;
    case 'dim':
      return c.dim;
    case 'strong':
      return c.bold;
    default:
      return (s) => s;
  }
}

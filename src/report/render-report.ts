import type { ChalkInstance } from 'chalk';
import type { RunRecord } from '../metrics/run-record.js';
import { borderlessTable, chalkFor } from './text-table.js';
import type { Block, Section, Span, TableBlock, Tone } from './blocks.js';
import { buildReportModel } from './report-model.js';
import { renderVerdict } from './render-verdict.js';
import { healthText, histogramText, seriesText, TEXT_WIDTH, wrapWords } from './text-charts.js';

/** Options of {@link renderReport}. `color`: force colour on or off; default follows chalk's detection (NO_COLOR / FORCE_COLOR / TTY). */
export type ReportOptions = { color?: boolean };

/**
 * Renders a run record as the end-of-run report for the terminal, from the
 * sections of {@link buildReportModel} in their order: the title and totals,
 * the per-backend table, tries and checks, algorithm periods, the latency
 * histogram, req/s per backend as sparklines with the events marked, the
 * health timeline per backend, the failures and what noticed them, the
 * seconds around each fault, the event log, and the lab's verdict when the
 * run was a lab (`record.lab`). At most 100 columns wide; colour
 * only when asked (or detected). A pure function of the record (cli-table3 +
 * chalk), so `lblab report run.json` prints it again exactly.
 */
export function renderReport(record: RunRecord, options: ReportOptions = {}): string {
  const c = chalkFor(options.color);
  const model = buildReportModel(record);
  const out: string[] = [c.bold(model.title)];
  for (const section of model.sections) {
    out.push('');
    out.push(...sectionText(section, c));
  }
  // The lab's verdict, when there is one, goes last.
  if (record.lab) out.push('', renderVerdict(record.lab, options).trimEnd());
  return out.join('\n') + '\n';
}

/** One section: its title (none for the lead summary) and its blocks, a blank line between them. */
function sectionText(section: Section, c: ChalkInstance): string[] {
  const lines: string[] = [];
  if (!section.lead) {
    const sub = section.subtitle ? ` (${section.subtitle})` : '';
    if ([...section.title].length + [...sub].length <= TEXT_WIDTH) lines.push(c.bold(section.title) + c.dim(sub));
    else lines.push(c.bold(section.title), ...wrapWords(sub.trim().split(' '), ' ', '').map((l) => c.dim(l)));
  }
  section.blocks.forEach((block, i) => {
    // Notes stay right under what they explain; anything else stands apart.
    if (i > 0 && block.kind !== 'note') lines.push('');
    lines.push(...blockText(block, c));
  });
  return lines;
}

function blockText(block: Block, c: ChalkInstance): string[] {
  switch (block.kind) {
    case 'facts':
      return block.lines.map((line) => line.map((f) => `${c.bold(f.label)} ${spanText(f.value, c)}`).join('  '));
    case 'note':
      return noteLines(block.text).map((l) => c.dim(l));
    case 'table':
      return tableText(block, c);
    case 'list':
      return block.items.flatMap((item) => [item.line.map((s) => spanText(s, c)).join(''), ...item.sub.map((sub) => `  ${sub.map((s) => spanText(s, c)).join('')}`)]);
    case 'histogram':
      return histogramText(block, c);
    case 'series':
      return [...(block.caption ? [block.caption.map((s) => spanText(s, c)).join('')] : []), ...seriesText(block, c)];
    case 'health':
      return healthText(block, c);
  }
}

/** A span in the terminal: the tone as a chalk colour. */
function spanText(span: Span, c: ChalkInstance): string {
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

/**
 * A borderless cli-table3 table, columns two spaces apart, trailing blanks
 * trimmed. When it would be wider than {@link TEXT_WIDTH}, its last column
 * (when text) or else its widest text column is wrapped to fit. A captioned table sits indented under its caption.
 */
function tableText(block: TableBlock, c: ChalkInstance): string[] {
  const indent = block.caption ? '  ' : '';
  const natural = block.head.map((h, i) => Math.max([...h].length, ...block.rows.map((r) => [...(r[i]?.text ?? '')].length)));
  const colWidths: number[] = [];
  // A time line's columns (all but the first) are equally wide, so that it reads as one.
  if (block.timeLine) {
    const widest = Math.max(...natural.slice(1));
    for (let i = 1; i < natural.length; i++) natural[i] = colWidths[i] = widest;
  }
  const total = indent.length + natural.reduce((a, b) => a + b, 0) + 2 * (natural.length - 1);
  const last = natural.length - 1;
  // Too wide: wrap the last column when it is text (an event's detail), else the widest text column (long backend names).
  const wrap = block.align[last] === 'left' && natural[last]! > 12 ? last : natural.reduce((best, w, i) => (block.align[i] === 'left' && w > (natural[best] ?? 0) ? i : best), -1);
  if (total > TEXT_WIDTH && wrap >= 0) colWidths[wrap] = Math.max(8, natural[wrap]! - (total - TEXT_WIDTH));
  const table = borderlessTable(c, block.head, {
    colAligns: block.align,
    colWidths,
    wordWrap: total > TEXT_WIDTH && wrap >= 0,
    // Names have no spaces to break at.
    wrapOnWordBoundary: wrap === last,
  });
  for (const row of block.rows) table.push(row.map((s) => spanText(s, c)));
  const lines = table
    .toString()
    .split('\n')
    .map((l) => indent + l.trimEnd());
  if (block.caption) lines.unshift(block.caption.map((s) => spanText(s, c)).join(''));
  return lines;
}

/** A note in lines of at most {@link TEXT_WIDTH}: kept whole between its ` · ` parts when each part fits a line, else broken between words. */
function noteLines(text: string): string[] {
  const parts = text.split(' · ');
  if (parts.length > 1 && parts.every((p) => [...p].length <= TEXT_WIDTH)) return wrapWords(parts, ' · ', '');
  return wrapWords(text.split(' '), ' ', '');
}

import type { ChalkInstance } from 'chalk';
import type { RunRecord } from '../metrics/run-record.js';
import { chalkFor, fitTable, spanText } from './text-table.js';
import type { Block, Section, Span, TableBlock } from './blocks.js';
import { buildReportModel } from './report-model.js';
import { renderVerdict } from './render-verdict.js';
import { healthText, histogramText, packParts, seriesText } from './text-charts.js';
import { reportWidth, textWidth, wrapText } from './text-width.js';

/**
 * Options of {@link renderReport}. `color`: force colour on or off; default
 * follows chalk's detection (NO_COLOR / FORCE_COLOR / TTY). `width`: the
 * widest line, in columns (default 100, never under 80: see
 * {@link reportWidth}); the CLI passes the terminal's width.
 */
export type ReportOptions = { color?: boolean; width?: number };

/**
 * Renders a run record as the end-of-run report for the terminal, from the
 * sections of {@link buildReportModel} in their order: the title and totals,
 * the per-backend table, tries and checks, algorithm periods, the latency
 * histogram, req/s per backend as sparklines with the events marked, the
 * health timeline per backend, the failures and what noticed them, the
 * seconds around each fault, the event log, and the lab's verdict when the
 * run was a lab (`record.lab`). No line is wider than `options.width`
 * (prose and cells wrapped with wrap-ansi, tables narrowed); colour
 * only when asked (or detected). A pure function of the record (cli-table3 +
 * chalk), so `lblab report run.json` prints it again exactly.
 */
export function renderReport(record: RunRecord, options: ReportOptions = {}): string {
  const c = chalkFor(options.color);
  const width = reportWidth(options.width);
  const model = buildReportModel(record);
  const out: string[] = wrapText(c.bold(model.title), width, '  ');
  for (const section of model.sections) {
    out.push('');
    out.push(...sectionText(section, c, width));
  }
  // The lab's verdict, when there is one, goes last.
  if (record.lab) out.push('', renderVerdict(record.lab, { ...options, width }).trimEnd());
  return out.join('\n') + '\n';
}

/** One section: its title (none for the lead summary) and its blocks, a blank line between them. */
function sectionText(section: Section, c: ChalkInstance, width: number): string[] {
  const lines: string[] = [];
  if (!section.lead) {
    const sub = section.subtitle ? ` (${section.subtitle})` : '';
    // The subtitle goes under the title when both do not fit one line.
    if (textWidth(section.title) + textWidth(sub) <= width) lines.push(c.bold(section.title) + c.dim(sub));
    else lines.push(...wrapText(c.bold(section.title), width), ...wrapText(c.dim(sub.trim()), width));
  }
  section.blocks.forEach((block, i) => {
    // Notes stay right under what they explain; anything else stands apart.
    if (i > 0 && block.kind !== 'note') lines.push('');
    lines.push(...blockText(block, c, width));
  });
  return lines;
}

function blockText(block: Block, c: ChalkInstance, width: number): string[] {
  const spans = (line: readonly Span[]): string => line.map((s) => spanText(s, c)).join('');
  switch (block.kind) {
    case 'facts':
      return block.lines.flatMap((line) => packParts(line.map((f) => `${c.bold(f.label)} ${spanText(f.value, c)}`), '  ', '', width));
    case 'note':
      return noteLines(block.text, width).map((l) => c.dim(l));
    case 'table':
      return tableText(block, c, width);
    case 'list':
      return block.items.flatMap((item) => [...wrapText(spans(item.line), width, '  '), ...item.sub.flatMap((sub) => wrapText(spans(sub), width - 2, '  ').map((l) => `  ${l}`))]);
    case 'histogram':
      return histogramText(block, c);
    case 'series':
      return [...(block.caption ? wrapText(spans(block.caption), width, '  ') : []), ...seriesText(block, c, width)];
    case 'health':
      return healthText(block, c, width);
  }
}

/**
 * A borderless table, columns two spaces apart, trailing blanks trimmed,
 * at most `width` wide: {@link fitTable} leaves out its optional columns
 * when it must, then narrows columns and wraps their cells. A captioned table sits indented under its caption; a
 * time line's columns (all but the first) stay equally wide, so that it
 * reads as one.
 */
function tableText(block: TableBlock, c: ChalkInstance, width: number): string[] {
  const indent = block.caption ? '  ' : '';
  const lines = fitTable(c, {
    head: block.head,
    rows: block.rows.map((row) => row.map((s) => spanText(s, c))),
    align: block.align,
    width,
    indent,
    ...(block.timeLine ? { equal: block.head.map((_, i) => i).slice(1) } : {}),
    ...(block.optional ? { optional: block.optional } : {}),
  });
  if (block.caption) lines.unshift(...wrapText(block.caption.map((s) => spanText(s, c)).join(''), width, '  '));
  return lines;
}

/** A note in lines of at most `width`: kept whole between its ` · ` parts when each part fits a line, else wrapped between words (wrap-ansi). */
function noteLines(text: string, width: number): string[] {
  const parts = text.split(' · ');
  if (parts.length > 1 && parts.every((p) => textWidth(p) <= width)) return packParts(parts, ' · ', '', width);
  return wrapText(text, width);
}

import { Chalk } from 'chalk';
import type { LabVerdict, RunRecord } from '../metrics/run-record.js';
import type { Block, Section, Span, TableBlock } from './blocks.js';
import { buildReportModel } from './report-model.js';
import { healthText, histogramText, seriesText } from './text-charts.js';
import { DEFAULT_WIDTH } from './text-width.js';

/**
 * Renders a run record as Markdown (GitHub flavour), the same sections as the
 * terminal report ({@link buildReportModel}): a `#` title, each section a `##`
 * heading, tables as pipe tables, the latency histogram and the time charts
 * (sparklines, health strips) in fenced code blocks as the terminal draws them,
 * and the lab verdict last as a list, ✓ or ✗ per expectation. Every string
 * from the record is escaped, so a backend name or an event detail cannot
 * break the page.
 */
export function renderMarkdown(record: RunRecord): string {
  const model = buildReportModel(record);
  const out: string[] = [`# ${md(model.title)}`];
  for (const section of model.sections) out.push('', ...sectionMarkdown(section));
  if (model.verdict) out.push('', ...verdictMarkdown(model.verdict));
  return out.join('\n') + '\n';
}

/** Chalk without colour: the code blocks hold the terminal's charts as plain characters. */
const plainChalk = new Chalk({ level: 0 });

function sectionMarkdown(section: Section): string[] {
  const lines: string[] = [`## ${md(section.title)}`];
  if (section.subtitle) lines.push('', `_${md(section.subtitle)}_`);
  for (const block of section.blocks) lines.push('', ...blockMarkdown(block));
  return lines;
}

function blockMarkdown(block: Block): string[] {
  switch (block.kind) {
    case 'facts':
      return block.lines.map((line) => `- ${line.map((f) => `**${md(f.label)}** ${spanMarkdown(f.value)}`).join(' · ')}`);
    case 'note':
      return [`_${md(block.text)}_`];
    case 'table':
      return tableMarkdown(block);
    case 'list':
      return block.items.flatMap((item) => [`- ${item.line.map(spanMarkdown).join('')}`, ...item.sub.map((sub) => `  - ${sub.map(spanMarkdown).join('')}`)]);
    case 'histogram':
      return fence(histogramText(block, plainChalk));
    case 'series':
      return [...(block.caption ? [block.caption.map(spanMarkdown).join(''), ''] : []), ...fence(seriesText(block, plainChalk, DEFAULT_WIDTH))];
    case 'health':
      return fence(healthText(block, plainChalk, DEFAULT_WIDTH));
  }
}

/** A span in Markdown: escaped, and bold when it should stand out (there is no colour). */
function spanMarkdown(span: Span): string {
  const text = md(span.text);
  if (text === '') return '';
  return span.tone === 'strong' || span.tone === 'bad' || span.tone === 'warn' ? `**${text}**` : text;
}

/** A GitHub pipe table with the alignment row; a caption goes above it as its own paragraph. */
function tableMarkdown(block: TableBlock): string[] {
  const lines: string[] = [];
  if (block.caption) lines.push(block.caption.map(spanMarkdown).join(''), '');
  const cell = (s: string): string => (s === '' ? ' ' : s);
  lines.push(`| ${block.head.map((h) => cell(md(h))).join(' | ')} |`);
  lines.push(`|${block.align.map((a) => (a === 'right' ? '---:' : ':---')).join('|')}|`);
  for (const row of block.rows) lines.push(`| ${row.map((s) => cell(spanMarkdown(s))).join(' | ')} |`);
  return lines;
}

/** Lines in a fenced code block, the fence longer than any run of backticks inside. */
function fence(lines: readonly string[]): string[] {
  const longest = Math.max(0, ...lines.map((l) => Math.max(0, ...(l.match(/`+/g) ?? []).map((m) => m.length))));
  const mark = '`'.repeat(Math.max(3, longest + 1));
  return [`${mark}text`, ...lines, mark];
}

/** The lab's verdict: a heading with the lab's name and whether it passed, then one item per expectation, ✓ or ✗, expected vs measured. */
function verdictMarkdown(v: LabVerdict): string[] {
  const passed = v.expectations.filter((e) => e.pass).length;
  const lines = [
    `## Verdict: ${md(v.name)}`,
    '',
    `_${md(v.title)}_`,
    '',
    `**${v.passed ? '✓ passed' : '✗ failed'}**: ${passed} of ${v.expectations.length} expectation${v.expectations.length === 1 ? '' : 's'} met`,
    '',
  ];
  for (const e of v.expectations) {
    lines.push(`- ${e.pass ? `✓ ${md(e.text)}` : `✗ **${md(e.text)}**`}: expected ${md(e.expected)}, measured ${md(e.measured)}`);
  }
  return lines;
}

/**
 * Escapes text for Markdown: backslash before the characters that make
 * emphasis, links, code, tables, HTML or headings, and `&` as an entity, so
 * a string from the record shows as written.
 */
export function md(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/[\\`*_[\]<>|~#]/g, '\\$&');
}

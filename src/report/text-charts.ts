import type { ChalkInstance } from 'chalk';
import { STATE_WORDS, type HealthBlock, type HistogramBlock, type Marker, type SeriesBlock, type StripState } from './blocks.js';
import { formatAt, formatDuration, formatPct } from './format.js';
import { textWidth, wrapText } from './text-width.js';

const SPARK = '▁▂▃▄▅▆▇█';

/** Width of a histogram bar at 100%, in columns. */
const BAR_WIDTH = 40;

/**
 * The latency histogram as text lines: `   ≤10ms ████…   1900  31.7%`, the
 * longest bar {@link BAR_WIDTH} columns. Shared by the terminal report and
 * the Markdown code block (`c` without colour there).
 */
export function histogramText(block: HistogramBlock, c: ChalkInstance): string[] {
  const max = Math.max(1, ...block.bars.map((b) => b.count));
  return block.bars.map((b) => {
    const width = Math.round((b.count / max) * BAR_WIDTH);
    return `${b.label.padStart(9)} ${c.cyan('█'.repeat(width))}${' '.repeat(BAR_WIDTH - width)} ${String(b.count).padStart(8)} ${formatPct(b.share).padStart(6)}`;
  });
}

/** The first column of a time chart: names padded to one width, at least `events`. */
function labelWidth(names: readonly string[]): number {
  return Math.max(6, ...names.map((n) => [...n].length));
}

/**
 * A time axis over `cells` cells: a label (`10s`) at each cell that starts on
 * a round number of seconds, spaced so that labels never touch.
 */
function axisRow(startMs: number, cellMs: number, cells: number): string {
  const cellS = cellMs / 1000;
  const longest = `${Math.round((startMs + cells * cellMs) / 1000)}s`.length;
  const stepS = [5, 10, 15, 20, 30, 60, 120, 300, 600, 1800, 3600].map((s) => s * cellS).find((s) => s / cellS >= longest + 1) ?? 3600 * cellS;
  const row: string[] = [];
  for (let i = 0; i < cells; i++) {
    const t = Math.round((startMs + i * cellMs) / 1000);
    if (t % stepS !== 0 || row.length > i) continue;
    while (row.length < i) row.push(' ');
    row.push(...`${t}s`);
  }
  return row.join('').trimEnd();
}

/** The marker row under a time chart: each marker's key in its cell, `*` where several share one. */
function markerRow(markers: readonly Marker[], cells: number): string {
  const row = Array.from({ length: cells }, () => ' ');
  for (const m of markers) row[m.cell] = row[m.cell] === ' ' ? m.key : '*';
  return row.join('').trimEnd();
}

/** Legend of the markers (`1 +3.0s kill b2`), in lines of at most `width` columns after an indent of `indent`. */
function markerLegend(markers: readonly Marker[], indent: number, width: number): string[] {
  return packParts(
    markers.map((m) => `${m.key} ${formatAt(m.atMs)} ${m.label}`),
    '   ',
    ' '.repeat(indent),
    width,
  );
}

/**
 * Packs `parts` (legend entries, facts: items that read best whole) joined
 * by `sep` into lines of at most `width` columns, each starting with
 * `indent`; a part longer than a line is wrapped between its words
 * (wrap-ansi), its further lines indented too. Widths count columns
 * (string-width), so colour codes in a part cost nothing.
 */
export function packParts(parts: readonly string[], sep: string, indent: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const part of parts) {
    if (line !== '' && textWidth(line) + textWidth(sep) + textWidth(part) <= width) {
      line += sep + part;
      continue;
    }
    if (line !== '') lines.push(line);
    if (textWidth(indent) + textWidth(part) <= width) line = indent + part;
    else {
      const wrapped = wrapText(part, width - textWidth(indent)).map((l) => indent + l);
      line = wrapped.pop()!;
      lines.push(...wrapped);
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/**
 * What fits of `tail` after a chart row `used` columns wide and two spaces,
 * within `width`: all of it, or its start and `…` (long backend
 * names leave less room), or nothing when not even a few characters fit.
 */
function fitTail(used: number, tail: string, width: number): string {
  const room = width - used - 2;
  const chars = [...tail];
  if (chars.length <= room) return tail;
  return room >= 6 ? chars.slice(0, room - 1).join('') + '…' : '';
}

/**
 * Requests per second per backend as sparklines, one character per cell on
 * one scale for every backend (`·` for a cell with no response), with each
 * backend's peak and mean, a time axis above, the event keys below and their
 * legend.
 */
export function seriesText(block: SeriesBlock, c: ChalkInstance, width: number): string[] {
  const w = labelWidth(block.series.map((s) => s.name));
  const lines: string[] = [];
  const pad = ' '.repeat(w + 1);
  lines.push(c.dim(pad + axisRow(block.startMs, block.cellMs, block.cells)));
  for (const s of block.series) {
    const spark = s.values
      .map((v) => (v <= 0 || block.max <= 0 ? c.dim('·') : c.cyan(SPARK[Math.min(7, Math.floor((v / block.max) * 7.999))]!)))
      .join('');
    const tail = fitTail(w + 1 + s.values.length, `peak ${s.peak}/s  mean ${s.mean}/s`, width);
    lines.push(`${s.name.padEnd(w)} ${spark}${tail ? `  ${c.dim(tail)}` : ''}`);
  }
  if (block.markers.length > 0) {
    lines.push(`${'events'.padEnd(w)} ${c.yellow(markerRow(block.markers, block.cells))}`);
    // A window around one event has it in its caption already.
    if (!(block.caption && block.markers.length === 1)) lines.push(...markerLegend(block.markers, w + 1, width).map((l) => c.dim(l)));
  }
  return lines;
}

const STATE_GLYPH: Record<StripState, string> = { up: '█', down: '·', out: '▒', drain: '░', removed: '─' };
const STATE_SHORT: Record<StripState, string> = { up: 'UP', down: 'DOWN', out: 'out', drain: 'draining', removed: 'removed' };

/** Time out of UP in words, `DOWN 2.9s, out 1.0s`; empty when it never left UP. */
export function awayWords(away: HealthBlock['strips'][number]['away']): string {
  return away.map((a) => `${STATE_SHORT[a.state]} ${formatDuration(a.ms)}`).join(', ');
}

function paint(state: StripState, text: string, c: ChalkInstance): string {
  switch (state) {
    case 'up':
      return c.green(text);
    case 'down':
      return c.red(text);
    case 'out':
      return c.yellow(text);
    case 'drain':
      return c.blue(text);
    case 'removed':
      return c.dim(text);
  }
}

/**
 * The health timeline as text: a strip per backend, one glyph per cell for
 * the state at the end of the cell (`█` UP, `·` DOWN, `▒` ejected or circuit
 * open, `░` draining, `─` removed), `x` where it was still UP although its
 * process was dead, `▼` where it left UP in that cell and `▲` where it came
 * back; after each strip the time spent out of UP; a time axis
 * above, the event keys below, then a legend of the glyphs in use.
 */
export function healthText(block: HealthBlock, c: ChalkInstance, width: number): string[] {
  const w = labelWidth(block.strips.map((s) => s.name));
  const lines: string[] = [c.dim(' '.repeat(w + 1) + axisRow(block.startMs, block.cellMs, block.cells))];
  const used = new Set<StripState>();
  let changed = false;
  let blind = false;
  for (const s of block.strips) {
    const strip = s.cells
      .map((cell) => {
        used.add(cell.state);
        if (cell.blind && !cell.changed) {
          blind = true;
          return c.red('x');
        }
        if (!cell.changed) return paint(cell.state, STATE_GLYPH[cell.state], c);
        changed = true;
        return cell.state === 'up' ? c.green('▲') : paint(cell.state, '▼', c);
      })
      .join('');
    const tail = fitTail(w + 1 + s.cells.length, awayWords(s.away) || 'UP throughout', width);
    lines.push(`${s.name.padEnd(w)} ${strip}${tail ? `  ${c.dim(tail)}` : ''}`);
  }
  if (block.markers.length > 0) {
    lines.push(`${'events'.padEnd(w)} ${c.yellow(markerRow(block.markers, block.cells))}`);
    lines.push(...markerLegend(block.markers, w + 1, width).map((l) => c.dim(l)));
  }
  const legend = (['up', 'down', 'out', 'drain', 'removed'] as const).filter((st) => used.has(st)).map((st) => `${STATE_GLYPH[st]} ${STATE_WORDS[st]}`);
  if (blind) legend.push('x UP with its process dead (not noticed yet)');
  if (changed) legend.push('▼▲ changed in that cell');
  lines.push(...packParts(legend, '  ', ' '.repeat(w + 1), width).map((l) => c.dim(l)));
  return lines;
}

import type { LabVerdict, RunRecord } from '../metrics/run-record.js';
import { formatAt, formatPct } from './format.js';
import { awayWords } from './text-charts.js';
import { STATE_WORDS, type Block, type HealthBlock, type HistogramBlock, type Section, type SeriesBlock, type Span, type TableBlock } from './blocks.js';
import { buildReportModel } from './report-model.js';
import { buildComparisonModel, type Comparison } from './comparison.js';
import { visibleStrings } from './visible-text.js';

/**
 * Renders a run record as one self-contained HTML page: the sections of
 * {@link buildReportModel} with the same tables, inline CSS, and inline SVG
 * charts — the latency histogram (`data-chart="latency-histogram"`, one
 * `rect.bar` per bucket), req/s per backend over time with the events marked
 * (`data-chart="rps"`, one `g.series` of `rect.col` per backend, one
 * `line.marker` per event) and the health timeline (`data-chart="health"`, one `g.strip` per
 * backend) — then the lab verdict. No script, font, image or stylesheet is
 * loaded from anywhere (a Content-Security-Policy of `default-src 'none'`
 * says so to the browser); every string from the record is HTML-escaped.
 */
export function renderHtml(record: RunRecord): string {
  const model = buildReportModel(record);
  const body: string[] = [`<header><h1>${esc(model.title)}</h1><p class="sub">lblab run report</p></header>`];
  for (const section of model.sections) body.push(sectionHtml(section));
  if (model.verdict) body.push(verdictHtml(model.verdict));
  return page(model.title, body);
}

/**
 * Renders a comparison (`lblab compare`, or a lab of several runs) as one
 * self-contained HTML page, as {@link renderHtml} renders one run: the
 * comparison table of {@link buildComparisonModel} (`#comparison`, one
 * column per run, the best latency of a row bold) with its notes and a link
 * to each run, then each run's whole report in a `section.run`
 * (`#run-1`, `#run-2`, …; its sections' ids prefixed the same way, as
 * `run-1-backends`), titled `names[i]` (default: the run's column), then
 * the lab's verdict once, when the runs were a lab's. Nothing is loaded
 * from anywhere; every string is HTML-escaped.
 */
export function renderComparisonHtml(comparison: Comparison, names?: readonly string[]): string {
  const cmp = buildComparisonModel(comparison);
  const results = comparison.results;
  const runName = (i: number): string => names?.[i] ?? cmp.table?.head[i + 1] ?? `run ${i + 1}`;
  const body: string[] = [`<header><h1>${esc(cmp.title)}</h1><p class="sub">${esc(cmp.scenario)}</p></header>`];
  const side: string[] = [];
  if (cmp.partial) side.push('<p class="note tone-warn">partial: interrupted before every algorithm ran</p>');
  if (cmp.table) side.push(tableHtml(cmp.table));
  for (const note of cmp.notes) side.push(`<p class="note">${esc(note)}</p>`);
  if (results.length > 0) side.push(`<ul class="runs">${results.map((_, i) => `<li><a href="#run-${i + 1}">Run ${i + 1}: ${esc(runName(i))}</a></li>`).join('')}</ul>`);
  body.push(`<section id="comparison" class="lead">\n<h2>Side by side</h2>\n${side.join('\n')}\n</section>`);
  results.forEach((r, i) => {
    const model = buildReportModel(r.record);
    const id = `run-${i + 1}`;
    const sections = model.sections.map((sec) => sectionHtml({ ...sec, id: `${id}-${sec.id}` }));
    body.push(`<section id="${id}" class="run">\n<h2 class="run-title">Run ${i + 1}/${results.length}: ${esc(runName(i))}</h2>\n<p class="sub">${esc(model.title)}</p>\n${sections.join('\n')}\n</section>`);
  });
  const verdict = results[0]?.record.lab;
  if (verdict) body.push(verdictHtml(visibleStrings(verdict)));
  return page(cmp.title, body);
}

/** The page around `body`: head with the title, the CSS and the policy that loads nothing. */
function page(title: string, body: readonly string[]): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body.join('\n')}
</main>
</body>
</html>
`;
}

/**
 * Escapes text for HTML element content and quoted attribute values:
 * `& < > " '` become entities.
 */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

const CSS = `
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --bg: #ffffff; --panel: #f6f8fb;
  --good: #1a7f37; --bad: #c62828; --warn: #9a6700; --up: #2da44e; --down: #d1242f; --out: #d4a72c; --drain: #4a7fd4; --removed: #a0a7b4; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 28px 48px; }
header h1 { font-size: 22px; margin: 0 0 2px; }
.sub, .subtitle, .note { color: var(--muted); }
.sub { margin: 0 0 8px; font-size: 13px; }
section { border-top: 1px solid var(--line); padding: 14px 0 6px; }
section.lead { border-top: none; padding-top: 4px; }
h2 { font-size: 17px; margin: 0 0 6px; }
h2 .subtitle { font-weight: normal; font-size: 13px; margin-left: 6px; }
.facts p { margin: 2px 0; }
.facts b { margin-right: 4px; }
.facts .item { margin-right: 16px; white-space: nowrap; display: inline-block; }
.note { font-size: 13px; margin: 4px 0; }
.caption { margin: 10px 0 4px; }
table { border-collapse: collapse; margin: 6px 0; font-variant-numeric: tabular-nums; font-size: 14px; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: left; }
th { background: var(--panel); font-weight: 600; }
td.r, th.r { text-align: right; }
.tone-good { color: var(--good); } .tone-bad { color: var(--bad); font-weight: 600; } .tone-warn { color: var(--warn); font-weight: 600; }
.tone-dim { color: var(--muted); } .tone-strong { font-weight: 700; }
ul { margin: 6px 0; padding-left: 22px; }
li ul { margin: 2px 0; color: var(--muted); }
svg.chart { display: block; width: 100%; height: auto; margin: 6px 0; font: 12px system-ui, sans-serif; }
svg.chart text { fill: var(--fg); }
svg.chart .axis { stroke: #8a93a3; stroke-width: 1; }
svg.chart .grid { stroke: var(--line); stroke-width: 1; }
svg.chart .bar { fill: #3b82c4; }
svg.chart .marker { stroke: #6b4fbb; stroke-width: 1.5; stroke-dasharray: 4 3; }
svg.chart .marker-key { fill: #6b4fbb; font-weight: 700; }
svg.chart .seg.up { fill: var(--up); } svg.chart .seg.down { fill: var(--down); } svg.chart .seg.out { fill: var(--out); }
svg.chart .seg.drain { fill: var(--drain); } svg.chart .seg.removed { fill: var(--removed); }
svg.chart .change { fill: var(--fg); }
svg.chart .dead { fill: #7a1020; }
.legend .dead-sw { background: #7a1020; height: 4px; vertical-align: 3px; }
svg.chart .muted { fill: var(--muted); }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 13px; color: var(--muted); margin: 2px 0 8px; padding: 0; list-style: none; }
.legend .sw { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; margin-right: 5px; }
.legend .key { color: #6b4fbb; font-weight: 700; margin-right: 4px; }
.run > .run-title { font-size: 20px; margin: 18px 0 2px; }
section.run { border-top: 3px solid var(--line); margin-top: 18px; }
ul.runs { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 18px; }
.verdict .badge { display: inline-block; padding: 2px 10px; border-radius: 12px; font-weight: 700; color: #fff; }
.verdict.pass .badge { background: var(--good); } .verdict.fail .badge { background: var(--bad); }
.verdict td.mark { font-weight: 700; text-align: center; }
.verdict tr.pass td.mark { color: var(--good); } .verdict tr.fail td.mark { color: var(--bad); } .verdict tr.fail td.what { font-weight: 600; }
`;

/** Colours for backends on the req/s chart, in backend order, cycling after ten. */
const PALETTE = ['#3b82c4', '#e07b39', '#2da44e', '#c23b80', '#8250df', '#1b998b', '#b08800', '#d1242f', '#57606a', '#0a8ac2'];


function sectionHtml(section: Section): string {
  const head = section.lead ? '' : `<h2>${esc(section.title)}${section.subtitle ? `<span class="subtitle">${esc(section.subtitle)}</span>` : ''}</h2>\n`;
  return `<section id="${esc(section.id)}"${section.lead ? ' class="lead"' : ''}>\n${head}${section.blocks.map(blockHtml).join('\n')}\n</section>`;
}

function blockHtml(block: Block): string {
  switch (block.kind) {
    case 'facts':
      return `<div class="facts">${block.lines.map((line) => `<p>${line.map((f) => `<span class="item"><b>${esc(f.label)}</b>${spanHtml(f.value)}</span>`).join('')}</p>`).join('')}</div>`;
    case 'note':
      return `<p class="note">${esc(block.text)}</p>`;
    case 'table':
      return tableHtml(block);
    case 'list':
      return `<ul>${block.items.map((item) => `<li>${item.line.map(spanHtml).join('')}${item.sub.length > 0 ? `<ul>${item.sub.map((s) => `<li>${s.map(spanHtml).join('')}</li>`).join('')}</ul>` : ''}</li>`).join('')}</ul>`;
    case 'histogram':
      return histogramSvg(block);
    case 'series':
      return (block.caption ? `<p class="caption">${block.caption.map(spanHtml).join('')}</p>` : '') + seriesSvg(block);
    case 'health':
      return healthSvg(block);
  }
}

function spanHtml(span: Span): string {
  return span.tone ? `<span class="tone-${span.tone}">${esc(span.text)}</span>` : esc(span.text);
}

function tableHtml(block: TableBlock): string {
  const cls = (i: number): string => (block.align[i] === 'right' ? ' class="r"' : '');
  const caption = block.caption ? `<p class="caption">${block.caption.map(spanHtml).join('')}</p>\n` : '';
  return `${caption}<table>
<thead><tr>${block.head.map((h, i) => `<th${cls(i)}>${esc(h)}</th>`).join('')}</tr></thead>
<tbody>
${block.rows.map((row) => `<tr>${row.map((s, i) => `<td${cls(i)}>${spanHtml(s)}</td>`).join('')}</tr>`).join('\n')}
</tbody>
</table>`;
}

/** A number for an SVG attribute: two decimals at most. */
function n(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** A round upper bound for a y axis: 1, 2 or 5 × 10^k at or above `v`. */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Vertical bars, one per latency bucket, count above and share below each label. */
function histogramSvg(block: HistogramBlock): string {
  const W = 960;
  const H = 240;
  const left = 16;
  const top = 24;
  const bottom = 44;
  const plotH = H - top - bottom;
  const slot = (W - 2 * left) / Math.max(1, block.bars.length);
  const barW = Math.min(90, slot * 0.7);
  const max = Math.max(1, ...block.bars.map((b) => b.count));
  const parts: string[] = [`<line class="axis" x1="${left}" y1="${top + plotH}" x2="${W - left}" y2="${top + plotH}"/>`];
  block.bars.forEach((b, i) => {
    const h = (b.count / max) * plotH;
    const x = left + i * slot + (slot - barW) / 2;
    const cx = x + barW / 2;
    parts.push(
      `<rect class="bar" x="${n(x)}" y="${n(top + plotH - h)}" width="${n(barW)}" height="${n(Math.max(h, b.count > 0 ? 1 : 0))}"><title>${esc(`${b.label}: ${b.count} requests (${formatPct(b.share)})`)}</title></rect>`,
      `<text x="${n(cx)}" y="${n(top + plotH - h - 6)}" text-anchor="middle">${b.count}</text>`,
      `<text x="${n(cx)}" y="${n(top + plotH + 16)}" text-anchor="middle">${esc(b.label)}</text>`,
      `<text class="muted" x="${n(cx)}" y="${n(top + plotH + 32)}" text-anchor="middle">${esc(formatPct(b.share))}</text>`,
    );
  });
  return `<svg class="chart" data-chart="latency-histogram" viewBox="0 0 ${W} ${H}" role="img" aria-label="latency histogram, ${block.bars.length} buckets">${parts.join('')}</svg>`;
}

/** x-axis ticks over `[startMs, endMs]`: round seconds, about eight of them. */
function timeTicks(startMs: number, endMs: number): number[] {
  const spanS = (endMs - startMs) / 1000;
  const step = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600].find((s) => spanS / s <= 10) ?? 3600;
  const ticks: number[] = [];
  for (let t = Math.ceil(startMs / 1000 / step) * step; t * 1000 <= endMs; t += step) ticks.push(t * 1000);
  return ticks;
}

/** The frame the time charts share (SVG user units): width, left and right margins for names and figures, room above for marker keys. */
const FRAME = { W: 960, left: 70, right: 150, top: 22 } as const;

/** The frame of a chart of `rows` rows, each `rowH` high with `gap` between: plot width and height and the whole height, px. */
function rowsFrame(rows: number, rowH: number, gap: number): { plotW: number; plotH: number; H: number } {
  const plotW = FRAME.W - FRAME.left - FRAME.right;
  const plotH = rows * (rowH + gap);
  return { plotW, plotH, H: FRAME.top + plotH + 26 };
}

/** Tick marks and seconds labels under a time chart whose plot ends at `bottom`. */
function timeAxis(x: (ms: number) => number, startMs: number, endMs: number, bottom: number): string {
  return timeTicks(startMs, endMs)
    .map((t) => `<line class="axis" x1="${n(x(t))}" y1="${bottom}" x2="${n(x(t))}" y2="${bottom + 4}"/><text x="${n(x(t))}" y="${bottom + 18}" text-anchor="middle">${t / 1000}s</text>`)
    .join('');
}

/** Vertical dashed lines at each marker, its key on top, the event in a tooltip. */
function markerLines(markers: SeriesBlock['markers'], x: (ms: number) => number, top: number, bottom: number): string {
  return markers
    .map((m) => `<g class="event"><title>${esc(`${formatAt(m.atMs)} ${m.label}`)}</title><line class="marker" x1="${n(x(m.atMs))}" y1="${top}" x2="${n(x(m.atMs))}" y2="${bottom}"/><text class="marker-key" x="${n(x(m.atMs))}" y="${top - 4}" text-anchor="middle">${esc(m.key)}</text></g>`)
    .join('');
}

function markerLegend(markers: SeriesBlock['markers']): string {
  if (markers.length === 0) return '';
  return `<ul class="legend events">${markers.map((m) => `<li><span class="key">${esc(m.key)}</span>${esc(`${formatAt(m.atMs)} ${m.label}`)}</li>`).join('')}</ul>`;
}

/**
 * req/s per backend as small multiples: a row per backend, one column per
 * cell on a y scale shared by every row (so heights compare), its peak and
 * mean at the right; events as dashed lines across all rows, time below.
 */
function seriesSvg(block: SeriesBlock): string {
  const { W, left, right, top } = FRAME;
  const rowH = 46;
  const gap = 12;
  const { plotW, plotH, H } = rowsFrame(block.series.length, rowH, gap);
  const endMs = block.startMs + block.cells * block.cellMs;
  const yMax = niceMax(block.max);
  const x = (ms: number): number => left + ((ms - block.startMs) / Math.max(1, endMs - block.startMs)) * plotW;
  const colW = plotW / Math.max(1, block.cells);
  const parts: string[] = [];
  block.series.forEach((s, i) => {
    const base = top + i * (rowH + gap) + gap / 2 + rowH;
    const colour = PALETTE[i % PALETTE.length]!;
    const cols = s.values
      .map((v, c) => {
        const h = (v / yMax) * rowH;
        const from = block.startMs + c * block.cellMs;
        return `<rect class="col" x="${n(x(from) + 0.5)}" y="${n(base - h)}" width="${n(Math.max(0.5, colW - 1))}" height="${n(h)}" fill="${colour}"><title>${esc(`${s.name} ${formatAt(from)}–${formatAt(from + block.cellMs)}: ${v} req/s`)}</title></rect>`;
      })
      .join('');
    parts.push(
      `<g class="series" data-backend="${esc(s.name)}">`,
      `<line class="grid" x1="${left}" y1="${n(base - rowH)}" x2="${W - right}" y2="${n(base - rowH)}"/>`,
      `<line class="axis" x1="${left}" y1="${n(base)}" x2="${W - right}" y2="${n(base)}"/>`,
      `<text x="${left - 8}" y="${n(base - rowH / 2 + 4)}" text-anchor="end">${esc(s.name)}</text>`,
      cols,
      `<text x="${W - right + 10}" y="${n(base - rowH / 2 - 3)}">peak ${s.peak}/s</text>`,
      `<text class="muted" x="${W - right + 10}" y="${n(base - rowH / 2 + 13)}">mean ${s.mean}/s</text>`,
      '</g>',
    );
  });
  parts.push(timeAxis(x, block.startMs, endMs, top + plotH), `<text class="muted" x="${W - right + 10}" y="${top - 6}">scale 0–${n(yMax)} req/s</text>`);
  parts.push(markerLines(block.markers, x, top, top + plotH));
  return `<svg class="chart" data-chart="rps" viewBox="0 0 ${W} ${H}" role="img" aria-label="requests per second per backend">${parts.join('')}</svg>\n${markerLegend(block.markers)}`;
}

/**
 * One strip per backend: a rectangle per stretch of one state, a triangle at
 * each change (▼ out of UP, ▲ back), a thin dark bar under the strip while
 * its process was not running, events as dashed lines.
 */
function healthSvg(block: HealthBlock): string {
  const { W, left, right, top } = FRAME;
  const rowH = 26;
  const gap = 10;
  const { plotW, plotH, H } = rowsFrame(block.strips.length, rowH, gap);
  const x = (ms: number): number => left + (ms / Math.max(1, block.durationMs)) * plotW;
  const parts: string[] = [];
  block.strips.forEach((s, i) => {
    const y0 = top + i * (rowH + gap) + gap / 2;
    const segs = s.segments
      .map((g) => `<rect class="seg ${g.state}" x="${n(x(g.fromMs))}" y="${n(y0)}" width="${n(Math.max(0.5, x(g.toMs) - x(g.fromMs)))}" height="${rowH}"><title>${esc(`${s.name} ${STATE_WORDS[g.state]} ${formatAt(g.fromMs)}–${formatAt(g.toMs)}`)}</title></rect>`)
      .join('');
    const changes = s.changes
      .map((ch) => {
        const cx = x(ch.atMs);
        const tri = ch.to === 'up' ? `M${n(cx - 5)},${n(y0 + 7)} L${n(cx + 5)},${n(y0 + 7)} L${n(cx)},${n(y0 - 1)} Z` : `M${n(cx - 5)},${n(y0 - 1)} L${n(cx + 5)},${n(y0 - 1)} L${n(cx)},${n(y0 + 7)} Z`;
        return `<path class="change" d="${tri}"><title>${esc(`${formatAt(ch.atMs)} ${s.name} ${STATE_WORDS[ch.from]} → ${STATE_WORDS[ch.to]} (${ch.reason})`)}</title></path>`;
      })
      .join('');
    const dead = s.dead
      .map((d) => `<rect class="dead" x="${n(x(d.fromMs))}" y="${n(y0 + rowH + 1)}" width="${n(Math.max(1, x(d.toMs) - x(d.fromMs)))}" height="4"><title>${esc(`${s.name} process not running ${formatAt(d.fromMs)}–${formatAt(d.toMs)}`)}</title></rect>`)
      .join('');
    parts.push(`<g class="strip" data-backend="${esc(s.name)}">${dead}<text x="${left - 8}" y="${n(y0 + rowH / 2 + 4)}" text-anchor="end">${esc(s.name)}</text>${segs}${changes}<text class="muted" x="${W - right + 10}" y="${n(y0 + rowH / 2 + 4)}">${esc(awayWords(s.away) || 'UP throughout')}</text></g>`);
  });
  parts.push(timeAxis(x, 0, block.durationMs, top + plotH), markerLines(block.markers, x, top, top + plotH));
  const used = new Set(block.strips.flatMap((s) => s.segments.map((g) => g.state)));
  const legend = `<ul class="legend">${(['up', 'down', 'out', 'drain', 'removed'] as const)
    .filter((st) => used.has(st))
    .map((st) => `<li><span class="sw" style="background:var(--${st === 'drain' ? 'drain' : st})"></span>${STATE_WORDS[st]}</li>`)
    .join('')}${block.strips.some((s) => s.dead.length > 0) ? '<li><span class="sw dead-sw"></span>process not running (under the strip)</li>' : ''}${block.strips.some((s) => s.changes.length > 0) ? '<li>▼ left UP · ▲ back UP</li>' : ''}</ul>`;
  return `<svg class="chart" data-chart="health" viewBox="0 0 ${W} ${H}" role="img" aria-label="health timeline per backend">${parts.join('')}</svg>\n${legend}${markerLegend(block.markers)}`;
}

/** The lab's verdict: a passed/failed badge, then one row per expectation, ✓ or ✗, expected vs measured. */
function verdictHtml(v: LabVerdict): string {
  const passed = v.expectations.filter((e) => e.pass).length;
  const rows = v.expectations
    .map((e) => `<tr class="${e.pass ? 'pass' : 'fail'}"><td class="mark">${e.pass ? '✓' : '✗'}</td><td class="what">${esc(e.text)}</td><td>${esc(e.expected)}</td><td>${esc(e.measured)}</td></tr>`)
    .join('\n');
  return `<section id="verdict" class="verdict ${v.passed ? 'pass' : 'fail'}">
<h2>Verdict: ${esc(v.name)}<span class="subtitle">${esc(v.title)}</span></h2>
<p><span class="badge">${v.passed ? '✓ passed' : '✗ failed'}</span> ${passed} of ${v.expectations.length} expectation${v.expectations.length === 1 ? '' : 's'} met</p>
<table>
<thead><tr><th></th><th>expectation</th><th>expected</th><th>measured</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</section>`;
}

/** How a piece of text should stand out; each renderer maps it to its own means (chalk colour, Markdown bold, a CSS class). */
export type Tone = 'good' | 'bad' | 'warn' | 'dim' | 'strong';

/** A piece of text with an optional tone. Text is raw (never escaped): renderers escape it for their format. */
export type Span = { text: string; tone?: Tone };

/** Column alignment in a {@link TableBlock}. */
export type Align = 'left' | 'right';

/** Label/value pairs, several to a line: `Requests 6000  req/s 1000`. */
export type FactsBlock = { kind: 'facts'; lines: Array<Array<{ label: string; value: Span }>> };

/** A short explanation under a table or chart (dim in the terminal). */
export type NoteBlock = { kind: 'note'; text: string };

/**
 * A table: a head row, an alignment per column, rows of cells. `caption` is
 * a line above it (e.g. which event it is about); `timeLine` marks one whose
 * columns after the first are points in time, drawn equally wide in text so
 * that it reads as a time line. `optional` lists columns (by index) the text
 * report may leave out, the first first, when the terminal is too narrow for
 * them all (it says which); HTML and Markdown show every column.
 */
export type TableBlock = { kind: 'table'; caption?: Span[]; head: string[]; align: Align[]; rows: Span[][]; timeLine?: true; optional?: number[] };

/** A list of items, each one line of spans and optional indented lines under it. */
export type ListBlock = { kind: 'list'; items: Array<{ line: Span[]; sub: Span[][] }> };

/** The latency histogram: one bar per non-empty stretch of buckets, `share` 0..1 of all requests. */
export type HistogramBlock = { kind: 'histogram'; bars: Array<{ label: string; count: number; share: number }> };

/**
 * An event marked on a time chart. `key` is one character (1-9, a-z, or `+`
 * when they run out), `cell` the cell of the chart it falls in, `atMs` ms
 * since the run started, `label` what happened (`kill b2`).
 */
export type Marker = { key: string; atMs: number; cell: number; label: string };

/**
 * Requests per second per backend over time, one cell per `cellMs` starting
 * at `startMs` (ms since the run started); each value is the mean req/s of
 * its cell. `max` is the largest value of every series (one scale for all,
 * so heights compare across backends); `peak`/`mean` per series in req/s.
 */
export type SeriesBlock = {
  kind: 'series';
  caption?: Span[];
  startMs: number;
  cellMs: number;
  cells: number;
  max: number;
  series: Array<{ name: string; values: number[]; peak: number; mean: number }>;
  markers: Marker[];
};

/**
 * What the balancer made of a backend: `up` taking traffic, `down` failed
 * its active checks, `out` ejected by passive checks or circuit open,
 * `drain` draining (no new requests), `removed` taken out of the upstream.
 */
export type StripState = 'up' | 'down' | 'out' | 'drain' | 'removed';

/** Each {@link StripState} in words, for legends and tooltips. */
export const STATE_WORDS: Record<StripState, string> = { up: 'UP', down: 'DOWN', out: 'ejected or circuit open', drain: 'draining', removed: 'removed' };

/**
 * The health timeline: one strip per backend. `segments` are exact (ms since
 * the run started, `toMs` exclusive); `cells` sample them per `cellMs` (the
 * state at the end of the cell, `changed` when it changed inside the cell);
 * `changes` are the state changes with the event that caused them.
 */
export type HealthBlock = {
  kind: 'health';
  startMs: number;
  cellMs: number;
  cells: number;
  durationMs: number;
  strips: Array<{
    name: string;
    segments: Array<{ fromMs: number; toMs: number; state: StripState }>;
    cells: Array<{ state: StripState; changed: boolean; blind: boolean }>;
    /**
     * When its process was not running (from a kill or exit to the next
     * `started`), ms. A cell is `blind` when the balancer still had it UP at
     * the cell's end although the process was dead in that cell: the time to
     * detect, as the learner sees it.
     */
    dead: Array<{ fromMs: number; toMs: number }>;
    changes: Array<{ atMs: number; from: StripState; to: StripState; reason: string }>;
    /** Time spent in each state other than UP, ms, in the order first entered. */
    away: Array<{ state: StripState; ms: number }>;
  }>;
  markers: Marker[];
};

/** One piece of a section. */
export type Block = FactsBlock | NoteBlock | TableBlock | ListBlock | HistogramBlock | SeriesBlock | HealthBlock;

/**
 * One section of the report. `id` is stable (tests, HTML anchors);
 * `lead` marks the summary that sits right under the title, without a
 * heading in the terminal; `subtitle` says how to read it.
 */
export type Section = { id: string; title: string; subtitle?: string; lead?: boolean; blocks: Block[] };

/** A span with no tone: the common case, spelled short because sections build hundreds of them. */
export function plain(text: string): Span {
  return { text };
}

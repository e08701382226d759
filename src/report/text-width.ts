import stringWidth from 'string-width';
import wrapAnsi from 'wrap-ansi';

/** The width a text report is drawn at when nothing says otherwise (stdout not a TTY), in columns. */
export const DEFAULT_WIDTH = 100;

/**
 * The narrowest width a text report is drawn at, in columns: a time chart
 * is up to 60 cells after the backend names, so narrower would cut it. A
 * narrower terminal gets lines of this width (the terminal wraps them).
 */
export const MIN_WIDTH = 80;

/** `width` as a report width: a whole number of columns, at least {@link MIN_WIDTH}; {@link DEFAULT_WIDTH} when not given. */
export function reportWidth(width: number | undefined): number {
  if (width === undefined || !Number.isFinite(width)) return DEFAULT_WIDTH;
  return Math.max(MIN_WIDTH, Math.floor(width));
}

/** Columns `text` takes in a terminal: ANSI colour codes count nothing, wide characters two (string-width). */
export function textWidth(text: string): number {
  return stringWidth(text);
}

/**
 * Prose wrapped into lines of at most `width` columns (wrap-ansi: colour
 * codes are carried over each break, and a word longer than a line is cut),
 * each line after the first starting with `indent` (its columns count).
 * Returns the lines, without trailing blanks.
 */
export function wrapText(text: string, width: number, indent = ''): string[] {
  const first = wrapAnsi(text, width, { hard: true, trim: true }).split('\n');
  if (first.length <= 1 || indent === '') return first.map((l) => l.trimEnd());
  // The lines after the first have `indent` less room.
  const [head, ...rest] = first;
  const tail = wrapAnsi(rest.join(' '), Math.max(1, width - textWidth(indent)), { hard: true, trim: true }).split('\n');
  return [head!.trimEnd(), ...tail.map((l) => indent + l.trimEnd())];
}

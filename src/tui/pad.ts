/** Text padding for the dashboard's fixed-width columns (one terminal cell per character). */

/** Pads `text` to `width` cells, left-aligned by default; longer text is left as is. */
export function pad(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  return align === 'right' ? text.padStart(width) : text.padEnd(width);
}

/** The width of the widest of `texts`, at least `min`. */
export function widest(texts: readonly string[], min = 0): number {
  return texts.reduce((w, t) => Math.max(w, t.length), min);
}

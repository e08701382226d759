/** Runs longer than this many seconds are drawn with cells of several seconds, so a chart stays within 100 columns. */
export const MAX_CELLS = 60;

/** The cell size (ms) that fits a run of `seconds` seconds into {@link MAX_CELLS} cells: 1 s, 2 s, … */
export function cellSizeMs(seconds: number): number {
  return 1000 * Math.max(1, Math.ceil(seconds / MAX_CELLS));
}

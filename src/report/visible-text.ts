/** C0 controls (but for the newline a text may keep), DEL and the C1 controls: what a terminal may act on instead of showing. */
const CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;
const CONTROLS_AND_NEWLINE = /[\u0000-\u001f\u007f-\u009f]/g;
const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * `text` with every C0/C1 control character (and DEL) written out as
 * `\xNN`, so a string from a shared run record or lab file shows as text
 * and cannot move the cursor, recolour or retitle the terminal (e.g.
 * `ESC]0;title BEL`). Newlines are kept when `keepNewlines` (lab prose);
 * otherwise they are shown too, as a table cell or an event line cannot
 * hold one.
 */
export function visibleText(text: string, keepNewlines = false): string {
  return text.replace(keepNewlines ? CONTROLS : CONTROLS_AND_NEWLINE, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * A copy of `value` (a run record, a comparison: plain JSON data) whose
 * every string, object keys included, goes through {@link visibleText}.
 * Returns `value` itself when no string needs it, as for every record lblab
 * writes, so the common case costs one walk and no copy.
 */
export function visibleStrings<T>(value: T): T {
  return needsCopy(value) ? (copy(value) as T) : value;
}

function needsCopy(value: unknown): boolean {
  if (typeof value === 'string') return HAS_CONTROL.test(value);
  if (Array.isArray(value)) return value.some(needsCopy);
  if (value !== null && typeof value === 'object') return Object.entries(value).some(([k, v]) => needsCopy(k) || needsCopy(v));
  return false;
}

function copy(value: unknown): unknown {
  if (typeof value === 'string') return visibleText(value);
  if (Array.isArray(value)) return value.map(copy);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [visibleText(k), copy(v)]));
  return value;
}

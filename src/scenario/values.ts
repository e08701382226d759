import ms from 'ms';
import { FieldError } from './field-error.js';

/**
 * Parsers of scenario values. Each takes the field's name as the front end
 * words it (`--duration`, `load.duration`) so its {@link FieldError} can name
 * it; each error is one line: "Expected `--duration` to be …, got …".
 */

/** Longest duration lblab accepts, 24 days in ms: a Node timer waits at most 2³¹−1 ms (~24.8 days). */
export const MAX_DURATION_MS = 24 * 86_400_000;

/**
 * Parses a duration such as `500ms`, `5s` or `2m` (via the `ms` library) into
 * milliseconds. A bare number is refused: `--duration 10` could mean seconds
 * or milliseconds, so the unit must be written.
 * @throws {FieldError} when the value is not a non-negative duration with a unit, or exceeds `opts.maxMs` (default {@link MAX_DURATION_MS}).
 */
export function parseDuration(flag: string, value: string, opts: { allowZero?: boolean; maxMs?: number } = {}): number {
  const trimmed = value.trim();
  // `ms` throws on an empty string and reads a bare number as ms; both are refused here.
  const parsed = trimmed === '' || /^[0-9.]+$/.test(trimmed) ? undefined : (ms as (v: string) => number | undefined)(trimmed);
  if (parsed === undefined || !Number.isFinite(parsed) || parsed < 0 || (!opts.allowZero && parsed === 0)) {
    throw new FieldError(flag, `to be a ${opts.allowZero ? 'non-negative' : 'positive'} duration like 500ms, 5s or 2m, got ${JSON.stringify(value)}`,
    );
  }
  const max = opts.maxMs ?? MAX_DURATION_MS;
  if (parsed > max) {
    throw new FieldError(flag, `to be at most ${(ms as (v: number) => string)(max)}, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

/**
 * Parses a whole number in `[min, max]`.
 * @throws {FieldError} when the value is not an integer in range.
 */
export function parseInteger(flag: string, value: string, min: number, max: number): number {
  const n = /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new FieldError(flag, `to be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/**
 * Parses a fraction in `[0, 1]`, e.g. an error rate `0.05`.
 * @throws {FieldError} when the value is not a number in range.
 */
export function parseFraction(flag: string, value: string): number {
  const n = /^(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    throw new FieldError(flag, `to be a number from 0 to 1, got ${JSON.stringify(value)}`);
  }
  return n;
}

/**
 * Parses a TCP port; `allowZero` lets 0 mean "any free port".
 * @throws {FieldError} when out of 0/1..65535.
 */
export function parsePort(flag: string, value: string, allowZero = true): number {
  return parseInteger(flag, value, allowZero ? 0 : 1, 65535);
}

/**
 * Parses `--weights 5,1,1` into positive integers, one per backend.
 * @throws {FieldError} when the count differs from `count` or a weight is not a whole number ≥ 1.
 */
export function parseWeights(flag: string, value: string, count: number): number[] {
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length !== count) {
    throw new FieldError(flag, `to have ${count} value${count === 1 ? '' : 's'} (one per backend), got ${parts.length}`,
    );
  }
  return parts.map((p) => {
    const n = /^\d+$/.test(p) ? Number(p) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < 1 || n > 1000) {
      throw new FieldError(flag, `value to be a whole number from 1 to 1000, got ${JSON.stringify(p)}`, true);
    }
    return n;
  });
}

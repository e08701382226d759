import { FieldError } from './field-error.js';
import { parseDuration } from './values.js';

/**
 * A backend's service-time distribution. Units: ms.
 * - `fixed`: always `ms`.
 * - `uniform`: evenly spread over [`minMs`, `maxMs`].
 * - `normal`: mean `meanMs`, standard deviation `sdMs`, truncated at 0 (negative draws are redrawn).
 * - `lognormal`: a log-normal whose own mean and standard deviation are `meanMs` and `sdMs`.
 */
export type LatencyProfile =
  | { kind: 'fixed'; ms: number }
  | { kind: 'uniform'; minMs: number; maxMs: number }
  | { kind: 'normal'; meanMs: number; sdMs: number }
  | { kind: 'lognormal'; meanMs: number; sdMs: number };

/** The latency forms, as `--help` and error messages show them. */
export const LATENCY_FORMS = '20ms, 10ms-30ms, fixed:20ms, uniform:10ms:30ms, normal:50ms:10ms or lognormal:50ms:20ms';

/**
 * Parses a latency profile. Short forms: `20ms` (fixed), `10ms-30ms`
 * (uniform). Explicit forms: `fixed:20ms`, `uniform:10ms:30ms`,
 * `normal:MEAN:SD`, `lognormal:MEAN:SD` (MEAN and SD of the latency itself).
 * @throws {FieldError} naming `flag` for anything else, a range whose low end exceeds its high end, or a log-normal mean of 0.
 */
export function parseLatency(flag: string, value: string): LatencyProfile {
  const explicit = /^\s*([a-z]+):(.*)$/i.exec(value);
  if (explicit) {
    const kind = explicit[1]!.toLowerCase();
    const args = explicit[2]!.split(':');
    const arity: Record<string, [number, string]> = {
      fixed: [1, 'fixed:20ms'],
      uniform: [2, 'uniform:10ms:30ms'],
      normal: [2, 'normal:MEAN:SD like normal:50ms:10ms'],
      lognormal: [2, 'lognormal:MEAN:SD like lognormal:50ms:20ms'],
    };
    const shape = arity[kind];
    if (!shape) {
      throw new FieldError(flag, `kind to be one of fixed, uniform, normal, lognormal, got ${JSON.stringify(explicit[1])}`);
    }
    if (args.length !== shape[0]) throw new FieldError(flag, `to read ${shape[1]}, got ${JSON.stringify(value)}`);
    const [a, b] = args.map((part) => parseDuration(flag, part, { allowZero: true })) as [number, number];
    if (kind === 'fixed') return { kind: 'fixed', ms: a };
    if (kind === 'uniform') return uniform(flag, value, a, b);
    if (kind === 'lognormal' && a === 0) {
      throw new FieldError(flag, `log-normal mean to be above 0, got ${JSON.stringify(value)}`);
    }
    return { kind: kind as 'normal' | 'lognormal', meanMs: a, sdMs: b };
  }
  const range = /^\s*([^-\s]+)\s*-\s*([^-\s]+)\s*$/.exec(value);
  if (range) {
    return uniform(flag, value, parseDuration(flag, range[1]!, { allowZero: true }), parseDuration(flag, range[2]!, { allowZero: true }));
  }
  try {
    return { kind: 'fixed', ms: parseDuration(flag, value, { allowZero: true }) };
  } catch {
    throw new FieldError(flag, `to be like ${LATENCY_FORMS}, got ${JSON.stringify(value)}`);
  }
}

function uniform(flag: string, value: string, minMs: number, maxMs: number): LatencyProfile {
  if (minMs > maxMs) throw new FieldError(flag, `range to go from low to high, got ${JSON.stringify(value)}`);
  return { kind: 'uniform', minMs, maxMs };
}

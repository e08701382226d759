import ms from 'ms';
import { FAULTS, type FaultName } from '../backend/faults.js';
import type { BackendFaults } from '../backend/ipc.js';
import { UsageError } from '../errors.js';

/**
 * Parsers for command-line values. Each takes the flag name so its
 * {@link UsageError} can name it; each error is one line, in the form
 * "Expected `--flag` to be …, got …".
 */

/** Longest duration lblab accepts, 24 days in ms: a Node timer waits at most 2³¹−1 ms (~24.8 days). */
export const MAX_DURATION_MS = 24 * 86_400_000;

/**
 * Parses a duration such as `500ms`, `5s` or `2m` (via the `ms` library) into
 * milliseconds. A bare number is refused: `--duration 10` could mean seconds
 * or milliseconds, so the unit must be written.
 * @throws {UsageError} when the value is not a non-negative duration with a unit, or exceeds `opts.maxMs` (default {@link MAX_DURATION_MS}).
 */
export function parseDuration(flag: string, value: string, opts: { allowZero?: boolean; maxMs?: number } = {}): number {
  const trimmed = value.trim();
  // `ms` throws on an empty string and reads a bare number as ms; both are refused here.
  const parsed = trimmed === '' || /^[0-9.]+$/.test(trimmed) ? undefined : (ms as (v: string) => number | undefined)(trimmed);
  if (parsed === undefined || !Number.isFinite(parsed) || parsed < 0 || (!opts.allowZero && parsed === 0)) {
    throw new UsageError(
      `Expected \`${flag}\` to be a ${opts.allowZero ? 'non-negative' : 'positive'} duration like 500ms, 5s or 2m, got ${JSON.stringify(value)}`,
    );
  }
  const max = opts.maxMs ?? MAX_DURATION_MS;
  if (parsed > max) {
    throw new UsageError(`Expected \`${flag}\` to be at most ${(ms as (v: number) => string)(max)}, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

/**
 * Parses a whole number in `[min, max]`.
 * @throws {UsageError} when the value is not an integer in range.
 */
export function parseInteger(flag: string, value: string, min: number, max: number): number {
  const n = /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`Expected \`${flag}\` to be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/**
 * Parses a fraction in `[0, 1]`, e.g. an error rate `0.05`.
 * @throws {UsageError} when the value is not a number in range.
 */
export function parseFraction(flag: string, value: string): number {
  const n = /^(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    throw new UsageError(`Expected \`${flag}\` to be a number from 0 to 1, got ${JSON.stringify(value)}`);
  }
  return n;
}

/**
 * Parses a TCP port; `allowZero` lets 0 mean "any free port".
 * @throws {UsageError} when out of 0/1..65535.
 */
export function parsePort(flag: string, value: string, allowZero = true): number {
  return parseInteger(flag, value, allowZero ? 0 : 1, 65535);
}

/**
 * Parses `--weights 5,1,1` into positive integers, one per backend.
 * @throws {UsageError} when the count differs from `count` or a weight is not a whole number ≥ 1.
 */
export function parseWeights(flag: string, value: string, count: number): number[] {
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length !== count) {
    throw new UsageError(
      `Expected \`${flag}\` to have ${count} value${count === 1 ? '' : 's'} (one per backend), got ${parts.length}`,
    );
  }
  return parts.map((p) => {
    const n = /^\d+$/.test(p) ? Number(p) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < 1 || n > 1000) {
      throw new UsageError(`Expected every \`${flag}\` value to be a whole number from 1 to 1000, got ${JSON.stringify(p)}`);
    }
    return n;
  });
}

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
 * @throws {UsageError} naming `flag` for anything else, a range whose low end exceeds its high end, or a log-normal mean of 0.
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
      throw new UsageError(`Expected \`${flag}\` kind to be one of fixed, uniform, normal, lognormal, got ${JSON.stringify(explicit[1])}`);
    }
    if (args.length !== shape[0]) throw new UsageError(`Expected \`${flag}\` to read ${shape[1]}, got ${JSON.stringify(value)}`);
    const [a, b] = args.map((part) => parseDuration(flag, part, { allowZero: true })) as [number, number];
    if (kind === 'fixed') return { kind: 'fixed', ms: a };
    if (kind === 'uniform') return uniform(flag, value, a, b);
    if (kind === 'lognormal' && a === 0) {
      throw new UsageError(`Expected \`${flag}\` log-normal mean to be above 0, got ${JSON.stringify(value)}`);
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
    throw new UsageError(`Expected \`${flag}\` to be like ${LATENCY_FORMS}, got ${JSON.stringify(value)}`);
  }
}

function uniform(flag: string, value: string, minMs: number, maxMs: number): LatencyProfile {
  if (minMs > maxMs) throw new UsageError(`Expected \`${flag}\` range to go from low to high, got ${JSON.stringify(value)}`);
  return { kind: 'uniform', minMs, maxMs };
}

/**
 * Splits a per-backend value such as `b4=200ms` into the backend name and the
 * value; a value without `name=` applies to every backend (name `undefined`).
 */
export function splitPerBackend(value: string): { name: string | undefined; value: string } {
  const m = /^\s*([A-Za-z][\w-]*)=(.*)$/.exec(value);
  return m ? { name: m[1]!, value: m[2]! } : { name: undefined, value };
}

/**
 * Checks that `url` is an absolute http:// URL (or https:// too with
 * `allowHttps`) and returns it parsed.
 * @throws {UsageError} naming `flag` otherwise.
 */
export function parseHttpUrl(flag: string, value: string, allowHttps = false): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`Expected \`${flag}\` to be a URL like http://127.0.0.1:8001, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && !(allowHttps && url.protocol === 'https:')) {
    throw new UsageError(`Expected \`${flag}\` to be an http://${allowHttps ? ' or https://' : ''} URL, got ${JSON.stringify(value)}`);
  }
  return url;
}

/** The faults, now kept in the fault registry (`backend/faults.ts`); re-exported for the parsers' callers. */
export { FAULTS, type FaultName };

/**
 * A scheduled action of `--event`. `atMs` in ms from the start of load.
 * `kill`/`restart`/`remove`/`drain` act on a backend; a fault name switches that
 * fault on (an event sets, it does not toggle); `recover` clears every fault
 * of the backend; `weight` sets one backend's weight; `algo` switches the
 * algorithm.
 */
export type ScheduledEvent =
  | { atMs: number; action: 'kill' | 'restart' | 'remove' | 'drain' | 'recover'; target: string }
  | { atMs: number; action: FaultName; target: string; faults?: BackendFaults }
  | { atMs: number; action: 'weight'; target: string; weight: number }
  | { atMs: number; action: 'algo'; algo: string };

/** The actions `--event` knows. */
export const EVENT_ACTIONS = ['kill', 'restart', 'remove', 'drain', ...FAULTS, 'recover', 'weight', 'algo'] as const;
/** One of {@link EVENT_ACTIONS}. */
export type EventAction = (typeof EVENT_ACTIONS)[number];

/** How each `--event` form is written, for messages and `--help`. */
export const EVENT_FORMS =
  `"<at> kill|restart|remove|drain <backend>", "<at> ${FAULTS.join('|')}|recover <backend>" (or "slow b2=x5", "slow b2=+200ms", "errors b2=0.2:503", "degrade b2=50ms"), "<at> weight <backend>=<n>" or "<at> algo <name>"`;

/**
 * Parses `--event "10s kill b2"`, `"10s hang b2"`, `"12s recover b2"`,
 * `"10s weight b1=5"` or `"10s algo p2c"`; `backends` and `algorithms` are
 * the known names.
 * @throws {UsageError} on a bad time, an unknown action, backend or algorithm, or a weight outside 1..1000.
 */
export function parseEvent(flag: string, value: string, backends: readonly string[], algorithms: readonly string[]): ScheduledEvent {
  const parts = value.trim().split(/\s+/);
  if (parts.length !== 3) {
    throw new UsageError(`Expected \`${flag}\` to read ${EVENT_FORMS} like "10s kill b2", got ${JSON.stringify(value)}`);
  }
  const [at, action, arg] = parts as [string, string, string];
  const atMs = parseDuration(flag, at, { allowZero: true });
  const backend = (name: string): string => {
    if (!backends.includes(name)) {
      throw new UsageError(`Expected \`${flag}\` backend to be one of ${backends.join(', ')}, got ${JSON.stringify(name)}`);
    }
    return name;
  };
  switch (action) {
    case 'kill':
    case 'restart':
    case 'remove':
    case 'drain':
    case 'recover':
      return { atMs, action, target: backend(arg) };
    case 'health-fail':
    case 'hang':
    case 'reset':
      return { atMs, action, target: backend(arg) };
    case 'slow':
    case 'errors':
    case 'degrade': {
      const m = /^([^=]+)=(.*)$/.exec(arg);
      if (!m) return { atMs, action, target: backend(arg) };
      return { atMs, action, target: backend(m[1]!), faults: parseFaultArgs(flag, action, m[2]!) };
    }
    case 'weight': {
      const m = /^([^=]+)=(.*)$/.exec(arg);
      if (!m) throw new UsageError(`Expected \`${flag}\` weight to read <backend>=<n> like b1=5, got ${JSON.stringify(arg)}`);
      return { atMs, action, target: backend(m[1]!), weight: parseInteger(`${flag} weight`, m[2]!, 1, 1000) };
    }
    case 'algo':
      if (!algorithms.includes(arg)) {
        throw new UsageError(`Expected \`${flag}\` algorithm to be one of ${algorithms.join(', ')}, got ${JSON.stringify(arg)}`);
      }
      return { atMs, action, algo: arg };
    default:
      throw new UsageError(`Expected \`${flag}\` action to be one of ${EVENT_ACTIONS.join(', ')}, got ${JSON.stringify(action)}`);
  }
}

/**
 * Reads the value of a parametrised fault event: `slow b2=x5` (service time
 * ×5) or `slow b2=+200ms` (+200 ms); `errors b2=0.2` (20% answered 500) or
 * `errors b2=0.2:503`; `degrade b2=50ms` (+50 ms per second).
 * @throws {UsageError} naming `flag` for anything else.
 */
function parseFaultArgs(flag: string, fault: 'slow' | 'errors' | 'degrade', value: string): BackendFaults {
  if (fault === 'slow') {
    const times = /^[x×](\d+(?:\.\d+)?)$/.exec(value);
    if (times && Number(times[1]) >= 1 && Number(times[1]) <= 1000) return { slowFactor: Number(times[1]), slowAddMs: 0 };
    if (value.startsWith('+')) return { slowFactor: 1, slowAddMs: parseDuration(`${flag} slow`, value.slice(1), { maxMs: 600_000 }) };
    throw new UsageError(`Expected \`${flag}\` slow to read <backend>=x<factor> or <backend>=+<duration> like b2=x5 or b2=+200ms, got ${JSON.stringify(value)}`);
  }
  if (fault === 'errors') {
    const m = /^([^:]+)(?::(\d+))?$/.exec(value);
    const status = m?.[2] === undefined ? 500 : Number(m[2]);
    if (!m || (status !== 500 && status !== 503)) {
      throw new UsageError(`Expected \`${flag}\` errors to read <backend>=<rate>[:500|503] like b2=0.2:503, got ${JSON.stringify(value)}`);
    }
    return { errorRate: parseFraction(`${flag} errors`, m[1]!), errorStatus: status };
  }
  return { degradeMsPerSecond: parseDuration(`${flag} degrade`, value, { maxMs: 60_000 }) };
}

/**
 * Checks that `--weights` is given only with an algorithm that uses weights;
 * a silently ignored flag would mislead the lesson.
 * @throws {UsageError} otherwise.
 */
export function requireWeightedAlgorithm(algo: string, weighted: boolean, weightedNames: readonly string[]): void {
  if (!weighted) {
    throw new UsageError(`Expected \`--weights\` only with an algorithm that uses weights (${weightedNames.join(', ')}), got --algo ${algo}`);
  }
}

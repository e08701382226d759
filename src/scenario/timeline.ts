import { FAULTS, isFaultName, type FaultName } from '../backend/faults.js';
import type { BackendFaults } from '../backend/ipc.js';
import { FieldError } from './field-error.js';
import { parseDuration, parseFraction, parseInteger } from './values.js';


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
 * the known names. With two balancers (`balancers`: lb1, lb2), `kill` and
 * `restart` may name one: `"5s kill lb1"` is a SIGKILL of that balancer's process.
 * @throws {FieldError} on a bad time, an unknown action, backend or algorithm, or a weight outside 1..1000.
 */
export function parseEvent(flag: string, value: string, backends: readonly string[], algorithms: readonly string[], balancers: readonly string[] = []): ScheduledEvent {
  const parts = value.trim().split(/\s+/);
  if (parts.length !== 3) {
    throw new FieldError(flag, `to read ${EVENT_FORMS} like "10s kill b2", got ${JSON.stringify(value)}`);
  }
  const [at, action, arg] = parts as [string, string, string];
  const atMs = parseDuration(flag, at, { allowZero: true });
  const backend = (name: string): string => {
    if (!backends.includes(name)) {
      throw new FieldError(flag, `backend to be one of ${backends.join(', ')}, got ${JSON.stringify(name)}`);
    }
    return name;
  };
  switch (action) {
    case 'kill':
    case 'restart':
      if (balancers.includes(arg)) return { atMs, action, target: arg };
      if (balancers.length > 0 && !backends.includes(arg)) {
        throw new FieldError(flag, `backend or balancer to be one of ${[...backends, ...balancers].join(', ')}, got ${JSON.stringify(arg)}`);
      }
      return { atMs, action, target: backend(arg) };
    case 'remove':
    case 'drain':
    case 'recover':
      return { atMs, action, target: backend(arg) };
    case 'weight': {
      const m = /^([^=]+)=(.*)$/.exec(arg);
      if (!m) throw new FieldError(flag, `weight to read <backend>=<n> like b1=5, got ${JSON.stringify(arg)}`);
      return { atMs, action, target: backend(m[1]!), weight: parseInteger(`${flag} weight`, m[2]!, 1, 1000) };
    }
    case 'algo':
      if (!algorithms.includes(arg)) {
        throw new FieldError(flag, `algorithm to be one of ${algorithms.join(', ')}, got ${JSON.stringify(arg)}`);
      }
      return { atMs, action, algo: arg };
    default: {
      if (!isFaultName(action)) throw new FieldError(flag, `action to be one of ${EVENT_ACTIONS.join(', ')}, got ${JSON.stringify(action)}`);
      // Faults with a setting of their own take it after the backend: "slow b2=x5".
      const m = FAULT_ARGUMENTS.has(action) ? /^([^=]+)=(.*)$/.exec(arg) : null;
      if (!m) return { atMs, action, target: backend(arg) };
      return { atMs, action, target: backend(m[1]!), faults: parseFaultArgs(flag, action as FaultWithArguments, m[2]!) };
    }
  }
}

/**
 * Reads the value of a parametrised fault event: `slow b2=x5` (service time
 * ×5) or `slow b2=+200ms` (+200 ms); `errors b2=0.2` (20% answered 500) or
 * `errors b2=0.2:503`; `degrade b2=50ms` (+50 ms per second).
 * @throws {FieldError} naming `flag` for anything else.
 */
/** The faults whose `--event` may carry a setting (`slow b2=x5`, `errors b2=0.2:503`, `degrade b2=50ms`). */
type FaultWithArguments = 'slow' | 'errors' | 'degrade';
const FAULT_ARGUMENTS: ReadonlySet<string> = new Set<FaultWithArguments>(['slow', 'errors', 'degrade']);

function parseFaultArgs(flag: string, fault: FaultWithArguments, value: string): BackendFaults {
  if (fault === 'slow') {
    const times = /^[x×](\d+(?:\.\d+)?)$/.exec(value);
    if (times && Number(times[1]) >= 1 && Number(times[1]) <= 1000) return { slowFactor: Number(times[1]), slowAddMs: 0 };
    if (value.startsWith('+')) return { slowFactor: 1, slowAddMs: parseDuration(`${flag} slow`, value.slice(1), { maxMs: 600_000 }) };
    throw new FieldError(flag, `slow to read <backend>=x<factor> or <backend>=+<duration> like b2=x5 or b2=+200ms, got ${JSON.stringify(value)}`);
  }
  if (fault === 'errors') {
    const m = /^([^:]+)(?::(\d+))?$/.exec(value);
    const status = m?.[2] === undefined ? 500 : Number(m[2]);
    if (!m || (status !== 500 && status !== 503)) {
      throw new FieldError(flag, `errors to read <backend>=<rate>[:500|503] like b2=0.2:503, got ${JSON.stringify(value)}`);
    }
    return { errorRate: parseFraction(`${flag} errors`, m[1]!), errorStatus: status };
  }
  return { degradeMsPerSecond: parseDuration(`${flag} degrade`, value, { maxMs: 60_000 }) };
}

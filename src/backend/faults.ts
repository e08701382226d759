import type { BackendFaults } from './ipc.js';

/**
 * The faults a backend can be switched into, by the name `--event` and the
 * event log use: `slow` (service time ×10), `errors` (50% answered 500),
 * `health-fail` (`/health` answers 503, traffic still served), `hang` (no
 * answer at all, `/health` included), `reset` (connection reset
 * mid-response), `degrade` (service time grows with time).
 */
export const FAULTS = ['slow', 'errors', 'health-fail', 'hang', 'reset', 'degrade'] as const;
/** One of {@link FAULTS}. */
export type FaultName = (typeof FAULTS)[number];

/** Whether `name` is one of {@link FAULTS}: event types and `--event` actions are plain strings. */
export function isFaultName(name: string): name is FaultName {
  return (FAULTS as readonly string[]).includes(name);
}

/** The slow fault's multiplier on service time. */
const SLOW_FACTOR = 10;
/** The errors fault's share of requests answered 500. */
const ERROR_FAULT_RATE = 0.5;
/** The degrade fault's growth of service time: ms added per second since it went on (+200 ms after 10 s). */
const DEGRADE_MS_PER_SECOND = 20;

/**
 * Every switch of {@link BackendFaults} in its off position: a backend with
 * no fault on, as it starts and after `recover`. `Required` so a new switch
 * cannot be left without its off value.
 */
export const NO_FAULTS: Required<BackendFaults> = {
  slowFactor: 1,
  slowAddMs: 0,
  errorRate: 0,
  errorStatus: 500,
  healthFail: false,
  hang: false,
  reset: false,
  degradeMsPerSecond: 0,
};

/**
 * How the dashboard shows a fault or a recover: `warn` for a fault switched
 * on (yellow today), `good` for one cleared (green). The dashboard maps the
 * tone onto its colour.
 */
export type FaultTone = 'warn' | 'good';

/**
 * One fault: everything lblab says and does about it outside the backend's
 * own behaviour (which lives in `server.ts`, one branch per switch).
 */
export type FaultDefinition = {
  readonly name: FaultName;
  /** The dashboard key that toggles it on the selected backend (one character). */
  readonly key: string;
  /** What it does, for `lblab start --help`: one entry per output line. */
  readonly help: readonly string[];
  /** The {@link BackendFaults} switches it owns; switching it off sets these to their {@link NO_FAULTS} value. */
  readonly switches: ReadonlyArray<keyof BackendFaults>;
  /** The switches a key or a bare `--event` (no `=` value) sends to turn it on. */
  readonly on: BackendFaults;
  /** Whether it is on, by the switches lblab sent (absent fields count as off). */
  isOn(faults: BackendFaults): boolean;
  /** What switching it on with `switches` does, in words, for the event log: "service time ×10". */
  effect(switches: BackendFaults): string;
  /**
   * The fault as the backend's row shows it while on: "slow ×10", "errors
   * 50%". `degradedMs` is the service time (ms) the degrade fault adds now.
   */
  words(faults: BackendFaults, degradedMs: number): string;
  /** Added to the event log's "… fault cleared" when it is switched off while on: ", it had reached +140ms"; "" for most faults. */
  clearedWords(degradedMs: number): string;
  /**
   * Whether the balancer's active health checks can see it: `/health`
   * answers 503 or never answers. The others only show in traffic, so only
   * passive checks and clients notice them.
   */
  readonly activeChecksDetect: boolean;
  /**
   * Whether the report's "Around each fault" section gives it a table of
   * the seconds around it. Not `slow`: it has been left out of that section
   * since the section was written, and the report must stay as it is.
   */
  readonly aroundInReport: boolean;
  readonly tone: FaultTone;
};

/** The slow fault in words: `slow ×10`, `slow +200ms`. */
function slowWords(f: BackendFaults): string {
  return (f.slowAddMs ?? 0) > 0 ? `slow +${f.slowAddMs}ms` : `slow ×${f.slowFactor ?? 1}`;
}

/** No extra words when the fault is cleared. */
const NOTHING = (): string => '';

/**
 * The fault registry: one entry per fault. Adding a fault is an entry here
 * (and its name in {@link FAULTS}) plus its behaviour in `server.ts`; the
 * keys, key line, `start --help`, event log, backend row, report and run
 * record read it from here.
 */
export const FAULT_REGISTRY: { readonly [F in FaultName]: FaultDefinition & { readonly name: F } } = {
  slow: {
    name: 'slow',
    key: 's',
    help: [`service time ×${SLOW_FACTOR}`],
    switches: ['slowFactor', 'slowAddMs'],
    on: { slowFactor: SLOW_FACTOR, slowAddMs: 0 },
    isOn: (f) => (f.slowFactor ?? 1) !== 1 || (f.slowAddMs ?? 0) > 0,
    effect: (s) => `service time ${(s.slowAddMs ?? 0) > 0 ? `+${s.slowAddMs}ms` : `×${s.slowFactor}`}`,
    words: slowWords,
    clearedWords: NOTHING,
    activeChecksDetect: false,
    aroundInReport: false,
    tone: 'warn',
  },
  errors: {
    name: 'errors',
    key: 'e',
    help: [`${ERROR_FAULT_RATE * 100}% answered 500`],
    switches: ['errorRate', 'errorStatus'],
    on: { errorRate: ERROR_FAULT_RATE, errorStatus: 500 },
    isOn: (f) => (f.errorRate ?? 0) > 0,
    effect: (s) => `${Math.round((s.errorRate ?? 0) * 100)}% answered ${s.errorStatus ?? 500}`,
    words: (f) => `errors ${Math.round((f.errorRate ?? 0) * 100)}%${f.errorStatus === 503 ? ' (503)' : ''}`,
    clearedWords: NOTHING,
    activeChecksDetect: false,
    aroundInReport: true,
    tone: 'warn',
  },
  'health-fail': {
    name: 'health-fail',
    key: 'h',
    help: ['/health says 503, traffic still served'],
    switches: ['healthFail'],
    on: { healthFail: true },
    isOn: (f) => f.healthFail === true,
    effect: () => '/health answers 503, traffic still served',
    words: () => 'health-fail',
    clearedWords: NOTHING,
    activeChecksDetect: true,
    aroundInReport: true,
    tone: 'warn',
  },
  hang: {
    name: 'hang',
    key: 'g',
    help: ['no answer to anything, /health included (checks: L7TOUT);', 'held requests are answered when the fault is cleared'],
    switches: ['hang'],
    on: { hang: true },
    isOn: (f) => f.hang === true,
    effect: () => 'no answer to requests or /health until recovered',
    words: () => 'hang',
    clearedWords: NOTHING,
    activeChecksDetect: true,
    aroundInReport: true,
    tone: 'warn',
  },
  reset: {
    name: 'reset',
    key: 'x',
    help: ['headers and half the body, then the connection is reset'],
    switches: ['reset'],
    on: { reset: true },
    isOn: (f) => f.reset === true,
    effect: () => 'connections reset mid-response, after the headers',
    words: () => 'reset mid-response',
    clearedWords: NOTHING,
    activeChecksDetect: false,
    aroundInReport: true,
    tone: 'warn',
  },
  degrade: {
    name: 'degrade',
    key: 'u',
    help: [`service time grows +${DEGRADE_MS_PER_SECOND}ms per second since the fault went on`],
    switches: ['degradeMsPerSecond'],
    on: { degradeMsPerSecond: DEGRADE_MS_PER_SECOND },
    isOn: (f) => (f.degradeMsPerSecond ?? 0) > 0,
    effect: (s) => `service time grows +${s.degradeMsPerSecond}ms per second from now`,
    words: (f, degradedMs) => `degrading +${f.degradeMsPerSecond}ms/s (now +${Math.round(degradedMs)}ms)`,
    clearedWords: (degradedMs) => `, it had reached +${Math.round(degradedMs)}ms`,
    activeChecksDetect: false,
    aroundInReport: true,
    tone: 'warn',
  },
};

/**
 * Recover: not a fault, the way out of all of them (`c`, `--event "15s
 * recover b2"`). Its key, help line and tone sit beside the faults' because
 * the dashboard, `start --help` and the event log list it with them.
 */
export const RECOVER = {
  name: 'recover',
  key: 'c',
  help: ['clear every fault of the selected backend'],
  tone: 'good',
} as const satisfies { name: string; key: string; help: readonly string[]; tone: FaultTone };

/** Every fault's entry, in {@link FAULTS} order. */
export function faultDefinitions(): FaultDefinition[] {
  return FAULTS.map((f) => FAULT_REGISTRY[f]);
}

/** The switches that turn `fault` on (with its default {@link FaultDefinition.on} values) or off. */
export function faultSwitches(fault: FaultName, on: boolean): BackendFaults {
  const def = FAULT_REGISTRY[fault];
  if (on) return { ...def.on };
  return Object.fromEntries(def.switches.map((s) => [s, NO_FAULTS[s]])) as BackendFaults;
}

/**
 * Extra service time in ms the degrade fault adds at `nowEpochMs` (0 when
 * off); `degradingSince` is when it went on (epoch ms), null while off.
 */
export function degradationMs(faults: BackendFaults, degradingSince: number | null, nowEpochMs = Date.now()): number {
  const rate = faults.degradeMsPerSecond ?? 0;
  return rate > 0 && degradingSince !== null ? (rate * (nowEpochMs - degradingSince)) / 1000 : 0;
}

/**
 * The faults on, in words, in {@link FAULTS} order, as the backend's row
 * shows them: e.g. ["slow ×10", "degrading +20ms/s (now +140ms)"].
 * `degradingSince` as in {@link degradationMs}.
 */
export function faultWords(faults: BackendFaults, degradingSince: number | null): string[] {
  const degradedMs = degradationMs(faults, degradingSince);
  return faultDefinitions()
    .filter((def) => def.isOn(faults))
    .map((def) => def.words(faults, degradedMs));
}

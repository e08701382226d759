import { faultDefinitions, RECOVER, type FaultName } from '../backend/faults.js';

/**
 * The dashboard's keys, one table (as gemini-cli's `keyBindings`): the
 * input handler, the key line, the "Dashboard keys" section of `lblab start
 * --help` and README's key list are all read from it. The fault keys come
 * from the fault registry. No ink here: `--help` reads it without drawing.
 */

/** What a key does to the running session or the dashboard (the selected backend, for the per-backend ones). */
export type ControlAction =
  | 'select-previous'
  | 'select-next'
  | 'select-row'
  | 'kill'
  | 'restart'
  | 'drain'
  | 'next-algorithm'
  | 'edit-weight'
  | 'more-load'
  | 'less-load'
  | 'pause'
  | 'toggle-chart'
  | 'quit'
  | 'recover'
  | 'kill-active-balancer';

/** The key line's label of a binding: the keys as shown ("+/-") and one word for what they do. */
export type KeyLabel = { keys: string; action: string };

/**
 * One binding. `keys`: the characters that trigger it, or `up`, `down`
 * (arrow keys) and `ctrl+c`. `label`: its entry on the key line; absent when
 * another binding's label covers it (`-` under `+/-`). `help`: its words in
 * `start --help`, keys included; a `\n` in them (leading or inside) is where
 * that hand-wrapped text has always broken its line, so its output stays as
 * it was.
 */
export type KeyBinding = {
  readonly keys: readonly string[];
  readonly label?: KeyLabel;
  readonly help?: readonly string[];
  /** Only in a run with two balancers (`--balancers 2`): its label shows, and the key acts, only there. */
  readonly pairOnly?: true;
} & (
  | { readonly action: ControlAction }
  | { readonly action: 'toggle-fault'; readonly fault: FaultName }
);

/** The key line's groups: `controls` on the first line, `faults` on the second (after "faults:"). */
export type KeyGroup = 'controls' | 'faults';

/** Selection, process, upstream and load keys, in key-line (and help) order. */
const CONTROL_BINDINGS: readonly KeyBinding[] = [
  { keys: ['up'], action: 'select-previous', label: { keys: '↑/↓ 1-9', action: 'select' }, help: ['↑/↓ or 1-9 select a backend'] },
  { keys: ['down'], action: 'select-next' },
  { keys: ['1', '2', '3', '4', '5', '6', '7', '8', '9'], action: 'select-row' },
  { keys: ['k'], action: 'kill', label: { keys: 'k', action: 'kill' }, help: ['k kill (SIGKILL)'] },
  { keys: ['r'], action: 'restart', label: { keys: 'r', action: 'restart' }, help: ['r restart'] },
  { keys: ['d'], action: 'drain', label: { keys: 'd', action: 'drain' }, help: ['\nd drain (again: call it off)'] },
  { keys: ['a'], action: 'next-algorithm', label: { keys: 'a', action: 'algo' }, help: ['a next algorithm'] },
  { keys: ['w'], action: 'edit-weight', label: { keys: 'w', action: 'weight' }, help: ['w weight of the selected\nbackend (type it, Enter)'] },
  // `=` is `+` without Shift.
  { keys: ['+', '='], action: 'more-load', label: { keys: '+/-', action: 'load' }, help: ['+/- concurrency'] },
  { keys: ['-'], action: 'less-load' },
  { keys: ['p'], action: 'pause', label: { keys: 'p', action: 'pause' }, help: ['p pause load'] },
  { keys: ['L'], action: 'kill-active-balancer', label: { keys: 'L', action: 'kill lb' }, help: ['L (--balancers 2) kill the\nactive balancer'], pairOnly: true },
  { keys: ['t'], action: 'toggle-chart', label: { keys: 't', action: 'chart' }, help: ['t the req/s chart\n(shown or hidden)'] },
  { keys: ['q', 'ctrl+c'], action: 'quit', label: { keys: 'q', action: 'quit' }, help: ['q quit and print the report'] },
];

/** Fault keys: each toggles its fault on the selected backend; the recover key clears them all. Help: the registry's lines. */
const FAULT_BINDINGS: readonly KeyBinding[] = [
  ...faultDefinitions().map(
    (f): KeyBinding => ({ keys: [f.key], action: 'toggle-fault', fault: f.name, label: { keys: f.key, action: f.name }, help: f.help }),
  ),
  { keys: [RECOVER.key], action: 'recover', label: { keys: RECOVER.key, action: RECOVER.name }, help: RECOVER.help },
];

/** Every binding by group, controls first. */
export const KEYMAP: { readonly [G in KeyGroup]: readonly KeyBinding[] } = { controls: CONTROL_BINDINGS, faults: FAULT_BINDINGS };

const BY_KEY: ReadonlyMap<string, KeyBinding> = new Map([...KEYMAP.controls, ...KEYMAP.faults].flatMap((b) => b.keys.map((k) => [k, b] as const)));

/** The binding of `key` (a character, `up`, `down` or `ctrl+c`), or undefined for a key that does nothing. */
export function bindingOf(key: string): KeyBinding | undefined {
  return BY_KEY.get(key);
}

/** The key line's entries of a group, in table order: bindings without a label are left out. */
export function keyLabels(group: KeyGroup, pair = false): KeyLabel[] {
  return KEYMAP[group].flatMap((b) => (b.label && (pair || !b.pairOnly) ? [b.label] : []));
}

/**
 * The "Dashboard keys" section of `lblab start --help` (no trailing
 * newline): the control keys' help words in one paragraph, each fault key's
 * help lines in a column, then how the timeline sets faults.
 */
export function dashboardKeysHelp(): string {
  const phrases = KEYMAP.controls.flatMap((b) => b.help ?? []);
  const controls = phrases.map((p, i) => (i === 0 ? p : p.startsWith('\n') ? `,${p}` : `, ${p}`)).join('');
  const faults = KEYMAP.faults.flatMap((b) => (b.label && b.help ? [{ name: `${b.label.keys} ${b.label.action}`, help: b.help }] : []));
  const width = Math.max(...faults.map((f) => f.name.length)) + 2;
  const faultLines = faults.flatMap((f) => f.help.map((line, i) => `  ${(i === 0 ? f.name : '').padEnd(width)}${line}`));
  return [
    `Dashboard keys: ${controls}. A change of`,
    'algorithm, weight, membership or health starts a new period; the report shows each one.',
    'Fault keys toggle a fault on the selected backend:',
    ...faultLines,
    "On the timeline a fault's name switches it on (an event sets, it does not",
    'toggle) and recover clears them all: --event "5s hang b2" --event "15s recover b2"',
  ].join('\n');
}

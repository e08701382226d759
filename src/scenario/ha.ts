import { FieldError, type FieldNamer } from './field-error.js';
import { parseDuration, parseInteger } from './values.js';

/**
 * How two balancers stand in for each other (`--ha`):
 * - `active-passive`: the active one holds a virtual address; the passive
 *   one checks it every interval and takes the address over after `fall`
 *   checks in a row fail (keepalived's VRRP: a backup becomes master when
 *   the master's adverts stop for 3 × `advert_int`);
 * - `dns-rr`: both serve, each on its own address; the clients are given
 *   both (DNS round robin, a name with two A records) and pick one per
 *   connection, trying the other when a connect fails.
 */
export const HA_MODES = ['active-passive', 'dns-rr'] as const;
/** One of {@link HA_MODES}. */
export type HaMode = (typeof HA_MODES)[number];

/** The virtual address the active balancer holds in `active-passive` (a 127.x address: Linux serves all of 127/8 on loopback without setup). */
export const HA_VIRTUAL_ADDRESS = '127.0.0.10';
/** Each balancer's own address, lb1 then lb2: its check endpoint in `active-passive`, where it serves in `dns-rr`. */
export const HA_OWN_ADDRESSES = ['127.0.0.11', '127.0.0.12'] as const;
/** Checks of the active balancer in a row that must fail before the passive one takes over: keepalived's 3 × `advert_int`. */
export const HA_FALL = 3;
/** The passive balancer's check interval when `--ha-interval` is not given: keepalived's default `advert_int 1`. */
export const DEFAULT_HA_INTERVAL_MS = 1000;
/** The balancers' names, in order. */
export const BALANCER_NAMES = ['lb1', 'lb2'] as const;

/**
 * Two balancers of a run (`--balancers 2`), resolved: how they stand in for
 * each other, how often the passive one checks the active one (ms), how many
 * failed checks in a row make it take over, each check's timeout (ms: the
 * interval, so one check ends before the next), the virtual address
 * (`active-passive`) and each one's own address. The takeover is due within
 * `intervalMs × fall + timeoutMs` of the active one's death.
 */
export type HaConfig = {
  mode: HaMode;
  intervalMs: number;
  fall: number;
  timeoutMs: number;
  virtualAddress: string;
  /** Each balancer's name and own address, lb1 first. */
  balancers: ReadonlyArray<{ name: string; address: string }>;
};

/** The HA fields as written: `balancers` (1 or 2), `ha`, `ha-interval`. */
export type HaInput = { balancers?: number | string; ha?: string; 'ha-interval'?: string };

/**
 * Reads `--balancers`, `--ha` and `--ha-interval` (a lab's `balancers`,
 * `ha`, `ha-interval`): undefined for one balancer (the default); for two,
 * the mode (default `active-passive`) and the check interval (default
 * {@link DEFAULT_HA_INTERVAL_MS}, 50 ms … 10 s).
 * @throws {FieldError} for a count other than 1 or 2, an unknown mode, a bad
 * interval, or `ha`/`ha-interval` with one balancer.
 */
export function resolveHa(input: HaInput, name: FieldNamer): HaConfig | undefined {
  const count = input.balancers === undefined ? 1 : parseInteger(name('balancers'), String(input.balancers), 1, 2);
  if (count === 1) {
    for (const field of ['ha', 'ha-interval'] as const) {
      if (input[field] !== undefined) throw FieldError.worded(name(field), `Expected \`${name(field)}\` only with \`${name('balancers')} 2\`, got it with one balancer`);
    }
    return undefined;
  }
  const mode = input.ha ?? 'active-passive';
  if (!(HA_MODES as readonly string[]).includes(mode)) throw new FieldError(name('ha'), `to be one of ${HA_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  const intervalMs = input['ha-interval'] !== undefined ? parseDuration(name('ha-interval'), input['ha-interval'], { maxMs: 10_000 }) : DEFAULT_HA_INTERVAL_MS;
  if (intervalMs < 50) throw new FieldError(name('ha-interval'), `to be at least 50ms, got ${JSON.stringify(input['ha-interval'])}`);
  return {
    mode: mode as HaMode,
    intervalMs,
    fall: HA_FALL,
    timeoutMs: intervalMs,
    virtualAddress: HA_VIRTUAL_ADDRESS,
    balancers: BALANCER_NAMES.map((n, i) => ({ name: n, address: HA_OWN_ADDRESSES[i]! })),
  };
}

/** The longest a takeover may take after the active balancer dies, ms: `interval × fall + timeout` (the and keepalived's budget). */
export function takeoverBudgetMs(ha: HaConfig): number {
  return ha.intervalMs * ha.fall + ha.timeoutMs;
}

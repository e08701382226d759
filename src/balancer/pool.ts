import { createPicker, expectedShares, type AlgorithmName } from './algorithms/index.js';
import type { PickContext, Picker } from './algorithms/picker.js';
import { UsageError } from '../errors.js';
import { DEFAULT_POOL, Router, type RoutingConfig } from './routes.js';
import type { UpstreamBackend } from './upstream-backend.js';

/**
 * One pool of backends behind the balancer (an HAProxy `backend` section,
 * an nginx `upstream`): the requests routed to it are picked among its own
 * members, by its own picker, with its own backups (picked by a picker of
 * their own, as nginx keeps a separate peer list, only when no primary can
 * take the request) and its own panic state (Envoy's panic threshold is per
 * cluster). Without routes the balancer has one pool holding every backend;
 * the L4 balancer always has just that one. Retries stay within the pool a
 * request was routed to. `B` is the front end's kind of backend.
 */
export class Pool<B extends UpstreamBackend = UpstreamBackend> {
  /**
   * The backends the picker picks from: the primaries of {@link backends}
   * less removed ones; `backups` likewise. New arrays after each membership
   * or weight change, as the {@link Picker} contract asks, each indexed
   * from 0.
   */
  members: B[] = [];
  backups: B[] = [];
  /** Whether the pool is in panic now (fewer usable primaries than the threshold). */
  panicking = false;
  /** Requests routed to it so far: its part of the traffic, which weighs its expected shares. */
  routed = 0;
  private pickerNow: Picker;
  private backupPicker: Picker;
  private algoName: AlgorithmName;

  constructor(
    readonly name: string,
    /** Its backends as configured, in order, removed ones included. */
    readonly backends: readonly B[],
    algo: AlgorithmName,
    /** Whether its algorithm follows the balancer's (`--algo`, the `a` key) rather than one of its own. */
    readonly inherits: boolean,
  ) {
    this.algoName = algo;
    this.pickerNow = createPicker(algo);
    this.backupPicker = createPicker(algo);
    this.rebuild();
  }

  /** Its algorithm now. */
  get algo(): AlgorithmName {
    return this.algoName;
  }

  /** Switches its algorithm; the new pickers start fresh. */
  setAlgorithm(name: AlgorithmName): void {
    this.algoName = name;
    this.pickerNow = createPicker(name);
    this.backupPicker = createPicker(name);
  }

  /** Rebuilds the pick arrays (new identities) and re-indexes each group from 0. */
  rebuild(): void {
    this.members = this.backends.filter((b) => !b.removed && !b.backup);
    this.backups = this.backends.filter((b) => !b.removed && b.backup);
    this.members.forEach((b, i) => (b.index = i));
    this.backups.forEach((b, i) => (b.index = i));
  }

  /** Picks a backend for a request: a primary, else (none can take it) a backup; undefined when none can. */
  pick(ctx: PickContext): B | undefined {
    const primary = this.pickerNow.pick(this.members, ctx) as B | undefined;
    if (primary || this.backups.length === 0) return primary;
    return this.backupPicker.pick(this.backups, ctx) as B | undefined;
  }

  /**
   * The picker that picks `backend` now: the backups' for a backup, else the
   * primaries'. A try ends on the picker that saw it start, even after an
   * algorithm switch, so the caller keeps it from the pick.
   */
  pickerOf(backend: UpstreamBackend): Picker {
    return backend.backup ? this.backupPicker : this.pickerNow;
  }

  /** Whether `backend` is one of this pool's backends (removed ones included). */
  holds(backend: B): boolean {
    return this.backends.includes(backend);
  }

  /** Whether a backend of this pool other than `tried` (and those `ctx` excludes) could take a retry now. */
  anotherCandidate(tried: B, ctx: PickContext): boolean {
    const other = (b: B): boolean => b !== tried && b.usable && !ctx.exclude?.has(b);
    return this.members.some(other) || this.backups.some(other);
  }

  /** The group `backend` is counted in (its primaries or its backups): where the ejection cap is counted. */
  groupOf(backend: B): readonly B[] {
    return backend.backup ? this.backups : this.members;
  }

  /** Of its primaries, how many are usable, and how many there are. */
  usablePrimaries(): { usable: number; of: number } {
    let usable = 0;
    for (const b of this.members) if (b.usable) usable++;
    return { usable, of: this.members.length };
  }

  /**
   * Enters or leaves panic (Envoy `healthy_panic_threshold`, per cluster):
   * in panic while fewer than `thresholdPct`% of its primaries are usable,
   * health then ignored. Backups come before panic, as in Envoy: while one
   * can serve, health counts. Returns the change to log (`named`: say which
   * pool), undefined when the state stays; read {@link panicking} for the
   * state. The caller skips this when the threshold is off.
   */
  updatePanic(thresholdPct: number, named: boolean): { type: 'panic' | 'panic-over'; detail: string } | undefined {
    if (this.backups.some((b) => b.usable)) {
      if (!this.panicking) return undefined;
      this.panicking = false;
      return { type: 'panic-over', detail: `${this.panicOf(named)}a backup can serve: health counts` };
    }
    const { usable, of: n } = this.usablePrimaries();
    const panic = (usable / n) * 100 < thresholdPct;
    if (panic === this.panicking) return undefined;
    this.panicking = panic;
    const of = this.panicOf(named);
    return panic
      ? { type: 'panic', detail: `${of}${usable} of ${n} primaries usable, under ${thresholdPct}%: routing to all of them, health ignored` }
      : { type: 'panic-over', detail: `${of}${usable} of ${n} primaries usable again: health counts` };
  }

  /** How a panic message names the pool: `pool api: `, or nothing without routes. */
  private panicOf(named: boolean): string {
    return named ? `pool ${this.name}: ` : '';
  }

  /** The share (0..1) of this pool's requests each member should get under its algorithm, by backend; backups and removed ones expect nothing. */
  expectedShares(): Map<B, number> {
    const shares = expectedShares(this.algoName, this.members.map((b) => b.configuredWeight));
    return new Map(this.members.map((b, i) => [b, shares[i]!]));
  }

  /** The body of the 503 answered when none of its backends can take a request. */
  noBackendMessage(named: boolean): string {
    const down = [...this.members, ...this.backups].filter((b) => !b.usable).map((b) => b.name);
    return `lblab: no backend is UP in ${named ? `pool ${this.name}` : 'this upstream'} (DOWN: ${down.join(', ') || 'none'}); try again once a health check passes\n`;
  }
}

/**
 * The pools of `routing` over `backends` (by name), each backend's pool, and
 * the router to them; without routing, one pool `default` of every backend
 * that every request goes to. Pools without an algorithm of their own take
 * `algo`.
 * @throws {UsageError} for a pool naming an unknown backend or a route naming an unknown pool (the CLI checks both first).
 */
export function buildPools<B extends UpstreamBackend>(
  routing: RoutingConfig | undefined,
  backends: readonly B[],
  algo: AlgorithmName,
): { pools: Pool<B>[]; poolOf: Map<B, Pool<B>>; router: Router<Pool<B>> } {
  const r = routing ?? { routes: [], pools: [{ name: DEFAULT_POOL, backends: backends.map((b) => b.name) }], defaultPool: DEFAULT_POOL };
  const poolOf = new Map<B, Pool<B>>();
  const pools = r.pools.map((p) => {
    const members = p.backends.map((name) => {
      const b = backends.find((x) => x.name === name);
      if (!b) throw new UsageError(`Expected pool ${p.name} to hold backends of the upstream, got ${JSON.stringify(name)}`);
      return b;
    });
    const pool = new Pool(p.name, members, p.algo ?? algo, p.algo === undefined);
    for (const b of members) poolOf.set(b, pool);
    return pool;
  });
  const named = (name: string): Pool<B> => {
    const pool = pools.find((p) => p.name === name);
    if (!pool) throw new UsageError(`Expected a route to name a pool, got ${JSON.stringify(name)}`);
    return pool;
  };
  const router = new Router(
    r.routes.map((x) => ({ match: x.match, target: named(x.pool) })),
    r.defaultPool === undefined ? undefined : named(r.defaultPool),
  );
  return { pools, poolOf, router };
}

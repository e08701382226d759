import type { UpstreamBackend } from '../upstream-backend.js';
import { CookieInsert } from './cookie-insert.js';
import { StickTable } from './stick-table.js';

/**
 * `--sticky`: cookie insert (HAProxy `cookie NAME insert indirect nocache`)
 * or a source-IP stick table (HAProxy `stick-table type ip size N expire
 * TTL` with `stick on src`). Times in ms.
 */
export type StickyConfig = { mode: 'cookie'; name: string } | { mode: 'ip'; ttlMs: number; size: number };

/** The cookie name of `--sticky cookie`, as in HAProxy's examples. */
export const DEFAULT_STICKY_COOKIE = 'SERVERID';
/** How long an idle source IP stays stuck by default (ms). */
export const DEFAULT_STICKY_TTL_MS = 30 * 60_000;
/** Entries of the source-IP stick table (HAProxy `size`); past it, the least recently used is evicted. */
export const DEFAULT_STICK_TABLE_SIZE = 100_000;

/** One request's persistence: where it should go first, and what to do with the answer. */
export interface StickyPin {
  /** The backend the request carries a pin to, when that backend takes persistent traffic now; else undefined (balance normally). */
  readonly target: UpstreamBackend | undefined;
  /** Called with the client response headers of whichever backend answered (after retries too): re-pins the client there. */
  answered(backend: UpstreamBackend, headers: Record<string, string | string[]>): void;
}

/** A pool of backends as sticky sessions see it: its name and backends (see `Pool`). */
export type StickyPool = { readonly name: string; readonly backends: readonly UpstreamBackend[] };

/**
 * Sticky sessions for one balancer: reads a request's pin, strips the
 * cookie from what the backend sees, and re-pins on the answer. A pin to a
 * backend that cannot take it (DOWN, removed, ejected) is not followed: the
 * request is balanced by the algorithm and the client re-pinned where it was
 * served, so a stale pin never keeps routing to a dead backend (the bug of
 * traefik#1299) nor fails the request.
 * Each pool keeps its own persistence, as each HAProxy backend section has
 * its own `cookie` and `stick-table`: with L7 routes a client holds one pin
 * per pool (cookie `NAME_<pool>`; stick table entries per pool and source
 * IP), so requests to `/api` and `/static` do not overwrite each other's pin.
 */
export class StickySessions {
  /** `Set-Cookie`s sent: new clients plus re-pins (cookie mode). */
  cookiesSet = 0;
  private readonly byName = new Map<string, UpstreamBackend>();
  /** Cookie mode: one cookie per pool, by pool name. */
  private readonly cookies = new Map<string, CookieInsert>();
  private readonly table: StickTable<UpstreamBackend> | undefined;
  /** Stick table keys are prefixed by the pool's number when there are several pools. */
  private readonly poolKey = new Map<string, string>();

  constructor(
    readonly config: StickyConfig,
    pools: readonly StickyPool[],
    /** The balancer's clock in ms. */
    private readonly now: () => number,
  ) {
    for (const p of pools) for (const b of p.backends) this.byName.set(b.name, b);
    const names = poolCookieNames(config.mode === 'cookie' ? config.name : '', pools);
    pools.forEach((p, i) => {
      if (config.mode === 'cookie') this.cookies.set(p.name, new CookieInsert(names[i]!, p.backends.map((b) => b.name)));
      this.poolKey.set(p.name, pools.length > 1 ? `${i} ` : '');
    });
    if (config.mode === 'ip') this.table = new StickTable(config.ttlMs, config.size);
  }

  /** The cookie names in use (cookie mode), one per pool: `SERVERID`, or `SERVERID_api`, `SERVERID_static` with routes. */
  cookieNames(): string[] {
    return [...this.cookies.values()].map((c) => c.name);
  }

  /**
   * The pin of a request of pool `pool` (its name) arriving from `clientIp`
   * with request headers `upstream` (the copy that goes to the backend: every
   * sticky cookie of this balancer is removed from it here).
   */
  pin(upstream: Record<string, string | string[]>, clientIp: string, pool: string): StickyPin {
    const table = this.table;
    if (table === undefined) {
      const cookie = this.cookies.get(pool)!;
      const name = cookie.backendOf(upstream.cookie);
      const carried = name === undefined ? undefined : this.byName.get(name);
      for (const c of this.cookies.values()) c.stripRequest(upstream);
      return {
        target: carried?.takesPersistent ? carried : undefined,
        answered: (backend, headers) => {
          if (cookie.applyResponse(headers, backend.name, carried?.name)) this.cookiesSet++;
        },
      };
    }
    const key = `${this.poolKey.get(pool) ?? ''}${clientIp}`;
    const carried = table.get(key, this.now());
    return {
      target: carried?.takesPersistent ? carried : undefined,
      answered: (backend) => {
        if (backend === carried) return;
        // First answer wins: requests sent before this client was stuck must not move it once it is.
        const now = this.now();
        const stuck = table.get(key, now);
        if (stuck === undefined || stuck === carried || !stuck.takesPersistent) table.set(key, backend, now);
      },
    };
  }

  /** Entries of the stick table now, expired ones purged; 0 in cookie mode, where the pins live in the clients. */
  entries(): number {
    return this.table ? this.table.purge(this.now()) : 0;
  }
}

/**
 * The cookie name of each pool: `name` itself for a single pool; with
 * several, `name_<pool>` with the pool's name reduced to letters, digits
 * and `-` (`/api` → `SERVERID_api`), or its number when that is empty or
 * taken.
 */
export function poolCookieNames(name: string, pools: ReadonlyArray<{ readonly name: string }>): string[] {
  if (pools.length <= 1) return pools.map(() => name);
  const used = new Set<string>();
  return pools.map((p, i) => {
    const slug = p.name.replace(/[^A-Za-z0-9-]+/g, '');
    let candidate = slug !== '' && !used.has(slug) ? slug : String(i + 1);
    // A pool named `/2` may have taken the number already.
    while (used.has(candidate)) candidate += '_';
    used.add(candidate);
    return `${name}_${candidate}`;
  });
}

/** The mode in words: `cookie SERVERID`, `ip 30m`. */
export function formatSticky(c: StickyConfig): string {
  if (c.mode === 'cookie') return `cookie ${c.name}`;
  const ms = c.ttlMs;
  const ttl = ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
  return `ip ${ttl}`;
}

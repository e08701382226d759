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

/**
 * Whether a pinned backend may take a request that carries its pin: UP, not
 * removed, ejected or behind an open circuit breaker. A draining backend
 * still may, as HAProxy's `drain` state "removes the server from load
 * balancing but still allows it … to accept new persistent connections".
 */
export function acceptsPersistent(b: UpstreamBackend): boolean {
  return !b.removed && b.health.state === 'up' && b.outlier.ejectedUntilMs === undefined && (b.breaker === undefined || b.breaker.allows);
}

/**
 * Sticky sessions for one balancer: reads a request's pin, strips the
 * cookie from what the backend sees, and re-pins on the answer. A pin to a
 * backend that cannot take it (DOWN, removed, ejected) is not followed: the
 * request is balanced by the algorithm and the client re-pinned where it was
 * served, so a stale pin never keeps routing to a dead backend (the bug of
 * traefik#1299) nor fails the request.
 */
export class StickySessions {
  /** `Set-Cookie`s sent: new clients plus re-pins (cookie mode). */
  cookiesSet = 0;
  private readonly byName = new Map<string, UpstreamBackend>();
  private readonly cookie: CookieInsert | undefined;
  private readonly table: StickTable<UpstreamBackend> | undefined;

  constructor(
    readonly config: StickyConfig,
    backends: readonly UpstreamBackend[],
    /** The balancer's clock in ms. */
    private readonly now: () => number,
  ) {
    for (const b of backends) this.byName.set(b.name, b);
    if (config.mode === 'cookie') this.cookie = new CookieInsert(config.name, [...this.byName.keys()]);
    else this.table = new StickTable(config.ttlMs, config.size);
  }

  /**
   * The pin of a request arriving from `clientIp` with request headers
   * `upstream` (the copy that goes to the backend: the sticky cookie is
   * removed from it here).
   */
  pin(upstream: Record<string, string | string[]>, clientIp: string): StickyPin {
    let carried: UpstreamBackend | undefined;
    if (this.cookie) {
      const name = this.cookie.backendOf(upstream.cookie);
      carried = name === undefined ? undefined : this.byName.get(name);
      this.cookie.stripRequest(upstream);
    } else carried = this.table!.get(clientIp, this.now());
    const target = carried && acceptsPersistent(carried) ? carried : undefined;
    return {
      target,
      answered: (backend, headers) => {
        if (this.cookie) {
          if (this.cookie.applyResponse(headers, backend.name, carried?.name)) this.cookiesSet++;
        } else if (backend !== carried) {
          // First answer wins: requests sent before this client was stuck must not move it once it is.
          const now = this.now();
          const stuck = this.table!.get(clientIp, now);
          if (stuck === undefined || stuck === carried || !acceptsPersistent(stuck)) this.table!.set(clientIp, backend, now);
        }
      },
    };
  }

  /** Entries of the stick table now, expired ones purged; 0 in cookie mode, where the pins live in the clients. */
  entries(): number {
    return this.table ? this.table.purge(this.now()) : 0;
  }
}

/** The mode in words: `cookie SERVERID`, `ip 30m`. */
export function formatSticky(c: StickyConfig): string {
  if (c.mode === 'cookie') return `cookie ${c.name}`;
  const ms = c.ttlMs;
  const ttl = ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
  return `ip ${ttl}`;
}

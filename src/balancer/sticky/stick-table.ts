/**
 * A stick table as HAProxy's `stick-table type ip size N expire TTL`: keys
 * (client addresses) mapped to a value (the backend they stick to), each
 * entry expiring `ttlMs` after it was last used, at most `size` entries (when
 * full, the least recently used entry makes room, as HAProxy purges its
 * oldest). Times are ms of any monotonic clock the caller passes in.
 */
export class StickTable<V> {
  /** Entries least recently used first: a use moves the key to the end, so expiry and eviction look only at the front. */
  private readonly entries = new Map<string, { value: V; usedAtMs: number }>();

  constructor(
    readonly ttlMs: number,
    readonly size: number,
  ) {}

  /** Entries held now, expired ones not yet purged included; {@link purge} first for an exact count. */
  get count(): number {
    return this.entries.size;
  }

  /** The value stored for `key` if its entry has not expired at `nowMs`; the use refreshes its expiry. */
  get(key: string, nowMs: number): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    if (nowMs - e.usedAtMs >= this.ttlMs) return undefined;
    e.usedAtMs = nowMs;
    this.entries.set(key, e);
    return e.value;
  }

  /** Stores `value` for `key` (a new entry or a re-stick), used at `nowMs`; evicts the least recently used past {@link size}. */
  set(key: string, value: V, nowMs: number): void {
    const e = this.entries.get(key);
    if (e) this.entries.delete(key);
    else this.purge(nowMs);
    this.entries.set(key, { value, usedAtMs: nowMs });
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.size) break;
      this.entries.delete(k);
    }
  }

  /** Drops the entries expired at `nowMs`; returns how many are left. */
  purge(nowMs: number): number {
    for (const [k, e] of this.entries) {
      if (nowMs - e.usedAtMs < this.ttlMs) break;
      this.entries.delete(k);
    }
    return this.entries.size;
  }
}

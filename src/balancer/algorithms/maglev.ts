import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { isCandidate, type PickableBackend, type PickContext, type Picker } from './picker.js';
import { SmoothWeightedRoundRobin } from './smooth-weighted-round-robin.js';

/** Entries in the lookup table: a prime, Envoy's default. */
export const MAGLEV_TABLE_SIZE = 65537;
/** Mutated hashes tried after the first when its backend is unusable. */
const MAX_RETRY_ATTEMPTS = 20;

/**
 * Maglev hashing as Envoy's `MAGLEV` load balancer (`maglev_lb.cc`, after
 * Google's Maglev paper): a lookup table of M = 65537 entries, each naming a
 * backend, so a pick is one array read.
 *
 * The table: each backend gets two independent hashes of its origin (the
 * first and second 8 bytes of its SHA-256; Envoy uses xxHash64 with seeds 0
 * and 1), giving `offset = h1 mod M` and `skip = h2 mod (M − 1) + 1`, and so
 * its own permutation of the slots, `(offset + skip × j) mod M`. The table is
 * filled in rounds: in round r a backend of weight w takes its next free
 * slot if `r × w` has reached its target, which then grows by the largest
 * weight, so a backend of the largest weight takes a slot every round and one
 * of a third of it every third round (Envoy's weighted fill). The backends
 * are visited in origin order, so the table does not depend on how the
 * backends are listed. It is built once per `backends` array and cached
 * against its identity (see {@link Picker}). Building takes 1–5 ms for
 * three backends of weight 1000; it runs about M × largest ÷ total weight
 * rounds over every backend, so only a very uneven upstream is slow (one
 * backend of weight 1000 beside 999 of weight 1: ~100 ms).
 *
 * A pick: `table[crc32(ctx.hashKey) mod M]`. If that backend is DOWN or
 * already tried, attempt a = 1, 2, … 20 looks up `(h XOR (2³² − a)) mod M`
 * instead, h the key's hash, and the first usable backend found wins: Envoy's
 * retry mutation `hash ^= ~0 − attempt + 1` (`MaglevTable::chooseHost`)
 * on lblab's 32-bit hash instead of Envoy's 64-bit one. After 20 such
 * attempts nginx-style round robin (smooth weighted) takes over. Envoy
 * instead rebuilds the table over the healthy hosts whenever health changes;
 * lblab keeps one table per membership, so a DOWN backend's keys spread over
 * the others (in proportion to their entries) while every other key stays
 * put. With no key (`ctx.hashKey` undefined or empty) the hash is a random
 * number, as Envoy does when a request yields no hash, which makes the pick
 * weighted random. `random` is injectable for tests; it must return values
 * in [0, 1).
 *
 * Removing one of n backends moves about 1/n of the keys, plus a few percent
 * that change hands between the remaining ones (the table is rebuilt).
 */
export class Maglev implements Picker {
  private readonly fallback = new SmoothWeightedRoundRobin();
  private table: Int32Array = new Int32Array(0);
  private tableFor: readonly PickableBackend[] | undefined;

  constructor(private readonly random: () => number = Math.random) {}

  pick(backends: readonly PickableBackend[], ctx: PickContext): PickableBackend | undefined {
    const table = this.tableOf(backends);
    if (table.length === 0) return undefined;
    const key = ctx.hashKey;
    const hash = key === undefined || key === '' ? Math.floor(this.random() * 0x1_0000_0000) : crc32(key);
    for (let attempt = 0; attempt <= MAX_RETRY_ATTEMPTS; attempt++) {
      // ~(attempt − 1) is −attempt in 32 bits, i.e. 2³² − attempt.
      const h = attempt === 0 ? hash : (hash ^ ~(attempt - 1)) >>> 0;
      const b = backends[table[h % MAGLEV_TABLE_SIZE]!]!;
      if (isCandidate(b, ctx)) return b;
    }
    return this.fallback.pick(backends, ctx);
  }

  /** A copy of the table built for `backends`: the backend index in each of its 65537 entries. */
  tableEntries(backends: readonly PickableBackend[]): Int32Array {
    return this.tableOf(backends).slice();
  }

  private tableOf(backends: readonly PickableBackend[]): Int32Array {
    if (backends !== this.tableFor) {
      this.table = buildTable(backends);
      this.tableFor = backends;
    }
    return this.table;
  }
}

/** The Maglev lookup table for `backends` (see {@link Maglev}); empty when there are none. */
function buildTable(backends: readonly PickableBackend[]): Int32Array {
  if (backends.length === 0) return new Int32Array(0);
  const M = MAGLEV_TABLE_SIZE;
  const entries = backends
    .map((b) => {
      const digest = createHash('sha256').update(b.origin).digest();
      const offset = Number(digest.readBigUInt64BE(0) % BigInt(M));
      const skip = Number(digest.readBigUInt64BE(8) % BigInt(M - 1)) + 1;
      return { index: b.index, origin: b.origin, weight: b.weight, skip, slot: offset, target: 0 };
    })
    .sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : a.index - b.index));
  const maxWeight = Math.max(...entries.map((e) => e.weight));
  const table = new Int32Array(M).fill(-1);
  let filled = 0;
  for (let round = 1; filled < M; round++) {
    for (const e of entries) {
      if (filled === M) break;
      if (round * e.weight < e.target) continue;
      e.target += maxWeight;
      // Walk this backend's permutation to its next free slot; M is prime, so it visits every slot.
      while (table[e.slot] !== -1) e.slot = (e.slot + e.skip) % M;
      table[e.slot] = e.index;
      e.slot = (e.slot + e.skip) % M;
      filled++;
    }
  }
  return table;
}

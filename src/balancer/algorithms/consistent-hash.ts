import { crc32 } from 'node:zlib';
import { isCandidate, type PickableBackend, type PickContext, type Picker } from './picker.js';
import { SmoothWeightedRoundRobin } from './smooth-weighted-round-robin.js';

/** Points each backend puts on the ring per unit of weight, as nginx (and libketama). */
export const POINTS_PER_WEIGHT = 160;
/** Further ring points tried after the first when its backend is unusable, as nginx. */
const MAX_NEXT_POINTS = 20;

/** A built ring: point hashes ascending, without duplicates, and the backend index owning each. */
type Ring = { hashes: Uint32Array; owners: Uint32Array };

/** One point of the ring as {@link ConsistentHash.ringPoints} shows it: its 32-bit hash and the index of its backend. */
export type RingPoint = { hash: number; backend: number };

/**
 * Consistent hashing on a ketama ring, as nginx `hash $key consistent`
 * (`ngx_http_upstream_hash_module.c`, `ngx_http_upstream_init_chash`).
 *
 * The ring: each backend puts 160 × weight points on a 32-bit circle. Its
 * server text is its origin without the scheme (`127.0.0.1:8001`), split as
 * nginx splits it into host and port (the digits after the last `:`; no port
 * when the origin elides the default one). Point j is the crc32 of
 * `host \0 port` followed by the 4 bytes (little-endian) of point j−1, with
 * 0 before the first, so each backend's points are a chain. The points are
 * sorted and duplicates dropped (the earlier backend in the array keeps a
 * shared hash). The ring is built once per `backends` array and cached
 * against its identity (see {@link Picker}), so picks cost a binary search;
 * the build is linear in the points, about 20 ms for 480 000 of them.
 *
 * A pick: crc32 of `ctx.hashKey` (UTF-8), then the first point ≥ it,
 * wrapping to the first point past the top. If that point's backend is DOWN
 * or already tried, the next point clockwise is tried, up to 20 further
 * points, as nginx (whose `hash … consistent` walks the ring; it is nginx's
 * plain `hash` that rehashes with a counter prefix); then nginx's round robin
 * (smooth weighted; plain round robin with equal weights). Walking the ring
 * sends a DOWN backend's keys where they would go if it were removed, and
 * nobody else's. With no key (`ctx.hashKey` undefined, e.g. a missing header,
 * or empty) the pick is round robin too, as nginx does with an empty key.
 *
 * Removing one of n backends moves only the keys it held (about 1/n of
 * them); every other key stays where it was.
 */
export class ConsistentHash implements Picker {
  private readonly fallback = new SmoothWeightedRoundRobin();
  private ring: Ring = { hashes: new Uint32Array(0), owners: new Uint32Array(0) };
  private ringFor: readonly PickableBackend[] | undefined;

  pick(backends: readonly PickableBackend[], ctx: PickContext): PickableBackend | undefined {
    if (ctx.hashKey === undefined || ctx.hashKey === '') return this.fallback.pick(backends, ctx);
    const { hashes, owners } = this.ringOf(backends);
    const n = hashes.length;
    if (n === 0) return undefined;
    const start = firstAtOrAbove(hashes, crc32(ctx.hashKey));
    for (let t = 0; t <= MAX_NEXT_POINTS; t++) {
      const b = backends[owners[(start + t) % n]!]!;
      if (isCandidate(b, ctx)) return b;
    }
    return this.fallback.pick(backends, ctx);
  }

  /** A copy of the ring built for `backends`, in ring order, for inspection and tests. */
  ringPoints(backends: readonly PickableBackend[]): RingPoint[] {
    const { hashes, owners } = this.ringOf(backends);
    return Array.from(hashes, (hash, i) => ({ hash, backend: owners[i]! }));
  }

  private ringOf(backends: readonly PickableBackend[]): Ring {
    if (backends !== this.ringFor) {
      this.ring = buildRing(backends);
      this.ringFor = backends;
    }
    return this.ring;
  }
}

/**
 * The ketama ring for `backends` (see {@link ConsistentHash}). The points
 * are sorted with a stable LSD radix sort (3 passes of 11 bits), so equal
 * hashes stay in array order and the first of each run is kept, as nginx
 * keeps the first after its stable `ngx_sort`. Linear in the points: about
 * 20 ms for weights 1000,1000,1000 (480 000 points), where a comparator sort
 * took over 200 ms of event loop.
 */
function buildRing(backends: readonly PickableBackend[]): Ring {
  let count = 0;
  for (const b of backends) count += POINTS_PER_WEIGHT * b.weight;
  const hashes = new Uint32Array(count);
  const owners = new Uint32Array(count);
  let k = 0;
  for (const b of backends) {
    const { host, port } = serverParts(b.origin);
    const base = crc32(Buffer.concat([Buffer.from(host), Buffer.from([0]), Buffer.from(port)]));
    let previous = 0;
    for (let j = 0; j < POINTS_PER_WEIGHT * b.weight; j++) {
      previous = crc32Continued(base, previous);
      hashes[k] = previous;
      owners[k++] = b.index;
    }
  }
  const sorted = radixSort(hashes, owners);
  let m = 0;
  for (let i = 0; i < count; i++) {
    if (m > 0 && sorted.hashes[m - 1] === sorted.hashes[i]) continue;
    sorted.hashes[m] = sorted.hashes[i]!;
    sorted.owners[m++] = sorted.owners[i]!;
  }
  return { hashes: sorted.hashes.slice(0, m), owners: sorted.owners.slice(0, m) };
}

/** Bits of the hash each radix pass sorts on: 3 passes cover 32 bits. */
const RADIX_BITS = 11;

/**
 * `hashes` ascending with `owners` moved along, by a stable LSD radix sort:
 * equal hashes keep their order. Reuses the given arrays as scratch space.
 */
function radixSort(hashes: Uint32Array, owners: Uint32Array): Ring {
  const n = hashes.length;
  const mask = (1 << RADIX_BITS) - 1;
  const counts = new Uint32Array(1 << RADIX_BITS);
  let from: Ring = { hashes, owners };
  let to: Ring = { hashes: new Uint32Array(n), owners: new Uint32Array(n) };
  for (let shift = 0; shift < 32; shift += RADIX_BITS) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(from.hashes[i]! >>> shift) & mask]!++;
    let sum = 0;
    for (let d = 0; d < counts.length; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const at = counts[(from.hashes[i]! >>> shift) & mask]!++;
      to.hashes[at] = from.hashes[i]!;
      to.owners[at] = from.owners[i]!;
    }
    [from, to] = [to, from];
  }
  return from;
}

/** The CRC-32 (IEEE 802.3, zlib's) of each byte value, reflected, for {@link crc32Continued}. */
const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/**
 * zlib's `crc32(bytes, base)` for the 4 little-endian bytes of `previous`:
 * the crc32 `base` continued over them, as nginx's `ngx_crc32_update` of the
 * previous point. Computed here, not with `node:zlib`, to spare a native call
 * and a buffer write per point.
 */
function crc32Continued(base: number, previous: number): number {
  let c = ~base;
  for (let shift = 0; shift < 32; shift += 8) c = CRC_TABLE[(c ^ (previous >>> shift)) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * nginx's host and port of a server: the origin without its scheme, split at
 * the last `:` if only digits follow it (`[::1]:8001` → `[::1]`, `8001`),
 * else all host and an empty port.
 */
function serverParts(origin: string): { host: string; port: string } {
  const scheme = origin.indexOf('://');
  const server = scheme >= 0 ? origin.slice(scheme + 3) : origin;
  for (let j = server.length - 1; j >= 0; j--) {
    const c = server.charCodeAt(j);
    if (c === 58) return { host: server.slice(0, j), port: server.slice(j + 1) };
    if (c < 48 || c > 57) break;
  }
  return { host: server, port: '' };
}

/** Index of the first of the ascending `hashes` ≥ `hash`, or 0 when all are below it (the ring wraps). O(log n). */
function firstAtOrAbove(hashes: Uint32Array, hash: number): number {
  let lo = 0;
  let hi = hashes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (hashes[mid]! < hash) lo = mid + 1;
    else hi = mid;
  }
  return lo === hashes.length ? 0 : lo;
}

import { isIPv6 } from 'node:net';
import { isCandidate, type PickableBackend, type PickContext, type Picker } from './picker.js';
import { SmoothWeightedRoundRobin } from './smooth-weighted-round-robin.js';

/** nginx's ip_hash constants: the hash starts at 89 and mixes each byte as `(hash × 113 + byte) mod 6271`. */
const HASH_START = 89;
const HASH_MULTIPLIER = 113;
const HASH_MODULUS = 6271;
/** Rehashes after the first choice before falling back to round robin, as nginx. */
const MAX_REHASHES = 20;

/**
 * nginx `ip_hash` (`ngx_http_upstream_ip_hash_module.c`), reproduced step by
 * step. The key is the client's address (`ctx.clientIp`): the first three
 * octets of an IPv4 address, all 16 bytes of an IPv6 one. `hash` starts at
 * 89 and takes each byte as `hash = (hash × 113 + byte) mod 6271`; then
 * `w = hash mod total_weight`, where the total weight counts every backend
 * in the array, usable or not, and the backends are walked in order
 * subtracting their weights until `w` falls inside one. If that backend is
 * DOWN or already tried, the same mixing runs again on the current hash (up
 * to 20 more times), so the client moves to another backend while everyone
 * else stays put; after that the pick falls back to nginx's round robin
 * (smooth weighted, as nginx's `get_rr_peer`; plain round robin when weights
 * are equal). A client address that is neither IPv4 nor IPv6 (a Unix socket)
 * hashes as nginx's pseudo address, three zero bytes, like a client in
 * 0.0.0.0/24.
 *
 * Because only three octets count, every client in one /24 lands on the same
 * backend: all of 127.0.0.0/24, so every local test client, goes to one
 * backend. Use `consistent-hash` with `--hash-key ip` to hash each address
 * on its own. Adding or removing a backend changes `total_weight` and so
 * moves most clients, unlike a consistent hash.
 */
export class IpHash implements Picker {
  private readonly fallback = new SmoothWeightedRoundRobin();
  /** The address bytes that count, reused across picks: 3 for IPv4, 16 for IPv6, 3 zeros for anything else. */
  private readonly bytes = new Uint8Array(16);

  pick(backends: readonly PickableBackend[], ctx: PickContext): PickableBackend | undefined {
    const length = ipHashBytes(ctx.clientIp, this.bytes);
    let totalWeight = 0;
    for (const b of backends) totalWeight += b.weight;
    if (totalWeight === 0) return undefined;
    let hash = HASH_START;
    for (let tries = 0; tries <= MAX_REHASHES; tries++) {
      for (let i = 0; i < length; i++) hash = (hash * HASH_MULTIPLIER + this.bytes[i]!) % HASH_MODULUS;
      let w = hash % totalWeight;
      let k = 0;
      while (w >= backends[k]!.weight) w -= backends[k++]!.weight;
      const b = backends[k]!;
      if (isCandidate(b, ctx)) return b;
    }
    return this.fallback.pick(backends, ctx);
  }
}

/**
 * Writes into `out` (16 bytes or more) the address bytes nginx's ip_hash
 * mixes for `ip` and returns how many: 3 (the first three octets) for dotted
 * IPv4, 16 for IPv6 (a zone such as `%eth0` ignored), and otherwise 3 zero
 * bytes, nginx's `ngx_http_upstream_ip_hash_pseudo_addr` for an address of
 * another family. Allocates nothing.
 */
export function ipHashBytes(ip: string, out: Uint8Array): number {
  if (parseIpv4(ip, 0, ip.length, out, 0)) return 3;
  if (parseIpv6(ip, out)) return 16;
  out.fill(0, 0, 3);
  return 3;
}

/** Dotted-decimal IPv4 `s[from, to)` into out[at..at+4], digits only, each part 0..255; false if it is not one. */
function parseIpv4(s: string, from: number, to: number, out: Uint8Array, at: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = from; i <= to; i++) {
    const c = i < to ? s.charCodeAt(i) : 46; // a final '.' closes the last part
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return false;
    } else if (c === 46) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = value;
      value = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  return part === 4;
}

/**
 * IPv6 (with `::`, an embedded IPv4 tail or a zone) into out[0..16]; false
 * if `ip` is not one. `node:net`'s `isIPv6` validates; this only expands.
 */
function parseIpv6(ip: string, out: Uint8Array): boolean {
  if (!isIPv6(ip)) return false;
  const zone = ip.indexOf('%');
  const end = zone >= 0 ? zone : ip.length;
  let n = 0; // bytes written
  let gap = -1; // where `::` stands, in bytes
  let i = 0;
  if (ip.charCodeAt(0) === 58 && ip.charCodeAt(1) === 58) {
    gap = 0;
    i = 2;
  }
  while (i < end && n < 16) {
    let j = i;
    let value = 0;
    let dotted = false;
    for (; j < end; j++) {
      const c = ip.charCodeAt(j);
      if (c === 58) break;
      if (c === 46) dotted = true;
      else value = value * 16 + (c <= 57 ? c - 48 : (c | 32) - 87);
    }
    if (dotted) {
      if (n > 12 || !parseIpv4(ip, i, j, out, n)) return false;
      n += 4;
    } else {
      out[n++] = value >> 8;
      out[n++] = value & 0xff;
    }
    i = j + 1;
    if (i < end && ip.charCodeAt(i) === 58) {
      gap = n;
      i++;
    }
  }
  if (gap >= 0) {
    // Move what follows `::` to the end and zero the gap.
    out.copyWithin(16 - (n - gap), gap, n);
    out.fill(0, gap, 16 - (n - gap));
  } else if (n !== 16) {
    return false;
  }
  return true;
}

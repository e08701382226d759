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
 * else stays put; after that, or when `clientIp` is not an IP address, the
 * pick falls back to nginx's round robin (smooth weighted, as nginx's
 * `get_rr_peer`; plain round robin when weights are equal).
 *
 * Because only three octets count, every client in one /24 lands on the same
 * backend: all of 127.0.0.0/24, so every local test client, goes to one
 * backend. Use `consistent-hash` with `--hash-key ip` to hash each address
 * on its own. Adding or removing a backend changes `total_weight` and so
 * moves most clients, unlike a consistent hash.
 */
export class IpHash implements Picker {
  private readonly fallback = new SmoothWeightedRoundRobin();
  /** The address bytes that count, reused across picks: 3 for IPv4, 16 for IPv6. */
  private readonly bytes = new Uint8Array(16);

  pick(backends: readonly PickableBackend[], ctx: PickContext): PickableBackend | undefined {
    const length = ipHashBytes(ctx.clientIp, this.bytes);
    if (length === 0) return this.fallback.pick(backends, ctx);
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
 * Writes into `out` the address bytes nginx's ip_hash mixes for `ip` and
 * returns how many: 3 (the first three octets) for dotted IPv4, 16 for IPv6
 * (a zone such as `%eth0` ignored), 0 when `ip` is neither.
 */
export function ipHashBytes(ip: string, out: Uint8Array): number {
  if (parseIpv4(ip, out)) return 3;
  if (parseIpv6(ip, out)) return 16;
  return 0;
}

/** Dotted-decimal IPv4 into out[0..3], digits only, each part 0..255; false if `ip` is not one. */
function parseIpv4(ip: string, out: Uint8Array): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 46; // a final '.' closes the last part
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return false;
    } else if (c === 46) {
      if (digits === 0 || part > 3) return false;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  return part === 4;
}

/** IPv6 (with `::`, an embedded IPv4 tail or a zone) into out[0..16]; false if `ip` is not one. */
function parseIpv6(ip: string, out: Uint8Array): boolean {
  const zone = ip.indexOf('%');
  const addr = zone >= 0 ? ip.slice(0, zone) : ip;
  if (!isIPv6(addr)) return false;
  const gap = addr.indexOf('::');
  const head = groups(gap >= 0 ? addr.slice(0, gap) : addr);
  const tail = gap >= 0 ? groups(addr.slice(gap + 2)) : [];
  if (head === undefined || tail === undefined) return false;
  const zeros = 8 - head.length - tail.length;
  if (zeros < 0 || (gap < 0 && zeros !== 0)) return false;
  const words = [...head, ...new Array<number>(zeros).fill(0), ...tail];
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i]! >> 8;
    out[2 * i + 1] = words[i]! & 0xff;
  }
  return true;
}

/** The 16-bit groups of one side of an IPv6 address; a dotted IPv4 tail counts as two. */
function groups(s: string): number[] | undefined {
  if (s === '') return [];
  const words: number[] = [];
  const v4 = new Uint8Array(4);
  for (const part of s.split(':')) {
    if (part.includes('.')) {
      if (!parseIpv4(part, v4)) return undefined;
      words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else {
      words.push(parseInt(part, 16));
    }
  }
  return words;
}

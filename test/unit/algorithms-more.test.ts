import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ConsistentHash } from '../../src/balancer/algorithms/consistent-hash.js';
import {
  ALGORITHMS,
  createPicker,
  expectedShares,
  HASH_KEY_ALGORITHMS,
  usesHashKey,
  usesWeights,
  type AlgorithmName,
} from '../../src/balancer/algorithms/index.js';
import { IpHash } from '../../src/balancer/algorithms/ip-hash.js';
import { LeastReportedLoad } from '../../src/balancer/algorithms/least-reported-load.js';
import { FAILED_TRY_PENALTY_MS, LeastResponseTime } from '../../src/balancer/algorithms/least-response-time.js';
import { Maglev, MAGLEV_TABLE_SIZE } from '../../src/balancer/algorithms/maglev.js';
import { PEAK_EWMA_PENALTY, PeakEwma } from '../../src/balancer/algorithms/peak-ewma.js';
import type { PickableBackend, PickContext, Picker } from '../../src/balancer/algorithms/picker.js';
import { PowerOfTwoChoices } from '../../src/balancer/algorithms/power-of-two-choices.js';
import { SmoothWeightedRoundRobin } from '../../src/balancer/algorithms/smooth-weighted-round-robin.js';
import { WeightedLeastConnections } from '../../src/balancer/algorithms/weighted-least-connections.js';

type B = { index: number; name: string; origin: string; weight: number; inFlight: number; usable: boolean; reportedLoad: number | undefined };

/** Backends a, b, c… on 127.0.0.1:8001, 8002… with the given weights. */
function backends(weights: number[]): B[] {
  return weights.map((weight, index) => ({
    index,
    name: String.fromCharCode(97 + index),
    origin: `http://127.0.0.1:${8001 + index}`,
    weight,
    inFlight: 0,
    usable: true,
    reportedLoad: undefined,
  }));
}

/** The same backends minus the one named `name`, renumbered as a new upstream array. */
function without(bs: readonly B[], name: string): B[] {
  return bs.filter((b) => b.name !== name).map((b, index) => ({ ...b, index }));
}

const ctx: PickContext = { clientIp: '127.0.0.1', exclude: undefined };
const withKey = (hashKey: string | undefined, exclude?: ReadonlySet<PickableBackend>): PickContext => ({ clientIp: '127.0.0.1', hashKey, exclude });
const fromIp = (clientIp: string, exclude?: ReadonlySet<PickableBackend>): PickContext => ({ clientIp, exclude });

function picks(picker: Picker, bs: readonly PickableBackend[], n: number, c: PickContext = ctx): string {
  let out = '';
  for (let i = 0; i < n; i++) out += picker.pick(bs, c)?.name ?? '-';
  return out;
}

/** A seeded PRNG (mulberry32) so "random" tests are the same on every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A "random" source that returns the given values in turn, then repeats them. */
function scripted(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

/** For n equal-weight candidates, the draw value that lands on candidate k. */
const at = (k: number, n: number) => (k + 0.5) / n;

/** 10 000 distinct keys spread like client addresses 10.X.Y.1. */
const KEYS = Array.from({ length: 10_000 }, (_, i) => `10.${i >> 8}.${i & 255}.1`);

function owners(picker: Picker, bs: readonly PickableBackend[], keys: readonly string[], c: (k: string) => PickContext): string[] {
  return keys.map((k) => picker.pick(bs, c(k))!.name);
}

function shareOf(names: readonly string[], name: string): number {
  return names.filter((n) => n === name).length / names.length;
}

describe('weighted least connections (nginx least_conn with weights)', () => {
  it('picks the lowest in-flight ÷ weight', () => {
    const bs = backends([3, 1, 1]);
    bs[0]!.inFlight = 5; // 5/3 ≈ 1.67
    bs[1]!.inFlight = 2; // 2
    bs[2]!.inFlight = 2; // 2
    expect(new WeightedLeastConnections().pick(bs, ctx)?.name).toBe('a');
    bs[0]!.inFlight = 7; // 7/3 ≈ 2.33
    expect(new WeightedLeastConnections().pick(bs, ctx)?.name).toBe('b');
  });

  it('treats equal ratios with different counts as a tie: 3 in flight at weight 9, 1 at weight 3', () => {
    const bs = backends([9, 3]);
    bs[0]!.inFlight = 3;
    bs[1]!.inFlight = 1;
    // 3/9 = 1/3: smooth WRR among both, the weight-9 backend first, then 9:3.
    expect(picks(new WeightedLeastConnections(), bs, 8)).toBe(picks(new SmoothWeightedRoundRobin(), bs, 8));
  });

  it('breaks ties with smooth weighted round robin: idle weights 5,1,1 pick a a b a c a a', () => {
    expect(picks(new WeightedLeastConnections(), backends([5, 1, 1]), 14)).toBe('aabacaa' + 'aabacaa');
  });

  it('runs the tie-break over the tied backends only', () => {
    const bs = backends([2, 1, 1]);
    bs[1]!.inFlight = 1; // b is not tied with the idle a and c
    // SWRR over a (2) and c (1) alone: a c a, a c a…
    expect(picks(new WeightedLeastConnections(), bs, 6)).toBe('acaaca');
  });

  it('fills backends in proportion to weight when requests stay open', () => {
    const bs = backends([3, 2, 1]);
    const p = new WeightedLeastConnections();
    for (let i = 0; i < 60; i++) (p.pick(bs, ctx) as B).inFlight++;
    expect(bs.map((b) => b.inFlight)).toEqual([30, 20, 10]);
  });
});

describe('power of two choices (Envoy LEAST_REQUEST, HAProxy random(2))', () => {
  it('never keeps the busier of the two draws; the first draw wins ties', () => {
    const bs = backends([1, 1, 1, 1]);
    bs.forEach((b, i) => (b.inFlight = [3, 1, 2, 1][i]!));
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        const got = new PowerOfTwoChoices(scripted(at(i, 4), at(j, 4))).pick(bs, ctx)!;
        const expected = bs[j]!.inFlight < bs[i]!.inFlight ? bs[j]! : bs[i]!;
        expect(got.name, `draws ${bs[i]!.name}, ${bs[j]!.name}`).toBe(expected.name);
      }
    }
  });

  it('draws with replacement: both draws on one backend pick it', () => {
    const bs = backends([1, 1]);
    bs[0]!.inFlight = 9;
    expect(new PowerOfTwoChoices(scripted(at(0, 2), at(0, 2))).pick(bs, ctx)?.name).toBe('a');
  });

  it('gives a busy backend only the share where both draws hit it, (1/n)²', () => {
    const bs = backends([1, 1, 1, 1]);
    bs[1]!.inFlight = 5;
    const p = new PowerOfTwoChoices(seeded(42));
    const n = 40_000;
    const counts = [0, 0, 0, 0];
    for (let k = 0; k < n; k++) counts[p.pick(bs, ctx)!.index]!++;
    // 40k picks: the standard deviation of the busy share (1/16) is ~0.12 points.
    expect(Math.abs(counts[1]! / n - 1 / 16)).toBeLessThan(0.01);
    for (const i of [0, 2, 3]) expect(Math.abs(counts[i]! / n - 5 / 16)).toBeLessThan(0.015);
  });

  it('draws in proportion to weight', () => {
    const bs = backends([3, 1]);
    const p = new PowerOfTwoChoices(seeded(7));
    const n = 20_000;
    let a = 0;
    for (let k = 0; k < n; k++) if (p.pick(bs, ctx)!.name === 'a') a++;
    // All idle, so the first draw always wins: a's share is its weight share.
    expect(Math.abs(a / n - 0.75)).toBeLessThan(0.02);
  });

  it('compares in-flight relative to weight (HAProxy random(2)): the busier by that measure loses', () => {
    const bs = backends([3, 1]);
    bs[0]!.inFlight = 5; // 5/3 < 2/1: a is the less loaded, though it has more in flight
    bs[1]!.inFlight = 2;
    // Draws a then b, and b then a: a either way.
    expect(new PowerOfTwoChoices(scripted(0.1, 0.9)).pick(bs, ctx)?.name).toBe('a');
    expect(new PowerOfTwoChoices(scripted(0.9, 0.1)).pick(bs, ctx)?.name).toBe('a');
    bs[0]!.inFlight = 6; // 6/3 = 2/1: a tie, the first draw wins
    expect(new PowerOfTwoChoices(scripted(0.9, 0.1)).pick(bs, ctx)?.name).toBe('b');
    expect(new PowerOfTwoChoices(scripted(0.1, 0.9)).pick(bs, ctx)?.name).toBe('a');
  });

  it('keeps the weight share in a closed loop with ~20 tries in flight: weights 3:1 give 0.75', () => {
    // Each try ends after a service time drawn independently of the backend; every end sends a new try.
    const bs = backends([3, 1]);
    const p = new PowerOfTwoChoices(seeded(21));
    const service = seeded(22);
    const open: { at: number; b: B }[] = [];
    const counts = [0, 0];
    let now = 0;
    const send = (counted: boolean) => {
      const b = p.pick(bs, ctx) as B;
      b.inFlight++;
      if (counted) counts[b.index]!++;
      open.push({ at: now + 5 + 10 * service(), b });
    };
    for (let k = 0; k < 20; k++) send(false);
    for (let k = 0; k < 22_000; k++) {
      let first = 0;
      for (let i = 1; i < open.length; i++) if (open[i]!.at < open[first]!.at) first = i;
      const done = open.splice(first, 1)[0]!;
      now = done.at;
      done.b.inFlight--;
      send(k >= 2000);
    }
    // Comparing raw in-flight counts gives ~0.60 here.
    expect(Math.abs(counts[0]! / 20_000 - 0.75)).toBeLessThan(0.04);
  });

  it('draws only among candidates', () => {
    const bs = backends([1, 1, 1]);
    bs[0]!.usable = false;
    bs[2]!.inFlight = 4;
    // Two candidates b, c: a draw value of 0.99 lands on c, 0 on b.
    expect(new PowerOfTwoChoices(scripted(0.99, 0)).pick(bs, ctx)?.name).toBe('b');
    expect(picks(new PowerOfTwoChoices(seeded(1)), bs, 300, { clientIp: '', exclude: new Set([bs[1]!]) })).toBe('c'.repeat(300));
  });
});

/** nginx ip_hash written out again, independently: which backend index an address's first octets land on. */
function nginxIpHash(octets: readonly number[], weights: readonly number[], usable: (i: number) => boolean = () => true): number | undefined {
  const total = weights.reduce((a, b) => a + b, 0);
  let hash = 89;
  for (let tries = 0; tries < 21; tries++) {
    for (const o of octets) hash = (hash * 113 + o) % 6271;
    let w = hash % total;
    let i = 0;
    while (w >= weights[i]!) w -= weights[i++]!;
    if (usable(i)) return i;
  }
  return undefined;
}

const first3 = (ip: string) => ip.split('.').slice(0, 3).map(Number);

/** The backend index each of nginx's ip_hash attempts lands on (the first choice, then rehash after rehash), ignoring usability. */
function ipHashLandings(octets: readonly number[], weights: readonly number[], attempts: number): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const out: number[] = [];
  let hash = 89;
  for (let t = 0; t < attempts; t++) {
    for (const o of octets) hash = (hash * 113 + o) % 6271;
    let w = hash % total;
    let i = 0;
    while (w >= weights[i]!) w -= weights[i++]!;
    out.push(i);
  }
  return out;
}

/** Every 10.X.Y.1, one address per /24 (all that ip_hash sees of an IPv4 address). */
const ONE_PER_24 = Array.from({ length: 65_536 }, (_, i) => `10.${i >> 8}.${i & 255}.1`);

/** IPv6 text to its 16 bytes, written plainly (split and pad) to check the picker's parser against. */
function ipv6Bytes(ip: string): number[] {
  const addr = ip.split('%')[0]!;
  const words = (side: string): number[] =>
    side === ''
      ? []
      : side.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const [a, b, c, d] = g.split('.').map(Number);
          return [(a! << 8) | b!, (c! << 8) | d!];
        });
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const h = words(head!);
  const t = tail === undefined ? [] : words(tail);
  const all = [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  return all.flatMap((w) => [w >> 8, w & 0xff]);
}

describe('ip-hash (nginx ip_hash)', () => {
  it('lands known addresses where the formula puts them, for weights 1,1,1 and 2,1,1', () => {
    const expected: Record<string, [string, string]> = {
      // hash after three octets: 154, 2565, 4040
      '192.168.1.10': ['b', 'b'],
      '10.0.0.1': ['a', 'a'],
      '127.0.0.2': ['c', 'a'],
    };
    for (const [ip, [even, weighted]] of Object.entries(expected)) {
      expect(new IpHash().pick(backends([1, 1, 1]), fromIp(ip))?.name, ip).toBe(even);
      expect(new IpHash().pick(backends([2, 1, 1]), fromIp(ip))?.name, ip).toBe(weighted);
      expect(String.fromCharCode(97 + nginxIpHash(first3(ip), [1, 1, 1])!)).toBe(even);
      expect(String.fromCharCode(97 + nginxIpHash(first3(ip), [2, 1, 1])!)).toBe(weighted);
    }
  });

  it('agrees with the formula on 10 000 spread addresses', () => {
    const weights = [3, 1, 2, 1, 1];
    const bs = backends(weights);
    const p = new IpHash();
    for (const ip of KEYS) expect(p.pick(bs, fromIp(ip))!.index).toBe(nginxIpHash(first3(ip), weights));
  });

  it('sends every client in 127.0.0.0/24 to the same backend', () => {
    const bs = backends([1, 1, 1, 1, 1]);
    const p = new IpHash();
    const seen = new Set<string>();
    for (let i = 0; i < 256; i++) seen.add(p.pick(bs, fromIp(`127.0.0.${i}`))!.name);
    expect(seen.size).toBe(1);
  });

  it('rehashes a client whose backend is DOWN or already tried; the others stay', () => {
    const bs = backends([1, 1, 1]);
    const p = new IpHash();
    const before = owners(p, bs, KEYS, fromIp);
    expect(before[KEYS.indexOf('10.0.0.1')]).toBe('a');
    bs[0]!.usable = false;
    const after = owners(p, bs, KEYS, fromIp);
    for (let i = 0; i < KEYS.length; i++) {
      if (before[i] !== 'a') expect(after[i]).toBe(before[i]);
      else expect(after[i]!.charCodeAt(0) - 97).toBe(nginxIpHash(first3(KEYS[i]!), [1, 1, 1], (k) => k !== 0));
    }
    bs[0]!.usable = true;
    expect(p.pick(bs, fromIp('10.0.0.1', new Set([bs[0]!])))?.name).toBe(after[KEYS.indexOf('10.0.0.1')]);
  });

  it('rehashes up to 20 times: a client whose 21st attempt is the first usable one gets it', () => {
    // Weights 1,1000,1 with b DOWN: nearly every attempt lands on b.
    const weights = [1, 1000, 1];
    const bs = backends(weights);
    bs[1]!.usable = false;
    const ip = ONE_PER_24.find((k) => {
      const l = ipHashLandings(first3(k), weights, 21);
      return l.slice(0, 20).every((i) => i === 1) && l[20] === 2;
    });
    expect(ip).toBeDefined();
    // c, found on the last allowed rehash; stopping any earlier would give round robin's a.
    expect(new IpHash().pick(bs, fromIp(ip!))?.name).toBe('c');
  });

  it('falls back to round robin when all 21 attempts land on an unusable backend', () => {
    const weights = [1, 1000, 1];
    const bs = backends(weights);
    bs[1]!.usable = false;
    // One more rehash would have found c: only the fallback gives a first.
    const ip = ONE_PER_24.find((k) => {
      const l = ipHashLandings(first3(k), weights, 22);
      return l.slice(0, 21).every((i) => i === 1) && l[21] === 2;
    });
    expect(ip).toBeDefined();
    const p = new IpHash();
    // Smooth weighted round robin over a and c: a, c, a…
    expect(picks(p, bs, 3, fromIp(ip!))).toBe('aca');
  });

  it("hashes a client address that is not an IP as nginx's pseudo address, three zero bytes", () => {
    for (const weights of [[1, 1, 1], [2, 5, 1, 3]]) {
      const expected = String.fromCharCode(97 + nginxIpHash([0, 0, 0], weights)!);
      expect(picks(new IpHash(), backends(weights), 4, fromIp('unix:/tmp/sock'))).toBe(expected.repeat(4));
      expect(new IpHash().pick(backends(weights), fromIp(''))?.name).toBe(expected);
      // As a client in 0.0.0.0/24 would.
      expect(new IpHash().pick(backends(weights), fromIp('0.0.0.7'))?.name).toBe(expected);
    }
  });

  it('hashes all 16 bytes of an IPv6 address', () => {
    const bytes = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42];
    expect(new IpHash().pick(backends([1, 1, 1]), fromIp('2001:db8::42'))!.index).toBe(nginxIpHash(bytes, [1, 1, 1]));
    expect(new IpHash().pick(backends([1, 1, 1]), fromIp('2001:db8::42%eth0'))!.index).toBe(nginxIpHash(bytes, [1, 1, 1]));
    const mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4];
    expect(new IpHash().pick(backends([1, 2, 3]), fromIp('::ffff:1.2.3.4'))!.index).toBe(nginxIpHash(mapped, [1, 2, 3]));
  });

  it('expands every IPv6 form: leading, trailing and inner ::, full, IPv4 tail, upper case, zone', () => {
    const weights = [5, 3, 7, 2, 11, 1, 4];
    const forms = [
      '::',
      '::1',
      '1::',
      'fe80::1:2:3:4:5:6',
      '1:2:3:4:5:6:7::',
      '2001:0db8:85a3:0000:0000:8a2e:0370:7334',
      '2001:DB8:0:0:8:800:200C:417A',
      '64:ff9b::192.0.2.33',
      '1:2:3:4:5:6:1.2.3.4',
      'fe80::abcd:ef01%eth0',
    ];
    for (const ip of forms) {
      expect(ipv6Bytes(ip), ip).toHaveLength(16);
      expect(new IpHash().pick(backends(weights), fromIp(ip))!.index, ip).toBe(nginxIpHash(ipv6Bytes(ip), weights));
    }
    // Not addresses: hashed as the pseudo address.
    const pseudo = nginxIpHash([0, 0, 0], weights);
    for (const bad of ['1:2:3:4:5:6:7:8:9', '1::2::3', 'g::1', '1.2.3', '1.2.3.256', '::1.2.3']) {
      expect(new IpHash().pick(backends(weights), fromIp(bad))!.index, bad).toBe(pseudo);
    }
  });

  it('moves most clients when one of five backends is removed (total weight changes)', () => {
    const five = backends([1, 1, 1, 1, 1]);
    const before = owners(new IpHash(), five, KEYS, fromIp);
    const after = owners(new IpHash(), without(five, 'c'), KEYS, fromIp);
    const moved = before.filter((n, i) => n !== after[i]).length / KEYS.length;
    // Not consistent: far more than the removed backend's 1/5 move.
    expect(moved).toBeGreaterThan(0.6);
  });
});

describe('consistent-hash (nginx hash … consistent, ketama)', () => {
  it('puts 160 × weight points per backend on the ring, sorted and unique', () => {
    const points = new ConsistentHash().ringPoints(backends([1, 2, 3]));
    expect(points).toHaveLength(960);
    expect([0, 1, 2].map((i) => points.filter((p) => p.backend === i).length)).toEqual([160, 320, 480]);
    for (let i = 1; i < points.length; i++) expect(points[i]!.hash).toBeGreaterThan(points[i - 1]!.hash);
  });

  it('chains each point: crc32 of "host\\0port" and the previous point, little-endian', () => {
    const points = new ConsistentHash().ringPoints(backends([1]));
    const base = Buffer.from('127.0.0.1\u00008001');
    const p1 = crc32(Buffer.concat([base, Buffer.from([0, 0, 0, 0])]));
    const le = Buffer.alloc(4);
    le.writeUInt32LE(p1);
    const p2 = crc32(Buffer.concat([base, le]));
    const hashes = new Set(points.map((p) => p.hash));
    expect(hashes.has(p1)).toBe(true);
    expect(hashes.has(p2)).toBe(true);
  });

  it('computes the whole chain as zlib crc32 does, and builds the ring a plain sort would', () => {
    const bs = backends([40, 25, 60]);
    // The ring written out plainly: zlib's crc32 chained over Buffers, a comparator sort, first of each hash kept.
    const all: { hash: number; backend: number; n: number }[] = [];
    for (const b of bs) {
      const base = Buffer.from(`127.0.0.1\u0000${8001 + b.index}`);
      const previous = Buffer.alloc(4);
      for (let j = 0; j < 160 * b.weight; j++) {
        const hash = crc32(Buffer.concat([base, previous]));
        all.push({ hash, backend: b.index, n: all.length });
        previous.writeUInt32LE(hash);
      }
    }
    all.sort((x, y) => x.hash - y.hash || x.n - y.n);
    const expected = all.filter((q, i) => i === 0 || all[i - 1]!.hash !== q.hash).map(({ hash, backend }) => ({ hash, backend }));
    expect(new ConsistentHash().ringPoints(bs)).toEqual(expected);
  });

  it('gives a hash two backends share to the earlier one, as nginx keeps the first after its sort', () => {
    // Two backends with one address put the same 160 points on the ring: all go to the first.
    const twins = backends([1, 2]).map((b) => ({ ...b, origin: 'http://10.0.0.9:8080' }));
    const points = new ConsistentHash().ringPoints(twins);
    expect(points).toHaveLength(320); // b's chain is 320 long, its first 160 shared
    expect(points.filter((q) => q.backend === 0)).toHaveLength(160);
    const swapped = [twins[1]!, twins[0]!].map((b, index) => ({ ...b, index }));
    expect(new ConsistentHash().ringPoints(swapped).every((q) => q.backend === 0)).toBe(true);
  });

  it("maps a key to the first point at or above crc32(key), wrapping past the top", () => {
    const bs = backends([1, 1, 1]);
    const p = new ConsistentHash();
    const points = p.ringPoints(bs);
    for (const key of KEYS.slice(0, 200)) {
      const h = crc32(key);
      const point = points.find((q) => q.hash >= h) ?? points[0]!;
      expect(p.pick(bs, withKey(key))!.index).toBe(point.backend);
    }
    const top = points.at(-1)!.hash;
    const wrapping = Array.from({ length: 100_000 }, (_, i) => `k${i}`).find((k) => crc32(k) > top)!;
    expect(wrapping).toBeDefined();
    expect(p.pick(bs, withKey(wrapping))!.index).toBe(points[0]!.backend);
  });

  it('removing one of five backends moves only its keys, about 1/5 of them', () => {
    const five = backends([1, 1, 1, 1, 1]);
    const before = owners(new ConsistentHash(), five, KEYS, withKey);
    const after = owners(new ConsistentHash(), without(five, 'c'), KEYS, withKey);
    let moved = 0;
    for (let i = 0; i < KEYS.length; i++) {
      if (before[i] === 'c') moved++;
      else expect(after[i]).toBe(before[i]);
    }
    expect(Math.abs(moved / KEYS.length - 0.2)).toBeLessThan(0.05);
  });

  it('shares keys in proportion to weight', () => {
    const names = owners(new ConsistentHash(), backends([1, 2, 3, 4]), KEYS, withKey);
    expect(Math.abs(shareOf(names, 'a') - 0.1)).toBeLessThan(0.05);
    expect(Math.abs(shareOf(names, 'b') - 0.2)).toBeLessThan(0.05);
    expect(Math.abs(shareOf(names, 'c') - 0.3)).toBeLessThan(0.05);
    expect(Math.abs(shareOf(names, 'd') - 0.4)).toBeLessThan(0.05);
  });

  it("sends a DOWN backend's keys where removal would, and keeps everyone else's", () => {
    const five = backends([1, 1, 1, 1, 1]);
    const p = new ConsistentHash();
    const before = owners(p, five, KEYS, withKey);
    const removed = owners(new ConsistentHash(), without(five, 'c'), KEYS, withKey);
    five[2]!.usable = false;
    const down = owners(p, five, KEYS, withKey);
    expect(down).toEqual(removed);
    expect(down.filter((n, i) => n !== before[i] && before[i] !== 'c')).toEqual([]);
    five[2]!.usable = true;
    const key = KEYS[before.indexOf('c')]!;
    expect(p.pick(five, withKey(key, new Set([five[2]!])))?.name).toBe(removed[before.indexOf('c')]);
  });

  it('uses round robin when the request has no key, or an empty one', () => {
    expect(picks(new ConsistentHash(), backends([1, 1, 1]), 6, withKey(undefined))).toBe('abcabc');
    expect(picks(new ConsistentHash(), backends([1, 1, 1]), 6, withKey(''))).toBe('abcabc');
  });

  it('builds the ring once per backends array (cached against its identity)', () => {
    const bs = backends([1, 1]);
    const p = new ConsistentHash();
    const ring = p.ringPoints(bs);
    bs[0]!.weight = 5; // not how the balancer changes weights: it passes a new array
    expect(p.ringPoints(bs)).toEqual(ring);
    expect(p.ringPoints([...bs])).toHaveLength(160 * 6);
  });
});

describe('maglev (Envoy)', () => {
  it('fills a table of 65537 entries, each backend an equal share', () => {
    const table = new Maglev().tableEntries(backends([1, 1, 1, 1, 1]));
    expect(table).toHaveLength(MAGLEV_TABLE_SIZE);
    const counts = [0, 0, 0, 0, 0];
    for (const i of table) counts[i]!++;
    expect(counts.reduce((a, b) => a + b, 0)).toBe(MAGLEV_TABLE_SIZE);
    for (const c of counts) expect(Math.abs(c / MAGLEV_TABLE_SIZE - 0.2)).toBeLessThan(0.02);
  });

  it('fills in proportion to weight', () => {
    const table = new Maglev().tableEntries(backends([1, 2, 3, 4]));
    const counts = [0, 0, 0, 0];
    for (const i of table) counts[i]!++;
    counts.forEach((c, i) => expect(Math.abs(c / MAGLEV_TABLE_SIZE - (i + 1) / 10)).toBeLessThan(0.01));
  });

  it('looks a key up as table[crc32(key) mod 65537]', () => {
    const bs = backends([1, 1, 1]);
    const p = new Maglev();
    const table = p.tableEntries(bs);
    for (const key of KEYS.slice(0, 500)) expect(p.pick(bs, withKey(key))!.index).toBe(table[crc32(key) % MAGLEV_TABLE_SIZE]);
  });

  it('does not depend on the order the backends are listed in', () => {
    const bs = backends([1, 2, 1, 1]);
    const reversed = [...bs].reverse().map((b, index) => ({ ...b, index }));
    expect(owners(new Maglev(), reversed, KEYS, withKey)).toEqual(owners(new Maglev(), bs, KEYS, withKey));
  });

  it('removing one of five moves about 1/5 of keys and few others', () => {
    const five = backends([1, 1, 1, 1, 1]);
    const before = owners(new Maglev(), five, KEYS, withKey);
    const after = owners(new Maglev(), without(five, 'c'), KEYS, withKey);
    const moved = before.filter((n, i) => n !== after[i]).length / KEYS.length;
    expect(Math.abs(moved - 0.2)).toBeLessThan(0.05);
    expect(moved).toBeLessThan(0.3);
  });

  it("sends a DOWN backend's keys elsewhere and keeps everyone else's", () => {
    const five = backends([1, 1, 1, 1, 1]);
    const p = new Maglev();
    const before = owners(p, five, KEYS, withKey);
    five[2]!.usable = false;
    const after = owners(p, five, KEYS, withKey);
    for (let i = 0; i < KEYS.length; i++) {
      if (before[i] === 'c') expect(after[i]).not.toBe('c');
      else expect(after[i]).toBe(before[i]);
    }
    // The displaced keys spread over the other four, not onto one of them.
    const displaced = after.filter((_, i) => before[i] === 'c');
    for (const n of ['a', 'b', 'd', 'e']) expect(shareOf(displaced, n)).toBeGreaterThan(0.15);
  });

  it('with no key, or an empty one, looks up a random entry (as Envoy)', () => {
    const bs = backends([1, 1, 1]);
    const table = new Maglev().tableEntries(bs);
    expect(new Maglev(() => 0).pick(bs, withKey(undefined))!.index).toBe(table[0]);
    // crc32('') is 0, so an empty key hashed as a key would always read table[0].
    const r = [0.25, 0.5, 0.75].find((x) => table[Math.floor(x * 2 ** 32) % MAGLEV_TABLE_SIZE] !== table[0])!;
    expect(r).toBeDefined();
    expect(new Maglev(() => r).pick(bs, withKey(''))!.index).toBe(table[Math.floor(r * 2 ** 32) % MAGLEV_TABLE_SIZE]);
  });

  it("skips an unusable backend with Envoy's retry mutation: attempt a reads table[(h XOR (2^32 - a)) mod 65537]", () => {
    const bs = backends([1, 8, 1]);
    const p = new Maglev();
    const table = p.tableEntries(bs);
    bs[1]!.usable = false;
    /** The backend index attempt `a` reads for a key hashing to `h`, written independently. */
    const reads = (h: number, a: number) => table[(a === 0 ? h : Number((BigInt(h) ^ (2n ** 32n - BigInt(a))) & 0xffffffffn)) % MAGLEV_TABLE_SIZE]!;
    let deep = 0;
    let fallback: string | undefined;
    for (const key of KEYS) {
      const h = crc32(key);
      const a = Array.from({ length: 21 }, (_, k) => k).find((k) => reads(h, k) !== 1);
      if (a === undefined) {
        fallback ??= key;
        continue;
      }
      if (a >= 2) deep++;
      expect(p.pick(bs, withKey(key))!.index, key).toBe(reads(h, a));
    }
    // Plenty of keys needed more than one mutation, so the loop is pinned, not just its first step.
    expect(deep).toBeGreaterThan(1000);
    // Past 20 mutations: smooth weighted round robin over a and c, a first.
    expect(fallback).toBeDefined();
    expect(picks(new Maglev(), bs, 3, withKey(fallback!))).toBe('aca');
  });

  it('follows a weight changed in place once a new array is passed, as the balancer does', () => {
    const bs = backends([1, 1, 1]);
    const p = new Maglev();
    const before = p.tableEntries(bs);
    const same = (x: Int32Array, y: Int32Array) => x.length === y.length && x.every((v, i) => v === y[i]);
    bs[0]!.weight = 3; // the balancer mutates the backend, then passes a new members array
    expect(same(p.tableEntries(bs), before)).toBe(true); // same array: the cached table
    const next = [...bs];
    const after = p.tableEntries(next);
    expect(same(after, new Maglev().tableEntries(backends([3, 1, 1])))).toBe(true);
    const counts = [0, 0, 0];
    for (const i of after) counts[i]!++;
    expect(Math.abs(counts[0]! / MAGLEV_TABLE_SIZE - 0.6)).toBeLessThan(0.01);
    for (const key of KEYS.slice(0, 300)) expect(p.pick(next, withKey(key))!.index).toBe(after[crc32(key) % MAGLEV_TABLE_SIZE]);
  });
});

describe('least response time (nginx least_time)', () => {
  /** Sends one try to `b` at the picker's clock and ends it `latencyMs` later. */
  function serve(p: LeastResponseTime, clock: { t: number }, b: B, latencyMs: number, ok = true): void {
    b.inFlight++;
    const startedAtMs = clock.t;
    p.onRequestStart(b, startedAtMs);
    clock.t += latencyMs;
    b.inFlight--;
    p.onRequestEnd(b, { startedAtMs, latencyMs, ok });
  }

  it('averages latency with α = 0.05 after a first sample that sets it', () => {
    const clock = { t: 0 };
    const p = new LeastResponseTime(() => clock.t);
    const [a] = backends([1]);
    expect(p.responseTimeMs(a!)).toBe(0);
    serve(p, clock, a!, 10);
    expect(p.responseTimeMs(a!)).toBe(10);
    serve(p, clock, a!, 110);
    expect(p.responseTimeMs(a!)).toBeCloseTo(15, 10);
  });

  it('scores rt × (1 + in-flight), divided by weight', () => {
    const clock = { t: 0 };
    const p = new LeastResponseTime(() => clock.t);
    const bs = backends([1, 1]);
    serve(p, clock, bs[0]!, 10);
    serve(p, clock, bs[1]!, 25);
    expect(p.pick(bs, ctx)?.name).toBe('a');
    bs[0]!.inFlight = 2; // 10 × 3 = 30 > 25 × 1
    expect(p.pick(bs, ctx)?.name).toBe('b');
    const weighted = backends([1, 2]);
    serve(p, clock, weighted[0]!, 10);
    serve(p, clock, weighted[1]!, 15);
    expect(p.pick(weighted, ctx)?.name).toBe('b'); // 15 ÷ 2 < 10 ÷ 1
  });

  it('counts the elapsed time of tries still in flight', () => {
    const clock = { t: 0 };
    const p = new LeastResponseTime(() => clock.t);
    const bs = backends([1, 1]);
    serve(p, clock, bs[0]!, 10);
    serve(p, clock, bs[1]!, 50);
    bs[0]!.inFlight++;
    p.onRequestStart(bs[0]!, clock.t);
    clock.t += 500;
    expect(p.responseTimeMs(bs[0]!)).toBe(500);
    expect(p.pick(bs, ctx)?.name).toBe('b');
  });

  it('does not let a fast failure lower the estimate; a slow one raises it', () => {
    const clock = { t: 0 };
    const p = new LeastResponseTime(() => clock.t);
    const [a] = backends([1]);
    serve(p, clock, a!, 40);
    serve(p, clock, a!, 0.1, false);
    expect(p.responseTimeMs(a!)).toBe(40);
    serve(p, clock, a!, 1040, false);
    expect(p.responseTimeMs(a!)).toBeCloseTo(90, 10);
  });

  it('scores a backend that has only failed at the 1000 ms penalty, until its first answer replaces it', () => {
    const clock = { t: 0 };
    const p = new LeastResponseTime(() => clock.t);
    const [a, b] = backends([1, 1]);
    serve(p, clock, a!, 0.1, false);
    expect(p.responseTimeMs(a!)).toBe(FAILED_TRY_PENALTY_MS);
    expect(FAILED_TRY_PENALTY_MS).toBe(1000);
    serve(p, clock, a!, 5000, false); // a timeout counts as itself
    expect(p.responseTimeMs(a!)).toBeCloseTo(0.05 * 5000 + 0.95 * 1000, 9);
    serve(p, clock, a!, 12);
    expect(p.responseTimeMs(a!)).toBe(12);
    serve(p, clock, b!, 3000, false);
    expect(p.responseTimeMs(b!)).toBe(3000);
  });

  it('under load: a backend refusing in 0.1 ms before it ever answered gets a small share, not nearly all', () => {
    // A request every 2 ms; b and c answer in 10 ms, a refuses every connection in 0.1 ms.
    const clock = { t: 0 };
    const p = new LeastResponseTime(() => clock.t);
    const bs = backends([1, 1, 1]);
    const pending: { at: number; b: B; sent: number; ok: boolean }[] = [];
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 1000; i++) {
      const now = i * 2;
      pending.sort((x, y) => x.at - y.at);
      while (pending.length > 0 && pending[0]!.at <= now) {
        const done = pending.shift()!;
        clock.t = done.at;
        done.b.inFlight--;
        p.onRequestEnd(done.b, { startedAtMs: done.sent, latencyMs: done.at - done.sent, ok: done.ok });
      }
      clock.t = now;
      const b = p.pick(bs, ctx) as B;
      b.inFlight++;
      p.onRequestStart(b, now);
      const refuses = b.name === 'a';
      pending.push({ at: now + (refuses ? 0.1 : 10), b, sent: now, ok: !refuses });
      counts[b.name]!++;
    }
    // Scored at 0.1 ms it would take nearly every pick; at 1000 ms only the first one.
    expect(counts.a! / 1000).toBeLessThan(0.02);
    expect(Math.abs(counts.b! - counts.c!)).toBeLessThan(50);
  });

  it('keeps the in-flight age exact with overlapping tries whose latency differs from the clock delta', () => {
    const clock = { t: 0 };
    const p = new LeastResponseTime(() => clock.t);
    const [a] = backends([1]);
    let avg = 10;
    serve(p, clock, a!, 10);
    // A long try held open from t = 10…
    const longStart = clock.t;
    p.onRequestStart(a!, longStart);
    clock.t += 40;
    expect(p.responseTimeMs(a!)).toBe(40);
    let last = 40;
    for (let k = 0; k < 50; k++) {
      // …while pairs of short ones overlap it and each other. The latency the balancer reports is
      // 0.3 ms under the clock's delta (it reads the clock on its own), which must not leak into the age.
      const s1 = clock.t;
      p.onRequestStart(a!, s1);
      clock.t += 1;
      const s2 = clock.t;
      p.onRequestStart(a!, s2);
      clock.t += 1;
      expect(p.responseTimeMs(a!)).toBeCloseTo(Math.max(avg, clock.t - (longStart + s1 + s2) / 3), 9);
      p.onRequestEnd(a!, { startedAtMs: s1, latencyMs: clock.t - s1 - 0.3, ok: true });
      avg = 0.05 * (clock.t - s1 - 0.3) + 0.95 * avg;
      clock.t += 1;
      p.onRequestEnd(a!, { startedAtMs: s2, latencyMs: clock.t - s2 - 0.3, ok: true });
      avg = 0.05 * (clock.t - s2 - 0.3) + 0.95 * avg;
      // Only the long try is open: the estimate is its age, exactly, and rises while it stays open.
      const now = p.responseTimeMs(a!);
      expect(now).toBe(clock.t - longStart);
      expect(now).toBeGreaterThan(last);
      last = now;
    }
    clock.t += 7;
    p.onRequestEnd(a!, { startedAtMs: longStart, latencyMs: clock.t - longStart - 0.3, ok: true });
    avg = 0.05 * (clock.t - longStart - 0.3) + 0.95 * avg;
    // Ended: back to the average.
    expect(p.responseTimeMs(a!)).toBeCloseTo(avg, 9);
    expect(p.responseTimeMs(a!)).toBeLessThan(20);
  });

  it('never lets the open count go below zero: an end it never saw start is ignored for the age', () => {
    const clock = { t: 100 };
    const p = new LeastResponseTime(() => clock.t);
    const [a] = backends([1]);
    p.onRequestEnd(a!, { startedAtMs: 40, latencyMs: 60, ok: true }); // a try another picker started
    expect(p.responseTimeMs(a!)).toBe(60);
    p.onRequestStart(a!, clock.t);
    clock.t += 500;
    expect(p.responseTimeMs(a!)).toBe(500);
  });

  it('ignores a latency that is not a finite number ≥ 0, and a start time that is not finite', () => {
    const clock = { t: 0 };
    const p = new LeastResponseTime(() => clock.t);
    const bs = backends([1, 1]);
    serve(p, clock, bs[0]!, 10);
    serve(p, clock, bs[1]!, 20);
    for (const latencyMs of [NaN, Infinity, -Infinity, -5]) {
      p.onRequestStart(bs[0]!, clock.t);
      p.onRequestEnd(bs[0]!, { startedAtMs: clock.t, latencyMs, ok: true });
      p.onRequestStart(bs[0]!, clock.t);
      p.onRequestEnd(bs[0]!, { startedAtMs: clock.t, latencyMs, ok: false });
      expect(p.responseTimeMs(bs[0]!), String(latencyMs)).toBe(10);
    }
    p.onRequestStart(bs[0]!, NaN);
    expect(p.responseTimeMs(bs[0]!)).toBe(10);
    p.onRequestEnd(bs[0]!, { startedAtMs: NaN, latencyMs: NaN, ok: true });
    expect(p.pick(bs, ctx)?.name).toBe('a');
    p.onRequestStart(bs[0]!, clock.t);
    clock.t += 300;
    expect(p.responseTimeMs(bs[0]!)).toBe(300);
  });

  it('breaks ties (no samples yet) with smooth weighted round robin', () => {
    expect(picks(new LeastResponseTime(() => 0), backends([5, 1, 1]), 7)).toBe('aabacaa');
  });

  it('one at a time: a backend that jumps from 10 to 200 ms is picked once more, then not again', () => {
    const clock = { t: 0 };
    const p = new LeastResponseTime(() => clock.t);
    const bs = backends([1, 1, 1]);
    let slow = false;
    const seq: string[] = [];
    for (let i = 0; i < 200; i++) {
      if (i === 30) slow = true;
      const b = p.pick(bs, ctx) as B;
      seq.push(b.name);
      serve(p, clock, b, b.name === 'a' && slow ? 200 : 10);
    }
    // Until then a gets its third (9 of the first 30: ties go smooth WRR, but a backend still at 0 wins outright).
    expect(seq.slice(0, 30).filter((n) => n === 'a')).toHaveLength(9);
    // a's next pick returns 200 ms: avg 0.05·200 + 0.95·10 = 19.5 > 10, and nothing pulls it back down.
    expect(seq.slice(30).filter((n) => n === 'a')).toHaveLength(1);
  });

  it('under load: a backend that jumps from 10 to 200 ms loses its picks within 40 requests', () => {
    // A request every 2 ms (~5 in flight); b and c answer in 10 ms, a too until request 300.
    const clock = { t: 0 };
    const p = new LeastResponseTime(() => clock.t);
    const bs = backends([1, 1, 1]);
    const pending: { at: number; b: B; sent: number }[] = [];
    const seq: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const now = i * 2;
      pending.sort((x, y) => x.at - y.at);
      while (pending.length > 0 && pending[0]!.at <= now) {
        const done = pending.shift()!;
        clock.t = done.at;
        done.b.inFlight--;
        p.onRequestEnd(done.b, { startedAtMs: done.sent, latencyMs: done.at - done.sent, ok: true });
      }
      clock.t = now;
      const b = p.pick(bs, ctx) as B;
      b.inFlight++;
      p.onRequestStart(b, now);
      pending.push({ at: now + (b.name === 'a' && i >= 300 ? 200 : 10), b, sent: now });
      seq.push(b.name);
    }
    const countA = (from: number, to: number) => seq.slice(from, to).filter((n) => n === 'a').length;
    // Before: a third. Within 40 requests of the jump its first slow tries have been in
    // flight longer than b's and c's 10 ms × (1 + in-flight), so it stops being picked;
    // once they return, its average is ≥ 19.5 ms. From then on it gets under 1%.
    expect(Math.abs(countA(200, 300) - 33)).toBeLessThanOrEqual(3);
    expect(countA(300, 340)).toBeLessThanOrEqual(6);
    expect(countA(340, 1000)).toBeLessThanOrEqual(6);
  });
});

describe('peak EWMA (Finagle, linkerd2 defaults)', () => {
  it('starts at 30 ms and adopts a new peak at once', () => {
    let t = 0;
    const p = new PeakEwma(Math.random, () => t);
    const [a] = backends([1]);
    expect(p.costMs(a!)).toBe(30);
    p.onRequestEnd(a!, { startedAtMs: 0, latencyMs: 100, ok: true });
    expect(p.costMs(a!)).toBe(100);
    t = 1;
    p.onRequestEnd(a!, { startedAtMs: 0, latencyMs: 500, ok: true });
    expect(p.costMs(a!)).toBe(500);
  });

  it('decays toward lower RTTs with τ = 10 s', () => {
    let t = 0;
    const p = new PeakEwma(Math.random, () => t);
    const [a] = backends([1]);
    p.onRequestEnd(a!, { startedAtMs: 0, latencyMs: 100, ok: true });
    t = 10_000; // Δt = τ: w = 1/e
    p.onRequestEnd(a!, { startedAtMs: 0, latencyMs: 10, ok: true });
    expect(p.costMs(a!)).toBeCloseTo(100 / Math.E + 10 * (1 - 1 / Math.E), 9);
    // A lower RTT a moment later barely moves it.
    t = 10_010;
    p.onRequestEnd(a!, { startedAtMs: 0, latencyMs: 10, ok: true });
    expect(p.costMs(a!)).toBeGreaterThan(43);
  });

  it('decays toward 0 when nobody tries the backend, so it gets probed again', () => {
    let t = 0;
    const p = new PeakEwma(Math.random, () => t);
    const [a] = backends([1]);
    p.onRequestEnd(a!, { startedAtMs: 0, latencyMs: 1000, ok: true });
    t = 20_000;
    expect(p.load(a!)).toBeCloseTo(1000 / Math.E ** 2, 9);
  });

  it('ignores a latency that is not a finite number ≥ 0, which would stick in the cost', () => {
    let t = 0;
    const p = new PeakEwma(Math.random, () => t);
    const [a] = backends([1]);
    p.onRequestEnd(a!, { startedAtMs: 0, latencyMs: 50, ok: true });
    for (const latencyMs of [NaN, Infinity, -1]) {
      p.onRequestEnd(a!, { startedAtMs: 0, latencyMs, ok: false });
      expect(p.costMs(a!), String(latencyMs)).toBe(50);
    }
    const [fresh] = backends([1]);
    fresh!.inFlight = 1;
    p.onRequestEnd(fresh!, { startedAtMs: 0, latencyMs: NaN, ok: true });
    expect(p.load(fresh!)).toBe(PEAK_EWMA_PENALTY + 1); // still no RTT observed
    t = 10_000;
    p.onRequestEnd(a!, { startedAtMs: 0, latencyMs: 10, ok: true });
    expect(p.costMs(a!)).toBeCloseTo(50 / Math.E + 10 * (1 - 1 / Math.E), 9);
  });

  it('load = cost × (in-flight + 1), with a penalty for in-flight before any RTT', () => {
    let t = 0;
    const p = new PeakEwma(Math.random, () => t);
    const [a, b] = backends([1, 1]);
    p.onRequestEnd(b!, { startedAtMs: 0, latencyMs: 50, ok: true });
    b!.inFlight = 5;
    expect(p.load(b!)).toBe(300);
    expect(p.load(a!)).toBe(30); // no RTT yet, but nothing in flight either
    a!.inFlight = 1;
    expect(p.load(a!)).toBe(PEAK_EWMA_PENALTY + 1);
  });

  it('picks the lower load of two distinct random candidates, the first on a tie', () => {
    let t = 0;
    const bs = backends([1, 1, 1]);
    const clock = () => t;
    const warm = new PeakEwma(Math.random, clock);
    warm.onRequestEnd(bs[0]!, { startedAtMs: 0, latencyMs: 80, ok: true });
    warm.onRequestEnd(bs[1]!, { startedAtMs: 0, latencyMs: 20, ok: true });
    warm.onRequestEnd(bs[2]!, { startedAtMs: 0, latencyMs: 20, ok: true });
    // First draw among 3, second among the other 2.
    const pickWith = (...r: number[]) => {
      const p = new PeakEwma(scripted(...r), clock);
      p.onRequestEnd(bs[0]!, { startedAtMs: 0, latencyMs: 80, ok: true });
      p.onRequestEnd(bs[1]!, { startedAtMs: 0, latencyMs: 20, ok: true });
      p.onRequestEnd(bs[2]!, { startedAtMs: 0, latencyMs: 20, ok: true });
      return p.pick(bs, ctx)?.name;
    };
    expect(pickWith(at(0, 3), at(0, 2))).toBe('b'); // a vs b
    expect(pickWith(at(1, 3), at(0, 2))).toBe('b'); // b vs a
    expect(pickWith(at(1, 3), at(1, 2))).toBe('b'); // b vs c: tie, first
    expect(pickWith(at(2, 3), at(1, 2))).toBe('c'); // c vs b: tie, first
    expect(pickWith(at(0, 3), at(1, 2))).toBe('c'); // a vs c
    t = 1;
    expect(warm.pick([bs[0]!], ctx)?.name).toBe('a');
  });

  it('keeps away from a backend whose RTT peaks while it is under load', () => {
    let t = 0;
    const p = new PeakEwma(seeded(3), () => t);
    const bs = backends([1, 1, 1]);
    for (const b of bs) p.onRequestEnd(b, { startedAtMs: 0, latencyMs: 10, ok: true });
    p.onRequestEnd(bs[0]!, { startedAtMs: 0, latencyMs: 400, ok: true });
    const seq = picks(p, bs, 300);
    // a is drawn in 2 of 3 pairs but always loses: 400 ms against ~10 ms.
    expect(seq).not.toContain('a');
  });
});

describe('resource (lowest reported load)', () => {
  it('picks the lowest reported load; no report counts as 0', () => {
    const bs = backends([1, 1, 1]);
    bs[0]!.reportedLoad = 0.7;
    bs[1]!.reportedLoad = 0.2;
    bs[2]!.reportedLoad = 0.5;
    expect(new LeastReportedLoad().pick(bs, ctx)?.name).toBe('b');
    bs[2]!.reportedLoad = undefined;
    expect(new LeastReportedLoad().pick(bs, ctx)?.name).toBe('c');
  });

  it('breaks ties by fewer in-flight, then round robin', () => {
    const bs = backends([1, 1, 1]);
    bs.forEach((b) => (b.reportedLoad = 0.25));
    bs[0]!.inFlight = 3;
    bs[2]!.inFlight = 1;
    expect(new LeastReportedLoad().pick(bs, ctx)?.name).toBe('b');
    bs.forEach((b) => (b.inFlight = 0));
    expect(picks(new LeastReportedLoad(), bs, 6)).toBe('abcabc');
  });

  it('herds onto the idlest report until the next check', () => {
    const bs = backends([1, 1, 1]);
    bs[0]!.reportedLoad = 0.9;
    bs[1]!.reportedLoad = 0.1;
    bs[2]!.reportedLoad = 0.4;
    const p = new LeastReportedLoad();
    for (let i = 0; i < 20; i++) (p.pick(bs, ctx) as B).inFlight++;
    expect(bs.map((b) => b.inFlight)).toEqual([0, 20, 0]);
  });
});

/** Pickers of every algorithm, the randomized ones seeded. */
function everyPicker(): [AlgorithmName, Picker][] {
  return ALGORITHMS.map((name): [AlgorithmName, Picker] => {
    switch (name) {
      case 'p2c':
        return [name, new PowerOfTwoChoices(seeded(11))];
      case 'peak-ewma':
        return [name, new PeakEwma(seeded(12), () => 0)];
      case 'maglev':
        return [name, new Maglev(seeded(13))];
      case 'least-response-time':
        return [name, new LeastResponseTime(() => 0)];
      default:
        return [name, createPicker(name)];
    }
  });
}

describe('every algorithm', () => {
  it('returns undefined when nothing is usable or everything usable was tried', () => {
    for (const [name, p] of everyPicker()) {
      const bs = backends([1, 2, 1]);
      bs.forEach((b) => (b.usable = false));
      expect(p.pick(bs, withKey('k')), name).toBeUndefined();
      expect(p.pick([], withKey('k')), name).toBeUndefined();
      const up = backends([1, 2, 1]);
      up[1]!.usable = false;
      expect(p.pick(up, { clientIp: '10.1.2.3', hashKey: 'k', exclude: new Set([up[0]!, up[2]!]) }), name).toBeUndefined();
    }
  });

  it('never picks a DOWN backend or an index already tried', () => {
    for (const [name, p] of everyPicker()) {
      const bs = backends([2, 1, 1, 3, 1]);
      bs[3]!.usable = false;
      bs.forEach((b, i) => (b.inFlight = i % 3));
      bs.forEach((b, i) => (b.reportedLoad = i / 10));
      for (let k = 0; k < 500; k++) {
        const exclude = new Set<PickableBackend>([bs[k % 5]!, bs[(k * 7) % 5]!]);
        const c: PickContext = { clientIp: `10.${k % 7}.${k % 11}.${k % 13}`, hashKey: k % 10 === 0 ? undefined : `key-${k}`, exclude };
        const got = p.pick(bs, c);
        expect(got, name).toBeDefined();
        expect(got!.usable, name).toBe(true);
        expect(exclude.has(got!), name).toBe(false);
        p.onRequestStart?.(got!, k * 10);
        p.onRequestEnd?.(got!, { startedAtMs: k * 10, latencyMs: 5 + (k % 4), ok: k % 9 !== 0 });
      }
    }
  });
});

describe('the registry', () => {
  it('lists the algorithms in SPEC order', () => {
    expect(ALGORITHMS).toEqual([
      'round-robin',
      'weighted',
      'least-conn',
      'weighted-least-conn',
      'random',
      'p2c',
      'ip-hash',
      'consistent-hash',
      'maglev',
      'least-response-time',
      'peak-ewma',
      'resource',
    ]);
  });

  it('says which algorithms follow weights and which read the hash key', () => {
    const weighted = ALGORITHMS.filter((a) => usesWeights(a));
    expect(weighted).toEqual(['weighted', 'weighted-least-conn', 'random', 'p2c', 'ip-hash', 'consistent-hash', 'maglev', 'least-response-time']);
    expect(HASH_KEY_ALGORITHMS).toEqual(['consistent-hash', 'maglev']);
    expect(ALGORITHMS.filter((a) => usesHashKey(a))).toEqual(['consistent-hash', 'maglev']);
    expect(expectedShares('peak-ewma', [3, 1])).toEqual([0.5, 0.5]);
    expect(expectedShares('maglev', [3, 1])).toEqual([0.75, 0.25]);
  });

  it('creates a working picker for every name', () => {
    for (const name of ALGORITHMS) expect(createPicker(name).pick(backends([1, 1]), withKey('k')), name).toBeDefined();
  });
});

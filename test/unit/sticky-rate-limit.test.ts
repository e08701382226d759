import { describe, expect, it } from 'vitest';
import { RateLimiter, formatRateLimit } from '../../src/balancer/rate-limit.js';
import { createHmac } from 'node:crypto';
import { CookieInsert } from '../../src/balancer/sticky/cookie-insert.js';
import { StickTable } from '../../src/balancer/sticky/stick-table.js';
import { formatSticky, poolCookieNames } from '../../src/balancer/sticky/sticky-sessions.js';
import { parseRateLimit, parseSticky } from '../../src/scenario/balancer-settings.js';

describe('stick table', () => {
  it('expires an entry TTL after its last use, and a use refreshes it', () => {
    const t = new StickTable<string>(100, 10);
    t.set('a', 'b1', 0);
    expect(t.get('a', 90)).toBe('b1');
    expect(t.get('a', 180)).toBe('b1');
    expect(t.get('a', 281)).toBeUndefined();
    expect(t.count).toBe(0);
  });

  it('purges expired entries oldest first and counts the rest', () => {
    const t = new StickTable<string>(100, 10);
    t.set('a', 'b1', 0);
    t.set('b', 'b2', 50);
    t.set('c', 'b3', 120);
    expect(t.purge(149)).toBe(2);
    expect(t.purge(219)).toBe(1);
    expect(t.purge(219)).toBe(1);
    expect(t.purge(220)).toBe(0);
  });

  it('holds at most `size` entries, evicting the least recently used', () => {
    const t = new StickTable<string>(60_000, 3);
    t.set('a', 'b1', 0);
    t.set('b', 'b2', 1);
    t.set('c', 'b3', 2);
    t.get('a', 3);
    t.set('d', 'b1', 4);
    expect(t.count).toBe(3);
    expect(t.get('b', 5)).toBeUndefined();
    expect(['a', 'c', 'd'].map((k) => t.get(k, 6))).toEqual(['b1', 'b3', 'b1']);
  });
});

describe('rate limiter', () => {
  it('admits burst + 1 at once, then one per 1/R s, and says when to retry', () => {
    const r = new RateLimiter({ ratePerSecond: 10, burst: 2 });
    expect([0, 0, 0, 0].map(() => r.take('x', 0))).toEqual([0, 0, 0, 1]);
    expect(r.take('x', 99)).toBe(1);
    expect(r.take('x', 101)).toBe(0);
    expect(r.take('y', 101)).toBe(0);
    const slow = new RateLimiter({ ratePerSecond: 0.5, burst: 0 });
    expect(slow.take('x', 0)).toBe(0);
    expect(slow.take('x', 0)).toBe(2);
  });

  it('keeps at most maxBuckets clients, forgetting refilled ones first', () => {
    const r = new RateLimiter({ ratePerSecond: 1, burst: 0 }, 3);
    for (const ip of ['a', 'b', 'c', 'd', 'e']) r.take(ip, 0);
    expect(r.size).toBe(3);
    // a bucket idle for a full refill carries nothing: gone when someone new comes.
    r.take('f', 1000);
    expect(r.size).toBe(1);
  });

  it('reads --rate-limit and writes it back', () => {
    expect(parseRateLimit('100/s:20')).toEqual({ ratePerSecond: 100, burst: 20 });
    expect(parseRateLimit('30/m')).toEqual({ ratePerSecond: 0.5, burst: 0 });
    expect(formatRateLimit({ ratePerSecond: 0.5, burst: 0 })).toBe('30/m');
    expect(formatRateLimit({ ratePerSecond: 100, burst: 20 })).toBe('100/s burst 20');
    for (const bad of ['0/s', 'abc', '10', '10/h', '-1/s', '5/s:', '5/s:x']) expect(() => parseRateLimit(bad)).toThrow(/`--rate-limit`/);
  });
});

describe('cookie insert', () => {
  it('gives each backend an opaque id and reads back only its own ids', () => {
    const c = new CookieInsert('SERVERID', ['b1', 'b2']);
    const id1 = c.idFor('b1')!;
    expect(id1).toMatch(/^[\w-]{22}$/);
    expect(id1).not.toBe('b1');
    expect(c.idFor('b2')).not.toBe(id1);
    expect(c.backendOf(`a=1; SERVERID=${id1}; z=2`)).toBe('b1');
    expect(c.backendOf('SERVERID=b1')).toBeUndefined();
    expect(c.backendOf(`SERVERID=${id1}x`)).toBeUndefined();
    expect(c.backendOf(`OTHER=${id1}`)).toBeUndefined();
    // Another balancer (another start) makes other ids: yesterday's cookie is not trusted.
    expect(new CookieInsert('SERVERID', ['b1']).idFor('b1')).not.toBe(id1);
  });

  it('makes the id it documents: base64url(HMAC-SHA256(key, name)) cut to 22 characters', () => {
    const key = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
    const c = new CookieInsert('SERVERID', ['b1', 'b2'], key);
    for (const name of ['b1', 'b2']) {
      expect(c.idFor(name)).toBe(createHmac('sha256', key).update(name).digest('base64url').slice(0, 22));
    }
    expect(new CookieInsert('SERVERID', ['b1'], key).idFor('b1')).toBe(c.idFor('b1'));
  });

  it('strips its cookie from the request and sets it only when the client lacks the right one', () => {
    const c = new CookieInsert('SID', ['b1', 'b2']);
    const headers: Record<string, string | string[]> = { cookie: `a=1; SID=${c.idFor('b1')}; b=2` };
    c.stripRequest(headers);
    expect(headers.cookie).toBe('a=1; b=2');
    const only: Record<string, string | string[]> = { cookie: 'SID=zzz' };
    c.stripRequest(only);
    expect(only.cookie).toBeUndefined();
    const out: Record<string, string | string[]> = { 'set-cookie': ['SID=app; Path=/', 'x=1'], 'cache-control': 'max-age=60' };
    expect(c.applyResponse(out, 'b2', 'b1')).toBe(true);
    expect(out['set-cookie']).toEqual(['x=1', `SID=${c.idFor('b2')}; Path=/; HttpOnly`]);
    expect(out['cache-control']).toBe('max-age=60, private, no-cache="set-cookie"');
    const same: Record<string, string | string[]> = {};
    expect(c.applyResponse(same, 'b2', 'b2')).toBe(false);
    expect(same).toEqual({});
  });

  it('reads --sticky and writes it back', () => {
    expect(parseSticky('cookie')).toEqual({ mode: 'cookie', name: 'SERVERID' });
    expect(parseSticky('cookie:JSESSIONID')).toEqual({ mode: 'cookie', name: 'JSESSIONID' });
    expect(parseSticky('ip')).toMatchObject({ mode: 'ip', ttlMs: 30 * 60_000 });
    expect(parseSticky('ip:300ms')).toMatchObject({ mode: 'ip', ttlMs: 300 });
    expect(formatSticky(parseSticky('ip:30m'))).toBe('ip 30m');
    expect(formatSticky(parseSticky('cookie'))).toBe('cookie SERVERID');
    for (const bad of ['bogus', 'cookie:', 'cookie:a b', 'ip:', 'ip:10', 'ip:0s', 'cookies']) expect(() => parseSticky(bad)).toThrow(/`--sticky/);
  });
});

describe('cookie names per pool', () => {
  it('the name itself for one pool; name_<pool> with routes, by number when a pool name has no letters or repeats one', () => {
    expect(poolCookieNames('SERVERID', [{ name: 'default' }])).toEqual(['SERVERID']);
    expect(poolCookieNames('SERVERID', [{ name: '/api' }, { name: '/static' }, { name: 'default' }])).toEqual(['SERVERID_api', 'SERVERID_static', 'SERVERID_default']);
    expect(poolCookieNames('LB', [{ name: '/' }, { name: '/a/' }, { name: 'a' }])).toEqual(['LB_1', 'LB_a', 'LB_3']);
  });
});

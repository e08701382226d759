import { describe, expect, it } from 'vitest';
import { CookieJar, defaultPath, pathMatches } from '../../src/load/cookie-jar.js';

const NOW = Date.UTC(2025, 0, 1);

describe('CookieJar', () => {
  it('stores a Set-Cookie and sends it back; a later one of the same name and path replaces it', () => {
    const jar = new CookieJar('127.0.0.1');
    expect(jar.cookieHeader('/', false, NOW)).toBeUndefined();
    jar.store('SERVERID=b2; Path=/; HttpOnly', '/', NOW);
    expect(jar.cookieHeader('/', false, NOW)).toBe('SERVERID=b2');
    jar.store(['SERVERID=b3; Path=/', 'lang=en; Path=/'], '/', NOW);
    expect(jar.cookieHeader('/anything', false, NOW)).toBe('SERVERID=b3; lang=en');
    expect(jar.size).toBe(2);
  });

  it('keeps values as sent, not decoded', () => {
    const jar = new CookieJar('127.0.0.1');
    jar.store('token=a%2Fb+c/=; Path=/', '/', NOW);
    expect(jar.cookieHeader('/', false, NOW)).toBe('token=a%2Fb+c/=');
  });

  it('Max-Age=0 and an Expires in the past delete the cookie; Max-Age wins over Expires', () => {
    const jar = new CookieJar('127.0.0.1');
    jar.store(['a=1; Path=/', 'b=2; Path=/', 'c=3; Path=/'], '/', NOW);
    jar.store('a=; Path=/; Max-Age=0', '/', NOW);
    jar.store('b=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT', '/', NOW);
    // Max-Age says keep for 60 s although Expires is past.
    jar.store('c=4; Path=/; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT', '/', NOW);
    expect(jar.cookieHeader('/', false, NOW)).toBe('c=4');
    // A deletion for a cookie never stored is harmless.
    jar.store('zzz=; Max-Age=-1', '/', NOW);
    expect(jar.size).toBe(1);
  });

  it('a cookie expires by its Max-Age or Expires as time passes', () => {
    const jar = new CookieJar('127.0.0.1');
    jar.store(['short=1; Max-Age=10', `dated=1; Expires=${new Date(NOW + 20_000).toUTCString()}`, 'session=1'], '/', NOW);
    expect(jar.cookieHeader('/', false, NOW + 5_000)).toBe('short=1; dated=1; session=1');
    expect(jar.cookieHeader('/', false, NOW + 15_000)).toBe('dated=1; session=1');
    expect(jar.cookieHeader('/', false, NOW + 25_000)).toBe('session=1');
    expect(jar.size).toBe(1);
  });

  it('Path: sent only under its path, longer paths first; the same name on two paths is two cookies', () => {
    const jar = new CookieJar('127.0.0.1');
    jar.store(['id=root; Path=/', 'id=api; Path=/api', 'x=1; Path=/static/'], '/', NOW);
    expect(jar.cookieHeader('/api/users?x=1', false, NOW)).toBe('id=api; id=root');
    expect(jar.cookieHeader('/api', false, NOW)).toBe('id=api; id=root');
    expect(jar.cookieHeader('/apix', false, NOW)).toBe('id=root');
    expect(jar.cookieHeader('/static/a.css', false, NOW)).toBe('x=1; id=root');
    expect(jar.cookieHeader('/static', false, NOW)).toBe('id=root');
  });

  it('without Path (or a relative one) the default path of the request is used', () => {
    const jar = new CookieJar('127.0.0.1');
    jar.store('a=1', '/shop/cart/view?item=2', NOW);
    jar.store('b=1; Path=relative', '/shop/cart/view', NOW);
    expect(jar.cookieHeader('/shop/cart/other', false, NOW)).toBe('a=1; b=1');
    expect(jar.cookieHeader('/shop', false, NOW)).toBeUndefined();
  });

  it('Secure cookies go only over https', () => {
    const jar = new CookieJar('127.0.0.1');
    jar.store(['s=1; Secure', 'p=1'], '/', NOW);
    expect(jar.cookieHeader('/', false, NOW)).toBe('p=1');
    expect(jar.cookieHeader('/', true, NOW)).toBe('s=1; p=1');
  });

  it('ignores a cookie without a name and one whose Domain does not match the host', () => {
    const jar = new CookieJar('127.0.0.1');
    jar.store(['novalue', '=v', 'a=1; Domain=example.com', 'b=1; Domain=127.0.0.1'], '/', NOW);
    expect(jar.cookieHeader('/', false, NOW)).toBe('b=1');
    const named = new CookieJar('localhost');
    named.store(['c=1; Domain=.localhost', 'd=1; Domain=other'], '/', NOW);
    expect(named.cookieHeader('/', false, NOW)).toBe('c=1');
  });
});

describe('RFC 6265 paths', () => {
  it('default-path', () => {
    expect(defaultPath('')).toBe('/');
    expect(defaultPath('/')).toBe('/');
    expect(defaultPath('/a')).toBe('/');
    expect(defaultPath('/a/b')).toBe('/a');
    expect(defaultPath('/a/b/')).toBe('/a/b');
    expect(defaultPath('/a/b?q=/x/y')).toBe('/a');
  });

  it('path-match', () => {
    expect(pathMatches('/a', '/a')).toBe(true);
    expect(pathMatches('/a/b', '/a')).toBe(true);
    expect(pathMatches('/a/b', '/a/')).toBe(true);
    expect(pathMatches('/ab', '/a')).toBe(false);
    expect(pathMatches('/', '/a')).toBe(false);
  });
});

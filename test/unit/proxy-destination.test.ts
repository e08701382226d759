import { describe, expect, it } from 'vitest';
import { checkDestination, isLoopbackAddress, parseAllow } from '../../src/proxy/destination.js';

describe('forward proxy destinations', () => {
  it('takes loopback literals and localhost (to 127.0.0.1, no lookup) and nothing else without --allow', () => {
    expect(checkDestination('127.0.0.1', 8001, [])).toEqual({ ok: true, connectTo: { host: '127.0.0.1', port: 8001 } });
    expect(checkDestination('127.9.9.9', 80, [])).toMatchObject({ ok: true });
    expect(checkDestination('[::1]', 80, [])).toEqual({ ok: true, connectTo: { host: '::1', port: 80 } });
    expect(checkDestination('LocalHost', 80, [])).toEqual({ ok: true, connectTo: { host: '127.0.0.1', port: 80 } });
    for (const host of ['10.0.0.1', '192.0.2.1', '128.0.0.1', '::ffff:10.0.0.1', 'example.com', 'localhost.example.com', '2130706433']) {
      expect(checkDestination(host, 80, [])).toMatchObject({ ok: false, rule: 'not-loopback-not-allowed' });
    }
    expect(isLoopbackAddress('0:0:0:0:0:0:0:1')).toBe(true);
  });

  it('lets an --allow host through on any port, or on its one port', () => {
    const allow = [parseAllow('--allow', 'Example.TEST'), parseAllow('--allow', '10.0.0.5:8080'), parseAllow('--allow', '[fd00::1]:443')];
    expect(allow).toEqual([{ host: 'example.test' }, { host: '10.0.0.5', port: 8080 }, { host: 'fd00::1', port: 443 }]);
    expect(checkDestination('example.test', 1234, allow)).toEqual({ ok: true, connectTo: { host: 'example.test', port: 1234 } });
    expect(checkDestination('10.0.0.5', 8080, allow)).toMatchObject({ ok: true });
    expect(checkDestination('10.0.0.5', 22, allow)).toEqual({ ok: false, rule: 'port-not-allowed', message: 'destination 10.0.0.5:22 is in --allow only on port 8080' });
    expect(checkDestination('[fd00::1]', 80, allow)).toMatchObject({ ok: false, message: 'destination [fd00::1]:80 is in --allow only on port 443' });
  });

  it('refuses the proxy itself (a loop)', () => {
    expect(checkDestination('localhost', 3128, [], 3128)).toMatchObject({ ok: false, rule: 'this-proxy' });
    expect(checkDestination('127.0.0.1', 3129, [], 3128)).toMatchObject({ ok: true });
  });

  it('refuses a bad --allow with the flag named', () => {
    expect(() => parseAllow('--allow', 'a b')).toThrow(/`--allow` to be host\[:port\]/);
    expect(() => parseAllow('--allow', 'h:99999')).toThrow(/port to be 1-65535/);
  });
});

import { describe, expect, it } from 'vitest';
import { flagOf } from '../../src/cli/options.js';
import { parseHeader, resolveClients } from '../../src/scenario/load.js';
import { argvOf, flagsInput } from '../support/flags.js';

const parseClientOptions = (flags: Record<string, string | boolean | string[]>) => resolveClients(flagsInput(argvOf(flags), 'load').load ?? {}, flagOf);
import { UsageError } from '../../src/errors.js';
import { clientAddress } from '../../src/load/client-addresses.js';
import { openClientBudget } from '../../src/load/connection-budget.js';
import { compileHeaders } from '../../src/load/request-headers.js';

describe('clientAddress', () => {
  it('packs 253 clients per /24 from 127.0.0.2, skipping .0, .1 and .255', () => {
    expect(clientAddress(0)).toBe('127.0.0.2');
    expect(clientAddress(4)).toBe('127.0.0.6');
    expect(clientAddress(252)).toBe('127.0.0.254');
    expect(clientAddress(253)).toBe('127.0.1.2');
    expect(clientAddress(506)).toBe('127.0.2.2');
    expect(clientAddress(9999)).toBe('127.0.39.134');
    const all = Array.from({ length: 10_000 }, (_, i) => clientAddress(i));
    expect(new Set(all).size).toBe(10_000);
  });

  it('spread: one /24 per client', () => {
    expect(clientAddress(0, true)).toBe('127.1.0.1');
    expect(clientAddress(255, true)).toBe('127.1.255.1');
    expect(clientAddress(256, true)).toBe('127.2.0.1');
    expect(clientAddress(9999, true)).toBe('127.40.15.1');
    const prefixes = Array.from({ length: 10_000 }, (_, i) => clientAddress(i, true).split('.').slice(0, 3).join('.'));
    expect(new Set(prefixes).size).toBe(10_000);
  });
});

describe('compileHeaders', () => {
  it('expands {client} and {seq}, keeps repeated names and constant values', () => {
    const h = compileHeaders([
      { name: 'x-user', value: 'u{client}' },
      { name: 'x-id', value: '{client}-{seq}-{client}' },
      { name: 'x-user', value: 'plain' },
    ]);
    expect(h(3, 17)).toEqual(['x-user', 'u3', 'x-id', '3-17-3', 'x-user', 'plain']);
    expect(compileHeaders([{ name: 'a', value: 'b' }])(1, 1)).toEqual(['a', 'b']);
    expect(compileHeaders([])(1, 1)).toEqual([]);
  });
});

describe('--clients, --spread-clients, --header', () => {
  it('reads good values', () => {
    expect(parseClientOptions({ clients: '5', spreadClients: true, header: ['x-user=u{client}', 'x-empty='] })).toEqual({
      clients: 5,
      spreadClients: true,
      headers: [
        { name: 'x-user', value: 'u{client}' },
        { name: 'x-empty', value: '' },
      ],
      cookies: true,
      keepAlive: true,
    });
    expect(parseClientOptions({ header: [] })).toEqual({ clients: undefined, spreadClients: false, headers: [], cookies: true, keepAlive: true });
    // commander turns --no-cookies into cookies: false
    expect(parseClientOptions({ header: [], cookies: false }).cookies).toBe(false);
    expect(parseHeader('--header', 'X-Json={"a":1}=b')).toEqual({ name: 'X-Json', value: '{"a":1}=b' });
  });

  it('refuses bad values, naming the flag', () => {
    const bad: Array<[() => unknown, RegExp]> = [
      [() => parseClientOptions({ clients: '0', header: [] }), /^Expected `--clients` to be a whole number from 1 to 10000, got "0"/],
      [() => parseClientOptions({ clients: '10001', header: [] }), /`--clients`/],
      [() => parseClientOptions({ spreadClients: true, header: [] }), /^Expected `--spread-clients` only with `--clients N`/],
      [() => parseClientOptions({ header: ['host=a', 'Host=b'] }), /`--header` to set host at most once/],
      [() => parseHeader('--header', 'bad name=x'), /^Expected `--header` name to be a header name .*got "bad name"/],
      [() => parseHeader('--header', '=x'), /`--header` name/],
      [() => parseHeader('--header', 'x-user'), /`--header` to read NAME=VALUE/],
      [() => parseHeader('--header', 'x-a=line\r\nx-b: injected'), /`--header` value to hold no line breaks/],
      [() => parseHeader('--header', 'x-a=a\u0000b'), /`--header` value/],
      [() => parseHeader('--header', 'x-a=☃'), /`--header` value/],
      [() => parseHeader('--header', 'Connection=close'), /`--header` name not to be one the HTTP client manages/],
      [() => parseHeader('--header', 'transfer-encoding=chunked'), /`--header` name not to be/],
      [() => parseHeader('--header', 'x-user=u{clients}'), /`--header` placeholders to be \{client\} or \{seq\}, got \{clients\}/],
    ];
    for (const [f, message] of bad) {
      expect(f).toThrow(UsageError);
      expect(f).toThrow(message);
    }
  });
});

describe('openClientBudget', () => {
  it('keeps a third of the file limit past a reserve, never fewer than 64', () => {
    expect(openClientBudget(20_000)).toBe(6496);
    expect(openClientBudget(1024)).toBe(170);
    expect(openClientBudget(256)).toBe(64);
  });
});

import { describe, expect, it } from 'vitest';
import { checkIntervalMs } from '../../src/balancer/health/check-interval.js';
import { RiseFall } from '../../src/balancer/health/rise-fall.js';
import { flagOf } from '../../src/cli/options.js';
import { resolveHealth } from '../../src/scenario/health.js';
import { flagsInput } from '../support/flags.js';
import { UsageError } from '../../src/errors.js';

const intervals = { intervalMs: 2000, fastinterMs: 200, downinterMs: 5000 };

describe('check interval as HAProxy srv_getinter (inter, fastinter, downinter)', () => {
  it('fully UP uses inter', () => {
    expect(checkIntervalMs({ counter: 4, rise: 2, fall: 3 }, intervals)).toBe(2000);
  });

  it('UP after a failed check, or DOWN after a passed one, uses fastinter', () => {
    expect(checkIntervalMs({ counter: 3, rise: 2, fall: 3 }, intervals)).toBe(200);
    expect(checkIntervalMs({ counter: 2, rise: 2, fall: 3 }, intervals)).toBe(200);
    expect(checkIntervalMs({ counter: 1, rise: 2, fall: 3 }, intervals)).toBe(200);
  });

  it('fully DOWN uses downinter', () => {
    expect(checkIntervalMs({ counter: 0, rise: 2, fall: 3 }, intervals)).toBe(5000);
  });

  it('rise 1 / fall 1 is only ever fully UP or fully DOWN', () => {
    expect(checkIntervalMs({ counter: 1, rise: 1, fall: 1 }, intervals)).toBe(2000);
    expect(checkIntervalMs({ counter: 0, rise: 1, fall: 1 }, intervals)).toBe(5000);
  });

  it('follows a RiseFall counter through a fall and a rise', () => {
    const h = new RiseFall(2, 3);
    const seen = [checkIntervalMs(h, intervals)];
    for (const passed of [false, false, false, true, true]) {
      h.observe(passed);
      seen.push(checkIntervalMs(h, intervals));
    }
    // up 4 → 3 → 2 → down 0 → 1 → up 4
    expect(seen).toEqual([2000, 200, 200, 5000, 200, 2000]);
  });
});

describe('health flags', () => {
  const flags = ['--health-check', 'http', '--health-interval', '2s', '--health-timeout', '500ms', '--rise', '2', '--fall', '3', '--health-path', '/health'];
  const parseHealthOptions = (argv: string[]) => resolveHealth(flagsInput(argv).health, flagOf);

  it('fastinter and downinter default to the interval, as HAProxy leaves them unset', () => {
    expect(parseHealthOptions(flags)).toMatchObject({ mode: 'http', intervalMs: 2000, fastinterMs: 2000, downinterMs: 2000 });
  });

  it('reads tcp mode and both intervals', () => {
    expect(parseHealthOptions([...flags, '--health-check', 'tcp', '--health-fastinter', '200ms', '--health-downinter', '5s'])).toMatchObject({
      mode: 'tcp',
      fastinterMs: 200,
      downinterMs: 5000,
    });
  });

  it('refuses an unknown mode and a zero fastinter', () => {
    expect(() => parseHealthOptions([...flags, '--health-check', 'udp'])).toThrow(UsageError);
    expect(() => parseHealthOptions([...flags, '--health-fastinter', '0s'])).toThrow(/`--health-fastinter`/);
  });
});

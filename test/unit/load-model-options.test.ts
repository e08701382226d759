import { describe, expect, it } from 'vitest';
import { flagOf } from '../../src/cli/options.js';
import { parseRate, resolveLoadModel } from '../../src/scenario/load.js';
import { argvOf, flagsInput } from '../support/flags.js';

const parseLoadModelOptions = (flags: Record<string, string>) => resolveLoadModel(flagsInput(argvOf(flags), 'load').load ?? {}, flagOf);
import { UsageError } from '../../src/errors.js';

describe('load model flags', () => {
  it('closed model by default, 16 workers', () => {
    expect(parseLoadModelOptions({})).toEqual({ concurrency: 16 });
    expect(parseLoadModelOptions({ concurrency: '4', requests: '9' })).toEqual({ concurrency: 4, requests: 9 });
  });

  it('--rate: the open model with the default in-flight cap', () => {
    expect(parseLoadModelOptions({ rate: '2000' })).toEqual({ concurrency: 16, rate: 2000, maxInFlight: 1000 });
    expect(parseLoadModelOptions({ rate: '0.5', maxInFlight: '8', requests: '3' })).toEqual({ concurrency: 16, rate: 0.5, maxInFlight: 8, requests: 3 });
    expect(parseRate('--rate', '2000/s')).toBe(2000);
  });

  it('refuses --rate with --concurrency, naming both', () => {
    expect(() => parseLoadModelOptions({ rate: '100', concurrency: '8' })).toThrow(UsageError);
    expect(() => parseLoadModelOptions({ rate: '100', concurrency: '8' })).toThrow(/`--rate`.*`--concurrency`.*not both/);
  });

  it('refuses bad values, one line naming the flag', () => {
    for (const rate of ['0', '-5', 'fast', '', '1e3', '2000000']) {
      expect(() => parseLoadModelOptions({ rate })).toThrow(new RegExp(`^Expected \`--rate\`.*got ${JSON.stringify(JSON.stringify(rate)).slice(1, -1)}`));
    }
    expect(() => parseLoadModelOptions({ requests: '0' })).toThrow(/`--requests`.*got "0"/);
    expect(() => parseLoadModelOptions({ requests: '1.5' })).toThrow(/`--requests`/);
    expect(() => parseLoadModelOptions({ maxInFlight: '4' })).toThrow(/`--max-in-flight` only with `--rate`/);
    expect(() => parseLoadModelOptions({ rate: '10', maxInFlight: '0' })).toThrow(/`--max-in-flight`.*got "0"/);
  });
});

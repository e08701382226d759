import { describe, expect, it } from 'vitest';
import { flagOf } from '../../src/cli/options.js';
import { resolveScenario } from '../../src/scenario/resolve.js';
import { flagsInput } from '../support/flags.js';

const backendsOf = (argv: string[]) => resolveScenario(flagsInput(argv, 'start'), { name: flagOf }).backends;

describe('--ws-push (a backend profile flag, and backends[i].ws-push in a lab file)', () => {
  it('every backend or one, in ms; absent means never', () => {
    expect(backendsOf([]).map((b) => b.wsPushMs)).toEqual([undefined, undefined, undefined]);
    expect(backendsOf(['--ws-push', '1s']).map((b) => b.wsPushMs)).toEqual([1000, 1000, 1000]);
    expect(backendsOf(['--ws-push', 'b2=250ms']).map((b) => b.wsPushMs)).toEqual([undefined, 250, undefined]);
    expect(resolveScenario({ backends: [{}, { 'ws-push': '2s' }] }).backends.map((b) => b.wsPushMs)).toEqual([undefined, 2000]);
  });

  it('refuses a bare number or zero, naming the flag', () => {
    expect(() => backendsOf(['--ws-push', '5'])).toThrow(/^Expected `--ws-push` to be a positive duration.*got "5"/);
    expect(() => backendsOf(['--ws-push', 'b1=0ms'])).toThrow(/^Expected `--ws-push`/);
  });
});

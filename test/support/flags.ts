import { Command } from 'commander';
import { addOptionGroup, inputFromFlags, type OptionGroup, type ScenarioCommand } from '../../src/cli/options.js';
import type { ScenarioInput } from '../../src/scenario/input.js';

const GROUPS: readonly OptionGroup[] = ['algo', 'duration', 'mode', 'scenario', 'clients', 'load-model', 'listen', 'health', 'proxy', 'routes'];

/**
 * The scenario input of `argv` as `lblab <command>` reads it: the real
 * option table on a commander program, only the flags given become fields.
 */
export function flagsInput(argv: readonly string[], command: ScenarioCommand = 'start'): ScenarioInput {
  const cmd = new Command().exitOverride();
  for (const g of GROUPS) addOptionGroup(cmd, g, command);
  cmd.parse([...argv], { from: 'user' });
  return inputFromFlags(cmd, command);
}

/**
 * The argv of a flags object as commander would have produced it
 * (`{ maxInFlight: '8', spreadClients: true, header: ['a=1'], cookies: false }`
 * → `--max-in-flight 8 --spread-clients --header a=1 --no-cookies`).
 */
export function argvOf(flags: Readonly<Record<string, string | boolean | readonly string[] | undefined>>): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(flags)) {
    const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    if (value === undefined) continue;
    if (value === true) out.push(flag);
    else if (value === false) out.push(flag.replace(/^--/, '--no-'));
    else if (typeof value === 'string') out.push(flag, value);
    else for (const v of value) out.push(flag, v);
  }
  return out;
}

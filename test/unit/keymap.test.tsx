import { readFileSync } from 'node:fs';
import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { FAULTS } from '../../src/backend/faults.js';
import { KeyLine } from '../../src/tui/key-line.js';
import { bindingOf, dashboardKeysHelp, KEYMAP, keyLabels } from '../../src/tui/keymap.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const plain = (s: string): string => s.replace(/\u001B\[[0-9;]*m/g, '');

afterEach(() => {
  cleanup();
});

describe('keymap', () => {
  it('gives every key one binding and every fault a key', () => {
    const keys = [...KEYMAP.controls, ...KEYMAP.faults].flatMap((b) => b.keys);
    expect(new Set(keys).size).toBe(keys.length);
    for (const fault of FAULTS) expect(KEYMAP.faults.some((b) => b.action === 'toggle-fault' && b.fault === fault)).toBe(true);
    expect(bindingOf('q')?.action).toBe('quit');
    expect(bindingOf('ctrl+c')?.action).toBe('quit');
    expect(bindingOf('z')).toBeUndefined();
  });

  it("README's dashboard picture ends with the key line the dashboard draws", async () => {
    const { lastFrame } = render(<KeyLine />);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const drawn = plain(lastFrame() ?? '').split('\n').map((l) => l.trimEnd());
    const lines = README.split('\n');
    const faultsLine = lines.findIndex((l) => l.startsWith('faults: '));
    expect(faultsLine).toBeGreaterThan(0);
    expect([lines[faultsLine - 1], lines[faultsLine]]).toEqual(drawn);
  });

  it("README's fault key table lists the keymap's fault keys, in order", () => {
    const rows = [...README.matchAll(/^\s*\| `(.)` \| ([a-z-]+) \|/gm)].map((m) => ({ keys: m[1], action: m[2] }));
    expect(rows).toEqual(keyLabels('faults'));
  });

  it("README's key list names every control key of the key line", () => {
    const start = README.indexOf('- Keys: ');
    expect(start).toBeGreaterThan(0);
    const bullet = README.slice(start, README.indexOf('\n- ', start + 1));
    for (const { keys } of keyLabels('controls')) {
      for (const part of keys.split(/[/ ]/)) {
        if (/^[!-~]$/.test(part)) expect(bullet).toContain(`\`${part}\``);
        else if (part === '↑' || part === '↓') expect(bullet).toContain(part);
      }
    }
  });

  it('puts every fault key and its help lines in the start --help section', () => {
    const help = dashboardKeysHelp();
    for (const b of KEYMAP.faults) expect(help).toContain(`  ${b.label!.keys} ${b.label!.action} `);
    expect(help.startsWith('Dashboard keys: ↑/↓ or 1-9 select a backend, k kill (SIGKILL), r restart,\nd drain')).toBe(true);
  });
});

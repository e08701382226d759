import { Box, Text } from 'ink';
import { memo } from 'react';
import { faultDefinitions, RECOVER } from '../backend/faults.js';

type Keys = ReadonlyArray<readonly [key: string, action: string]>;

/** Selection, process, upstream and load keys. */
const CONTROL_KEYS: Keys = [
  ['↑/↓ 1-9', 'select'],
  ['k', 'kill'],
  ['r', 'restart'],
  ['d', 'drain'],
  ['a', 'algo'],
  ['w', 'weight'],
  ['+/-', 'concurrency'],
  ['p', 'pause'],
  ['q', 'quit'],
];

/** Fault keys: each toggles its fault on the selected backend; `c` clears them all. */
const FAULT_KEYS: Keys = [...faultDefinitions().map((f) => [f.key, f.name] as const), [RECOVER.key, RECOVER.name]];

function KeyRow({ label, keys }: { label?: string; keys: Keys }) {
  return (
    <Text wrap="wrap">
      {label !== undefined ? <Text dimColor>{label} </Text> : null}
      {keys.map(([key, action], i) => (
        <Text key={key}>
          {i > 0 ? '  ' : ''}
          <Text bold>{key}</Text> <Text dimColor>{action}</Text>
        </Text>
      ))}
    </Text>
  );
}

/**
 * The key bindings at the foot of the dashboard, on two lines (each under
 * 90 columns): the controls, then the faults of the selected backend. They
 * never change, so they render once.
 */
export const KeyLine = memo(function KeyLine() {
  return (
    <Box flexDirection="column">
      <KeyRow keys={CONTROL_KEYS} />
      <KeyRow label="faults:" keys={FAULT_KEYS} />
    </Box>
  );
});

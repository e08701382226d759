import { Text } from 'ink';
import { memo } from 'react';

const KEYS: ReadonlyArray<readonly [key: string, action: string]> = [
  ['↑/↓ 1-9', 'select'],
  ['k', 'kill'],
  ['r', 'restart'],
  ['s', 'slow'],
  ['e', 'errors'],
  ['h', 'health-fail'],
  ['d', 'drain'],
  ['a', 'algo'],
  ['w', 'weight'],
  ['+/-', 'concurrency'],
  ['p', 'pause'],
  ['q', 'quit'],
];

/** The key bindings at the foot of the dashboard (wrapping onto a second line on narrow terminals); they never change, so they render once. */
export const KeyLine = memo(function KeyLine() {
  return (
    <Text wrap="wrap">
      {KEYS.map(([key, action], i) => (
        <Text key={key}>
          {i > 0 ? '  ' : ''}
          <Text bold>{key}</Text> <Text dimColor>{action}</Text>
        </Text>
      ))}
    </Text>
  );
});

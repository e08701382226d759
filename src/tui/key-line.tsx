import { Text } from 'ink';
import { memo } from 'react';

const KEYS: ReadonlyArray<readonly [key: string, action: string]> = [
  ['↑/↓ 1-9', 'select'],
  ['k', 'kill'],
  ['r', 'restart'],
  ['s', 'slow'],
  ['e', 'errors'],
  ['h', 'health-fail'],
  ['+/-', 'concurrency'],
  ['p', 'pause'],
  ['q', 'quit'],
];

/** The line of key bindings at the foot of the dashboard; it never changes, so it renders once. */
export const KeyLine = memo(function KeyLine() {
  return (
    <Text wrap="truncate">
      {KEYS.map(([key, action], i) => (
        <Text key={key}>
          {i > 0 ? '  ' : ''}
          <Text bold>{key}</Text> <Text dimColor>{action}</Text>
        </Text>
      ))}
    </Text>
  );
});

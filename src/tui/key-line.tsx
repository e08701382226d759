import { Box, Text } from 'ink';
import { memo } from 'react';
import { keyLabels, type KeyLabel } from './keymap.js';

function KeyRow({ label, keys }: { label?: string; keys: readonly KeyLabel[] }) {
  return (
    <Text wrap="wrap">
      {label !== undefined ? <Text dimColor>{label} </Text> : null}
      {keys.map(({ keys: key, action }, i) => (
        <Text key={key}>
          {i > 0 ? '  ' : ''}
          <Text bold>{key}</Text> <Text dimColor>{action}</Text>
        </Text>
      ))}
    </Text>
  );
}

/**
 * The key bindings at the foot of the dashboard, from the keymap, on two
 * lines (each under 90 columns): the controls, then the faults of the
 * selected backend. They never change, so they render once.
 */
export const KeyLine = memo(function KeyLine() {
  return (
    <Box flexDirection="column">
      <KeyRow keys={keyLabels('controls')} />
      <KeyRow label="faults:" keys={keyLabels('faults')} />
    </Box>
  );
});

import { Box, Text } from 'ink';
import { memo } from 'react';
import { keyLabels, type KeyLabel } from './keymap.js';

/** The gap between two keys of a row. */
const GAP = '  ';

/** The cells `key action` takes on screen. */
const cells = (k: KeyLabel): number => [...k.keys].length + 1 + [...k.action].length;

/**
 * `keys` packed into lines of at most `width` cells, a key and its action
 * never split across lines; the first line starts after `label` when there
 * is one, the others are indented under it.
 */
export function packKeys(keys: readonly KeyLabel[], width: number, label = ''): KeyLabel[][] {
  const indent = label === '' ? 0 : [...label].length + 1;
  const lines: KeyLabel[][] = [[]];
  let used = indent;
  for (const k of keys) {
    const line = lines[lines.length - 1]!;
    const need = (line.length > 0 ? GAP.length : 0) + cells(k);
    if (line.length > 0 && used + need > width) {
      lines.push([k]);
      used = indent + cells(k);
    } else {
      line.push(k);
      used += need;
    }
  }
  return lines;
}

function KeyRow({ label, keys, width }: { label?: string; keys: readonly KeyLabel[]; width: number }) {
  const lines = packKeys(keys, width, label ?? '');
  return (
    <>
      {lines.map((line, n) => (
        <Text key={n} wrap="truncate">
          {label !== undefined ? <Text dimColor>{n === 0 ? `${label} ` : ' '.repeat([...label].length + 1)}</Text> : null}
          {line.map(({ keys: key, action }, i) => (
            <Text key={key}>
              {i > 0 ? GAP : ''}
              <Text bold>{key}</Text> <Text dimColor>{action}</Text>
            </Text>
          ))}
        </Text>
      ))}
    </>
  );
}

/**
 * The key bindings at the foot of the dashboard, from the keymap: the
 * controls (with `pair`, the keys of two balancers too), then the faults of the selected backend, each packed into lines
 * of at most `width` cells (the terminal's width), a binding never split.
 */
export const KeyLine = memo(function KeyLine({ width = 100, pair = false }: { width?: number; pair?: boolean }) {
  return (
    <Box flexDirection="column">
      <KeyRow keys={keyLabels('controls', pair)} width={width} />
      <KeyRow label="faults:" keys={keyLabels('faults')} width={width} />
    </Box>
  );
});

/** How many lines {@link KeyLine} takes at `width`. */
export function keyLineRows(width: number, pair = false): number {
  return packKeys(keyLabels('controls', pair), width).length + packKeys(keyLabels('faults'), width, 'faults:').length;
}

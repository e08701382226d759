import { Box, Text } from 'ink';
import { FAULT_REGISTRY, isFaultName, RECOVER } from '../backend/faults.js';
import type { RunEvent } from '../metrics/run-record.js';
import { formatAt } from '../report/format.js';
import { FAULT_TONE_COLOUR } from './fault-tone-colour.js';
import { pad, widest } from './pad.js';

/** Props of {@link EventLog}: the run's events, newest last, and how many of the newest to show (default 6). */
export type EventLogProps = { events: readonly RunEvent[]; limit?: number };

/**
 * Colour of an event type: health going down and lost processes red, coming
 * back green, faults in their registry tone (on: yellow; cleared or
 * recovered: green), a pause yellow; any other type neutral.
 */
function colourOf(type: string): string | undefined {
  if (isFaultName(type)) return FAULT_TONE_COLOUR[FAULT_REGISTRY[type].tone];
  if (type === RECOVER.name) return FAULT_TONE_COLOUR[RECOVER.tone];
  switch (type) {
    case 'down':
    case 'kill':
    case 'exit':
    case 'error':
      return 'red';
    case 'up':
    case 'started':
      return 'green';
    case 'pause':
      return 'yellow';
    default:
      return type.endsWith('-off') ? FAULT_TONE_COLOUR.good : undefined;
  }
}

/** The newest events, one line each: time since start (`+12.3s`), type, target backend and detail. */
export function EventLog({ events, limit = 6 }: EventLogProps) {
  const shown = events.slice(-limit);
  if (shown.length === 0) return <Text dimColor>no events yet</Text>;
  const atWidth = widest(shown.map((e) => formatAt(e.atMs)));
  const typeWidth = widest(shown.map((e) => e.type), 7);
  const targetWidth = widest(shown.map((e) => e.target ?? ''));
  return (
    <Box flexDirection="column">
      {shown.map((e, i) => (
        <Text key={`${e.atMs}-${i}`} wrap="truncate">
          <Text dimColor>{pad(formatAt(e.atMs), atWidth, 'right')}</Text>{' '}
          <Text bold={colourOf(e.type) !== undefined} color={colourOf(e.type)}>
            {pad(e.type, typeWidth)}
          </Text>{' '}
          {targetWidth > 0 ? `${pad(e.target ?? '', targetWidth)} ` : ''}
          {e.detail ?? ''}
        </Text>
      ))}
    </Box>
  );
}

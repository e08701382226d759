import { Box, Text } from 'ink';
import { formatDuration, formatPct, formatRate } from '../report/format.js';
import type { RunSnapshot } from '../session/snapshot.js';

/** Props of {@link Header}: the snapshot to describe. */
export type HeaderProps = { snapshot: RunSnapshot };

/**
 * The dashboard's two header lines: algorithm, listen URL and elapsed time
 * (against the planned duration when there is one); then load in req/s,
 * concurrency or, in the open model, the scheduled rate (PAUSED when load is paused), error rate over the last second
 * and the total of requests.
 */
export function Header({ snapshot: s }: HeaderProps) {
  const elapsed = formatDuration(s.elapsedMs) + (s.durationMs > 0 ? ` / ${formatDuration(s.durationMs)}` : '');
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold color="cyan">lblab</Text>
        {'  '}
        <Text bold>{s.algo}</Text>
        {'  '}
        {s.listen}
        {'  '}
        <Text dimColor>elapsed</Text> {elapsed}
      </Text>
      <Text wrap="truncate">
        <Text bold>{formatRate(s.rps)}</Text> req/s{'  '}
        {s.rate !== undefined ? (
          <>
            <Text dimColor>rate</Text> {formatRate(s.rate)}/s
          </>
        ) : (
          <>
            <Text dimColor>concurrency</Text> {s.concurrency}
          </>
        )}
        {s.paused ? (
          <Text bold color="yellow">
            {'  '}PAUSED
          </Text>
        ) : null}
        {'  '}
        <Text dimColor>error rate</Text> <Text color={s.errorRate > 0 ? 'red' : undefined}>{formatPct(s.errorRate)}</Text>
        {'  '}
        <Text dimColor>requests</Text> {s.requests}
      </Text>
    </Box>
  );
}

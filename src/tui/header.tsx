import { Box, Text } from 'ink';
import { formatDuration, formatPct, formatRate } from '../report/format.js';
import type { RunSnapshot } from '../session/snapshot.js';

/** The pools whose algorithm is not the run's, in words: `/static weighted`; '' when none. */
function ownAlgorithms(s: RunSnapshot): string {
  return (s.pools ?? [])
    .filter((p) => p.algo !== s.algo)
    .map((p) => `${p.name} ${p.algo}`)
    .join(', ');
}

/** Props of {@link Header}: the snapshot to describe. */
export type HeaderProps = { snapshot: RunSnapshot };

/**
 * The dashboard's two header lines: algorithm (with the pools that pick by
 * another one of their own, when routed), listen URL and elapsed time
 * (against the planned duration when there is one); then load in req/s,
 * concurrency (PAUSED when load is paused), error rate over the last second
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
        {ownAlgorithms(s) ? <Text dimColor> ({ownAlgorithms(s)})</Text> : null}
        {'  '}
        {s.listen}
        {'  '}
        <Text dimColor>elapsed</Text> {elapsed}
      </Text>
      <Text wrap="truncate">
        <Text bold>{formatRate(s.rps)}</Text> req/s{'  '}
        <Text dimColor>concurrency</Text> {s.concurrency}
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

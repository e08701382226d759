import { Box, Text } from 'ink';
import { formatMs } from '../report/format.js';
import type { RunSnapshot } from '../session/snapshot.js';
import { pad, widest } from './pad.js';

/** Cells of the longest histogram bar. */
const MAX_BAR = 30;

/** Props of {@link LatencyChart}: the snapshot's latency histogram and percentiles (ms); `folded` shows the percentile line alone (a small terminal). */
export type LatencyChartProps = {
  latency: RunSnapshot['latency'];
  folded?: boolean;
  /** What the histogram times: `responses` (default), or `echoes` of WebSocket messages (the echo round trip). */
  of?: 'responses' | 'echoes';
};

/** The lines {@link LatencyChart} takes unfolded: one per bucket from the first to the last non-empty one, and the percentile line. */
export function latencyChartRows(latency: RunSnapshot['latency']): number {
  const first = latency.counts.findIndex((c) => c > 0);
  const last = latency.counts.findLastIndex((c) => c > 0);
  return first === -1 ? 2 : last - first + 2;
}

/** Bucket labels: `≤1ms` … `≤2000ms` for the upper edges, `>2000ms` for the last, open bucket. */
function bucketLabel(edgesMs: readonly number[], i: number): string {
  const edge = edgesMs[i];
  if (edge !== undefined) return `≤${edge}ms`;
  return `>${edgesMs[edgesMs.length - 1] ?? 0}ms`;
}

/**
 * The latency histogram: one line per bucket (`counts[i]` responses at most
 * `edgesMs[i]` ms, the last bucket open), a bar scaled to the fullest bucket
 * (at most 30 cells) and the count; empty buckets before the first and after
 * the last non-empty one are left out. Ends with a p50/p90/p99/max line
 * (`rtt p50 …` for echoes).
 */
export function LatencyChart({ latency, folded = false, of = 'responses' }: LatencyChartProps) {
  const { edgesMs, counts } = latency;
  const first = folded ? -1 : counts.findIndex((c) => c > 0);
  const last = counts.findLastIndex((c) => c > 0);
  const shown = first === -1 ? [] : counts.slice(first, last + 1).map((count, k) => ({ label: bucketLabel(edgesMs, first + k), count }));
  const max = Math.max(1, ...shown.map((b) => b.count));
  const labelWidth = widest(shown.map((b) => b.label));
  return (
    <Box flexDirection="column">
      {shown.length === 0 && !folded ? <Text dimColor>{of === 'echoes' ? 'echo round trip: no echoes yet' : 'latency: no responses yet'}</Text> : null}
      {shown.map((b) => {
        const cells = b.count > 0 ? Math.max(1, Math.round((b.count / max) * MAX_BAR)) : 0;
        return (
          <Text key={b.label} wrap="truncate">
            <Text dimColor>{pad(b.label, labelWidth, 'right')}</Text> <Text color="cyan">{pad('█'.repeat(cells), MAX_BAR)}</Text> {b.count}
          </Text>
        );
      })}
      <Text wrap="truncate">
        {of === 'echoes' ? <Text dimColor>echo round trip  </Text> : null}
        <Text dimColor>p50</Text> {formatMs(latency.p50)}
        {'  '}
        <Text dimColor>p90</Text> {formatMs(latency.p90)}
        {'  '}
        <Text dimColor>p99</Text> {formatMs(latency.p99)}
        {'  '}
        <Text dimColor>max</Text> {formatMs(latency.max)}
      </Text>
    </Box>
  );
}

import type { RunRecord } from '../../metrics/run-record.js';
import type { HistogramBlock, Section } from '../blocks.js';

/** The overall latency histogram from the record's buckets, empty buckets at either end left out. */
export function latencyHistogramSection(r: RunRecord): Section | undefined {
  const { edgesMs, counts } = r.totals.latencyBuckets;
  const first = counts.findIndex((n) => n > 0);
  if (first < 0) return undefined;
  let last = counts.length - 1;
  while (counts[last] === 0) last--;
  const total = counts.reduce((a, b) => a + b, 0);
  const bars: HistogramBlock['bars'] = [];
  for (let i = first; i <= last; i++) {
    const label = i < edgesMs.length ? `≤${edgesMs[i]}ms` : `>${edgesMs[edgesMs.length - 1]}ms`;
    const count = counts[i]!;
    bars.push({ label, count, share: count / total });
  }
  return { id: 'latency', title: 'Latency', subtitle: 'requests per latency bucket, all backends', blocks: [{ kind: 'histogram', bars }] };
}

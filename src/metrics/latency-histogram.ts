import { build, type Histogram } from 'hdr-histogram-js';

/** Highest latency a histogram tracks: 5 minutes, in µs. Larger values are clamped to it. */
export const MAX_TRACKABLE_US = 300_000_000;

/** Latency percentiles in milliseconds (µs resolution, so fractional). */
export type LatencySummary = { p50: number; p90: number; p99: number; p999: number; p9999?: number; max: number };

/** Upper edges (ms) of the buckets the dashboard and report draw; the last bucket is open-ended. */
export const LATENCY_BUCKET_EDGES_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000] as const;

/**
 * A fixed-size latency histogram (hdr-histogram-js, 3 significant digits,
 * 1 µs … 5 min, no auto-resize), so memory does not grow with run length.
 * Values are recorded in microseconds and reported in milliseconds.
 */
export class LatencyHistogram {
  private readonly hist: Histogram;

  constructor() {
    this.hist = build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: MAX_TRACKABLE_US,
      numberOfSignificantValueDigits: 3,
      bitBucketSize: 32,
      autoResize: false,
      useWebAssembly: false,
    });
  }

  /** Records one latency in µs; values outside 1 µs … 5 min are clamped. */
  record(us: number): void {
    this.hist.recordValue(us < 1 ? 1 : us > MAX_TRACKABLE_US ? MAX_TRACKABLE_US : Math.round(us));
  }

  /** Number of values recorded. */
  get count(): number {
    return this.hist.totalCount;
  }

  /** The value (ms) at percentile `p` (0..100); 0 when empty. */
  percentileMs(p: number): number {
    return this.hist.totalCount === 0 ? 0 : this.hist.getValueAtPercentile(p) / 1000;
  }

  /** p50/p90/p99/p99.9/p99.99/max in ms. */
  summary(): LatencySummary {
    return {
      p50: this.percentileMs(50),
      p90: this.percentileMs(90),
      p99: this.percentileMs(99),
      p999: this.percentileMs(99.9),
      p9999: this.percentileMs(99.99),
      max: this.hist.totalCount === 0 ? 0 : this.hist.maxValue / 1000,
    };
  }

  /**
   * Counts per bucket of {@link LATENCY_BUCKET_EDGES_MS}: element i counts
   * values ≤ edge i (and > edge i−1); the last element counts values above
   * the last edge. Read from the histogram's own counts.
   */
  bucketCounts(): number[] {
    const hist = this.hist as unknown as { countsArrayIndex(v: number): number; getCountAtIndex(i: number): number; countsArrayLength: number };
    const counts: number[] = [];
    let from = 0;
    for (const edgeMs of LATENCY_BUCKET_EDGES_MS) {
      const to = Math.min(hist.countsArrayIndex(edgeMs * 1000), hist.countsArrayLength - 1);
      let sum = 0;
      for (let i = from; i <= to; i++) sum += hist.getCountAtIndex(i);
      counts.push(sum);
      from = to + 1;
    }
    let rest = 0;
    for (let i = from; i < hist.countsArrayLength; i++) rest += hist.getCountAtIndex(i);
    counts.push(rest);
    return counts;
  }

  /** Adds every value of `other` into this histogram. */
  add(other: LatencyHistogram): void {
    this.hist.add(other.hist);
  }

  /** Approximate memory held, in bytes. */
  get footprintBytes(): number {
    return this.hist.estimatedFootprintInBytes;
  }
}

/**
 * Per-client rate limiting as nginx `limit_req zone=… rate=R burst=B
 * nodelay`: each client IP has a token bucket that refills at `R` tokens a
 * second and holds `B + 1` (nginx admits the request the rate allows plus
 * `burst` excess ones at once, none delayed); a request that finds no whole
 * token is refused with 429 and never reaches a backend.
 */

/** `--rate-limit R/s[:burst]`: the refill rate in requests per second (> 0) and the burst (≥ 0 extra requests at once). */
export type RateLimitConfig = { ratePerSecond: number; burst: number };

/** Most client buckets kept at once; past it the least recently seen client is forgotten (a full bucket, as for a new one). */
export const DEFAULT_MAX_BUCKETS = 100_000;

type Bucket = { tokens: number; atMs: number };

/**
 * The buckets of every client IP, bounded in memory: a bucket idle long
 * enough to have refilled carries nothing a new one would not, so such
 * buckets are dropped as they age (oldest first), and past `maxBuckets` the
 * least recently seen is dropped whatever its level.
 */
export class RateLimiter {
  /** Clients by IP, least recently seen first (a hit moves its key to the end). */
  private readonly buckets = new Map<string, Bucket>();
  private readonly capacity: number;
  /** How long (ms) an empty bucket takes to fill up: after that idle time it is forgettable. */
  private readonly refillMs: number;

  constructor(
    readonly config: RateLimitConfig,
    private readonly maxBuckets = DEFAULT_MAX_BUCKETS,
  ) {
    this.capacity = config.burst + 1;
    this.refillMs = (this.capacity / config.ratePerSecond) * 1000;
  }

  /** Client buckets held now. */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Takes one token from `ip`'s bucket at `nowMs` (any monotonic ms clock).
   * Returns 0 when the request may pass, else the whole seconds (≥ 1) until
   * a token is there again: the `Retry-After` to answer with.
   */
  take(ip: string, nowMs: number): number {
    let b = this.buckets.get(ip);
    if (b) {
      b.tokens = Math.min(this.capacity, b.tokens + ((nowMs - b.atMs) * this.config.ratePerSecond) / 1000);
      b.atMs = nowMs;
      this.buckets.delete(ip);
    } else {
      b = { tokens: this.capacity, atMs: nowMs };
      this.forgetIdle(nowMs);
    }
    this.buckets.set(ip, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.config.ratePerSecond));
  }

  /** Drops buckets that have refilled by now (oldest first), then the oldest past the bound, to make room for one more. */
  private forgetIdle(nowMs: number): void {
    for (const [ip, b] of this.buckets) {
      if (nowMs - b.atMs < this.refillMs && this.buckets.size < this.maxBuckets) break;
      this.buckets.delete(ip);
    }
  }
}

/** The rate in words: `100/s burst 20`; under one a second, per minute: `30/m`. */
export function formatRateLimit(c: RateLimitConfig): string {
  const rate = c.ratePerSecond < 1 ? `${round(c.ratePerSecond * 60)}/m` : `${round(c.ratePerSecond)}/s`;
  return c.burst > 0 ? `${rate} burst ${c.burst}` : rate;
}

function round(v: number): string {
  return String(Math.round(v * 100) / 100);
}

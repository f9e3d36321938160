/**
 * A token bucket per caller (API key id, or client address for public routes): `ratePerSecond`
 * tokens refill continuously up to `burst`; a request takes one token or is refused.
 * In-process: with several API instances the effective limit is per instance.
 */
export interface RateLimitOptions {
  ratePerSecond: number;
  burst: number;
  /** Bound on tracked callers; idle full buckets are dropped first (default 100 000). */
  maxBuckets?: number;
  now?: () => number;
}

export interface RateLimiter {
  /** Takes one token; returns 0 when allowed, else the seconds until a token is available. */
  take(caller: string): number;
}

export function createRateLimiter(opts: RateLimitOptions): RateLimiter {
  const { ratePerSecond, burst } = opts;
  const maxBuckets = opts.maxBuckets ?? 100_000;
  const now = opts.now ?? Date.now;
  const buckets = new Map<string, { tokens: number; at: number }>();

  function evict(t: number): void {
    // Drop buckets that have refilled completely: forgetting them changes nothing.
    for (const [k, b] of buckets) {
      if (b.tokens + ((t - b.at) / 1000) * ratePerSecond >= burst) buckets.delete(k);
    }
    // Still full of active callers: forget the oldest (fails open for them, never closed).
    while (buckets.size >= maxBuckets) buckets.delete(buckets.keys().next().value as string);
  }

  return {
    take(caller) {
      const t = now();
      let b = buckets.get(caller);
      if (!b) {
        if (buckets.size >= maxBuckets) evict(t);
        b = { tokens: burst, at: t };
        buckets.set(caller, b);
      } else {
        b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * ratePerSecond);
        b.at = t;
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - b.tokens) / ratePerSecond));
    },
  };
}

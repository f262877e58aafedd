/**
 * Per-client rate limits: one token bucket per key (a token id, or an address for callers who are
 * not authenticated, which also throttles failed sign-ins). Held in the memory of each replica: a
 * limit of N per second per replica. Pure: the caller passes the time.
 */
export interface RateLimit {
  /** Requests per second, refilled continuously. */
  perSecond: number;
  /** How many may come at once after a quiet spell. */
  burst: number;
}

export type Take = { ok: true } | { ok: false; retryAfterSeconds: number };

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limit: RateLimit,
    /** Keys kept at most; the least recently refilled go first (a flood of addresses cannot grow memory). */
    private readonly maxKeys = 10_000,
  ) {}

  /** Take one request for `key` at `nowMs`: allowed, or how long until one is. */
  take(key: string, nowMs: number): Take {
    const { perSecond, burst } = this.limit;
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key);
      b.tokens = Math.min(burst, b.tokens + (Math.max(0, nowMs - b.at) / 1000) * perSecond);
      b.at = nowMs;
    } else {
      b = { tokens: burst, at: nowMs };
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / perSecond)) };
  }
}

export const DEFAULT_TOKEN_RATE_LIMIT: RateLimit = { perSecond: 1000, burst: 2000 };
export const DEFAULT_ADDRESS_RATE_LIMIT: RateLimit = { perSecond: 100, burst: 1000 };

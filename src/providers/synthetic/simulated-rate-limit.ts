/** The outcome of one request against the simulated server's limit. */
export type RateLimitDecision =
  { readonly admitted: true } | { readonly admitted: false; readonly retryAfterMs: number };

/** One token in the bucket's unit, which refills by exactly `requestsPerMinute` per millisecond. */
const TOKEN = 60_000;
/** Absorbs float error from fractional clocks or limits, so waiting the advertised time is enough. */
const EPSILON = 1e-6;

/**
 * A server-side token bucket, as a real API enforces it: capacity `burst`, refilled at
 * `requestsPerMinute / 60` tokens a second, starting full. Time comes from the caller (a monotonic
 * clock in milliseconds), so tests drive it with a fake one. The level is kept in 1/60 000 of a
 * token so that whole-millisecond clocks and whole-number limits compute exact waits.
 */
export class SimulatedRateLimit {
  private level: number;
  private last: number | undefined;

  constructor(
    readonly requestsPerMinute: number,
    readonly burst: number,
    /** A fixed Retry-After to answer with, like servers that always say "60"; else the exact wait. */
    readonly retryAfterMs?: number,
  ) {
    this.level = burst * TOKEN;
  }

  /** Takes a token at `now` if there is one; otherwise says how long until there will be. */
  take(now: number): RateLimitDecision {
    if (this.last === undefined) {
      this.last = now;
    } else if (now > this.last) {
      this.level = Math.min(
        this.burst * TOKEN,
        this.level + (now - this.last) * this.requestsPerMinute,
      );
      this.last = now;
    }
    if (this.level >= TOKEN - EPSILON) {
      this.level -= TOKEN;
      return { admitted: true };
    }
    const wait = Math.max(1, Math.ceil((TOKEN - this.level) / this.requestsPerMinute - EPSILON));
    return { admitted: false, retryAfterMs: this.retryAfterMs ?? wait };
  }
}

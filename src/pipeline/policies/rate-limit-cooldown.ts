import type { Timing } from '../timing.js';

/** First pause after a 429 for a provider without a `pacing:` block (its own is cooldown_seconds). */
export const DEFAULT_COOLDOWN_MS = 1_000;

/**
 * The shortest pause after a 429, whatever `cooldown_seconds` or `max_retry_after` say: a
 * `cooldown_seconds: 0` (0 doubled is still 0) or a cap of a few milliseconds would otherwise send
 * the next request at once, hammering the provider that just asked for less.
 */
export const MIN_COOLDOWN_MS = 1_000;

/** Settings of one provider's cooldown, from its `pacing:` config or the defaults. */
export interface RateLimitCooldownOptions {
  /** Pause after a first 429 (never below MIN_COOLDOWN_MS); each consecutive 429 doubles it. */
  readonly cooldownMs: number;
  /**
   * Longest wait: where the doubling stops (never below MIN_COOLDOWN_MS), and the most a server's
   * Retry-After may ask for.
   */
  readonly maxRetryAfterMs: number;
}

/**
 * How long one provider rests after it answers 429, shared by every request of the process to
 * it: the cooldown (at least MIN_COOLDOWN_MS) doubles with each consecutive 429 (up to maxRetryAfterMs) and starts over after
 * a success, and a server's longer Retry-After wins. Requests already in flight when a 429 comes
 * back were sent too early to learn from it: their 429s do not double the pause again.
 */
export class RateLimitCooldown {
  private consecutive = 0;
  private lastRateLimitAt = -Infinity;
  private pausedUntil = -Infinity;

  constructor(
    private settings: RateLimitCooldownOptions,
    private readonly timing: Timing,
  ) {}

  get options(): RateLimitCooldownOptions {
    return this.settings;
  }

  /**
   * New settings for the same provider (a reload): the pause the server asked for and the run of
   * consecutive 429s are the server's, not the config's, so both stay.
   */
  reconfigure(options: RateLimitCooldownOptions): void {
    this.settings = options;
  }

  /** The longest pause a run of 429s without Retry-After reaches: where the doubling stops. */
  get longestPauseMs(): number {
    return Math.max(MIN_COOLDOWN_MS, this.options.maxRetryAfterMs);
  }

  /** Resolves once the provider's current pause, if any, is over. */
  async wait(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const left = this.pausedUntil - this.timing.monotonic();
      if (left <= 0) return;
      // Another request's 429 may have lengthened the pause while this one slept.
      await this.timing.sleep(left, signal);
    }
  }

  /**
   * Records a 429 to a request sent at `sentAt` (monotonic) and returns how long the provider now
   * rests, in milliseconds. The caller refuses a Retry-After above maxRetryAfterMs beforehand.
   */
  rateLimited(sentAt: number, retryAfterMs: number | undefined): number {
    const now = this.timing.monotonic();
    if (sentAt > this.lastRateLimitAt) this.consecutive += 1;
    this.lastRateLimitAt = now;
    // Past 2^64 the cap has long been reached; the bound keeps 0 * 2^1024 from being NaN.
    const growth = 2 ** Math.min(this.consecutive - 1, 64);
    const base = Math.max(MIN_COOLDOWN_MS, this.options.cooldownMs);
    const cooldown = Math.min(this.longestPauseMs, base * growth);
    const waitMs = Math.max(cooldown, retryAfterMs ?? 0);
    this.pausedUntil = Math.max(this.pausedUntil, now + waitMs);
    return waitMs;
  }

  /** A request sent at `sentAt` succeeded: the next 429 starts from the base cooldown again. */
  succeeded(sentAt: number): void {
    if (sentAt > this.lastRateLimitAt) this.consecutive = 0;
  }
}

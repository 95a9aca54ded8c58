import { DEFAULT_MAX_RETRY_AFTER_MS, type PacingConfig } from '../../core/config/config-schema.js';
import type { Timing } from '../timing.js';
import { DEFAULT_COOLDOWN_MS, RateLimitCooldown } from './rate-limit-cooldown.js';
import { TokenBucket } from './token-bucket.js';

/** One token bucket and one 429 cooldown per provider, shared by every job and chunk of the process. */
export class PacingRegistry {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly cooldowns = new Map<string, RateLimitCooldown>();

  constructor(private readonly timing: Timing) {}

  /** The provider's bucket, or undefined when its `pacing:` sets no rate (unpaced). */
  bucketFor(provider: string, pacing: PacingConfig | undefined): TokenBucket | undefined {
    if (pacing?.requests_per_minute === undefined) return undefined;
    let bucket = this.buckets.get(provider);
    if (!bucket) {
      bucket = new TokenBucket(
        { burst: pacing.burst, requestsPerMinute: pacing.requests_per_minute },
        this.timing,
      );
      this.buckets.set(provider, bucket);
    }
    return bucket;
  }

  /** The provider's 429 cooldown: every provider has one, with defaults when `pacing:` is absent. */
  cooldownFor(provider: string, pacing: PacingConfig | undefined): RateLimitCooldown {
    let cooldown = this.cooldowns.get(provider);
    if (!cooldown) {
      cooldown = new RateLimitCooldown(
        {
          cooldownMs: pacing ? pacing.cooldown_seconds * 1000 : DEFAULT_COOLDOWN_MS,
          maxRetryAfterMs: pacing?.max_retry_after ?? DEFAULT_MAX_RETRY_AFTER_MS,
        },
        this.timing,
      );
      this.cooldowns.set(provider, cooldown);
    }
    return cooldown;
  }

  /**
   * Drops the provider's bucket and cooldown (its `pacing:` changed or went away): the next run
   * builds them from its config. Runs still holding the old ones finish with them.
   */
  forget(provider: string): void {
    this.buckets.delete(provider);
    this.cooldowns.delete(provider);
  }
}

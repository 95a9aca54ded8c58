import { DEFAULT_MAX_RETRY_AFTER_MS, type PacingConfig } from '../../core/config/config-schema.js';
import type { StoreError } from '../../core/errors.js';
import type { ProviderBudgets } from '../../store/provider-budgets.js';
import type { Timing } from '../timing.js';
import { DEFAULT_COOLDOWN_MS, RateLimitCooldown } from './rate-limit-cooldown.js';
import { sharedBucketRate, StoreTokenBucket } from './store-token-bucket.js';
import { TokenBucket, type PacingBucket } from './token-bucket.js';

/** Where `pacing.scope: store` budgets live, for a registry that shares them. */
export interface SharedBudgets {
  readonly budgets: ProviderBudgets;
  /** The store could not answer a take or a pause: the provider is paced in-process meanwhile. */
  readonly onStoreUnavailable?: (provider: string, error: StoreError) => void;
}

/**
 * One bucket and one 429 cooldown per provider, shared by every job and chunk of the process. With
 * `shared` budgets, a provider whose `pacing.scope` is `store` (the default) draws from the store's
 * bucket instead, shared with every process on the store; without, every bucket is in-process.
 */
export class PacingRegistry {
  private readonly buckets = new Map<string, PacingBucket | undefined>();
  private readonly cooldowns = new Map<string, RateLimitCooldown>();

  constructor(
    private readonly timing: Timing,
    private readonly shared?: SharedBudgets,
  ) {}

  /**
   * The provider's bucket. Undefined for an in-process provider without a rate (unpaced); a
   * store-scoped one always has one, as a 429's pause is shared through it even without a rate.
   */
  bucketFor(provider: string, pacing: PacingConfig | undefined): PacingBucket | undefined {
    if (this.buckets.has(provider)) return this.buckets.get(provider);
    const bucket = this.newBucket(provider, pacing);
    this.buckets.set(provider, bucket);
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

  private newBucket(provider: string, pacing: PacingConfig | undefined): PacingBucket | undefined {
    const perMinute = pacing?.requests_per_minute;
    const local =
      perMinute === undefined
        ? undefined
        : new TokenBucket({ burst: pacing?.burst ?? 1, requestsPerMinute: perMinute }, this.timing);
    const shared = this.shared;
    if (shared === undefined || (pacing?.scope ?? 'store') === 'process') return local;
    const cooldown = this.cooldownFor(provider, pacing);
    return new StoreTokenBucket({
      provider,
      budgets: shared.budgets,
      rate: perMinute === undefined ? undefined : sharedBucketRate(pacing?.burst ?? 1, perMinute),
      // Without a rate, the process's own cooldown is what paces it while the store is away.
      fallback: local ?? {
        acquire: (signal) => cooldown.wait(signal),
        pause: () => undefined,
        estimateMs: () => 0,
      },
      timing: this.timing,
      onStoreUnavailable: (error) => shared.onStoreUnavailable?.(provider, error),
    });
  }
}

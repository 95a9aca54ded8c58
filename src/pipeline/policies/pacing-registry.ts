import { isDeepStrictEqual } from 'node:util';
import { DEFAULT_MAX_RETRY_AFTER_MS, type PacingConfig } from '../../core/config/config-schema.js';
import type { Timing } from '../timing.js';
import { ProviderBucket, type SharedBudgets } from './provider-bucket.js';
import {
  DEFAULT_COOLDOWN_MS,
  RateLimitCooldown,
  type RateLimitCooldownOptions,
} from './rate-limit-cooldown.js';

export type { SharedBudgets } from './provider-bucket.js';

/** One provider's pacing state and the `pacing:` it now follows. */
interface ProviderPacing {
  pacing: PacingConfig | undefined;
  readonly cooldown: RateLimitCooldown;
  readonly bucket: ProviderBucket;
}

/**
 * One bucket and one 429 cooldown per provider, shared by every job and chunk of the process. With
 * `shared` budgets, a provider whose `pacing.scope` is `store` (the default) draws from the store's
 * bucket instead, shared with every process on the store; without, every bucket is in-process.
 *
 * Both live as long as the process: a reload (or a run composed from a newer config) reconfigures
 * them in place, as what they hold is the server's state (the requests it just saw, the pause it
 * asked for), which no config change resets. A provider removed from the config keeps its state
 * here, so one added back later finds its pause.
 */
export class PacingRegistry {
  private readonly providers = new Map<string, ProviderPacing>();

  constructor(
    private readonly timing: Timing,
    private readonly shared?: SharedBudgets,
  ) {}

  /**
   * The provider's bucket, moved to `pacing` if it was built for another. Without a rate and
   * in-process (kind `unpaced`), only the provider's cooldown holds it.
   */
  bucketFor(provider: string, pacing: PacingConfig | undefined): ProviderBucket {
    return this.entry(provider, pacing).bucket;
  }

  /** The provider's 429 cooldown: every provider has one, with defaults when `pacing:` is absent. */
  cooldownFor(provider: string, pacing: PacingConfig | undefined): RateLimitCooldown {
    return this.entry(provider, pacing).cooldown;
  }

  /**
   * Moves the provider's bucket and cooldown to `pacing` now, for every run holding them (a
   * followed live job holds them for as long as it runs). Nothing to do for a provider no run
   * has used: its first use builds them from its config.
   */
  reconfigure(provider: string, pacing: PacingConfig | undefined): void {
    const known = this.providers.get(provider);
    if (known === undefined || isDeepStrictEqual(known.pacing, pacing)) return;
    known.pacing = pacing;
    known.cooldown.reconfigure(cooldownOptions(pacing));
    known.bucket.reconfigure(pacing);
  }

  private entry(provider: string, pacing: PacingConfig | undefined): ProviderPacing {
    this.reconfigure(provider, pacing);
    let entry = this.providers.get(provider);
    if (!entry) {
      const cooldown = new RateLimitCooldown(cooldownOptions(pacing), this.timing);
      const bucket = new ProviderBucket(provider, pacing, cooldown, this.timing, this.shared);
      entry = { pacing, cooldown, bucket };
      this.providers.set(provider, entry);
    }
    return entry;
  }
}

function cooldownOptions(pacing: PacingConfig | undefined): RateLimitCooldownOptions {
  return {
    cooldownMs: pacing ? pacing.cooldown_seconds * 1000 : DEFAULT_COOLDOWN_MS,
    maxRetryAfterMs: pacing?.max_retry_after ?? DEFAULT_MAX_RETRY_AFTER_MS,
  };
}

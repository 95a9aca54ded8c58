import type { PacingConfig } from '../../core/config/config-schema.js';
import type { StoreError } from '../../core/errors.js';
import type { ProviderBudgets } from '../../store/provider-budgets.js';
import type { Timing } from '../timing.js';
import type { RateLimitCooldown } from './rate-limit-cooldown.js';
import type { BucketRate } from '../../core/bucket-level.js';
import { sharedBucketRate, StoreTokenBucket, type HeldPacing } from './store-token-bucket.js';
import { TokenBucket, type PacingBucket } from './token-bucket.js';

/** Where `pacing.scope: store` budgets live, for a registry that shares them. */
export interface SharedBudgets {
  readonly budgets: ProviderBudgets;
  /** The store could not answer a take or a pause: the provider is paced in-process meanwhile. */
  readonly onStoreUnavailable?: (provider: string, error: StoreError) => void;
  /**
   * Another process on the store configures the provider stricter, and the budget held this
   * process to that (see StoreTokenBucketOptions.onHeldToStricter).
   */
  readonly onHeldToStricter?: (provider: string, own: BucketRate, held: HeldPacing) => void;
}

/** Where a provider's bucket draws from: the store's shared budget, the process, or nowhere. */
export type ProviderBucketKind = 'store' | 'process' | 'unpaced';

/**
 * One provider's bucket for the whole life of a process, whatever reloads change its `pacing:`.
 * Its state describes the provider's server, not our config (the requests just sent, a pause the
 * server asked for), so a reload must not lose it, and every holder (a followed live job holds
 * its bucket for as long as it runs) must move to the new settings at once: two buckets for one
 * provider would be two budgets. So holders keep this object and `reconfigure` changes what is
 * behind it: the in-process bucket keeps its level and pause under the new rate, the store's
 * takes use the new rate, and only a change of kind (scope, or a rate added or removed) swaps
 * the implementation, to a new one that starts empty (what was sent just before is not known to
 * it).
 */
export class ProviderBucket implements PacingBucket {
  /** The in-process bucket: the bucket itself with scope process, the fallback with store. */
  private local: TokenBucket | undefined;
  private shared: StoreTokenBucket | undefined;
  /**
   * Without a rate, a provider is held only by its 429 cooldown (which keeps its own pause). One
   * object, so `acquire` sees the same implementation before and after its wait.
   */
  private readonly cooldownOnly: PacingBucket = {
    acquire: (signal) => this.cooldown.wait(signal),
    pause: () => undefined,
    estimateMs: () => 0,
  };

  constructor(
    private readonly provider: string,
    pacing: PacingConfig | undefined,
    private readonly cooldown: RateLimitCooldown,
    private readonly timing: Timing,
    private readonly budgets?: SharedBudgets,
  ) {
    this.build(pacing, 'full');
  }

  get kind(): ProviderBucketKind {
    if (this.shared) return 'store';
    return this.local ? 'process' : 'unpaced';
  }

  /** Moves every holder to `pacing` at once; keeps the level and any pause (see the class). */
  reconfigure(pacing: PacingConfig | undefined): void {
    if (this.kindOf(pacing) !== this.kind) {
      this.build(pacing, 'empty');
      return;
    }
    const perMinute = pacing?.requests_per_minute;
    const burst = pacing?.burst ?? 1;
    if (perMinute === undefined) this.local = undefined;
    else if (this.local) this.local.reconfigure({ burst, requestsPerMinute: perMinute });
    else this.local = this.newLocal(burst, perMinute, 'empty');
    this.shared?.reconfigure(
      perMinute === undefined ? undefined : sharedBucketRate(burst, perMinute),
    );
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const inner = this.inner();
      await inner.acquire(signal);
      // A reload swapped the implementation while this waiter queued in the old one: its token
      // is not one of the new budget's, so it queues again there.
      if (inner === this.inner()) return;
    }
  }

  pause(ms: number): void | Promise<void> {
    return this.inner().pause(ms);
  }

  estimateMs(requests: number): number {
    return this.inner().estimateMs(requests);
  }

  private inner(): PacingBucket {
    return this.shared ?? this.localOrCooldown();
  }

  private localOrCooldown(): PacingBucket {
    return this.local ?? this.cooldownOnly;
  }

  private kindOf(pacing: PacingConfig | undefined): ProviderBucketKind {
    if (this.budgets !== undefined && (pacing?.scope ?? 'store') === 'store') return 'store';
    return pacing?.requests_per_minute === undefined ? 'unpaced' : 'process';
  }

  private newLocal(burst: number, perMinute: number, start: 'full' | 'empty'): TokenBucket {
    return new TokenBucket({ burst, requestsPerMinute: perMinute }, this.timing, start);
  }

  private build(pacing: PacingConfig | undefined, start: 'full' | 'empty'): void {
    const perMinute = pacing?.requests_per_minute;
    const burst = pacing?.burst ?? 1;
    this.local = perMinute === undefined ? undefined : this.newLocal(burst, perMinute, start);
    const { budgets } = this;
    if (this.kindOf(pacing) !== 'store' || budgets === undefined) {
      this.shared = undefined;
      return;
    }
    this.shared = new StoreTokenBucket({
      provider: this.provider,
      budgets: budgets.budgets,
      rate: perMinute === undefined ? undefined : sharedBucketRate(burst, perMinute),
      // The process paces itself while the store is away; a reload may change how.
      fallback: {
        acquire: (signal) => this.localOrCooldown().acquire(signal),
        pause: (ms) => this.localOrCooldown().pause(ms),
        estimateMs: (requests) => this.localOrCooldown().estimateMs(requests),
      },
      timing: this.timing,
      onStoreUnavailable: (error) => budgets.onStoreUnavailable?.(this.provider, error),
      onHeldToStricter: (own, held) => budgets.onHeldToStricter?.(this.provider, own, held),
    });
  }
}

import type { BucketRate } from '../core/bucket-level.js';

/** The answer to one take from a provider's shared budget. */
export type BudgetTake = (
  | { readonly granted: true }
  | {
      /** Not now: ask again after `waitMs` (another process may take the token meanwhile). */
      readonly granted: false;
      readonly waitMs: number;
    }
) & {
  /**
   * The stricter rate and burst the budget held this take to, when another process on the store
   * asked for them recently (see HeldRate); absent when the take was held to its own.
   */
  readonly heldTo?: { readonly ratePerMs: number; readonly burst: number };
};

/**
 * One pacing budget per provider, shared by every process on the store (a row of
 * `provider_budgets`), so processes that each pace themselves to a provider's limit do not
 * together exceed it. Each take is atomic across processes and timed by one clock: the
 * database's on PostgreSQL (hosts' clocks may disagree), this host's on SQLite (one file, one
 * host). A granted take is spent, used or not: a process killed before its request costs the
 * budget one token, never more than the rate.
 */
export interface ProviderBudgets {
  /**
   * Takes one token of `provider`'s bucket at `rate`, or at the stricter rate and burst another
   * process asked for recently (see HeldRate): processes configured differently are held to the
   * strictest. The first take creates the row, full. With
   * no rate (a provider without `requests_per_minute`) only a pause holds the take back. Waits
   * for another process's lock on the budget only briefly (see BudgetLockWaits), never blocking
   * the event loop, then fails with a transient MDP_STORE_BUSY StoreError; aborting `signal`
   * gives up at once with its reason.
   */
  take(provider: string, rate: BucketRate | undefined, signal?: AbortSignal): Promise<BudgetTake>;
  /**
   * Pauses `provider` for `ms` for every process (it answered 429); its bucket restarts empty
   * afterwards. A pause ending before one already stored changes nothing.
   */
  pause(provider: string, ms: number): Promise<void>;
}

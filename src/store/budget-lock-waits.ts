import { StoreError } from '../core/errors.js';

/**
 * How long a take waits for its provider's budget while another holds it locked, after the full
 * wait ran out once: long enough for a holder that is merely slow to let go, short enough that a
 * process pacing itself meanwhile still sends several requests a second.
 */
export const BRIEF_BUDGET_LOCK_WAIT_MS = 50;

/**
 * How long takes wait for a provider's budget held locked by another connection, before the
 * caller paces the process alone (StoreTokenBucket's fallback). A holder that outlasts the full
 * wait is taken to be stuck (a process frozen mid-take, a shell left inside a transaction):
 * until a take gets the lock again, each one waits only briefly, or every request would wait out
 * the full wait before its fallback (one request per wait).
 */
export class BudgetLockWaits {
  private readonly stuck = new Set<string>();

  constructor(
    /** What a take waits while the provider's budget is not known to be stuck. */
    private readonly fullMs: number,
  ) {}

  /** How long the next take of `provider` may wait for the lock. */
  waitMs(provider: string): number {
    return this.stuck.has(provider)
      ? Math.min(this.fullMs, BRIEF_BUDGET_LOCK_WAIT_MS)
      : this.fullMs;
  }

  /** A take of `provider` got the lock: the next one waits in full again. */
  got(provider: string): void {
    this.stuck.delete(provider);
  }

  /** A take of `provider` waited out its wait. */
  ranOut(provider: string): void {
    this.stuck.add(provider);
  }
}

/**
 * A take that waited out its wait for `provider`'s budget (`where`: the file or the table); a
 * transient MDP_STORE_BUSY, which StoreTokenBucket meets by pacing the process alone.
 */
export function budgetLockedError(
  storage: string,
  provider: string,
  where: string,
  waitedMs: number,
  cause: unknown,
): StoreError {
  return new StoreError(
    'MDP_STORE_BUSY',
    storage,
    `the shared budget of provider ${provider} (${where}) stayed locked by another connection ` +
      `for ${Math.round(waitedMs)} ms; this process paces ${provider} alone until it is free. ` +
      'Another process is frozen mid-take or holds a long transaction: end it (or let the ' +
      "server's idle timeout end it) to share the budget again.",
    { cause, transient: true },
  );
}

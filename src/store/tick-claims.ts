/** What became of a claimed tick. */
export type TickOutcome = 'ran' | 'skipped' | 'failed' | 'missed';

/** The outcomes a tick may end with, for checks and metrics labels. */
export const TICK_OUTCOMES: readonly TickOutcome[] = ['ran', 'skipped', 'failed', 'missed'];

/**
 * How long a claimant (a service's scheduler) counts as alive after its last beat, by the store's
 * clock. A claim without an outcome whose claimant has not beaten for this long was left by a
 * service that died (SIGKILL, OOM, a kill after TimeoutStopSec): a later service takes it over.
 * Long against the beat (CLAIM_BEAT_MS) so a slow store or a busy event loop never looks dead.
 */
export const CLAIM_LEASE_MS = 60_000;

/** How often a running scheduler beats in the store, well inside CLAIM_LEASE_MS. */
export const CLAIM_BEAT_MS = 15_000;

/**
 * Where a claimant stands on a tick it claimed, checked before it starts the tick's run: `held`
 * (its own, no outcome yet, and its claimant alive), `lapsed` (still its own, but its claimant has
 * not beaten for the lease: another service may take it over at any moment, so beat and ask
 * again), `lost` (taken over by another service, or finished).
 */
export type ClaimStanding = 'held' | 'lapsed' | 'lost';

/** One claimed tick of a scheduled job. Times are epoch milliseconds. */
export interface TickRecord {
  readonly jobName: string;
  /** The tick's time by the job's schedule (not when it was claimed). */
  readonly tickAt: number;
  /** Who claimed it: a service's host, pid and start, for the log and `mdp status`. */
  readonly claimant: string;
  readonly claimedAt: number;
  /** True for a tick missed while no service ran and caught up at a start. */
  readonly catchup: boolean;
  /** Null while the tick is being run (or its claimant died before recording). */
  readonly outcome: TickOutcome | null;
  /**
   * Whether the claimant beat within CLAIM_LEASE_MS, by the store's clock: with no outcome, false
   * means the service that claimed the tick stopped before recording what became of it.
   */
  readonly claimantAlive: boolean;
  /** The run the tick started, if it got that far. */
  readonly runId: number | null;
  /** Why it was skipped or failed, in words. */
  readonly detail: string | null;
  readonly finishedAt: number | null;
}

/** What is recorded when a claimed tick ends. */
export interface TickResult {
  readonly outcome: TickOutcome;
  readonly runId?: number;
  readonly detail?: string;
}

/**
 * The ticks of scheduled jobs claimed in the store, so every service on one store runs each tick
 * once (graphile-worker's known_crontabs, one row per tick here so outcomes can be kept).
 */
export interface TickClaims {
  /**
   * Claims `tickAt` of `jobName` for `claimant`: true only for the first claimer ever, and only
   * while no later tick of the job is claimed (a service that fell behind never runs an older
   * tick after another ran a newer one). Atomic across processes.
   */
  claim(
    jobName: string,
    tickAt: number,
    claimant: string,
    options?: { readonly catchup?: boolean },
  ): Promise<boolean>;
  /**
   * Says that `claimant` is alive now, by the store's clock: its claims without an outcome are
   * its own until it has not beaten for CLAIM_LEASE_MS. A scheduler beats before it claims.
   * Returns how long before this beat its previous one was, by the store's clock (undefined for
   * its first): past CLAIM_LEASE_MS the claimant was judged dead meanwhile (frozen, paused, cut
   * off) and other services may have taken over its claims.
   */
  beat(claimant: string): Promise<number | undefined>;
  /**
   * Where `claimant` stands on its claim of `tickAt` (see ClaimStanding), atomically with any
   * take-over: `held` means no other service can take the claim before the lease runs out again.
   * A claimant runs a claimed tick only when it is held: one frozen between its claim and its run
   * for longer than the lease finds it `lost` (adopted and run by another service).
   */
  standing(jobName: string, tickAt: number, claimant: string): Promise<ClaimStanding>;
  /**
   * Removes `claimant`'s beat when it stops cleanly, unless it still has claims without an
   * outcome (those are left for others to adopt once the lease runs out): other services then
   * never count it among the claimants that died. True when removed.
   */
  leave(claimant: string): Promise<boolean>;
  /**
   * Claims of the job without an outcome whose claimant is gone (see CLAIM_LEASE_MS), newest
   * first: ticks a dead service claimed and never finished.
   */
  orphans(jobName: string): Promise<TickRecord[]>;
  /**
   * Claimants that died lately: their last beat is older than CLAIM_LEASE_MS, but by at most
   * `withinMs` more. A running service asks this often and reads orphans only when a claimant
   * it has not looked at yet appears (orphans reads every claim of a job).
   */
  diedLately(withinMs: number): Promise<string[]>;
  /**
   * Moves the orphaned claim of `tickAt` from its gone claimant `from` to `to` (marked catch-up):
   * true for one taker only, and only while `from` is still gone and no outcome is recorded.
   */
  takeOver(jobName: string, tickAt: number, from: string, to: string): Promise<boolean>;
  /**
   * Records `tickAt` as missed with `detail` when no claim of it exists, whatever later ticks are
   * claimed: a tick the service could not claim (the store failed) leaves a trace for catch-ups
   * and `mdp status`. False when the tick was claimed meanwhile.
   */
  recordUnclaimed(
    jobName: string,
    tickAt: number,
    claimant: string,
    detail: string,
  ): Promise<boolean>;
  /**
   * Records how a claimed tick ended, only while `claimant` still holds the claim (a later record
   * of its own replaces an earlier one): false when another service took it over meanwhile, whose
   * record is then left alone. One conditional statement.
   */
  record(jobName: string, tickAt: number, claimant: string, result: TickResult): Promise<boolean>;
  /** The newest claimed tick of the job, or undefined when none was ever claimed. */
  lastTick(jobName: string): Promise<TickRecord | undefined>;
  /** Claimed ticks of the job, newest first. */
  list(jobName: string, options?: { readonly limit?: number }): Promise<TickRecord[]>;
}

/** What became of a claimed tick. */
export type TickOutcome = 'ran' | 'skipped' | 'failed' | 'missed';

/** The outcomes a tick may end with, for checks and metrics labels. */
export const TICK_OUTCOMES: readonly TickOutcome[] = ['ran', 'skipped', 'failed', 'missed'];

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
  /** Records how a claimed tick ended; a later record replaces an earlier one. */
  record(jobName: string, tickAt: number, result: TickResult): Promise<void>;
  /** The newest claimed tick of the job, or undefined when none was ever claimed. */
  lastTick(jobName: string): Promise<TickRecord | undefined>;
  /** Claimed ticks of the job, newest first. */
  list(jobName: string, options?: { readonly limit?: number }): Promise<TickRecord[]>;
}

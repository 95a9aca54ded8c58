import type { TickOutcome, TickRecord } from './tick-claims.js';

/** A `schedule_ticks` row as either backend reads it (times as epoch ms). */
export interface TickRow {
  readonly job_name: string;
  readonly tick_at: number;
  readonly claimant: string;
  readonly claimed_at: number;
  /** boolean on PostgreSQL, 0 or 1 on SQLite. */
  readonly catchup: boolean | number;
  readonly outcome: TickOutcome | null;
  readonly run_id: number | null;
  readonly detail: string | null;
  readonly finished_at: number | null;
  /** boolean on PostgreSQL, 0 or 1 on SQLite. */
  readonly claimant_alive: boolean | number;
}

/** The TickRecord of a row. */
export function tickFromRow(row: TickRow): TickRecord {
  return {
    jobName: row.job_name,
    tickAt: row.tick_at,
    claimant: row.claimant,
    claimedAt: row.claimed_at,
    catchup: row.catchup === true || row.catchup === 1,
    outcome: row.outcome,
    claimantAlive: row.claimant_alive === true || row.claimant_alive === 1,
    runId: row.run_id,
    detail: row.detail,
    finishedAt: row.finished_at,
  };
}

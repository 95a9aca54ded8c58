import type Database from 'better-sqlite3';
import type { TickRecord, TickResult } from '../tick-claims.js';
import { tickFromRow, type TickRow } from '../tick-rows.js';

const SQL = {
  // No later (or equal) tick of the job claimed yet: the first claimer wins, in tick order.
  claim: `
    INSERT INTO schedule_ticks (job_name, tick_at, claimant, claimed_at, catchup)
    SELECT ?, ?, ?, ?, ?
    WHERE NOT EXISTS (SELECT 1 FROM schedule_ticks WHERE job_name = ? AND tick_at >= ?)
    ON CONFLICT (job_name, tick_at) DO NOTHING`,
  record: `
    UPDATE schedule_ticks SET outcome = ?, run_id = ?, detail = ?, finished_at = ?
    WHERE job_name = ? AND tick_at = ?`,
  list: `SELECT * FROM schedule_ticks WHERE job_name = ? ORDER BY tick_at DESC LIMIT ?`,
} as const;

/**
 * The `schedule_ticks` half of SqliteStore (synchronous, as better-sqlite3 is; the store wraps it
 * as TickClaims). A claim is one statement, and SQLite runs one writer at a time, so its check
 * and insert are atomic across processes.
 */
export class SqliteTickClaims {
  private readonly stmt: {
    readonly claim: Database.Statement<unknown[]>;
    readonly record: Database.Statement<unknown[]>;
    readonly list: Database.Statement<[string, number], TickRow>;
  };

  constructor(
    db: Database.Database,
    private readonly clock: () => number,
  ) {
    this.stmt = {
      claim: db.prepare(SQL.claim),
      record: db.prepare(SQL.record),
      list: db.prepare(SQL.list),
    };
  }

  claim(
    jobName: string,
    tickAt: number,
    claimant: string,
    options: { readonly catchup?: boolean } = {},
  ): boolean {
    const result = this.stmt.claim.run(
      jobName,
      tickAt,
      claimant,
      this.clock(),
      options.catchup === true ? 1 : 0,
      jobName,
      tickAt,
    );
    return result.changes === 1;
  }

  record(jobName: string, tickAt: number, result: TickResult): void {
    this.stmt.record.run(
      result.outcome,
      result.runId ?? null,
      result.detail ?? null,
      this.clock(),
      jobName,
      tickAt,
    );
  }

  lastTick(jobName: string): TickRecord | undefined {
    return this.list(jobName, { limit: 1 })[0];
  }

  list(jobName: string, options: { readonly limit?: number } = {}): TickRecord[] {
    // -1 is SQLite's "no limit".
    return this.stmt.list.all(jobName, options.limit ?? -1).map(tickFromRow);
  }
}

import type Database from 'better-sqlite3';
import { CLAIM_LEASE_MS, type TickRecord, type TickResult } from '../tick-claims.js';
import { tickFromRow, type TickRow } from '../tick-rows.js';

/** True when claimant `c` beat at or after `?` (now less the lease). */
const ALIVE = `EXISTS (SELECT 1 FROM schedule_claimants c
  WHERE c.claimant = t.claimant AND c.beat_at >= ?)`;

const SQL = {
  // No later (or equal) tick of the job claimed yet: the first claimer wins, in tick order.
  claim: `
    INSERT INTO schedule_ticks (job_name, tick_at, claimant, claimed_at, catchup)
    SELECT ?, ?, ?, ?, ?
    WHERE NOT EXISTS (SELECT 1 FROM schedule_ticks WHERE job_name = ? AND tick_at >= ?)
    ON CONFLICT (job_name, tick_at) DO NOTHING`,
  beat: `
    INSERT INTO schedule_claimants (claimant, beat_at) VALUES (?, ?)
    ON CONFLICT (claimant) DO UPDATE SET beat_at = excluded.beat_at`,
  takeOver: `
    UPDATE schedule_ticks AS t SET claimant = ?, claimed_at = ?, catchup = 1
    WHERE job_name = ? AND tick_at = ? AND claimant = ? AND outcome IS NULL AND NOT ${ALIVE}`,
  recordUnclaimed: `
    INSERT INTO schedule_ticks
      (job_name, tick_at, claimant, claimed_at, catchup, outcome, detail, finished_at)
    VALUES (?, ?, ?, ?, 0, 'missed', ?, ?)
    ON CONFLICT (job_name, tick_at) DO NOTHING`,
  record: `
    UPDATE schedule_ticks SET outcome = ?, run_id = ?, detail = ?, finished_at = ?
    WHERE job_name = ? AND tick_at = ?`,
  list: `SELECT t.*, ${ALIVE} AS claimant_alive FROM schedule_ticks t
    WHERE job_name = ? ORDER BY tick_at DESC LIMIT ?`,
  diedLately: `SELECT claimant FROM schedule_claimants WHERE beat_at < ? AND beat_at >= ?
    ORDER BY beat_at`,
  orphans: `SELECT t.*, 0 AS claimant_alive FROM schedule_ticks t
    WHERE job_name = ? AND outcome IS NULL AND NOT ${ALIVE} ORDER BY tick_at DESC`,
} as const;

/**
 * The `schedule_ticks` half of SqliteStore (synchronous, as better-sqlite3 is; the store wraps it
 * as TickClaims). A claim (or take-over) is one statement, and SQLite runs one writer at a time,
 * so its check and write are atomic across processes. Beats are by this host's clock: every
 * process on one SQLite file runs on one host.
 */
export class SqliteTickClaims {
  private readonly stmt: {
    readonly claim: Database.Statement<unknown[]>;
    readonly beat: Database.Statement<[string, number]>;
    readonly takeOver: Database.Statement<unknown[]>;
    readonly recordUnclaimed: Database.Statement<unknown[]>;
    readonly record: Database.Statement<unknown[]>;
    readonly list: Database.Statement<[number, string, number], TickRow>;
    readonly orphans: Database.Statement<[string, number], TickRow>;
    readonly diedLately: Database.Statement<[number, number], { claimant: string }>;
  };

  constructor(
    db: Database.Database,
    private readonly clock: () => number,
  ) {
    this.stmt = {
      claim: db.prepare(SQL.claim),
      beat: db.prepare(SQL.beat),
      takeOver: db.prepare(SQL.takeOver),
      recordUnclaimed: db.prepare(SQL.recordUnclaimed),
      record: db.prepare(SQL.record),
      list: db.prepare(SQL.list),
      orphans: db.prepare(SQL.orphans),
      diedLately: db.prepare(SQL.diedLately),
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

  beat(claimant: string): void {
    this.stmt.beat.run(claimant, this.clock());
  }

  orphans(jobName: string): TickRecord[] {
    return this.stmt.orphans.all(jobName, this.leaseStart()).map(tickFromRow);
  }

  diedLately(withinMs: number): string[] {
    const leaseStart = this.leaseStart();
    return this.stmt.diedLately.all(leaseStart, leaseStart - withinMs).map((row) => row.claimant);
  }

  takeOver(jobName: string, tickAt: number, from: string, to: string): boolean {
    const now = this.clock();
    const result = this.stmt.takeOver.run(to, now, jobName, tickAt, from, now - CLAIM_LEASE_MS);
    return result.changes === 1;
  }

  recordUnclaimed(jobName: string, tickAt: number, claimant: string, detail: string): boolean {
    const now = this.clock();
    return this.stmt.recordUnclaimed.run(jobName, tickAt, claimant, now, detail, now).changes === 1;
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
    return this.stmt.list.all(this.leaseStart(), jobName, options.limit ?? -1).map(tickFromRow);
  }

  /** The oldest beat that still makes a claimant alive. */
  private leaseStart(): number {
    return this.clock() - CLAIM_LEASE_MS;
  }
}

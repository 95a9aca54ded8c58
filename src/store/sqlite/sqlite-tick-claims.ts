import type Database from 'better-sqlite3';
import {
  CLAIM_LEASE_MS,
  type ClaimStanding,
  type TickRecord,
  type TickResult,
} from '../tick-claims.js';
import { tickFromRow, type TickRow } from '../tick-rows.js';

/** A claim's holder and outcome, and whether the holder beat within the lease (0 or 1). */
interface StandingRow {
  readonly claimant: string;
  readonly outcome: string | null;
  readonly alive: number;
}

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
  lastBeat: `SELECT beat_at FROM schedule_claimants WHERE claimant = ?`,
  beat: `
    INSERT INTO schedule_claimants (claimant, beat_at) VALUES (?, ?)
    ON CONFLICT (claimant) DO UPDATE SET beat_at = excluded.beat_at`,
  standing: `SELECT t.claimant, t.outcome, ${ALIVE} AS alive FROM schedule_ticks t
    WHERE job_name = ? AND tick_at = ?`,
  // A claimant with a claim still open keeps its beat: others adopt the claim when it ages out.
  leave: `DELETE FROM schedule_claimants WHERE claimant = ?
    AND NOT EXISTS (SELECT 1 FROM schedule_ticks WHERE claimant = ? AND outcome IS NULL)`,
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
    WHERE job_name = ? AND tick_at = ? AND claimant = ?`,
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
    readonly lastBeat: Database.Statement<[string], { beat_at: number }>;
    readonly beat: Database.Statement<[string, number]>;
    readonly standing: Database.Statement<[number, string, number], StandingRow>;
    readonly leave: Database.Statement<[string, string]>;
    readonly takeOver: Database.Statement<unknown[]>;
    readonly recordUnclaimed: Database.Statement<unknown[]>;
    readonly record: Database.Statement<unknown[]>;
    readonly list: Database.Statement<[number, string, number], TickRow>;
    readonly orphans: Database.Statement<[string, number], TickRow>;
    readonly diedLately: Database.Statement<[number, number], { claimant: string }>;
  };

  /** The previous beat's read and the new beat's write, in one write transaction. */
  private readonly beatTx: Database.Transaction<(claimant: string) => number | undefined>;

  constructor(
    db: Database.Database,
    private readonly clock: () => number,
  ) {
    this.stmt = {
      claim: db.prepare(SQL.claim),
      lastBeat: db.prepare(SQL.lastBeat),
      beat: db.prepare(SQL.beat),
      standing: db.prepare(SQL.standing),
      leave: db.prepare(SQL.leave),
      takeOver: db.prepare(SQL.takeOver),
      recordUnclaimed: db.prepare(SQL.recordUnclaimed),
      record: db.prepare(SQL.record),
      list: db.prepare(SQL.list),
      orphans: db.prepare(SQL.orphans),
      diedLately: db.prepare(SQL.diedLately),
    };
    this.beatTx = db.transaction((claimant: string): number | undefined => {
      const now = this.clock();
      const previous = this.stmt.lastBeat.get(claimant)?.beat_at;
      this.stmt.beat.run(claimant, now);
      return previous === undefined ? undefined : now - previous;
    });
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

  beat(claimant: string): number | undefined {
    return this.beatTx.immediate(claimant);
  }

  standing(jobName: string, tickAt: number, claimant: string): ClaimStanding {
    const row = this.stmt.standing.get(this.leaseStart(), jobName, tickAt);
    if (row?.claimant !== claimant || row.outcome !== null) return 'lost';
    return row.alive === 1 ? 'held' : 'lapsed';
  }

  leave(claimant: string): boolean {
    return this.stmt.leave.run(claimant, claimant).changes === 1;
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

  record(jobName: string, tickAt: number, claimant: string, result: TickResult): boolean {
    const written = this.stmt.record.run(
      result.outcome,
      result.runId ?? null,
      result.detail ?? null,
      this.clock(),
      jobName,
      tickAt,
      claimant,
    );
    return written.changes === 1;
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

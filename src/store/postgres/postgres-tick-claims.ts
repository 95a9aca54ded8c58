import type pg from 'pg';
import {
  CLAIM_LEASE_MS,
  type ClaimStanding,
  type TickClaims,
  type TickRecord,
  type TickResult,
} from '../tick-claims.js';
import { tickFromRow, type TickRow } from '../tick-rows.js';
import { inTransaction } from './postgres-transaction.js';
import { databaseNow, msFromTimestamptz, timestamptzFromMs } from './postgres-timestamps.js';

const TICK_COLUMNS = `job_name, ${msFromTimestamptz('tick_at')} AS tick_at, claimant,
  ${msFromTimestamptz('claimed_at')} AS claimed_at, catchup, outcome, run_id, detail,
  ${msFromTimestamptz('finished_at')} AS finished_at`;

/** True when the claimant of row `t` beat within the lease, by the clock of parameter `now`. */
function claimantAlive(claimants: string, now: string): string {
  return `EXISTS (SELECT 1 FROM ${claimants} c WHERE c.claimant = t.claimant
    AND c.beat_at >= ${databaseNow(now)} - ${CLAIM_LEASE_MS} * interval '1 millisecond')`;
}

/**
 * The `schedule_ticks` half of PostgresStore. A claim takes a transaction-level advisory lock on
 * the job, so the "no later tick claimed" check and the insert are one step for every service:
 * the primary key alone would keep a tick to one claimer, but not the ticks in order. Take-overs
 * and standing checks take it too (see `standing`).
 */
export class PostgresTickClaims implements TickClaims {
  private readonly sql: {
    readonly claim: string;
    readonly beat: string;
    readonly standing: string;
    readonly leave: string;
    readonly takeOver: string;
    readonly recordUnclaimed: string;
    readonly record: string;
    readonly list: string;
    readonly orphans: string;
    readonly diedLately: string;
  };

  constructor(
    private readonly pool: pg.Pool,
    /** The quoted schema, e.g. `"public"`. */
    schema: string,
    /** The schema unquoted: part of the lock key, so two schemas never share locks. */
    private readonly schemaName: string,
    /** Stands in for the database's clock (tests that move time); undefined in production. */
    private readonly databaseClock: (() => number) | undefined,
  ) {
    const ticks = `${schema}.schedule_ticks`;
    const claimants = `${schema}.schedule_claimants`;
    this.sql = {
      claim: `
        INSERT INTO ${ticks} (job_name, tick_at, claimant, claimed_at, catchup)
        SELECT $1, ${timestamptzFromMs('$2')}, $3, ${databaseNow('$4')}, $5
        WHERE NOT EXISTS (
          SELECT 1 FROM ${ticks} WHERE job_name = $1 AND tick_at >= ${timestamptzFromMs('$2')})
        ON CONFLICT (job_name, tick_at) DO NOTHING
        RETURNING 1`,
      // Both parts see the table as it was before the statement: \`previous\` is the last beat.
      beat: `
        WITH previous AS (SELECT beat_at FROM ${claimants} WHERE claimant = $1),
        beat AS (
          INSERT INTO ${claimants} (claimant, beat_at) VALUES ($1, ${databaseNow('$2')})
          ON CONFLICT (claimant) DO UPDATE SET beat_at = excluded.beat_at
          RETURNING beat_at)
        SELECT ${msFromTimestamptz('beat.beat_at')} - ${msFromTimestamptz('previous.beat_at')}
          AS since_previous
        FROM beat LEFT JOIN previous ON true`,
      standing: `SELECT t.claimant, t.outcome, ${claimantAlive(claimants, '$3')} AS alive
        FROM ${ticks} t WHERE job_name = $1 AND tick_at = ${timestamptzFromMs('$2')}`,
      // A claimant with a claim still open keeps its beat: others adopt the claim when it ages out.
      leave: `DELETE FROM ${claimants} WHERE claimant = $1
        AND NOT EXISTS (SELECT 1 FROM ${ticks} WHERE claimant = $1 AND outcome IS NULL)`,
      // One UPDATE: a second taker waits on the row and then finds the claimant changed.
      takeOver: `
        UPDATE ${ticks} t SET claimant = $1, claimed_at = ${databaseNow('$2')}, catchup = true
        WHERE job_name = $3 AND tick_at = ${timestamptzFromMs('$4')} AND claimant = $5
          AND outcome IS NULL AND NOT ${claimantAlive(claimants, '$2')}`,
      recordUnclaimed: `
        INSERT INTO ${ticks}
          (job_name, tick_at, claimant, claimed_at, catchup, outcome, detail, finished_at)
        VALUES ($1, ${timestamptzFromMs('$2')}, $3, ${databaseNow('$4')}, false, 'missed', $5,
          ${databaseNow('$4')})
        ON CONFLICT (job_name, tick_at) DO NOTHING`,
      record: `
        UPDATE ${ticks} SET outcome = $1, run_id = $2, detail = $3,
          finished_at = ${databaseNow('$4')}
        WHERE job_name = $5 AND tick_at = ${timestamptzFromMs('$6')} AND claimant = $7`,
      // LIMIT NULL is no limit.
      list: `SELECT ${TICK_COLUMNS}, ${claimantAlive(claimants, '$3')} AS claimant_alive
        FROM ${ticks} t WHERE job_name = $1 ORDER BY tick_at DESC LIMIT $2`,
      orphans: `SELECT ${TICK_COLUMNS}, false AS claimant_alive FROM ${ticks} t
        WHERE job_name = $1 AND outcome IS NULL AND NOT ${claimantAlive(claimants, '$2')}
        ORDER BY tick_at DESC`,
      diedLately: `SELECT claimant FROM ${claimants}
        WHERE beat_at < ${databaseNow('$1')} - ${CLAIM_LEASE_MS} * interval '1 millisecond'
          AND beat_at >= ${databaseNow('$1')} - (${CLAIM_LEASE_MS} + $2::bigint) * interval '1 millisecond'
        ORDER BY beat_at`,
    };
  }

  async claim(
    jobName: string,
    tickAt: number,
    claimant: string,
    options: { readonly catchup?: boolean } = {},
  ): Promise<boolean> {
    return this.underJobLock(jobName, async (client) => {
      const result = await client.query(this.sql.claim, [
        jobName,
        tickAt,
        claimant,
        this.stamp(),
        options.catchup === true,
      ]);
      return result.rowCount === 1;
    });
  }

  async beat(claimant: string): Promise<number | undefined> {
    const result = await this.pool.query<{ since_previous: number | null }>(this.sql.beat, [
      claimant,
      this.stamp(),
    ]);
    return result.rows[0]?.since_previous ?? undefined;
  }

  /**
   * Under the job's lock, as a take-over is: a take-over that read the claimant's beat as dead
   * before a beat just committed cannot then move the claim after this said `held`.
   */
  async standing(jobName: string, tickAt: number, claimant: string): Promise<ClaimStanding> {
    const row = await this.underJobLock(jobName, async (client) => {
      const result = await client.query<{
        claimant: string;
        outcome: string | null;
        alive: boolean;
      }>(this.sql.standing, [jobName, tickAt, this.stamp()]);
      return result.rows[0];
    });
    if (row?.claimant !== claimant || row.outcome !== null) return 'lost';
    return row.alive ? 'held' : 'lapsed';
  }

  async leave(claimant: string): Promise<boolean> {
    return (await this.pool.query(this.sql.leave, [claimant])).rowCount === 1;
  }

  async orphans(jobName: string): Promise<TickRecord[]> {
    const result = await this.pool.query<TickRow>(this.sql.orphans, [jobName, this.stamp()]);
    return result.rows.map(tickFromRow);
  }

  async diedLately(withinMs: number): Promise<string[]> {
    const result = await this.pool.query<{ claimant: string }>(this.sql.diedLately, [
      this.stamp(),
      withinMs,
    ]);
    return result.rows.map((row) => row.claimant);
  }

  async takeOver(jobName: string, tickAt: number, from: string, to: string): Promise<boolean> {
    // Under the job's lock, so its look at `from`'s beat is never older than a `standing` check.
    return this.underJobLock(jobName, async (client) => {
      const result = await client.query(this.sql.takeOver, [
        to,
        this.stamp(),
        jobName,
        tickAt,
        from,
      ]);
      return result.rowCount === 1;
    });
  }

  async recordUnclaimed(
    jobName: string,
    tickAt: number,
    claimant: string,
    detail: string,
  ): Promise<boolean> {
    const result = await this.pool.query(this.sql.recordUnclaimed, [
      jobName,
      tickAt,
      claimant,
      this.stamp(),
      detail,
    ]);
    return result.rowCount === 1;
  }

  async record(
    jobName: string,
    tickAt: number,
    claimant: string,
    result: TickResult,
  ): Promise<boolean> {
    const written = await this.pool.query(this.sql.record, [
      result.outcome,
      result.runId ?? null,
      result.detail ?? null,
      this.stamp(),
      jobName,
      tickAt,
      claimant,
    ]);
    return written.rowCount === 1;
  }

  async lastTick(jobName: string): Promise<TickRecord | undefined> {
    return (await this.list(jobName, { limit: 1 }))[0];
  }

  async list(jobName: string, options: { readonly limit?: number } = {}): Promise<TickRecord[]> {
    const result = await this.pool.query<TickRow>(this.sql.list, [
      jobName,
      options.limit ?? null,
      this.stamp(),
    ]);
    return result.rows.map(tickFromRow);
  }

  /**
   * Runs `work` in a transaction holding the job's advisory lock: claims, take-overs and standing
   * checks of one job's ticks happen one at a time, each statement seeing the ones before it.
   */
  private underJobLock<T>(
    jobName: string,
    work: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    return inTransaction(this.pool, 'BEGIN', async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `mdp:ticks:${this.schemaName}:${jobName}`,
      ]);
      return work(client);
    });
  }

  /** The test stand-in for the database's clock, or null for the database's own. */
  private stamp(): number | null {
    return this.databaseClock?.() ?? null;
  }
}

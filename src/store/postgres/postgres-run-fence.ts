import type pg from 'pg';
import { jobSupersededError, type FencedRun, type SuccessorRow } from '../job-superseded-error.js';

/**
 * Refuses the writes of a run that lost its job. `check` runs as the last statement before a
 * batch's COMMIT: FOR SHARE waits for a reaper marking the run abandoned (and then sees its
 * mark), and holds off any later one until the batch has committed, so the check and the commit
 * see the same status. A share lock, so the run's concurrent batches never wait for each other,
 * and taken last, so a frozen writer blocks a reaper only for the instant before its COMMIT.
 */
export class PostgresRunFence {
  private readonly sql: {
    readonly lock: string;
    readonly run: string;
    readonly successor: string;
    readonly runningAfter: string;
  };

  constructor(
    /** The quoted schema, e.g. `"public"`. */
    schema: string,
  ) {
    const runs = `${schema}.job_runs`;
    const columns = 'run_id, job_name, status, error';
    this.sql = {
      lock: `SELECT ${columns} FROM ${runs} WHERE run_id = $1 FOR SHARE`,
      run: `SELECT ${columns} FROM ${runs} WHERE run_id = $1`,
      // The first real run of the job started after this one: the run that took it over.
      successor: `
        SELECT run_id AS "runId", host, pid FROM ${runs}
        WHERE job_name = $1 AND run_id > $2 AND NOT dry_run
        ORDER BY run_id LIMIT 1`,
      // For a run without a row, whose job is unknown: the first real run after it still
      // running. Run ids are issued in order, so a row-less id below a running run's was issued
      // and its row deleted; ids made up by tools and tests lie above every run.
      runningAfter: `
        SELECT run_id AS "runId", host, pid, job_name FROM ${runs}
        WHERE run_id > $1 AND status = 'running' AND NOT dry_run
        ORDER BY run_id LIMIT 1`,
    };
  }

  /**
   * Throws JobSupersededError unless the run is `running`. A run id without a row passes only
   * while no later run is running (an id made up by a tool or test, not a deleted row).
   */
  async check(client: pg.ClientBase, runId: number): Promise<void> {
    const result = await client.query<FencedRun>(this.sql.lock, [runId]);
    const run = result.rows[0];
    if (run === undefined) {
      const holder = await client.query<SuccessorRow>(this.sql.runningAfter, [runId]);
      if (holder.rows[0] !== undefined) throw jobSupersededError(runId, undefined, holder.rows[0]);
      return;
    }
    if (run.status !== 'running') throw await this.superseded(client, runId, run);
  }

  /** The error for a run found no longer running (its row as it stands now, or none). */
  async supersededError(db: pg.Pool | pg.ClientBase, runId: number): Promise<Error> {
    const result = await db.query<FencedRun>(this.sql.run, [runId]);
    return this.superseded(db, runId, result.rows[0]);
  }

  private async superseded(
    db: pg.Pool | pg.ClientBase,
    runId: number,
    run: FencedRun | undefined,
  ): Promise<Error> {
    const successor =
      run === undefined
        ? await db.query<SuccessorRow>(this.sql.runningAfter, [runId])
        : await db.query<SuccessorRow>(this.sql.successor, [run.job_name, run.run_id]);
    return jobSupersededError(runId, run, successor.rows[0]);
  }
}

import type pg from 'pg';
import { jobSupersededError, missingRun, type FencedRun } from '../job-superseded-error.js';

/**
 * Refuses the writes of a run that lost its job. `check` runs as the last statement before a
 * batch's COMMIT: FOR SHARE waits for a reaper marking the run abandoned (and then sees its
 * mark), and holds off any later one until the batch has committed, so the check and the commit
 * see the same status. A share lock, so the run's concurrent batches never wait for each other,
 * and taken last, so a frozen writer blocks a reaper only for the instant before its COMMIT.
 */
export class PostgresRunFence {
  private readonly sql: { readonly lock: string; readonly run: string; readonly successor: string };

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
    };
  }

  /** Throws JobSupersededError unless the run is `running`; a run id without a row passes. */
  async check(client: pg.ClientBase, runId: number): Promise<void> {
    const result = await client.query<FencedRun>(this.sql.lock, [runId]);
    const run = result.rows[0];
    if (run !== undefined && run.status !== 'running') throw await this.superseded(client, run);
  }

  /** The error for a run found no longer running (its row as it stands now). */
  async supersededError(db: pg.Pool | pg.ClientBase, runId: number): Promise<Error> {
    const result = await db.query<FencedRun>(this.sql.run, [runId]);
    const run = result.rows[0] ?? missingRun(runId);
    return this.superseded(db, run);
  }

  private async superseded(db: pg.Pool | pg.ClientBase, run: FencedRun): Promise<Error> {
    const successor = await db.query<{ runId: number; host: string; pid: number }>(
      this.sql.successor,
      [run.job_name, run.run_id],
    );
    return jobSupersededError(run, successor.rows[0]);
  }
}

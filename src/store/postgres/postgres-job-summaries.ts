import type pg from 'pg';
import { checkpointFromRow, type CheckpointRow } from '../checkpoint-rows.js';
import { jobSummaryOf } from '../job-summary.js';
import { jobRunFromRow, type JobRunRow } from '../run-rows.js';
import type { JobSummary } from '../store.js';
import { CHECKPOINT_COLUMNS } from './postgres-checkpoint-rows.js';
import { RUN_COLUMNS } from './postgres-run-rows.js';
import { inTransaction } from './postgres-transaction.js';

/** The read-only per-job view of PostgresStore behind `mdp status`. */
export class PostgresJobSummaries {
  private readonly sql: {
    readonly lastRun: string;
    readonly lastSuccess: string;
    readonly running: string;
    readonly incomplete: string;
    readonly provisional: string;
    readonly rejected: string;
  };

  constructor(
    private readonly pool: pg.Pool,
    /** The quoted schema, e.g. `"public"`. */
    schema: string,
  ) {
    const runs = `${schema}.job_runs`;
    this.sql = {
      lastRun: `
        SELECT ${RUN_COLUMNS} FROM ${runs} WHERE job_name = $1
        ORDER BY started_at DESC, run_id DESC LIMIT 1`,
      lastSuccess: `
        SELECT ${RUN_COLUMNS} FROM ${runs}
        WHERE job_name = $1 AND status = 'success' AND NOT dry_run
        ORDER BY started_at DESC, run_id DESC LIMIT 1`,
      running: `
        SELECT ${RUN_COLUMNS} FROM ${runs}
        WHERE job_name = $1 AND status = 'running' AND NOT dry_run
        ORDER BY run_id LIMIT 1`,
      incomplete: `
        SELECT ${CHECKPOINT_COLUMNS} FROM ${schema}.job_checkpoints
        WHERE job_name = $1 AND NOT complete AND NOT provisional
        ORDER BY window_start, window_end, provider, symbol, interval`,
      provisional: `
        SELECT ${CHECKPOINT_COLUMNS} FROM ${schema}.job_checkpoints
        WHERE job_name = $1 AND provisional
        ORDER BY window_start, window_end, provider, symbol, interval`,
      rejected: `
        SELECT r.reason AS reason, count(*) AS n
        FROM ${schema}.bars_rejected r JOIN ${runs} j ON j.run_id = r.run_id
        WHERE j.job_name = $1 GROUP BY r.reason ORDER BY r.reason`,
    };
  }

  async summary(jobName: string): Promise<JobSummary> {
    // One snapshot, so the parts agree with each other while runs go on.
    return inTransaction(
      this.pool,
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
      async (client) => {
        const run = async (text: string) => {
          const row = (await client.query<JobRunRow>(text, [jobName])).rows[0];
          return row === undefined ? undefined : jobRunFromRow(row);
        };
        const lastRun = await run(this.sql.lastRun);
        const lastSuccess = await run(this.sql.lastSuccess);
        const running = await run(this.sql.running);
        const incomplete = await client.query<CheckpointRow>(this.sql.incomplete, [jobName]);
        const provisional = await client.query<CheckpointRow>(this.sql.provisional, [jobName]);
        const rejected = await client.query<{ reason: string; n: number }>(this.sql.rejected, [
          jobName,
        ]);
        return jobSummaryOf(jobName, {
          lastRun,
          lastSuccess,
          running,
          incompleteChunks: incomplete.rows.map(checkpointFromRow),
          provisionalChunks: provisional.rows.map(checkpointFromRow),
          rejected: rejected.rows,
        });
      },
    );
  }
}

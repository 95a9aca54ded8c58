import type Database from 'better-sqlite3';
import { jobSupersededError, missingRun, type FencedRun } from '../job-superseded-error.js';

const SELECT_RUN = `SELECT run_id, job_name, status, error FROM job_runs WHERE run_id = ?`;

/** The first real run of the job started after the given one: the run that took it over. */
const SELECT_SUCCESSOR = `
  SELECT run_id AS runId, host, pid FROM job_runs
  WHERE job_name = ? AND run_id > ? AND dry_run = 0
  ORDER BY run_id LIMIT 1`;

/**
 * Refuses the writes of a run that lost its job. Called inside the write transaction that would
 * commit them: SQLite's write lock keeps any other process from marking the run abandoned between
 * this check and the commit.
 */
export class SqliteRunFence {
  private readonly run: Database.Statement<[number], FencedRun>;
  private readonly successor: Database.Statement<
    [string, number],
    { runId: number; host: string; pid: number }
  >;

  constructor(db: Database.Database) {
    this.run = db.prepare(SELECT_RUN);
    this.successor = db.prepare(SELECT_SUCCESSOR);
  }

  /** Throws JobSupersededError unless the run is `running`; a run id without a row passes. */
  check(runId: number): void {
    const run = this.run.get(runId);
    if (run !== undefined && run.status !== 'running') throw this.superseded(run);
  }

  /** The error for a run found no longer running (its row as it stands now). */
  supersededError(runId: number): Error {
    return this.superseded(this.run.get(runId) ?? missingRun(runId));
  }

  private superseded(run: FencedRun): Error {
    return jobSupersededError(run, this.successor.get(run.job_name, run.run_id));
  }
}

import type Database from 'better-sqlite3';
import { jobSupersededError, type FencedRun, type SuccessorRow } from '../job-superseded-error.js';

const SELECT_RUN = `SELECT run_id, job_name, status, error FROM job_runs WHERE run_id = ?`;

/** The first real run of the job started after the given one: the run that took it over. */
const SELECT_SUCCESSOR = `
  SELECT run_id AS runId, host, pid FROM job_runs
  WHERE job_name = ? AND run_id > ? AND dry_run = 0
  ORDER BY run_id LIMIT 1`;

/**
 * For a run without a row, whose job is unknown: the first real run started after it that is
 * running. Run ids are issued in order, so a row-less id below a running run's was issued and its
 * row deleted; ids made up by tools and tests lie above every run and are not fenced.
 */
const SELECT_RUNNING_AFTER = `
  SELECT run_id AS runId, host, pid, job_name FROM job_runs
  WHERE run_id > ? AND status = 'running' AND dry_run = 0
  ORDER BY run_id LIMIT 1`;

/**
 * Refuses the writes of a run that lost its job. Called inside the write transaction that would
 * commit them: SQLite's write lock keeps any other process from marking the run abandoned between
 * this check and the commit.
 */
export class SqliteRunFence {
  private readonly run: Database.Statement<[number], FencedRun>;
  private readonly successor: Database.Statement<[string, number], SuccessorRow>;
  private readonly runningAfter: Database.Statement<[number], SuccessorRow>;

  constructor(db: Database.Database) {
    this.run = db.prepare(SELECT_RUN);
    this.successor = db.prepare(SELECT_SUCCESSOR);
    this.runningAfter = db.prepare(SELECT_RUNNING_AFTER);
  }

  /**
   * Throws JobSupersededError unless the run is `running`. A run id without a row passes only
   * while no later run is running (an id made up by a tool or test, not a deleted row).
   */
  check(runId: number): void {
    const run = this.run.get(runId);
    if (run === undefined) {
      const holder = this.runningAfter.get(runId);
      if (holder !== undefined) throw jobSupersededError(runId, undefined, holder);
      return;
    }
    if (run.status !== 'running') throw this.superseded(runId, run);
  }

  /** The error for a run found no longer running (its row as it stands now, or none). */
  supersededError(runId: number): Error {
    return this.superseded(runId, this.run.get(runId));
  }

  private superseded(runId: number, run: FencedRun | undefined): Error {
    const successor =
      run === undefined
        ? this.runningAfter.get(runId)
        : this.successor.get(run.job_name, run.run_id);
    return jobSupersededError(runId, run, successor);
  }
}

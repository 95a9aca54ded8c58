import type Database from 'better-sqlite3';
import { jobSummaryOf } from '../job-summary.js';
import type { JobSummary } from '../store.js';
import {
  CHECKPOINT_COLUMNS,
  checkpointFromSqliteRow,
  type SqliteCheckpointRow,
} from './sqlite-checkpoint-rows.js';
import { jobRunFromSqliteRow, type SqliteJobRunRow } from './sqlite-run-rows.js';

const SQL = {
  lastRun: `
    SELECT * FROM job_runs WHERE job_name = ?
    ORDER BY started_at DESC, run_id DESC LIMIT 1`,
  lastSuccess: `
    SELECT * FROM job_runs WHERE job_name = ? AND status = 'success' AND dry_run = 0
    ORDER BY started_at DESC, run_id DESC LIMIT 1`,
  running: `
    SELECT * FROM job_runs WHERE job_name = ? AND status = 'running' AND dry_run = 0
    ORDER BY run_id LIMIT 1`,
  incomplete: `
    SELECT ${CHECKPOINT_COLUMNS} FROM job_checkpoints
    WHERE job_name = ? AND complete = 0 AND provisional = 0
    ORDER BY window_start, window_end, provider, symbol, interval`,
  provisional: `
    SELECT ${CHECKPOINT_COLUMNS} FROM job_checkpoints WHERE job_name = ? AND provisional = 1
    ORDER BY window_start, window_end, provider, symbol, interval`,
  rejected: `
    SELECT r.reason AS reason, COUNT(*) AS n
    FROM bars_rejected r JOIN job_runs j ON j.run_id = r.run_id
    WHERE j.job_name = ? GROUP BY r.reason ORDER BY r.reason`,
} as const;

/** The read-only per-job view of SqliteStore behind `mdp status`. */
export class SqliteJobSummaries {
  private readonly lastRun: Database.Statement<[string], SqliteJobRunRow>;
  private readonly lastSuccess: Database.Statement<[string], SqliteJobRunRow>;
  private readonly running: Database.Statement<[string], SqliteJobRunRow>;
  private readonly incomplete: Database.Statement<[string], SqliteCheckpointRow>;
  private readonly provisional: Database.Statement<[string], SqliteCheckpointRow>;
  private readonly rejected: Database.Statement<[string], { reason: string; n: number }>;
  private readonly read: Database.Transaction<(jobName: string) => JobSummary>;

  constructor(db: Database.Database) {
    this.lastRun = db.prepare(SQL.lastRun);
    this.lastSuccess = db.prepare(SQL.lastSuccess);
    this.running = db.prepare(SQL.running);
    this.incomplete = db.prepare(SQL.incomplete);
    this.provisional = db.prepare(SQL.provisional);
    this.rejected = db.prepare(SQL.rejected);
    // One read transaction, so the parts agree with each other while runs go on.
    this.read = db.transaction((jobName: string) => this.readAll(jobName));
  }

  summary(jobName: string): JobSummary {
    return this.read.deferred(jobName);
  }

  private readAll(jobName: string): JobSummary {
    const run = (row: SqliteJobRunRow | undefined) => (row ? jobRunFromSqliteRow(row) : undefined);
    return jobSummaryOf(jobName, {
      lastRun: run(this.lastRun.get(jobName)),
      lastSuccess: run(this.lastSuccess.get(jobName)),
      running: run(this.running.get(jobName)),
      incompleteChunks: this.incomplete.all(jobName).map(checkpointFromSqliteRow),
      provisionalChunks: this.provisional.all(jobName).map(checkpointFromSqliteRow),
      rejected: this.rejected.all(jobName),
    });
  }
}

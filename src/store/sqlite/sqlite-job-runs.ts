import type Database from 'better-sqlite3';
import { abandonmentReason } from '../abandonment-reason.js';
import { jobLockedError } from '../job-locked-error.js';
import { livenessProbe, type RunHost } from '../run-host.js';
import { SqliteRunFence } from './sqlite-run-fence.js';
import type { JobRun, RunProgress, RunStart, RunStatus } from '../store.js';
import { jobRunFromSqliteRow, type SqliteJobRunRow } from './sqlite-run-rows.js';
import { endedByItself } from '../run-ended-by-itself.js';

const SQL = {
  insert: `
    INSERT INTO job_runs (job_name, mode, profile, dry_run, status, started_at, heartbeat_at,
      rows_written, batches, host, pid, config_hash, params, heartbeat_interval_ms, boot_id,
      pid_namespace, process_start, run_token)
    VALUES (?, ?, ?, ?, 'running', ?, ?, 0, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    RETURNING *`,
  ownStart: `SELECT * FROM job_runs WHERE run_token = ? AND status = 'running'`,
  active: `
    SELECT * FROM job_runs
    WHERE job_name = ? AND status = 'running' AND dry_run = 0
    ORDER BY run_id LIMIT 1`,
  running: `SELECT * FROM job_runs WHERE status = 'running'`,
  runningOfJob: `SELECT * FROM job_runs WHERE status = 'running' AND job_name = ?`,
  abandon: `
    UPDATE job_runs SET status = 'abandoned', completed_at = ?, error = ?
    WHERE run_id = ? AND status = 'running'
    RETURNING *`,
  heartbeat: `
    UPDATE job_runs SET heartbeat_at = ?, rows_written = ?, batches = ?
    WHERE run_id = ? AND status = 'running'`,
  complete: `
    UPDATE job_runs
    SET status = ?, completed_at = ?, heartbeat_at = ?, rows_written = ?, batches = ?, error = ?
    WHERE run_id = ? AND status = 'running'`,
  get: `SELECT * FROM job_runs WHERE run_id = ?`,
  // -1 is SQLite's "no limit"; run_id breaks ties between runs started in the same millisecond.
  list: `SELECT * FROM job_runs ORDER BY started_at DESC, run_id DESC LIMIT ?`,
  listOfJob: `
    SELECT * FROM job_runs WHERE job_name = ?
    ORDER BY started_at DESC, run_id DESC LIMIT ?`,
} as const;

type Stmt = Database.Statement<unknown[], SqliteJobRunRow>;

/** The `job_runs` half of SqliteStore: run lifecycle, the one-active-run lock, abandonment. */
export class SqliteJobRuns {
  private readonly stmt: { readonly [K in keyof typeof SQL]: Stmt };
  private readonly startTx: Database.Transaction<
    (start: RunStart) => { run: JobRun; locked: boolean }
  >;
  private readonly reapTx: Database.Transaction<(jobName: string | undefined) => JobRun[]>;
  private readonly fence: SqliteRunFence;

  constructor(
    db: Database.Database,
    private readonly host: RunHost,
  ) {
    this.fence = new SqliteRunFence(db);
    const stmt = {} as Record<keyof typeof SQL, Stmt>;
    for (const key of Object.keys(SQL) as (keyof typeof SQL)[]) {
      stmt[key] = db.prepare<unknown[], SqliteJobRunRow>(SQL[key]);
    }
    this.stmt = stmt;
    this.reapTx = db.transaction((jobName: string | undefined) => this.reapLocked(jobName));
    this.startTx = db.transaction((start: RunStart) => {
      if (start.runToken !== undefined) {
        // This very start committed before and its acknowledgement was lost: adopt the row.
        const own = this.stmt.ownStart.get(start.runToken);
        if (own !== undefined) return { run: jobRunFromSqliteRow(own), locked: false };
      }
      this.reapLocked(start.jobName);
      if (!start.dryRun) {
        const active = this.stmt.active.get(start.jobName);
        // Returned, not thrown: throwing would roll back the reaping done above.
        if (active !== undefined) return { run: jobRunFromSqliteRow(active), locked: true };
      }
      const now = this.host.clock();
      const row = this.stmt.insert.get(
        start.jobName,
        start.mode,
        start.profile,
        start.dryRun ? 1 : 0,
        now,
        now,
        start.host,
        start.pid,
        start.configHash,
        JSON.stringify(start.params),
        start.heartbeatIntervalMs,
        start.identity?.bootId ?? null,
        start.identity?.pidNamespace ?? null,
        start.identity?.processStart ?? null,
        start.runToken ?? null,
      ) as SqliteJobRunRow;
      return { run: jobRunFromSqliteRow(row), locked: false };
    });
  }

  /** Records a running run, or throws JobLockedError naming the run that holds the job. */
  start(start: RunStart): JobRun {
    // IMMEDIATE: the check and the insert must see the same database as every other process.
    const outcome = this.startTx.immediate(start);
    if (outcome.locked) throw jobLockedError(outcome.run, this.host.clock());
    return outcome.run;
  }

  /** Marks abandoned runs (of one job, or all) and returns them as they are now stored. */
  reap(jobName?: string): JobRun[] {
    return this.reapTx.immediate(jobName);
  }

  /** Throws JobSupersededError when the run is no longer `running` (marked abandoned). */
  heartbeat(runId: number, progress: RunProgress): void {
    const beat = this.stmt.heartbeat.run(
      this.host.clock(),
      progress.rowsWritten,
      progress.batches,
      runId,
    );
    if (beat.changes === 0) throw this.fence.supersededError(runId);
  }

  /** Throws JobSupersededError when the run was judged abandoned (or its row is gone). */
  complete(
    runId: number,
    status: Exclude<RunStatus, 'running' | 'abandoned'>,
    progress: RunProgress,
    error: string | undefined,
  ): void {
    const now = this.host.clock();
    const ended = this.stmt.complete.run(
      status,
      now,
      now,
      progress.rowsWritten,
      progress.batches,
      error ?? null,
      runId,
    );
    if (ended.changes === 0 && !endedByItself(this.stmt.get.get(runId))) {
      throw this.fence.supersededError(runId);
    }
  }

  list(jobName: string | undefined, limit: number | undefined): JobRun[] {
    const max = limit === undefined ? -1 : Math.max(0, Math.floor(limit));
    const rows =
      jobName === undefined ? this.stmt.list.all(max) : this.stmt.listOfJob.all(jobName, max);
    return rows.map(jobRunFromSqliteRow);
  }

  get(runId: number): JobRun | undefined {
    const row = this.stmt.get.get(runId);
    return row === undefined ? undefined : jobRunFromSqliteRow(row);
  }

  /** Must run inside a write transaction so no one else marks or starts runs meanwhile. */
  private reapLocked(jobName: string | undefined): JobRun[] {
    const probe = livenessProbe(this.host);
    const rows =
      jobName === undefined ? this.stmt.running.all() : this.stmt.runningOfJob.all(jobName);
    const reaped: JobRun[] = [];
    for (const row of rows) {
      const reason = abandonmentReason(jobRunFromSqliteRow(row), probe);
      if (reason === undefined) continue;
      const marked = this.stmt.abandon.get(probe.now, reason, row.run_id);
      if (marked !== undefined) reaped.push(jobRunFromSqliteRow(marked));
    }
    return reaped;
  }
}

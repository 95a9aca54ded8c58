import type pg from 'pg';
import { abandonmentReason } from '../abandonment-reason.js';
import { jobLockedError } from '../job-locked-error.js';
import { livenessProbe, type RunHost } from '../run-host.js';
import { endedByItself } from '../run-ended-by-itself.js';
import { jobRunFromRow, type JobRunRow } from '../run-rows.js';
import type { JobRun, RunProgress, RunStart, RunStatus } from '../store.js';
import { withCancellableConnection } from './postgres-cancellable-connection.js';
import { RUN_COLUMNS } from './postgres-run-rows.js';
import { PostgresRunFence } from './postgres-run-fence.js';
import { databaseNow, msFromTimestamptz, timestamptzFromMs } from './postgres-timestamps.js';

/** A client checked out of the pool, or the pool itself for single statements. */
type Queryable = pg.Pool | pg.PoolClient;

/**
 * The `job_runs` half of PostgresStore: run lifecycle, the one-active-run lock, abandonment.
 *
 * The lock is a transaction-level advisory lock per job around reap + check + insert: two
 * processes starting the same job take turns, and a holder that crashes loses the lock with its
 * connection. The partial unique index `job_runs_one_active` backs it up.
 *
 * Heartbeats are stamped and judged by the database's clock, never a host's: runs on hosts whose
 * clocks disagree are all measured against one clock.
 */
export class PostgresJobRuns {
  private readonly sql: {
    readonly now: string;
    readonly ownStart: string;
    readonly insert: string;
    readonly active: string;
    readonly running: string;
    readonly runningOfJob: string;
    readonly abandon: string;
    readonly heartbeat: string;
    readonly complete: string;
    readonly get: string;
    readonly status: string;
    readonly list: string;
    readonly listOfJob: string;
  };

  private readonly fence: PostgresRunFence;

  constructor(
    private readonly pool: pg.Pool,
    /** The quoted schema, e.g. `"public"`. */
    schema: string,
    /** The schema unquoted: part of the lock key, so two schemas never share locks. */
    private readonly schemaName: string,
    private readonly host: RunHost,
    /** Stands in for the database's clock (tests that move time); undefined in production. */
    private readonly databaseClock: (() => number) | undefined,
  ) {
    const runs = `${schema}.job_runs`;
    this.fence = new PostgresRunFence(schema);
    this.sql = {
      now: `SELECT ${msFromTimestamptz(databaseNow('$1'))} AS now`,
      ownStart: `SELECT ${RUN_COLUMNS} FROM ${runs} WHERE run_token = $1 AND status = 'running'`,
      insert: `
        INSERT INTO ${runs} (job_name, mode, profile, dry_run, status, started_at, heartbeat_at,
          rows_written, batches, host, pid, config_hash, params, heartbeat_interval_ms, boot_id,
          pid_namespace, process_start, run_token)
        VALUES ($1, $2, $3, $4, 'running', ${timestamptzFromMs('$5')}, ${timestamptzFromMs('$5')},
          0, 0, $6, $7, $8, $9::jsonb, $10, $11, $12, $13, $14)
        RETURNING ${RUN_COLUMNS}`,
      active: `
        SELECT ${RUN_COLUMNS} FROM ${runs}
        WHERE job_name = $1 AND status = 'running' AND NOT dry_run
        ORDER BY run_id LIMIT 1`,
      running: `SELECT ${RUN_COLUMNS} FROM ${runs} WHERE status = 'running'`,
      runningOfJob: `SELECT ${RUN_COLUMNS} FROM ${runs} WHERE status = 'running' AND job_name = $1`,
      // Only if the heartbeat is still the one judged stale: a run that beat meanwhile lives on.
      abandon: `
        UPDATE ${runs} SET status = 'abandoned', completed_at = ${timestamptzFromMs('$1')},
          error = $2
        WHERE run_id = $3 AND status = 'running'
          AND ${msFromTimestamptz('heartbeat_at')} = $4::float8
        RETURNING ${RUN_COLUMNS}`,
      heartbeat: `
        UPDATE ${runs} SET heartbeat_at = ${databaseNow('$1')}, rows_written = $2, batches = $3
        WHERE run_id = $4 AND status = 'running'`,
      complete: `
        UPDATE ${runs} SET status = $1, completed_at = t.now, heartbeat_at = t.now,
          rows_written = $3, batches = $4, error = $5
        FROM (SELECT ${databaseNow('$2')} AS now) AS t
        WHERE run_id = $6 AND status = 'running'`,
      get: `SELECT ${RUN_COLUMNS} FROM ${runs} WHERE run_id = $1`,
      status: `SELECT status FROM ${runs} WHERE run_id = $1`,
      // LIMIT NULL is no limit; run_id breaks ties between runs started in the same millisecond.
      list: `SELECT ${RUN_COLUMNS} FROM ${runs} ORDER BY started_at DESC, run_id DESC LIMIT $1`,
      listOfJob: `
        SELECT ${RUN_COLUMNS} FROM ${runs} WHERE job_name = $1
        ORDER BY started_at DESC, run_id DESC LIMIT $2`,
    };
  }

  /** Records a running run, or throws JobLockedError naming the run that holds the job. */
  async start(start: RunStart): Promise<JobRun> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `mdp:job:${this.schemaName}:${start.jobName}`,
      ]);
      if (start.runToken !== undefined) {
        // This very start committed before and its acknowledgement was lost: adopt the row.
        const own = await client.query<JobRunRow>(this.sql.ownStart, [start.runToken]);
        const row = own.rows[0];
        if (row !== undefined) {
          await client.query('COMMIT');
          return jobRunFromRow(row);
        }
      }
      const now = await this.now(client);
      await this.reapWith(client, start.jobName, now);
      if (!start.dryRun) {
        const active = await client.query<JobRunRow>(this.sql.active, [start.jobName]);
        const holder = active.rows[0];
        if (holder !== undefined) {
          // Committed, not rolled back: the reaping above stands.
          await client.query('COMMIT');
          throw jobLockedError(jobRunFromRow(holder), now);
        }
      }
      const inserted = await client.query<JobRunRow>(this.sql.insert, [
        start.jobName,
        start.mode,
        start.profile,
        start.dryRun,
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
      ]);
      await client.query('COMMIT');
      return jobRunFromRow(inserted.rows[0] as JobRunRow);
    } catch (error: unknown) {
      if (client.getTransactionStatus() !== 'I') {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          broken =
            rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        });
      }
      if (isOneActiveViolation(error)) {
        // Someone inserted without the advisory lock; the index still kept the job to one run.
        const active = await this.pool.query<JobRunRow>(this.sql.active, [start.jobName]);
        const holder = active.rows[0];
        if (holder !== undefined) {
          throw jobLockedError(jobRunFromRow(holder), await this.now(this.pool));
        }
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Marks abandoned runs (of one job, or all) and returns them as they are now stored. Aborting
   * `signal` cancels the statement waiting (on a lock) and throws the abort reason.
   */
  async reap(jobName?: string, signal?: AbortSignal): Promise<JobRun[]> {
    if (signal === undefined) return this.reapWith(this.pool, jobName, await this.now(this.pool));
    return withCancellableConnection(this.pool, signal, async (client) =>
      this.reapWith(client, jobName, await this.now(client)),
    );
  }

  /** Throws JobSupersededError when the run is no longer `running` (marked abandoned). */
  async heartbeat(runId: number, progress: RunProgress): Promise<void> {
    const result = await this.pool.query(this.sql.heartbeat, [
      this.clockStandIn(),
      progress.rowsWritten,
      progress.batches,
      runId,
    ]);
    if ((result.rowCount ?? 0) === 0) throw await this.fence.supersededError(this.pool, runId);
  }

  /** Throws JobSupersededError when the run was judged abandoned (or its row is gone). */
  async complete(
    runId: number,
    status: Exclude<RunStatus, 'running' | 'abandoned'>,
    progress: RunProgress,
    error: string | undefined,
  ): Promise<void> {
    const ended = await this.pool.query(this.sql.complete, [
      status,
      this.clockStandIn(),
      progress.rowsWritten,
      progress.batches,
      error ?? null,
      runId,
    ]);
    if ((ended.rowCount ?? 0) > 0) return;
    const row = await this.pool.query<{ status: string }>(this.sql.status, [runId]);
    if (!endedByItself(row.rows[0])) throw await this.fence.supersededError(this.pool, runId);
  }

  async list(jobName: string | undefined, limit: number | undefined): Promise<JobRun[]> {
    const max = limit === undefined ? null : Math.max(0, Math.floor(limit));
    const result =
      jobName === undefined
        ? await this.pool.query<JobRunRow>(this.sql.list, [max])
        : await this.pool.query<JobRunRow>(this.sql.listOfJob, [jobName, max]);
    return result.rows.map(jobRunFromRow);
  }

  async get(runId: number): Promise<JobRun | undefined> {
    const result = await this.pool.query<JobRunRow>(this.sql.get, [runId]);
    const row = result.rows[0];
    return row === undefined ? undefined : jobRunFromRow(row);
  }

  /** The database's time (or a test's stand-in), in epoch ms. */
  clock(): Promise<number> {
    return this.now(this.pool);
  }

  /** The database's time (or a test's stand-in), in epoch ms. */
  private async now(db: Queryable): Promise<number> {
    const result = await db.query<{ now: number }>(this.sql.now, [this.clockStandIn()]);
    return (result.rows[0] as { now: number }).now;
  }

  /** The test's stand-in for the database's clock, or null for the database's own. */
  private clockStandIn(): number | null {
    return this.databaseClock?.() ?? null;
  }

  /**
   * Judges each running run and marks the stale ones. Safe without a lock: the update applies
   * only while the run is still running with the heartbeat that was judged, so concurrent
   * reapers mark a run once and a run that beat in between is left alone.
   */
  private async reapWith(
    db: Queryable,
    jobName: string | undefined,
    now: number,
  ): Promise<JobRun[]> {
    const probe = livenessProbe(this.host, now);
    const running =
      jobName === undefined
        ? await db.query<JobRunRow>(this.sql.running)
        : await db.query<JobRunRow>(this.sql.runningOfJob, [jobName]);
    const reaped: JobRun[] = [];
    for (const row of running.rows) {
      const run = jobRunFromRow(row);
      const reason = abandonmentReason(run, probe);
      if (reason === undefined) continue;
      const marked = await db.query<JobRunRow>(this.sql.abandon, [
        probe.now,
        reason,
        run.runId,
        run.heartbeatAt,
      ]);
      const stored = marked.rows[0];
      if (stored !== undefined) reaped.push(jobRunFromRow(stored));
    }
    return reaped;
  }
}

/** A unique violation of the one-active-run index. */
function isOneActiveViolation(error: unknown): boolean {
  const { code, constraint } = (error ?? {}) as { code?: unknown; constraint?: unknown };
  return code === '23505' && constraint === 'job_runs_one_active';
}

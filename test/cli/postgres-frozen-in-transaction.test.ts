/**
 * A backfill frozen INSIDE its batch transaction (SIGSTOP, a VM pause, a long GC between the
 * upsert and COMMIT) is "idle in transaction" to PostgreSQL and keeps the row locks of what it
 * upserted for as long as it is frozen. Its successor, started once it is judged abandoned, used
 * to wait on those locks until lock_timeout and its retries gave up (MDP_STORE_BUSY, 0 rows after
 * 2 m 37 s with the default settings): both runs failed and the job stayed wedged until someone
 * killed the frozen process. storage.primary.idle_in_transaction_timeout has the server end such
 * a session, freeing its locks.
 *
 * To freeze the child reliably inside the transaction, the test holds an ACCESS EXCLUSIVE lock on
 * bars_ohlcv: the child's upsert waits on it, the child is stopped, the lock released; the upsert
 * then completes on the server while the client, stopped, never sends COMMIT.
 */
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { schemaForDir } from '../helpers/postgres-test-names.js';
import { useTestPostgresPool } from '../helpers/postgres-test-server.js';
import { collect, runCli, spawnCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { writeTestConfig } from '../helpers/test-config.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();
const db = useTestPostgresPool();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** States of this database's mdp sessions that have a transaction open. */
async function mdpTransactions(pool: pg.Pool): Promise<{ state: string; wait: string | null }[]> {
  const result = await pool.query<{ state: string; wait: string | null }>(
    `SELECT state, wait_event_type AS wait FROM pg_stat_activity
     WHERE datname = current_database() AND application_name = 'mdp' AND xact_start IS NOT NULL`,
  );
  return result.rows;
}

/** True once one of them matches (undefined otherwise, for waitFor). */
async function mdpTransactionsWhere(
  pool: pg.Pool,
  matches: (row: { state: string; wait: string | null }) => boolean,
): Promise<true | undefined> {
  return (await mdpTransactions(pool)).some(matches) ? true : undefined;
}

describe('PostgreSQL: a backfill frozen inside its batch transaction', () => {
  it('loses its session and its locks after idle_in_transaction_timeout; its successor stores the window; resumed, it commits nothing and exits 1', async () => {
    const dir = tempDir();
    const schema = schemaForDir(dir);
    writeTestConfig(dir, {
      storage: 'postgres',
      symbols: ['AAA'],
      start: '2024-01-01T00:00:00Z',
      end: '2024-01-02T00:00:00Z',
      batchSize: 20_000,
      concurrency: 1,
      heartbeatInterval: '1s',
      lockTimeout: '5s',
      idleInTransactionTimeout: '2s',
      storageRetry: { max_attempts: 2, backoff_seconds: 1, max_backoff_seconds: 1 },
    });
    // A live run creates the schema's tables (its bars are recent: outside the backfill's day).
    const warm = await runCli(['run', '--config', 'mdp.yaml', '--job', 'live_job'], { cwd: dir });
    expect(warm.code, warm.stderr).toBe(0);
    const pool = db();
    const holder = await pool.connect();
    let frozen: ReturnType<typeof spawnCli> | undefined;
    let frozenDone: ReturnType<typeof collect> | undefined;
    try {
      await holder.query('BEGIN');
      await holder.query(`LOCK TABLE "${schema}".bars_ohlcv IN ACCESS EXCLUSIVE MODE`);
      frozen = spawnCli(['backfill', '--config', 'mdp.yaml', '--job', 'backfill_job'], {
        cwd: dir,
      });
      frozenDone = collect(frozen, 90_000);
      await waitFor('the backfill waiting on the table lock inside its transaction', () =>
        mdpTransactionsWhere(pool, (row) => row.wait === 'Lock'),
      );
      frozen.kill('SIGSTOP');
      await holder.query('ROLLBACK');
      // The upsert completes on the server; the stopped client never sends COMMIT.
      await waitFor(
        'the frozen backfill idle in its transaction',
        () => mdpTransactionsWhere(pool, (row) => row.state === 'idle in transaction'),
        5_000,
      );
      await waitFor(
        'the server ending the frozen session',
        async () => ((await mdpTransactions(pool)).length === 0 ? true : undefined),
        10_000,
      );
      // Past three missed heartbeats of 1 s, the frozen run counts as abandoned.
      await sleep(3_500);
      const successor = await runCli(
        ['backfill', '--config', 'mdp.yaml', '--job', 'backfill_job'],
        {
          cwd: dir,
          timeoutMs: 60_000,
        },
      );
      expect(successor.code, successor.stderr).toBe(0);
      const stored = await storedWindow(pool, schema);
      expect(stored.bars).toBeGreaterThan(0);
      expect(stored.bars).toBe(stored.checkpointed);

      frozen.kill('SIGCONT');
      const resumed = await frozenDone;
      expect(resumed.code, resumed.stderr).toBe(1);
      expect(resumed.stderr).toMatch(
        /error \[MDP_JOB_SUPERSEDED\]: run \d+ of job backfill_job was superseded/,
      );
      expect(await storedWindow(pool, schema)).toEqual(stored);
      const runs = await pool.query<{ status: string }>(
        `SELECT status FROM "${schema}".job_runs WHERE job_name = 'backfill_job' ORDER BY run_id`,
      );
      expect(runs.rows.map((row) => row.status)).toEqual(['abandoned', 'success']);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
      frozen?.kill('SIGCONT');
      frozen?.kill('SIGKILL');
      await frozenDone?.catch(() => undefined);
    }
  }, 150_000);
});

/** Bars of the backfill's window, and the rows its checkpoints account for. */
async function storedWindow(pool: pg.Pool, schema: string) {
  const bars = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM "${schema}".bars_ohlcv
     WHERE ts >= '2024-01-01T00:00:00Z' AND ts < '2024-01-02T00:00:00Z'`,
  );
  const checkpointed = await pool.query<{ n: number }>(
    `SELECT coalesce(sum(rows), 0)::int AS n FROM "${schema}".job_checkpoints
     WHERE job_name = 'backfill_job' AND complete`,
  );
  return { bars: bars.rows[0]?.n, checkpointed: checkpointed.rows[0]?.n };
}

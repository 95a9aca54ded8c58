/**
 * Another session holds `LOCK TABLE bars_ohlcv IN ACCESS EXCLUSIVE MODE` in an open transaction
 * while `mdp backfill` writes. Without a lock timeout the write waits for good while the run's
 * heartbeats (another table) stay healthy; with `storage.primary.lock_timeout` it is rolled back,
 * retried, and fails clearly past the retry budget; a signal cancels the waiting statement.
 */
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { schemaForDir } from '../helpers/postgres-test-names.js';
import { useTestPostgresPool } from '../helpers/postgres-test-server.js';
import { collect, spawnCli, type CliResult } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { writeTestConfig, type TestConfigOptions } from '../helpers/test-config.js';
import { openTestStore, useTestStorage } from '../helpers/test-storage.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();
const storage = useTestStorage('postgres');
const pool = useTestPostgresPool();

/** 6 h of 1m bars for 2 symbols, one chunk at a time. */
const SMALL: TestConfigOptions = {
  storage: 'postgres',
  end: '2024-01-01T06:00:00Z',
  concurrency: 1,
  logLevel: 'info',
};
const TOTAL = 2 * 360;

/**
 * Creates the test's tables, then takes the table lock in a transaction left open; the returned
 * client holds it until `release`.
 */
async function lockBars(
  dir: string,
): Promise<{ count: () => Promise<number>; release: () => Promise<void> }> {
  const store = await openTestStore('postgres', dir);
  await store.close();
  const holder: pg.PoolClient = await pool().connect();
  await holder.query('BEGIN');
  await holder.query(`LOCK TABLE "${schemaForDir(dir)}".bars_ohlcv IN ACCESS EXCLUSIVE MODE`);
  let released = false;
  return {
    // Read through the holder: anyone else would queue behind its lock.
    count: async () =>
      (
        await holder.query<{ n: string }>(
          `SELECT count(*) AS n FROM "${schemaForDir(dir)}".bars_ohlcv`,
        )
      ).rows.map((row) => Number(row.n))[0] ?? 0,
    release: async () => {
      if (released) return;
      released = true;
      await holder.query('COMMIT');
      holder.release();
    },
  };
}

/** Starts the backfill, collecting its stderr as it comes. */
function backfill(config: string): {
  pid: number | undefined;
  kill: (signal: NodeJS.Signals) => void;
  exited: Promise<CliResult>;
  output: () => string;
} {
  const child = spawnCli(['backfill', '--config', config, '--job', 'backfill_job']);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return {
    pid: child.pid,
    kill: (signal) => child.kill(signal),
    exited: collect(child, 60_000),
    output: () => stderr,
  };
}

/** A lock on the dir's bars_ohlcv that an mdp connection is waiting for. */
async function lockAwaited(dir: string): Promise<true | undefined> {
  const result = await pool().query(
    `SELECT 1 FROM pg_locks l
       JOIN pg_class c ON c.oid = l.relation
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE NOT l.granted AND c.relname = 'bars_ohlcv' AND n.nspname = $1
       AND a.application_name = 'mdp'`,
    [schemaForDir(dir)],
  );
  return (result.rowCount ?? 0) > 0 ? true : undefined;
}

describe('mdp backfill while another session holds a table lock on bars_ohlcv', () => {
  it('released within the retry budget: the write times out, is retried, and the run succeeds', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir, {
      ...SMALL,
      lockTimeout: '300ms',
      storageRetry: { max_attempts: 20, backoff_seconds: 0.2, max_backoff_seconds: 0.2 },
    });
    const lock = await lockBars(dir);
    const run = backfill(config);
    try {
      await Promise.race([
        waitFor('a retried write', () =>
          run.output().includes('batch write failed and was rolled back; retrying')
            ? true
            : undefined,
        ),
        run.exited.then((early) => {
          throw new Error(`mdp exited ${early.code} before a retry:\n${early.stderr}`);
        }),
      ]);
    } finally {
      await lock.release();
    }
    const result = await run.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /waited past storage\.primary\.lock_timeout \(300ms\) for a lock another session holds: canceling statement due to lock timeout \(55P03\)/,
    );
    expect((await storage.barSnapshot(dir)).count).toBe(TOTAL);
    expect(await storage.jobRuns(dir)).toMatchObject([{ status: 'success', rows_written: TOTAL }]);
  });

  it('held past the retry budget: exit 1, the error names the lock timeout and its setting', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir, {
      ...SMALL,
      lockTimeout: '300ms',
      storageRetry: { max_attempts: 3, backoff_seconds: 0.1, max_backoff_seconds: 0.1 },
    });
    const lock = await lockBars(dir);
    const started = Date.now();
    try {
      const result = await backfill(config).exited;
      // 3 waits of 300 ms and 2 pauses: seconds, not forever.
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(
        /^error \[MDP_STORE_BUSY\]: storage postgres: gave up on a batch after 3 attempts in [\d.]+ s \(storage\.primary\.write\.retry\); last error: .* waited past storage\.primary\.lock_timeout \(300ms\) for a lock another session holds: canceling statement due to lock timeout/m,
      );
      expect(await lock.count()).toBe(0);
      const [run] = await storage.jobRuns(dir);
      expect(run).toMatchObject({ status: 'failure', rows_written: 0 });
      expect(run?.error).toContain('storage.primary.lock_timeout');
    } finally {
      await lock.release();
    }
  });

  it('SIGINT while the write waits for the lock: exit 130 within 2 s, the run cancelled', async () => {
    const dir = tempDir();
    // The lock timeout is far away: only the signal can end this wait.
    const config = writeTestConfig(dir, { ...SMALL, lockTimeout: '60s' });
    const lock = await lockBars(dir);
    let result: CliResult;
    let stoppedIn: number;
    try {
      const run = backfill(config);
      await waitFor('the write waiting for the lock', () => lockAwaited(dir));
      const signalled = Date.now();
      run.kill('SIGINT');
      result = await run.exited;
      stoppedIn = Date.now() - signalled;
      expect(result.code, result.stderr).toBe(130);
      // Nothing of ours waits on the lock any more: the statement was cancelled, not abandoned.
      expect(await lockAwaited(dir), result.stderr).toBeUndefined();
      expect(await lock.count()).toBe(0);
      expect(await storage.jobRuns(dir)).toMatchObject([{ status: 'cancelled', rows_written: 0 }]);
    } finally {
      await lock.release();
    }
    expect(stoppedIn).toBeLessThan(2_000);
    expect(result.stderr).toContain('interrupted by SIGINT');
  });
});

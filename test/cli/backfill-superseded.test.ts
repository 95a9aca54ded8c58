/**
 * A backfill frozen (SIGSTOP: a VM pause, a long GC) past three heartbeats is judged abandoned and
 * a second run takes the job over. When the first resumes (SIGCONT) it commits nothing more, and
 * exits 1 naming the run that superseded it; the data is exact.
 */
import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { barsInWindow } from '../../src/pipeline/runner/backfill-plan.js';
import { SqliteDatabase } from '../../src/store/sqlite/sqlite-driver.js';
import { schemaForDir } from '../helpers/postgres-test-names.js';
import { useTestPostgresPool } from '../helpers/postgres-test-server.js';
import { collect, runCli, spawnCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { writeTestConfig } from '../helpers/test-config.js';
import { STORAGE_KINDS, useTestStorage, type StorageKind } from '../helpers/test-storage.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();
const SYMBOLS = ['AAA', 'BBB', 'CCC', 'DDD'];
const PER_SYMBOL = barsInWindow(
  Date.parse('2024-01-01T00:00:00Z'),
  Date.parse('2024-01-03T00:00:00Z'),
  '1m',
);
/** The shortest heartbeat_interval the config takes. */
const HEARTBEAT_MS = 1_000;
const pool = useTestPostgresPool();

/**
 * Whether some process holds a transaction open on the test's tables: SQLite's write lock, or
 * PostgreSQL locks on a table of the test's schema.
 */
async function inTransaction(kind: StorageKind, dir: string): Promise<boolean> {
  if (kind === 'sqlite') {
    const db = new SqliteDatabase(join(dir, 'data', 'test.db'), { timeout: 0 });
    try {
      db.exec('BEGIN IMMEDIATE; ROLLBACK');
      return false;
    } catch {
      return true;
    } finally {
      db.close();
    }
  }
  const locks = await pool().query<{ n: number }>(
    `SELECT count(*) AS n FROM pg_locks l
     JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace s ON s.oid = c.relnamespace
     WHERE s.nspname = $1 AND l.pid <> pg_backend_pid()`,
    [schemaForDir(dir)],
  );
  return (locks.rows[0]?.n ?? 0) > 0;
}

/**
 * SIGSTOP at a moment the child is between transactions. A process frozen inside one holds its
 * locks (SQLite's write lock, PostgreSQL's row locks) and blocks everyone until it resumes: no
 * fence can help that, and it is not what this test is about.
 */
async function freezeOutsideTransaction(
  child: ChildProcess,
  kind: StorageKind,
  dir: string,
): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    child.kill('SIGSTOP');
    if (!(await inTransaction(kind, dir))) return;
    child.kill('SIGCONT');
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
  throw new Error('the child was inside a transaction at each of 50 tries to freeze it');
}

describe.each(STORAGE_KINDS)('a frozen backfill superseded by another run, on %s', (kind) => {
  const storage = useTestStorage(kind);

  it('resumed, it commits nothing more and exits 1 naming its successor; every bar stored once', async () => {
    const dir = tempDir();
    // About 60 chunks of 80 ms, two at a time, each in three batches: stopped part way.
    const config = writeTestConfig(dir, {
      storage: kind,
      symbols: SYMBOLS,
      maxBarsPerRequest: 200,
      batchSize: 70,
      latencyMs: 80,
      heartbeatInterval: `${HEARTBEAT_MS}ms`,
    });
    const args = ['backfill', '--config', config, '--job', 'backfill_job'];
    const frozen = spawnCli(args);
    const frozenExit = collect(frozen);
    await waitFor('a checkpoint of the first run', async () =>
      (await storage.countRows(dir, 'job_checkpoints')) >= 2 ? true : undefined,
    );
    await freezeOutsideTransaction(frozen, kind, dir);
    try {
      // Past three missed heartbeats the first run counts as abandoned: a second run may start.
      await new Promise((resolve) => setTimeout(resolve, 4 * HEARTBEAT_MS + 300));
      const second = await runCli(args, { timeoutMs: 60_000 });
      expect(second.code, second.stderr).toBe(0);
      const runs = await storage.jobRuns(dir);
      expect(runs.map((run) => [run.run_id, run.status])).toEqual([
        [1, 'abandoned'],
        [2, 'success'],
      ]);
      expect(runs[0]?.error).toMatch(/^no heartbeat for [\d.]+s \(expected every 1s\)$/);
      const successorPid = runs[1]?.pid;

      const barsBefore = await storage.rowsPerRun(dir, 'bars_ohlcv');
      const checkpointsBefore = await storage.rowsPerRun(dir, 'job_checkpoints');
      expect(barsBefore[1]).toBeGreaterThan(0);

      frozen.kill('SIGCONT');
      const resumed = await frozenExit;
      expect(resumed.code, resumed.stderr).toBe(1);
      expect(resumed.stderr).toMatch(
        /^error \[MDP_JOB_SUPERSEDED\]: run 1 of job backfill_job was superseded: it is marked abandoned \(no heartbeat for /m,
      );
      expect(resumed.stderr).toContain(
        `run 2 (pid ${successorPid} on ${hostname()}) took the job over`,
      );
      expect(resumed.stdout).not.toMatch(/success/);

      // Nothing more of the first run's: the same rows by run as before it resumed.
      expect(await storage.rowsPerRun(dir, 'bars_ohlcv')).toEqual(barsBefore);
      expect(await storage.rowsPerRun(dir, 'job_checkpoints')).toEqual(checkpointsBefore);
      const after = await storage.jobRuns(dir);
      expect(after.map((run) => [run.run_id, run.status])).toEqual([
        [1, 'abandoned'],
        [2, 'success'],
      ]);
      // Every bar once, every chunk checkpointed once with exactly its bars.
      const snapshot = await storage.barSnapshot(dir);
      expect(snapshot.perSymbol).toEqual(
        Object.fromEntries(SYMBOLS.map((symbol) => [symbol, PER_SYMBOL])),
      );
      expect(await storage.checkpointedRows(dir)).toBe(snapshot.count);
    } finally {
      frozen.kill('SIGCONT');
      frozen.kill('SIGKILL');
    }
  });
});

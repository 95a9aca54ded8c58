/**
 * PostgreSQL going away under a running mdp: a server of this file's own (the run's shared one
 * cannot be stopped), paused and resumed on the same data directory and port.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { barsInWindow } from '../../src/pipeline/runner/backfill-plan.js';
import { SqliteDatabase } from '../../src/store/sqlite/sqlite-driver.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../helpers/embedded-postgres.js';
import { parseExposition, samplesOf } from '../helpers/exposition.js';
import { schemaForDir } from '../helpers/postgres-test-names.js';
import { useTestPostgresPool } from '../helpers/postgres-test-server.js';
import { startPushRecorder } from '../helpers/push-recorder.js';
import { collect, runCli, spawnCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { writeTestConfig, type TestConfigOptions } from '../helpers/test-config.js';
import { useTestStorage } from '../helpers/test-storage.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();
let server: EmbeddedServer | undefined;
const url = (): string => (server as EmbeddedServer).url;
const storage = useTestStorage('postgres', url);
const pool = useTestPostgresPool(url);

beforeAll(async () => {
  server = await startEmbeddedPostgres({ durable: false });
});
afterAll(async () => {
  await server?.stop();
});

const PER_SYMBOL = barsInWindow(
  Date.parse('2024-01-01T00:00:00Z'),
  Date.parse('2024-01-03T00:00:00Z'),
  '1m',
);
const SYMBOLS = ['AAA', 'BBB', 'CCC', 'DDD'];
/** About 60 chunks at 100 ms, two at a time: long enough to lose the database part way. */
const SLOW: TestConfigOptions = {
  storage: 'postgres',
  symbols: SYMBOLS,
  maxBarsPerRequest: 200,
  batchSize: 70,
  latencyMs: 100,
};

const checkpointsAtLeast = (dir: string, n: number) => async () =>
  (await storage.countRows(dir, 'job_checkpoints')) >= n ? true : undefined;

/** What `mdp status --json` says, after the database is back. */
async function status(config: string): Promise<{
  runs: { run_id: number; status: string; error: string | null }[];
  jobs: { job_name: string; spool_bars: number }[];
}> {
  const result = await runCli(['status', '--config', config, '--json']);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Awaited<ReturnType<typeof status>>;
}

describe('PostgreSQL stopped under a backfill', () => {
  it('back within the retry budget: the run pauses, reconnects and stores every bar once', async () => {
    const dir = tempDir();
    const gateway = await startPushRecorder();
    try {
      const config = writeTestConfig(dir, {
        ...SLOW,
        postgresUrl: url(),
        // 0.25 + 0.5 + 1 × 5 s of retries: far more than the outage below.
        storageRetry: {
          max_attempts: 8,
          backoff_seconds: 0.25,
          max_backoff_seconds: 1,
          jitter: 'none',
        },
        metrics: { pushgatewayUrl: gateway.url },
      });
      const child = spawnCli(['backfill', '--config', config, '--job', 'backfill_job']);
      const exited = collect(child, 90_000);
      await waitFor('4 checkpoints', checkpointsAtLeast(dir, 4));
      await server?.pause();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await server?.resume();
      const result = await exited;

      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^run 1 backfill_job success: 11,520 rows written/m);
      expect(result.stderr).toContain('batch write failed and was rolled back; retrying');
      expect(result.stderr).toMatch(/refused the connection|lost the connection/);
      const bars = await storage.barSnapshot(dir);
      expect(bars.perSymbol).toEqual(Object.fromEntries(SYMBOLS.map((s) => [s, PER_SYMBOL])));
      expect(await storage.jobRuns(dir)).toMatchObject([
        { status: 'success', rows_written: 11_520 },
      ]);

      // The final values pushed at the end of the run count the outage.
      const pushed = parseExposition(gateway.pushes.at(-1)?.body ?? '');
      const errors = samplesOf(pushed, 'pipeline_storage_errors_total', { storage: 'postgres' });
      expect(errors.reduce((sum, sample) => sum + sample.value, 0)).toBeGreaterThan(0);
      for (const sample of errors) {
        expect(['refused', 'connection_lost', 'timeout']).toContain(sample.labels.kind);
      }
    } finally {
      await gateway.close();
    }
  });

  it('down past the retry budget: a clear failure, the run abandoned once back, the rerun resumes', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir, {
      ...SLOW,
      postgresUrl: url(),
      storageRetry: {
        max_attempts: 3,
        backoff_seconds: 0.1,
        max_backoff_seconds: 0.2,
        jitter: 'none',
      },
    });
    const child = spawnCli(['backfill', '--config', config, '--job', 'backfill_job']);
    const exited = collect(child, 60_000);
    await waitFor('3 checkpoints', checkpointsAtLeast(dir, 3));
    await server?.pause();
    let result;
    try {
      result = await exited;
    } finally {
      await server?.resume();
    }
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error \[MDP_STORE_(REFUSED|CONNECTION_LOST)\]: storage postgres: gave up on a batch after 3 attempts in [\d.]+ s \(storage\.primary\.write\.retry\); last error: /m,
    );
    expect(result.stderr).toContain('127.0.0.1');
    // The end could not be recorded while the server was away; the next look marks it abandoned.
    expect(result.stderr).toContain('could not record');
    const saved = await storage.checkpointedRows(dir);
    expect(saved).toBeGreaterThan(0);
    const [killed] = (await status(config)).runs;
    expect(killed).toMatchObject({ run_id: 1, status: 'abandoned' });
    expect(killed?.error).toContain(`process ${child.pid}`);

    const rerun = await runCli(['backfill', '--config', config, '--job', 'backfill_job'], {
      timeoutMs: 90_000,
    });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect((await storage.barSnapshot(dir)).perSymbol).toEqual(
      Object.fromEntries(SYMBOLS.map((s) => [s, PER_SYMBOL])),
    );
    const runs = await storage.jobRuns(dir);
    expect(runs.map((run) => run.status)).toEqual(['abandoned', 'success']);
    // Checkpointed chunks were not fetched again.
    expect(runs[1]?.rows_written).toBe(SYMBOLS.length * PER_SYMBOL - saved);
  });
});

describe('PostgreSQL stopped under run --follow: the spool', () => {
  /** 4 symbols × 24 pages of 5 bars at 40 ms, one at a time: a first cycle of about 4 s. */
  const FOLLOW = (dir: string): TestConfigOptions => ({
    storage: 'postgres',
    postgresUrl: url(),
    symbols: SYMBOLS,
    maxBarsPerRequest: 5,
    latencyMs: 40,
    concurrency: 1,
    storageRetry: {
      max_attempts: 2,
      backoff_seconds: 0.05,
      max_backoff_seconds: 0.05,
      jitter: 'none',
    },
    spool: { path: join(dir, 'spool.db') },
    logLevel: 'info',
  });

  /** Bars waiting in the spool file, read as another process would. */
  function spooled(dir: string): number {
    const db = new SqliteDatabase(join(dir, 'spool.db'), { fileMustExist: true });
    try {
      return (
        db.prepare('SELECT COALESCE(SUM(bar_count), 0) AS n FROM spooled_batches').get() as {
          n: number;
        }
      ).n;
    } finally {
      db.close();
    }
  }

  const storedBars = (dir: string) => async (): Promise<number> =>
    (await storage.barSnapshot(dir)).count;

  /** Each symbol's stored bars are one unbroken run of minutes; returns the total. */
  async function expectNoGaps(dir: string): Promise<number> {
    const result = await pool().query<{ symbol: string; n: number; span: number }>(
      `SELECT symbol, count(*)::int AS n,
         (extract(epoch from max(ts) - min(ts)) / 60)::int + 1 AS span
       FROM "${schemaForDir(dir)}".bars_ohlcv GROUP BY symbol ORDER BY symbol`,
    );
    expect(result.rows.map((row) => row.symbol)).toEqual(SYMBOLS);
    for (const row of result.rows) expect(row.n).toBe(row.span);
    return result.rows.reduce((sum, row) => sum + row.n, 0);
  }

  it('keeps fetched bars in the spool while the database is down, then writes them in order', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir, FOLLOW(dir));
    const child = spawnCli(['run', '--config', config, '--job', 'live_job', '--follow']);
    const exited = collect(child, 90_000);
    await waitFor('40 bars stored', async () =>
      (await storedBars(dir)()) >= 40 ? true : undefined,
    );
    await server?.pause();
    try {
      await waitFor('30 bars spooled', () => (spooled(dir) >= 30 ? true : undefined));
    } finally {
      await server?.resume();
    }
    // The first cycle goes on, drains the spool first, and finishes: 119 or 120 bars a symbol.
    await waitFor(
      'the spool drained and the cycle done',
      async () =>
        spooled(dir) === 0 && (await storedBars(dir)()) >= SYMBOLS.length * 119 ? true : undefined,
      30_000,
    );
    child.kill('SIGINT');
    const result = await exited;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain('batch kept in the spool');
    expect(result.stderr).toContain('primary storage is back: spooled batch written');
    expect(await expectNoGaps(dir)).toBeGreaterThanOrEqual(SYMBOLS.length * 119);
    // In order: along each series, a later bar was never written before an earlier one.
    const disorder = await pool().query(
      `SELECT 1 FROM (
         SELECT ingested_at < lag(ingested_at) OVER (PARTITION BY symbol ORDER BY ts) AS early
         FROM "${schemaForDir(dir)}".bars_ohlcv) t
       WHERE early`,
    );
    expect(disorder.rowCount).toBe(0);
    expect(await storage.jobRuns(dir)).toMatchObject([{ status: 'cancelled' }]);
  });

  it('a spool left by a killed run shows in status and is written by the next run', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir, FOLLOW(dir));
    const child = spawnCli(['run', '--config', config, '--job', 'live_job', '--follow']);
    const exited = collect(child, 60_000);
    await waitFor('20 bars stored', async () =>
      (await storedBars(dir)()) >= 20 ? true : undefined,
    );
    await server?.pause();
    let held: number;
    try {
      await waitFor('20 bars spooled', () => (spooled(dir) >= 20 ? true : undefined));
      child.kill('SIGKILL');
      await exited;
      held = spooled(dir);
      // With the primary away, status fails, but says what waits in the spool.
      const down = await runCli(['status', '--config', config]);
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/^error \[MDP_STORE_REFUSED\]/m);
      expect(down.stdout).toContain(
        `spooled for live_job: ${held.toLocaleString('en-US')} bars in `,
      );
    } finally {
      await server?.resume();
    }
    const before = await status(config);
    expect(before.jobs.find((job) => job.job_name === 'live_job')?.spool_bars).toBe(held);
    const table = await runCli(['status', '--config', config]);
    expect(table.stdout).toMatch(new RegExp(`^live_job .*\\b${held} bars\\b`, 'm'));

    const next = await runCli(['run', '--config', config, '--job', 'live_job'], {
      timeoutMs: 60_000,
    });
    expect(next.code, next.stderr).toBe(0);
    expect(spooled(dir)).toBe(0);
    expect(await expectNoGaps(dir)).toBeGreaterThanOrEqual(SYMBOLS.length * 119);
    const after = await status(config);
    expect(after.jobs.find((job) => job.job_name === 'live_job')?.spool_bars).toBe(0);
    expect(after.runs.map((run) => run.status)).toEqual(['success', 'abandoned']);
  });
});

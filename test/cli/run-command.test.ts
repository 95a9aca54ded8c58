import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteDatabase as Database } from '../../src/store/sqlite/sqlite-driver.js';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { collect, runCli, spawnCli } from '../helpers/run-cli.js';
import { waitFor } from '../helpers/wait-for.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { writeTestConfig, type TestConfigOptions } from '../helpers/test-config.js';
import { STORAGE_KINDS, useTestStorage } from '../helpers/test-storage.js';
import { uniqueTestName } from '../helpers/postgres-test-names.js';
import { testPostgresUrl, useTestPostgresPool } from '../helpers/postgres-test-server.js';

const tempDir = useTempDir();
const SAMPLE = join(import.meta.dirname, '..', '..', 'configs', 'sample.yaml');

describe('mdp run, the sample config', () => {
  it('the seed smoke test: validate, run synthetic_live, then bars and a job_runs audit row', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'configs'));
    copyFileSync(SAMPLE, join(dir, 'configs', 'sample.yaml'));
    const validate = await runCli(['validate', '--config', 'configs/sample.yaml'], { cwd: dir });
    expect(validate.code).toBe(0);
    const run = await runCli(
      ['run', '--config', 'configs/sample.yaml', '--job', 'synthetic_live'],
      { cwd: dir },
    );
    expect(run.code).toBe(0);
    // 2 h lookback of 1m bars for three symbols: 119 or 120 closed bars each, depending on the second.
    expect(run.stdout).toMatch(/^run 1 synthetic_live success: (357|360) rows written/m);

    const db = new Database(join(dir, 'data', 'marketdata.db'), { readonly: true });
    const bars = db
      .prepare('SELECT symbol, COUNT(*) AS n, MAX(ts) AS last FROM bars_ohlcv GROUP BY symbol')
      .all() as {
      symbol: string;
      n: number;
      last: number;
    }[];
    const runs = db
      .prepare('SELECT job_name, mode, status, rows_written, host, pid, config_hash FROM job_runs')
      .all();
    db.close();
    expect(bars.map((b) => b.symbol)).toEqual(['AAA', 'BBB', 'CCC']);
    for (const series of bars) {
      expect(series.n).toBeGreaterThanOrEqual(119);
      // Never a bar that has not closed yet.
      expect(series.last + 60_000).toBeLessThanOrEqual(Date.now());
    }
    expect(runs).toMatchObject([{ job_name: 'synthetic_live', mode: 'live', status: 'success' }]);
    expect((runs[0] as { config_hash: string }).config_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  const pool = useTestPostgresPool();

  it('the quickstart against PostgreSQL: --profile prod with MDP_PG_URI naming a new database', async () => {
    const database = uniqueTestName();
    await pool().query(`CREATE DATABASE "${database}"`);
    try {
      const uri = new URL(testPostgresUrl());
      uri.pathname = `/${database}`;
      const env = { MDP_PG_URI: uri.toString() };
      const dir = tempDir();
      const args = ['--config', SAMPLE, '--profile', 'prod'];

      const validate = await runCli(['validate', ...args], { cwd: dir, env });
      expect(validate.code).toBe(0);
      expect(validate.stdout).toMatch(
        /^ {2}primary reachable: PostgreSQL \d+\.\d+; timescaledb not installed: bars_ohlcv will be a plain table$/m,
      );

      const run = await runCli(['run', ...args, '--job', 'synthetic_live'], { cwd: dir, env });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^run 1 synthetic_live success: (357|360) rows written/m);
      // Said once, as a warning: the sample's prod profile asks for TimescaleDB.
      expect(
        run.stderr.match(/timescaledb not installed: bars_ohlcv is a plain table/g),
      ).toHaveLength(1);
      expect(run.stdout + run.stderr).not.toContain(uri.password);

      const status = await runCli(['status', ...args, '--json'], { cwd: dir, env });
      expect(JSON.parse(status.stdout)).toMatchObject({
        runs: [{ run_id: 1, job_name: 'synthetic_live', status: 'success' }],
      });
      const client = new pg.Client({ connectionString: uri.toString() });
      await client.connect();
      try {
        const bars = await client.query(
          'SELECT symbol, count(*)::int AS n FROM public.bars_ohlcv GROUP BY symbol ORDER BY symbol',
        );
        expect(bars.rows.map((row: { symbol: string }) => row.symbol)).toEqual([
          'AAA',
          'BBB',
          'CCC',
        ]);
        for (const row of bars.rows as { n: number }[]) expect(row.n).toBeGreaterThanOrEqual(119);
      } finally {
        await client.end();
      }
      const again = await runCli(['validate', ...args], { cwd: dir, env });
      expect(again.stdout).toContain('timescaledb not installed: bars_ohlcv is a plain table');
    } finally {
      await pool().query(`DROP DATABASE "${database}" WITH (FORCE)`);
    }
  });
});

describe.each(STORAGE_KINDS)('mdp run on %s', (kind) => {
  const storage = useTestStorage(kind);
  const configIn = (dir: string, options: TestConfigOptions = {}): string =>
    writeTestConfig(dir, { ...options, storage: kind });

  it('a second cycle fetches only bars closed since the last stored one', async () => {
    const dir = tempDir();
    const config = configIn(dir);
    expect((await runCli(['run', '--config', config, '--job', 'live_job'])).code).toBe(0);
    const first = (await storage.barSnapshot(dir)).count;
    const second = await runCli(['run', '--config', config, '--job', 'live_job']);
    expect(second.code).toBe(0);
    const written = Number(
      /success: ([\d,]+) rows written/.exec(second.stdout)?.[1]?.replace(/,/g, ''),
    );
    // At most the one or two minutes that closed between the runs.
    expect(written).toBeLessThanOrEqual(2 * 2);
    expect((await storage.barSnapshot(dir)).count).toBe(first + written);
  });

  it('--dry-run lists the window per symbol and writes nothing', async () => {
    const dir = tempDir();
    const config = configIn(dir);
    const result = await runCli(['run', '--config', config, '--job', 'live_job', '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^live plan: 2 requests, pacing budget needs/m);
    expect(result.stdout).toMatch(/^ {2}AAA: .* \((119|120) bars\)$/m);
    expect((await storage.barSnapshot(dir)).count).toBe(0);
    expect(await storage.jobRuns(dir)).toMatchObject([{ dry_run: true, status: 'success' }]);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '--follow runs until %s, mid-cycle: whole batches stored, the run cancelled, exit %i',
    async (signal, code) => {
      const dir = tempDir();
      // 24 pages of 10 bars at 50 ms: the signal lands in the middle of the first cycle.
      const config = configIn(dir, { maxBarsPerRequest: 10, latencyMs: 50, concurrency: 1 });
      const child = spawnCli(['run', '--config', config, '--job', 'live_job', '--follow']);
      const exited = collect(child);
      await waitFor('the first batches', async () =>
        (await storage.barSnapshot(dir)).count >= 30 ? true : undefined,
      );
      expect(await storage.jobRuns(dir)).toMatchObject([{ status: 'running' }]);
      child.kill(signal);
      const result = await exited;
      expect(result.code).toBe(code);
      expect(result.stderr).toContain(`interrupted by ${signal}`);
      const [run] = await storage.jobRuns(dir);
      expect(run?.status).toBe('cancelled');
      // Only committed batches: the table holds exactly what the run counted, and it stopped early.
      const stored = (await storage.barSnapshot(dir)).count;
      expect(stored).toBe(run?.rows_written);
      expect(stored).toBeLessThan(2 * 119);
    },
  );

  it('refuses a backfill job', async () => {
    const dir = tempDir();
    const config = configIn(dir);
    const result = await runCli(['run', '--config', config, '--job', 'backfill_job']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'job "backfill_job" is a backfill job: run it with mdp backfill',
    );
  });
});

describe.each(STORAGE_KINDS)('mdp status on %s', (kind) => {
  const configIn = (dir: string, options: TestConfigOptions = {}): string =>
    writeTestConfig(dir, { ...options, storage: kind });

  it('prints recent runs as a table and as JSON, filtered by job and limited', async () => {
    const dir = tempDir();
    const config = configIn(dir);
    await runCli(['backfill', '--config', config, '--job', 'backfill_job']);
    await runCli(['run', '--config', config, '--job', 'live_job']);
    await runCli(['backfill', '--config', config, '--job', 'backfill_job', '--dry-run']);

    const table = await runCli(['status', '--config', config]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^RUN\s+JOB\s+MODE\s+STATUS\s+STARTED\s+DURATION\s+ROWS\s+HEARTBEAT\s+ERROR$/,
    );
    expect(lines[1]).toMatch(/^3\s+backfill_job\s+backfill \(dry\)\s+success\s/);
    expect(lines[2]).toMatch(/^2\s+live_job\s+live\s+success\s/);
    expect(lines[3]).toMatch(
      /^1\s+backfill_job\s+backfill\s+success\s+\S+\s+[\d.]+ s\s+5,760\s+-$/,
    );

    const json = await runCli([
      'status',
      '--config',
      config,
      '--json',
      '--job',
      'backfill_job',
      '--limit',
      '1',
    ]);
    const { runs } = JSON.parse(json.stdout) as { runs: Record<string, unknown>[] };
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      run_id: 3,
      job_name: 'backfill_job',
      dry_run: true,
      status: 'success',
    });

    // Then where each job stands.
    const jobsAt = lines.findIndex((line) => line.startsWith('JOB '));
    expect(lines[jobsAt]).toMatch(
      /^JOB\s+LAST RUN\s+LAST SUCCESS\s+RUNNING\s+INCOMPLETE\s+PROVISIONAL\s+SPOOLED\s+REJECTED$/,
    );
    expect(lines[jobsAt + 1]).toMatch(/^live_job\s+2 success \S+\s+2 \S+\s+-\s+0\s+0\s+-\s+-$/);
    expect(lines[jobsAt + 2]).toMatch(/^backfill_job\s+3 success \S+\s+1 \S+\s+-\s+0\s+0\s+-\s+-$/);
    const { jobs } = JSON.parse(
      (await runCli(['status', '--config', config, '--json'])).stdout,
    ) as {
      jobs: unknown[];
    };
    expect(jobs).toEqual([
      {
        job_name: 'live_job',
        last_run: expect.objectContaining({ run_id: 2, status: 'success', dry_run: false }),
        last_success: expect.objectContaining({ run_id: 2 }),
        running: null,
        incomplete_chunks: [],
        provisional_chunks: [],
        rejected_by_reason: {},
        spool_bars: 0,
        schedule: null,
        follow: false,
      },
      {
        job_name: 'backfill_job',
        last_run: expect.objectContaining({ run_id: 3, status: 'success', dry_run: true }),
        last_success: expect.objectContaining({ run_id: 1 }),
        running: null,
        incomplete_chunks: [],
        provisional_chunks: [],
        rejected_by_reason: {},
        spool_bars: 0,
        schedule: null,
        follow: false,
      },
    ]);

    const bad = await runCli(['status', '--config', config, '--limit', 'zero']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected a positive whole number');
  });

  it('says so when there are no runs yet', async () => {
    const dir = tempDir();
    const config = configIn(dir);
    const result = await runCli(['status', '--config', config]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('no runs recorded yet');
  });
});

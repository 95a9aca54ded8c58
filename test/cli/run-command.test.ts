import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteDatabase as Database } from '../../src/store/sqlite/sqlite-driver.js';
import { describe, expect, it } from 'vitest';
import { collect, runCli, spawnCli } from '../helpers/run-cli.js';
import { barSnapshot, jobRuns } from '../helpers/sqlite-db.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { writeTestConfig } from '../helpers/test-config.js';

const tempDir = useTempDir();
const SAMPLE = join(import.meta.dirname, '..', '..', 'configs', 'sample.yaml');

describe('mdp run', () => {
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

  it('a second cycle fetches only bars closed since the last stored one', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir);
    expect((await runCli(['run', '--config', config, '--job', 'live_job'])).code).toBe(0);
    const first = barSnapshot(dir).count;
    const second = await runCli(['run', '--config', config, '--job', 'live_job']);
    expect(second.code).toBe(0);
    const written = Number(
      /success: ([\d,]+) rows written/.exec(second.stdout)?.[1]?.replace(/,/g, ''),
    );
    // At most the one or two minutes that closed between the runs.
    expect(written).toBeLessThanOrEqual(2 * 2);
    expect(barSnapshot(dir).count).toBe(first + written);
  });

  it('--dry-run lists the window per symbol and writes nothing', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir);
    const result = await runCli(['run', '--config', config, '--job', 'live_job', '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^live plan: 2 requests, pacing budget needs/m);
    expect(result.stdout).toMatch(/^ {2}AAA: .* \((119|120) bars\)$/m);
    expect(barSnapshot(dir).count).toBe(0);
    expect(jobRuns(dir)).toMatchObject([{ dry_run: 1, status: 'success' }]);
  });

  it('--follow keeps the run open until SIGINT, then records it cancelled and exits 130', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir);
    const child = spawnCli(['run', '--config', config, '--job', 'live_job', '--follow']);
    const exited = collect(child);
    // Wait for the first cycle to be stored.
    for (let i = 0; i < 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      try {
        if (barSnapshot(dir).count > 0) break;
      } catch {
        // not created yet
      }
    }
    expect(jobRuns(dir)).toMatchObject([{ status: 'running' }]);
    child.kill('SIGINT');
    const result = await exited;
    expect(result.code).toBe(130);
    expect(jobRuns(dir)).toMatchObject([{ status: 'cancelled' }]);
    expect(barSnapshot(dir).count).toBeGreaterThanOrEqual(2 * 119);
  });

  it('refuses a backfill job', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir);
    const result = await runCli(['run', '--config', config, '--job', 'backfill_job']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'job "backfill_job" is a backfill job: run it with mdp backfill',
    );
  });
});

describe('mdp status', () => {
  it('prints recent runs as a table and as JSON, filtered by job and limited', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir);
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
    const runs = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      run_id: 3,
      job_name: 'backfill_job',
      dry_run: true,
      status: 'success',
    });

    const bad = await runCli(['status', '--config', config, '--limit', 'zero']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected a positive whole number');
  });

  it('says so when there are no runs yet', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir);
    const result = await runCli(['status', '--config', config]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('no runs recorded yet');
  });
});

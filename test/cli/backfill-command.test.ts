import { describe, expect, it } from 'vitest';
import { barsInWindow } from '../../src/pipeline/runner/backfill-plan.js';
import { runCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { writeTestConfig, type TestConfigOptions } from '../helpers/test-config.js';
import { STORAGE_KINDS, useTestStorage } from '../helpers/test-storage.js';

const tempDir = useTempDir();
const START = Date.parse('2024-01-01T00:00:00Z');
const END = Date.parse('2024-01-03T00:00:00Z');
const PER_SYMBOL = barsInWindow(START, END, '1m');

describe.each(STORAGE_KINDS)('mdp backfill on %s', (kind) => {
  const storage = useTestStorage(kind);
  const configIn = (dir: string, options: TestConfigOptions = {}): string =>
    writeTestConfig(dir, { ...options, storage: kind });

  it('stores every bar of the window once and records a successful run', async () => {
    const dir = tempDir();
    const config = configIn(dir);
    const result = await runCli(['backfill', '--config', config, '--job', 'backfill_job']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^run 1 backfill_job success: 5,760 rows written, 0 rejected, \d+ batches in .* bars\/s\)$/m,
    );
    const bars = await storage.barSnapshot(dir);
    expect(bars.perSymbol).toEqual({ AAA: PER_SYMBOL, BBB: PER_SYMBOL });
    const [run] = await storage.jobRuns(dir);
    expect(run).toMatchObject({
      job_name: 'backfill_job',
      mode: 'backfill',
      status: 'success',
      rows_written: 5760,
      dry_run: false,
    });
  });

  it('is idempotent: a rerun skips checkpointed chunks and --force rewrites identical rows', async () => {
    const dir = tempDir();
    const config = configIn(dir);
    expect((await runCli(['backfill', '--config', config, '--job', 'backfill_job'])).code).toBe(0);
    const first = await storage.barSnapshot(dir);

    const rerun = await runCli(['backfill', '--config', config, '--job', 'backfill_job']);
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toContain('success: 0 rows written');
    expect(await storage.barSnapshot(dir)).toEqual(first);

    const forced = await runCli([
      'backfill',
      '--config',
      config,
      '--job',
      'backfill_job',
      '--force',
    ]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('success: 5,760 rows written');
    expect(await storage.barSnapshot(dir)).toEqual(first);
  });

  it('--from/--to narrow the window, unaligned ends included correctly', async () => {
    const dir = tempDir();
    const config = configIn(dir);
    const result = await runCli([
      'backfill',
      '--config',
      config,
      '--job',
      'backfill_job',
      '--from',
      '2024-01-01T00:00:30Z',
      '--to',
      '2024-01-01T01:00:30Z',
    ]);
    expect(result.code).toBe(0);
    // Open times 00:01 … 01:00 inclusive: 60 bars per symbol.
    expect((await storage.barSnapshot(dir)).perSymbol).toEqual({ AAA: 60, BBB: 60 });
  });

  it('--dry-run prints the plan, writes no bars, and records a dry run', async () => {
    const dir = tempDir();
    const config = configIn(dir, { pacing: { requests_per_minute: 60, burst: 2 } });
    const result = await runCli([
      'backfill',
      '--config',
      config,
      '--job',
      'backfill_job',
      '--dry-run',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('backfill plan: 2024-01-01T00:00:00Z → 2024-01-03T00:00:00Z');
    expect(result.stdout).toMatch(/requests: (\d+), bars expected: 5,760, pacing budget needs/);
    expect(result.stdout).toContain('dry run: no bars or checkpoints were written');
    expect((await storage.barSnapshot(dir)).count).toBe(0);
    expect(await storage.jobRuns(dir)).toMatchObject([
      { dry_run: true, status: 'success', rows_written: 0 },
    ]);
    expect(await storage.countRows(dir, 'job_checkpoints')).toBe(0);
  });

  it('with write_enabled false fetches and validates but writes nothing, and says so', async () => {
    const dir = tempDir();
    const config = configIn(dir, { writeEnabled: false });
    const result = await runCli(['backfill', '--config', config, '--job', 'backfill_job']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'features.write_enabled is false: 5,760 bars were fetched and validated but not written',
    );
    expect((await storage.barSnapshot(dir)).count).toBe(0);
  });

  it('a provider that keeps failing fails the run: exit 1, error recorded, nothing half-written', async () => {
    const dir = tempDir();
    const config = configIn(dir, { failureRate: 1, maxAttempts: 2 });
    const result = await runCli(['backfill', '--config', config, '--job', 'backfill_job']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('gave up after 2 attempts');
    expect(result.stdout).toMatch(/^run 1 backfill_job failure: 0 rows written/m);
    const [run] = await storage.jobRuns(dir);
    expect(run?.status).toBe('failure');
    expect(run?.error).toContain('gave up after 2 attempts');
  });

  it('usage errors exit 2 with a hint', async () => {
    const dir = tempDir();
    const config = configIn(dir);
    const unknown = await runCli(['backfill', '--config', config, '--job', 'backfil_job']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no job "backfil_job"');
    expect(unknown.stderr).toContain('did you mean "backfill_job"');

    const wrongMode = await runCli(['backfill', '--config', config, '--job', 'live_job']);
    expect(wrongMode.code).toBe(2);
    expect(wrongMode.stderr).toContain('job "live_job" is a live job: run it with mdp run');

    const badTime = await runCli([
      'backfill',
      '--config',
      config,
      '--job',
      'backfill_job',
      '--from',
      'yesterday',
    ]);
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toContain('--from "yesterday" is not a UTC time');

    const missingJob = await runCli(['backfill', '--config', config]);
    expect(missingJob.code).toBe(2);
    expect(missingJob.stderr).toContain("required option '-j, --job <name>' not specified");
  });
});

describe('mdp backfill on both stores', () => {
  const sqlite = useTestStorage('sqlite');
  const postgres = useTestStorage('postgres');

  it('stores the same values, to the last bit of every double, in SQLite and PostgreSQL', async () => {
    const [inSqlite, inPostgres] = [tempDir(), tempDir()];
    const options = { symbols: ['AAA', 'BBB', 'CCC'], end: '2024-01-02T00:00:00Z' };
    for (const [dir, storage] of [
      [inSqlite, 'sqlite'],
      [inPostgres, 'postgres'],
    ] as const) {
      const config = writeTestConfig(dir, { ...options, storage });
      expect((await runCli(['backfill', '--config', config, '--job', 'backfill_job'])).code).toBe(
        0,
      );
    }
    const fromSqlite = await sqlite.barSnapshot(inSqlite);
    expect(fromSqlite.count).toBe(3 * barsInWindow(START, Date.parse(options.end), '1m'));
    expect(await postgres.barSnapshot(inPostgres)).toEqual(fromSqlite);
  });
});

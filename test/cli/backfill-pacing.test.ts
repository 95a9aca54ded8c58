import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { barSnapshot, jobRuns } from '../helpers/sqlite-db.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { writeTestConfig, type TestConfigOptions } from '../helpers/test-config.js';

const tempDir = useTempDir();
/** 2 days of 1m bars for two symbols in pages of 200: 30 requests. */
const WINDOW: TestConfigOptions = { maxBarsPerRequest: 200, concurrency: 8 };
const EVERY_BAR = { AAA: 2880, BBB: 2880 };

function logLines(stderr: string, message: string): number {
  return stderr.split('\n').filter((line) => line.includes(`"msg":"${message}`)).length;
}

describe('mdp backfill under pacing and retry', () => {
  it('pacing equal to the server limit, 8 chunks at a time: no 429 at all, every bar', async () => {
    const dir = tempDir();
    const limit = { requests_per_minute: 600, burst: 4 };
    const config = writeTestConfig(dir, { ...WINDOW, pacing: limit, serverLimit: limit });
    const result = await runCli(['backfill', '--config', config, '--job', 'backfill_job']);
    expect(result.code).toBe(0);
    expect(logLines(result.stderr, 'provider answered 429')).toBe(0);
    expect(barSnapshot(dir).perSymbol).toEqual(EVERY_BAR);
  });

  it('pacing above the server limit: 429s happen, are honoured, and the run still stores every bar', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir, {
      ...WINDOW,
      pacing: { requests_per_minute: 3000, burst: 20, cooldown_seconds: 0.1 },
      serverLimit: { requests_per_minute: 600, burst: 4, retry_after_seconds: 0.2 },
      maxAttempts: 1, // a 429 must not spend the failure budget
    });
    const result = await runCli(['backfill', '--config', config, '--job', 'backfill_job']);
    expect(result.code).toBe(0);
    expect(logLines(result.stderr, 'provider answered 429')).toBeGreaterThan(0);
    expect(barSnapshot(dir).perSymbol).toEqual(EVERY_BAR);
    expect(jobRuns(dir)).toMatchObject([{ status: 'success', rows_written: 5760 }]);
  });

  it('transient failures at a 20% rate: retried, every bar exactly once', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir, { ...WINDOW, failureRate: 0.2, maxAttempts: 10 });
    const result = await runCli(['backfill', '--config', config, '--job', 'backfill_job']);
    expect(result.code).toBe(0);
    expect(logLines(result.stderr, 'provider request failed; retrying')).toBeGreaterThan(0);
    expect(barSnapshot(dir).perSymbol).toEqual(EVERY_BAR);
    // No chunk was written twice: rows written equals the bars of the window.
    expect(jobRuns(dir)).toMatchObject([{ status: 'success', rows_written: 5760 }]);
  });

  it('a permanent failure fails the run at once, with the provider message and no retry', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir, {
      ...WINDOW,
      symbols: ['AAA', 'NOT A SYMBOL'],
      maxAttempts: 5,
    });
    const result = await runCli(['backfill', '--config', config, '--job', 'backfill_job']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('MDP_PROVIDER_PERMANENT');
    expect(result.stderr).toMatch(/unknown symbol/i);
    expect(logLines(result.stderr, 'provider request failed; retrying')).toBe(0);
    expect(jobRuns(dir)).toMatchObject([{ status: 'failure' }]);
  });
});

import { describe, expect, it } from 'vitest';
import { barsInWindow } from '../../src/pipeline/runner/backfill-plan.js';
import { collect, runCli, spawnCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { writeTestConfig, type TestConfigOptions } from '../helpers/test-config.js';
import { STORAGE_KINDS, useTestStorage, type TestStorage } from '../helpers/test-storage.js';

const tempDir = useTempDir();
const PER_SYMBOL = barsInWindow(
  Date.parse('2024-01-01T00:00:00Z'),
  Date.parse('2024-01-03T00:00:00Z'),
  '1m',
);
/** Slow enough (about 60 chunks at 120 ms, two at a time) to be stopped part way. */
const SLOW: TestConfigOptions = {
  symbols: ['AAA', 'BBB', 'CCC', 'DDD'],
  maxBarsPerRequest: 200,
  batchSize: 70,
  latencyMs: 120,
};

/** Polls until at least `chunks` checkpoints exist. */
async function waitForCheckpoints(
  storage: TestStorage,
  dir: string,
  chunks: number,
): Promise<void> {
  for (let i = 0; i < 400; i++) {
    // Rejects until the child has created the database and its tables.
    const n = await storage.countRows(dir, 'job_checkpoints').catch(() => 0);
    if (n >= chunks) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no ${chunks} checkpoints after 10 s`);
}

describe.each(STORAGE_KINDS)('mdp backfill interrupted, on %s', (kind) => {
  const storage = useTestStorage(kind);

  it.each([3, 9])(
    'SIGKILL after %i chunks: the rerun finishes exactly, the killed run is abandoned',
    async (chunks) => {
      const dir = tempDir();
      const config = writeTestConfig(dir, { ...SLOW, storage: kind });
      const child = spawnCli(['backfill', '--config', config, '--job', 'backfill_job']);
      const exited = collect(child);
      await waitForCheckpoints(storage, dir, chunks);
      child.kill('SIGKILL');
      const killed = await exited;
      expect(killed.signal).toBe('SIGKILL');
      const savedByCheckpoints = await storage.checkpointedRows(dir);
      expect(savedByCheckpoints).toBeGreaterThan(0);
      expect(savedByCheckpoints).toBeLessThan(4 * PER_SYMBOL);

      const status = await runCli(['status', '--config', config, '--json']);
      expect(status.code).toBe(0);
      const [killedRun] = JSON.parse(status.stdout) as {
        status: string;
        error: string;
        pid: number;
      }[];
      expect(killedRun?.status).toBe('abandoned');
      expect(killedRun?.error).toContain(`${child.pid}`);

      const rerun = await runCli(['backfill', '--config', config, '--job', 'backfill_job'], {
        timeoutMs: 120_000,
      });
      expect(rerun.code).toBe(0);
      const bars = await storage.barSnapshot(dir);
      expect(bars.perSymbol).toEqual({
        AAA: PER_SYMBOL,
        BBB: PER_SYMBOL,
        CCC: PER_SYMBOL,
        DDD: PER_SYMBOL,
      });
      // Finished chunks are not fetched again: the rerun writes exactly what checkpoints did not cover.
      const runs = await storage.jobRuns(dir);
      expect(runs.map((run) => run.status)).toEqual(['abandoned', 'success']);
      expect(runs[1]?.rows_written).toBe(4 * PER_SYMBOL - savedByCheckpoints);

      // And the data equals an uninterrupted run's.
      const clean = tempDir();
      const cleanConfig = writeTestConfig(clean, { ...SLOW, latencyMs: 0, storage: kind });
      expect(
        (await runCli(['backfill', '--config', cleanConfig, '--job', 'backfill_job'])).code,
      ).toBe(0);
      expect((await storage.barSnapshot(clean)).digest).toBe(bars.digest);
    },
  );

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s stops the run: exit %i, run cancelled, only whole batches stored, rerun completes',
    async (signal, code) => {
      const dir = tempDir();
      const config = writeTestConfig(dir, { ...SLOW, storage: kind });
      const child = spawnCli(['backfill', '--config', config, '--job', 'backfill_job']);
      const exited = collect(child);
      await waitForCheckpoints(storage, dir, 2);
      child.kill(signal);
      const result = await exited;
      expect(result.code).toBe(code);
      expect(result.stderr).toContain(`interrupted by ${signal}`);
      expect(result.stdout).toMatch(/^run 1 backfill_job cancelled: /m);
      const [run] = await storage.jobRuns(dir);
      expect(run?.status).toBe('cancelled');
      // Every stored bar came in a committed batch: rows_written matches the table.
      expect((await storage.barSnapshot(dir)).count).toBe(run?.rows_written);
      expect(
        (
          await runCli(['backfill', '--config', config, '--job', 'backfill_job'], {
            timeoutMs: 120_000,
          })
        ).code,
      ).toBe(0);
      expect((await storage.barSnapshot(dir)).count).toBe(4 * PER_SYMBOL);
    },
  );

  it('a second run of an active job exits 1 naming the running one', async () => {
    const dir = tempDir();
    const config = writeTestConfig(dir, { ...SLOW, storage: kind });
    const first = spawnCli(['backfill', '--config', config, '--job', 'backfill_job']);
    const firstExit = collect(first);
    await waitForCheckpoints(storage, dir, 1);
    const second = await runCli(['backfill', '--config', config, '--job', 'backfill_job']);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('MDP_JOB_LOCKED');
    expect(second.stderr).toContain(`pid ${first.pid}`);
    expect(second.stderr).toMatch(/run 1\b/);
    first.kill('SIGINT');
    expect((await firstExit).code).toBe(130);
  });
});

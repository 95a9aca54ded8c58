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
/** Slow enough (about 60 chunks at 80 ms, two at a time) to be stopped part way. */
const SLOW: TestConfigOptions = {
  symbols: ['AAA', 'BBB', 'CCC', 'DDD'],
  maxBarsPerRequest: 200,
  batchSize: 70,
  latencyMs: 80,
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

/** Kill points per seed: after this many checkpoints, then this many ms (mid-fetch or mid-write). */
function killPoint(seed: number): { chunks: number; delayMs: number } {
  // mulberry32: a few lines of seeded randomness, so a failing seed can be rerun as is.
  let t = seed >>> 0;
  const next = (): number => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  return { chunks: 1 + Math.floor(next() * 45), delayMs: Math.floor(next() * 150) };
}

const SEEDS = [11, 23, 47];

describe.each(STORAGE_KINDS)('mdp backfill interrupted, on %s', (kind) => {
  const storage = useTestStorage(kind);
  /** The bars of an uninterrupted run, for comparison; computed once per store. */
  let clean: Promise<string> | undefined;
  const cleanDigest = (): Promise<string> =>
    (clean ??= (async () => {
      const dir = tempDir();
      const config = writeTestConfig(dir, { ...SLOW, latencyMs: 0, storage: kind });
      expect((await runCli(['backfill', '--config', config, '--job', 'backfill_job'])).code).toBe(
        0,
      );
      return (await storage.barSnapshot(dir)).digest;
    })());

  it.each(SEEDS)(
    'SIGKILL at a random point (seed %i): the rerun finishes exactly, the killed run is abandoned',
    async (seed) => {
      const { chunks, delayMs } = killPoint(seed);
      const dir = tempDir();
      const config = writeTestConfig(dir, { ...SLOW, storage: kind });
      const child = spawnCli(['backfill', '--config', config, '--job', 'backfill_job']);
      const exited = collect(child);
      await waitForCheckpoints(storage, dir, chunks);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      child.kill('SIGKILL');
      const killed = await exited;
      expect(killed.signal).toBe('SIGKILL');
      const savedByCheckpoints = await storage.checkpointedRows(dir);
      expect(savedByCheckpoints).toBeGreaterThan(0);
      expect(savedByCheckpoints).toBeLessThan(4 * PER_SYMBOL);

      const status = await runCli(['status', '--config', config, '--json']);
      expect(status.code).toBe(0);
      const [killedRun] = (
        JSON.parse(status.stdout) as { runs: { status: string; error: string; pid: number }[] }
      ).runs;
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
      // And the data equals an uninterrupted run's, value for value.
      expect(bars.digest).toBe(await cleanDigest());
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
});

/**
 * A backfill killed, its config edited (window extended, a symbol added), then run again: the
 * rerun fetches exactly what no checkpoint holds.
 */
import { describe, expect, it } from 'vitest';
import { barsInWindow, planChunks } from '../../src/pipeline/runner/backfill-plan.js';
import { collect, runCli, spawnCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { writeTestConfig, type TestConfigOptions } from '../helpers/test-config.js';
import { STORAGE_KINDS, useTestStorage } from '../helpers/test-storage.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();
const START = Date.parse('2024-01-01T00:00:00Z');
const TWO_DAYS = barsInWindow(START, Date.parse('2024-01-03T00:00:00Z'), '1m');
const THREE_DAYS = barsInWindow(START, Date.parse('2024-01-04T00:00:00Z'), '1m');
const count = (n: number): string => n.toLocaleString('en-US');

describe.each(STORAGE_KINDS)('a backfill whose config changed after a crash, on %s', (kind) => {
  const storage = useTestStorage(kind);

  it('window extended and a symbol added: the rerun fetches only what is missing', async () => {
    const dir = tempDir();
    // 350-minute chunks on the epoch grid: the old window's last chunk is cut short by its end,
    // and the extended window continues it. One chunk at a time, time-major: once all but one
    // chunk are checkpointed, AAA's cut-short chunk is among them.
    const before: TestConfigOptions = {
      storage: kind,
      symbols: ['AAA', 'BBB'],
      maxBarsPerRequest: 350,
      batchSize: 100,
      latencyMs: 100,
      concurrency: 1,
    };
    const chunks = [
      ...planChunks({
        symbols: ['AAA', 'BBB'],
        interval: '1m',
        start: START,
        end: Date.parse('2024-01-03T00:00:00Z'),
        chunkMs: 350 * 60_000,
      }),
    ];
    expect(chunks.at(-1)?.end).toBe(Date.parse('2024-01-03T00:00:00Z'));
    expect((chunks.at(-1)?.end ?? 0) % (350 * 60_000)).not.toBe(0);
    const config = writeTestConfig(dir, before);
    const child = spawnCli(['backfill', '--config', config, '--job', 'backfill_job']);
    const exited = collect(child);
    await waitFor(`${chunks.length - 1} checkpoints`, async () =>
      (await storage.countRows(dir, 'job_checkpoints')) >= chunks.length - 1 ? true : undefined,
    );
    child.kill('SIGKILL');
    await exited;
    const saved = await storage.checkpointedRows(dir);
    expect(saved).toBeGreaterThan(0);

    const after: TestConfigOptions = {
      ...before,
      symbols: ['AAA', 'BBB', 'CCC'],
      end: '2024-01-04T00:00:00Z',
      latencyMs: 0,
    };
    writeTestConfig(dir, after);
    const missing = 3 * THREE_DAYS - saved;
    const plan = await runCli([
      'backfill',
      '--config',
      config,
      '--job',
      'backfill_job',
      '--dry-run',
    ]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain(`bars expected: ${count(missing)}`);

    const rerun = await runCli(['backfill', '--config', config, '--job', 'backfill_job']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stdout).toContain(`success: ${count(missing)} rows written`);
    const bars = await storage.barSnapshot(dir);
    expect(bars.perSymbol).toEqual({ AAA: THREE_DAYS, BBB: THREE_DAYS, CCC: THREE_DAYS });
    expect(TWO_DAYS).toBeLessThan(THREE_DAYS);

    // The same bars as a single run of the edited config.
    const clean = tempDir();
    const cleanConfig = writeTestConfig(clean, after);
    expect(
      (await runCli(['backfill', '--config', cleanConfig, '--job', 'backfill_job'])).code,
    ).toBe(0);
    expect((await storage.barSnapshot(clean)).digest).toBe(bars.digest);
  });
});

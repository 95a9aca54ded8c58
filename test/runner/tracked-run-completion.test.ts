import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/core/errors.js';
import { trackedRun } from '../../src/pipeline/runner/tracked-run.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { RunProgress, RunStatus } from '../../src/store/store.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { trackedRunOptions } from '../helpers/tracked-run-options.js';

const tempDir = useTempDir();

/** A real store whose first `failures` completeRun calls find the database away. */
class AwayAtTheEnd extends SqliteStore {
  calls = 0;
  constructor(
    path: string,
    private readonly failures: number,
  ) {
    super({ path });
  }
  override async completeRun(
    runId: number,
    status: Exclude<RunStatus, 'running' | 'abandoned'>,
    progress: RunProgress,
    error?: string,
  ): Promise<void> {
    if (++this.calls <= this.failures) {
      throw new StoreError('MDP_STORE_REFUSED', 'sqlite', 'refused', { transient: true });
    }
    return super.completeRun(runId, status, progress, error);
  }
}

async function runThatFails(failures: number) {
  const store = new AwayAtTheEnd(join(tempDir(), 'runs.db'), failures);
  await store.open();
  const { tracked, trackingErrors } = trackedRunOptions(store);
  const outcome = trackedRun(tracked, () => Promise.reject(new Error('the batch failed')));
  await expect(outcome).rejects.toThrow('the batch failed');
  return { store, trackingErrors };
}

describe('trackedRun recording the end of a run', () => {
  it('retries while the database is briefly away, then records the failure', async () => {
    const { store, trackingErrors } = await runThatFails(2);
    expect(await store.getRun(1)).toMatchObject({ status: 'failure', error: 'the batch failed' });
    expect(trackingErrors).toHaveLength(2);
    expect(trackingErrors[0]).toMatch(/could not record the end of run 1 .*; retrying/);
    await store.close();
  });

  it('gives up after the storage retry budget and leaves the row for the next run to reap', async () => {
    const { store, trackingErrors } = await runThatFails(5);
    expect(store.calls).toBe(3);
    expect((await store.getRun(1))?.status).toBe('running');
    expect(trackingErrors.at(-1)).toContain('refused');
    await store.close();
  });
});

/**
 * A run that loses its job: its start retried after a commit whose acknowledgement was lost, and
 * a heartbeat that finds the run judged abandoned and another run holding the job.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobSupersededError, StoreError } from '../../src/core/errors.js';
import { trackedRun } from '../../src/pipeline/runner/tracked-run.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { JobRun, RunStart, Store } from '../../src/store/store.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { openTestStore, STORAGE_KINDS } from '../helpers/test-storage.js';
import { TEST_RUN_START, trackedRunOptions } from '../helpers/tracked-run-options.js';

const tempDir = useTempDir();

const START = TEST_RUN_START;

/**
 * `store` with its first startRun committed but its acknowledgement lost (as when the connection
 * drops right after COMMIT): the row is stored, and the caller sees a transient error.
 */
function losingTheFirstAcknowledgement(store: Store): { starts: () => number } {
  const real = store.startRun.bind(store);
  let starts = 0;
  store.startRun = async (start: RunStart): Promise<JobRun> => {
    const run = await real(start);
    if (++starts === 1) {
      throw new StoreError(
        'MDP_STORE_CONNECTION_LOST',
        store.kind,
        'connection lost after COMMIT',
        {
          transient: true,
        },
      );
    }
    return run;
  };
  return { starts: () => starts };
}

describe.each(STORAGE_KINDS)('recording the start of a run, on %s', (kind) => {
  it('a start retried after its commit lost its acknowledgement adopts its own row', async () => {
    const store = await openTestStore(kind, tempDir());
    const fault = losingTheFirstAcknowledgement(store);
    try {
      const { tracked, trackingErrors } = trackedRunOptions(store);
      const { run, end } = await trackedRun(tracked, () => Promise.resolve('done'));
      expect(fault.starts()).toBe(2);
      expect(trackingErrors).toEqual([
        expect.stringMatching(
          /could not record the start of the run .*connection lost.*; retrying/,
        ),
      ]);
      expect(end.status).toBe('success');
      expect(await store.listRuns()).toEqual([
        expect.objectContaining({ runId: run.runId, status: 'success' }),
      ]);
    } finally {
      await store.close();
    }
  });
});

describe('trackedRun and the job it holds', () => {
  it('a heartbeat that finds the run superseded aborts it: failure naming the successor, row left abandoned', async () => {
    const path = join(tempDir(), 'runs.db');
    const store = new SqliteStore({ path });
    await store.open();
    // Another process whose clock is past three missed heartbeats: it reaps and takes the job.
    const other = new SqliteStore({ path, clock: () => Date.now() + 10_000, hostname: 'next-box' });
    await other.open();
    const lease = new AbortController();
    const signal = AbortSignal.any([new AbortController().signal, lease.signal]);
    const { tracked, ends } = trackedRunOptions(store, {
      start: { ...START, heartbeatIntervalMs: 100 },
      signal,
      lease,
    });
    let successor: JobRun | undefined;
    const outcome = trackedRun(tracked, async () => {
      successor = await other.startRun({ ...START, host: 'next-box', pid: 4321 });
      // A body that would go on writing for a long while unless its signal stops it.
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, 5_000);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(signal.reason as Error);
        });
      });
    });
    const error = await outcome.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(JobSupersededError);
    expect((error as JobSupersededError).successor).toEqual({
      runId: successor?.runId,
      host: 'next-box',
      pid: 4321,
    });
    expect(lease.signal.reason).toBe(error);
    expect(ends.map((end) => end.status)).toEqual(['failure']);
    expect(await store.getRun(1)).toMatchObject({ status: 'abandoned' });
    expect((await store.getRun(successor?.runId ?? 0))?.status).toBe('running');
    await other.close();
    await store.close();
  });

  it('a run judged abandoned after its last heartbeat never reports success', async () => {
    const path = join(tempDir(), 'runs.db');
    const store = new SqliteStore({ path });
    await store.open();
    const other = new SqliteStore({
      path,
      clock: () => Date.now() + 3_600_000,
      hostname: 'next-box',
    });
    await other.open();
    const { tracked, ends } = trackedRunOptions(store);
    const outcome = trackedRun(tracked, async () => {
      // Frozen after its work was done, before recording its end: judged abandoned meanwhile.
      await other.reapAbandoned();
      await other.startRun({ ...START, host: 'next-box', pid: 4321 });
    });
    await expect(outcome).rejects.toThrow(JobSupersededError);
    expect(ends.map((end) => end.status)).toEqual(['failure']);
    expect((await store.getRun(1))?.status).toBe('abandoned');
    await other.close();
    await store.close();
  });
});

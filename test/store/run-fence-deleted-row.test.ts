/**
 * A run whose row an operator deleted by hand ("the job is stuck") holds no job: once another run
 * has started, its batches are refused like its heartbeats, and the error names that run.
 */
import { describe, expect, it } from 'vitest';
import { JobSupersededError } from '../../src/core/errors.js';
import { useOperatorSql } from '../helpers/operator-sql.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { openTestStore, STORAGE_KINDS } from '../helpers/test-storage.js';
import { TEST_RUN_START } from '../helpers/tracked-run-options.js';
import { makeBar } from './store-conformance.js';

const tempDir = useTempDir();
const operatorSql = useOperatorSql();

/** What a promise rejects with, checked to be JobSupersededError. */
async function supersededBy(promise: Promise<unknown>): Promise<JobSupersededError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(JobSupersededError);
  return error as JobSupersededError;
}

describe.each(STORAGE_KINDS)('the fence and a deleted run row, on %s', (kind) => {
  it('a run whose row an operator deleted commits nothing more (another run may hold the job)', async () => {
    const dir = tempDir();
    const store = await openTestStore(kind, dir);
    try {
      const first = await store.startRun({ ...TEST_RUN_START, jobName: 'job_a' });
      await operatorSql(kind, dir, (runs) => `DELETE FROM ${runs} WHERE run_id = ${first.runId}`);
      // Nothing holds the job any more: a second run takes it.
      const second = await store.startRun({
        ...TEST_RUN_START,
        jobName: 'job_a',
        host: 'next-host',
        pid: 2222,
      });
      expect(second.runId).not.toBe(first.runId);
      // The first one is still alive and writing: its batch is refused, as its heartbeat is.
      await supersededBy(store.heartbeat(first.runId, { rowsWritten: 0, batches: 0 }));
      const refused = await supersededBy(
        store.writeBatch({ runId: first.runId, bars: [makeBar(0)] }),
      );
      expect(await store.countBars()).toBe(0);
      expect(refused.successor).toEqual({ runId: second.runId, host: 'next-host', pid: 2222 });
      expect(refused.message).toContain(`run ${first.runId} has no row in job_runs`);
      expect(refused.message).toContain(`run ${second.runId} (pid 2222 on next-host) of job job_a`);
      expect(refused.message).toMatch(/Never delete the row of a running run/);
      expect(refused.message).not.toMatch(/heartbeat_interval|no run has taken the job over/);
      await supersededBy(store.completeRun(first.runId, 'success', { rowsWritten: 0, batches: 0 }));
      expect((await store.getRun(second.runId))?.status).toBe('running');
    } finally {
      await store.close();
    }
  });

  it('a run id never issued (a tool writing outside any run) still commits', async () => {
    const store = await openTestStore(kind, tempDir());
    try {
      const run = await store.startRun({ ...TEST_RUN_START, jobName: 'job_a' });
      await store.writeBatch({ runId: run.runId + 100, bars: [makeBar(0)] });
      expect(await store.countBars()).toBe(1);
    } finally {
      await store.close();
    }
  });
});

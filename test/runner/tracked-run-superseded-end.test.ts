/**
 * A run judged abandoned after its last heartbeat (frozen, or cut off from the database, past
 * three heartbeats) while its body was finishing: its end is recorded only while its row is still
 * `running`, and otherwise it reports that it was superseded, never success.
 */
import { describe, expect, it } from 'vitest';
import { JobSupersededError, StoreError } from '../../src/core/errors.js';
import { trackedRun } from '../../src/pipeline/runner/tracked-run.js';
import type { Store } from '../../src/store/store.js';
import { useOperatorSql } from '../helpers/operator-sql.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { openTestStore, STORAGE_KINDS } from '../helpers/test-storage.js';
import { TEST_RUN_START, trackedRunOptions } from '../helpers/tracked-run-options.js';

const tempDir = useTempDir();
const operatorSql = useOperatorSql();

const ABANDON = (runId: number) => (runs: string) =>
  `UPDATE ${runs} SET status = 'abandoned', error = 'no heartbeat for 20s' WHERE run_id = ${runId}`;

/** 'superseded', or the run's end status, or what else it threw. */
function outcomeOf(run: Promise<{ end: { status: string } }>): Promise<string> {
  return run.then(
    ({ end }) => end.status,
    (error: unknown) => (error instanceof JobSupersededError ? 'superseded' : String(error)),
  );
}

describe.each(STORAGE_KINDS)('the end of a run that lost its job, on %s', (kind) => {
  /**
   * `store` frozen right before it records a run's end, long enough for a reaper on another
   * host to mark the run abandoned: the reaper's UPDATE stands in for the freeze.
   */
  function judgedAbandonedBeforeItsEnd(store: Store, dir: string): void {
    const complete = store.completeRun.bind(store);
    store.completeRun = async (runId, status, progress, error) => {
      await operatorSql(kind, dir, ABANDON(runId));
      return complete(runId, status, progress, error);
    };
  }

  it('a run judged abandoned between its last heartbeat and its end never reports success', async () => {
    const dir = tempDir();
    const store = await openTestStore(kind, dir);
    try {
      judgedAbandonedBeforeItsEnd(store, dir);
      const { tracked, ends } = trackedRunOptions(store);
      const outcome = await outcomeOf(trackedRun(tracked, () => Promise.resolve('done')));
      expect(outcome).toBe('superseded');
      expect(ends.map((end) => [end.status, end.error?.name])).toEqual([
        ['failure', 'JobSupersededError'],
      ]);
      const [row] = await store.listRuns();
      expect(row).toMatchObject({ status: 'abandoned', error: 'no heartbeat for 20s' });
    } finally {
      await store.close();
    }
  });

  it('a failed run judged abandoned before its end reports superseded, and its own error is logged', async () => {
    const dir = tempDir();
    const store = await openTestStore(kind, dir);
    try {
      judgedAbandonedBeforeItsEnd(store, dir);
      const { tracked, trackingErrors } = trackedRunOptions(store);
      const outcome = await outcomeOf(
        trackedRun(tracked, () => Promise.reject(new Error('the batch failed'))),
      );
      expect(outcome).toBe('superseded');
      expect(trackingErrors).toEqual([expect.stringMatching(/ended with: the batch failed/)]);
      expect((await store.listRuns())[0]?.status).toBe('abandoned');
    } finally {
      await store.close();
    }
  });

  it('heartbeats failing for a transient reason do not let a superseded run report success', async () => {
    const dir = tempDir();
    const store = await openTestStore(kind, dir);
    try {
      // The database is unreachable for every heartbeat; meanwhile the run is judged abandoned.
      let beats = 0;
      store.heartbeat = () => {
        beats += 1;
        return Promise.reject(
          new StoreError('MDP_STORE_CONNECTION_LOST', store.kind, 'connection lost', {
            transient: true,
          }),
        );
      };
      const { tracked } = trackedRunOptions(store, {
        start: { ...TEST_RUN_START, heartbeatIntervalMs: 50 },
      });
      const outcome = await outcomeOf(
        trackedRun(tracked, async (run) => {
          await operatorSql(kind, dir, ABANDON(run.runId));
          await new Promise((resolve) => setTimeout(resolve, 300));
        }),
      );
      expect(beats).toBeGreaterThan(0);
      expect(outcome).toBe('superseded');
      expect((await store.listRuns())[0]?.status).toBe('abandoned');
    } finally {
      await store.close();
    }
  });

  it('an end retried after its commit lost its acknowledgement is the run’s own: success', async () => {
    const dir = tempDir();
    const store = await openTestStore(kind, dir);
    try {
      const complete = store.completeRun.bind(store);
      let ends = 0;
      store.completeRun = async (runId, status, progress, error) => {
        await complete(runId, status, progress, error);
        if (++ends === 1) {
          throw new StoreError('MDP_STORE_CONNECTION_LOST', store.kind, 'lost after COMMIT', {
            transient: true,
          });
        }
      };
      const { tracked } = trackedRunOptions(store);
      const outcome = await outcomeOf(trackedRun(tracked, () => Promise.resolve('done')));
      expect(ends).toBe(2);
      expect(outcome).toBe('success');
      expect((await store.listRuns())[0]?.status).toBe('success');
    } finally {
      await store.close();
    }
  });
});

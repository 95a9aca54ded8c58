/**
 * Heartbeats never overlap. A SHARE lock on job_runs (what a plain CREATE INDEX on it takes, or a
 * LOCK TABLE) blocks heartbeats but not the batches (their fence's FOR SHARE is compatible): were
 * a heartbeat started every interval without waiting for the last, they would pile up behind it
 * until the pool is all heartbeats, and the batches, which could commit, would starve for a
 * connection. One heartbeat waits; it is reported as slower than the interval.
 */
import { describe, expect, it } from 'vitest';
import { trackedRun } from '../../src/pipeline/runner/tracked-run.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { uniqueTestName } from '../helpers/postgres-test-names.js';
import { testPostgresUrl, useTestPostgresPool } from '../helpers/postgres-test-server.js';
import { TEST_RUN_START, trackedRunOptions } from '../helpers/tracked-run-options.js';
import { makeBar } from '../store/store-conformance.js';

const db = useTestPostgresPool();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('heartbeats behind a lock on job_runs, on postgres', () => {
  it('never take the whole pool from the batches, and the slow one is a warning', async () => {
    const schema = uniqueTestName();
    const store = new PostgresStore({
      uri: testPostgresUrl(),
      schema,
      poolSize: 4,
      connectTimeoutMs: 500,
      timeouts: { statementMs: 60_000, lockMs: 30_000 },
    });
    await store.open();
    const holder = await db().connect();
    try {
      const { tracked, trackingErrors } = trackedRunOptions(store, {
        start: { ...TEST_RUN_START, heartbeatIntervalMs: 100 },
      });
      const outcome = await trackedRun(tracked, async (run) => {
        await holder.query('BEGIN');
        await holder.query(`LOCK TABLE "${schema}".job_runs IN SHARE MODE`);
        // Held for 1.5 s: long enough for 15 heartbeats to be started behind it.
        const release = sleep(1_500).then(() => holder.query('COMMIT'));
        await sleep(800);
        const written = await store.writeBatch({ runId: run.runId, bars: [makeBar(0)] }).then(
          (result) => `written ${result.rowsWritten}`,
          (error: unknown) => String(error),
        );
        await release;
        return written;
      });
      expect(outcome.result).toBe('written 1');
      expect(outcome.end.status).toBe('success');
      // The heartbeat that waited out the lock (about 0.7 s), and no other.
      expect(trackingErrors).toEqual([
        expect.stringMatching(
          /^the heartbeat of run \d+ took [\d.]+m?s, longer than execution\.heartbeat_interval \(100ms\): job_runs may be locked/,
        ),
      ]);
    } finally {
      holder.release();
      await store.close();
    }
  });
});

/**
 * A run's heartbeats never overlap, whatever the store: a heartbeat slower than the interval
 * delays the next one (and is reported), instead of a new one starting beside it every interval.
 */
import { describe, expect, it } from 'vitest';
import { trackedRun } from '../../src/pipeline/runner/tracked-run.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { openTestStore, STORAGE_KINDS } from '../helpers/test-storage.js';
import { TEST_RUN_START, trackedRunOptions } from '../helpers/tracked-run-options.js';

const tempDir = useTempDir();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(STORAGE_KINDS)('slow heartbeats, on %s', (kind) => {
  it('a heartbeat slower than the interval delays the next one and is a warning', async () => {
    const store = await openTestStore(kind, tempDir());
    try {
      // Each heartbeat answers after 250 ms (a database that is slow to take the update).
      const real = store.heartbeat.bind(store);
      let inFlight = 0;
      let mostAtOnce = 0;
      let beats = 0;
      store.heartbeat = async (runId, progress) => {
        beats += 1;
        mostAtOnce = Math.max(mostAtOnce, ++inFlight);
        try {
          await sleep(250);
          await real(runId, progress);
        } finally {
          inFlight -= 1;
        }
      };
      const { tracked, trackingErrors } = trackedRunOptions(store, {
        start: { ...TEST_RUN_START, heartbeatIntervalMs: 50 },
      });
      const { end } = await trackedRun(tracked, () => sleep(1_200));
      expect(end.status).toBe('success');
      expect(mostAtOnce).toBe(1);
      // About 1.2 s / (50 ms + 250 ms); setInterval would have started about 24.
      expect(beats).toBeGreaterThanOrEqual(2);
      expect(beats).toBeLessThanOrEqual(5);
      expect(trackingErrors.length).toBe(beats);
      expect(trackingErrors[0]).toMatch(
        /^the heartbeat of run \d+ took \d+ms, longer than execution\.heartbeat_interval \(50ms\)/,
      );
    } finally {
      await store.close();
    }
  });
});

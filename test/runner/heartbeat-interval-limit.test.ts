/**
 * The config refuses a heartbeat_interval above 10m, but trackedRun may be handed any interval:
 * past Node's 2^31-1 ms (about 24.8 days, e.g. `30d`) setInterval would warn
 * TimeoutOverflowWarning and beat every millisecond. No timer is ever set beyond that limit.
 */
import { describe, expect, it } from 'vitest';
import { trackedRun } from '../../src/pipeline/runner/tracked-run.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { openTestStore } from '../helpers/test-storage.js';
import { TEST_RUN_START, trackedRunOptions } from '../helpers/tracked-run-options.js';

const tempDir = useTempDir();

describe('a heartbeat interval past the timer limit', () => {
  it('does not beat every millisecond', async () => {
    const store = await openTestStore('sqlite', tempDir());
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const real = store.heartbeat.bind(store);
      let beats = 0;
      store.heartbeat = (runId, progress) => {
        beats += 1;
        return real(runId, progress);
      };
      const { tracked } = trackedRunOptions(store, {
        start: { ...TEST_RUN_START, heartbeatIntervalMs: 30 * 24 * 3_600_000 },
      });
      await trackedRun(tracked, () => new Promise((resolve) => setTimeout(resolve, 300)));
      // The run ends long before its first heartbeat is due.
      expect(beats).toBe(0);
      expect(warnings).not.toContain('TimeoutOverflowWarning');
    } finally {
      process.off('warning', onWarning);
      await store.close();
    }
  });
});

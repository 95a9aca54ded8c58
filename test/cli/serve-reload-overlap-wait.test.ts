/**
 * Review (issue 13): SIGHUP and `overlap: wait`. README: "scheduled jobs that changed start again
 * at their next tick (ticks already running finish)" and `overlap: wait` means a tick that finds
 * its job running is "claimed and run when the running one ends". A reload that changes ANOTHER
 * job stops the whole Scheduler, and Scheduler.stop() records the waiting tick of this unchanged
 * job `missed` ("the service stopped while the tick waited..."), though the service did not stop:
 * the claimed tick is never run by anyone.
 */
import { describe, expect, it } from 'vitest';
import { claimedTicks, logLines, startServe } from '../helpers/serve-config.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();
const kind = 'sqlite' as const;

describe('mdp serve: SIGHUP changing another job', { timeout: 120_000 }, () => {
  it('runs the tick that waits (overlap: wait) instead of recording it missed', async () => {
    const dir = tempDir();
    // Each run of live_job takes ~3 s, its ticks come every 2 s: one tick always waits.
    const options = { storage: kind, latencyMs: 3_000 };
    const jobs = {
      live_job: { schedule: '*/2 * * * * *', overlap: 'wait' },
      backfill_job: { schedule: '0 0 1 1 *' },
    };
    const service = startServe(dir, jobs, options);
    try {
      await waitFor(
        'a tick of live_job waiting for the running one',
        () =>
          logLines(service.stderr()).find((line) =>
            line.msg.startsWith('tick waits for the running one'),
          ),
        60_000,
        100,
      );
      const reloaded = await service.reload({ backfill_job: { schedule: '0 0 2 1 *' } });
      expect(reloaded.rescheduled).toEqual(['backfill_job']);
      await new Promise((resolve) => setTimeout(resolve, 8_000));
      const ticks = await claimedTicks(kind, dir, 'live_job');
      // Seen: one tick 'missed', "the service stopped while the tick waited for the running one".
      expect(
        ticks
          .filter((tick) => tick.outcome === 'missed')
          .map((tick) => [new Date(tick.tickAt).toISOString(), tick.detail]),
      ).toEqual([]);
    } finally {
      await service.stop();
    }
  });
});

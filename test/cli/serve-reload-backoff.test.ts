/**
 * Review (issue 13): SIGHUP that changes one scheduled job must leave the others alone. README:
 * "scheduled jobs that changed start again at their next tick"; a job whose ticks keep failing
 * "backs off: the ticks within 10 s × 2^(n−1) ... of its n-th failure in a row are skipped".
 * JobService.reload replaces the whole Scheduler when any scheduled job changed, so every job's
 * failure count and backoff (kept in the Scheduler's memory) are forgotten by a reload that did
 * not touch it.
 */
import { describe, expect, it } from 'vitest';
import { claimedTicks, startServe } from '../helpers/serve-config.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();
const kind = 'sqlite' as const;

describe('mdp serve: SIGHUP changing another job', { timeout: 120_000 }, () => {
  it("keeps a failing job's backoff (its ticks within 10 s of the failure stay skipped)", async () => {
    const dir = tempDir();
    // Every fetch of the provider fails, no retry: every run of live_job fails.
    const options = { storage: kind, failureRate: 1, maxAttempts: 1 };
    const jobs = {
      live_job: { schedule: '*/2 * * * * *' },
      backfill_job: { schedule: '0 0 1 1 *' },
    };
    const service = startServe(dir, jobs, options);
    try {
      const firstFailure = await waitFor(
        'the first failed tick, then one skipped by the backoff',
        async () => {
          const ticks = await claimedTicks(kind, dir, 'live_job');
          const failed = ticks.find((tick) => tick.outcome === 'failed');
          const backingOff = ticks.find(
            (tick) => tick.outcome === 'skipped' && tick.detail?.includes('backing off'),
          );
          return failed && backingOff ? failed : undefined;
        },
        60_000,
        100,
      );

      // The operator edits the OTHER job (its schedule) and reloads.
      const reloaded = await service.reload({ backfill_job: { schedule: '0 0 2 1 *' } });
      expect(reloaded.rescheduled).toEqual(['backfill_job']);

      const backoffEnd = firstFailure.tickAt + 10_000;
      const inBackoff = await waitFor(
        'the ticks of the 10 s backoff, all finished',
        async () => {
          const ticks = await claimedTicks(kind, dir, 'live_job');
          if (!ticks.some((tick) => tick.tickAt >= backoffEnd && tick.outcome !== null)) {
            return undefined;
          }
          return ticks.filter(
            (tick) => tick.tickAt > firstFailure.tickAt && tick.tickAt < backoffEnd,
          );
        },
        60_000,
        200,
      );
      // Seen: the tick after the reload runs (and fails) although live_job is still backing off.
      expect(inBackoff.map((tick) => [new Date(tick.tickAt).toISOString(), tick.outcome])).toEqual(
        inBackoff.map((tick) => [new Date(tick.tickAt).toISOString(), 'skipped']),
      );
    } finally {
      await service.stop();
    }
  });
});

/**
 * Review (issue 13): /metrics after SIGHUP removes a scheduled job. The job no longer exists, so
 * its `pipeline_schedule_next_tick_timestamp_seconds` series must go (README: "absent when its
 * schedule never fires again"); left behind, it freezes at a tick that never comes, and an alert
 * on "next tick in the past" (the natural alert for a wedged scheduler) fires for ever.
 */
import { describe, expect, it } from 'vitest';
import { parseExposition, samplesOf } from '../helpers/exposition.js';
import { freePort } from '../helpers/free-port.js';
import { startServe } from '../helpers/serve-config.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();
const NEXT_TICK = 'pipeline_schedule_next_tick_timestamp_seconds';

describe('mdp serve: SIGHUP removing a scheduled job', { timeout: 120_000 }, () => {
  it("drops the removed job's next-tick series from /metrics", async () => {
    const dir = tempDir();
    const port = await freePort();
    const options = { storage: 'sqlite' as const, metrics: { port } };
    const jobs = {
      live_job: { schedule: '*/2 * * * * *' },
      backfill_job: { schedule: '*/3 * * * * *' },
    };
    const service = startServe(dir, jobs, options);
    const jobsWithNextTick = async (): Promise<string[]> => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return samplesOf(parseExposition(text), NEXT_TICK)
        .map((sample) => sample.labels.job_name ?? '')
        .sort();
    };
    try {
      await waitFor(
        'both jobs on /metrics',
        async () => {
          const names = await jobsWithNextTick().catch(() => []);
          return names.length === 2 ? names : undefined;
        },
        60_000,
        200,
      );
      // The operator deletes backfill_job from the config and reloads.
      const reloaded = await service.reload({ backfill_job: null });
      expect(reloaded.rescheduled).toEqual(['backfill_job']);
      // Let a few ticks pass after the reload.
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      // Seen: backfill_job's series stays, frozen at a tick in the past.
      expect(await jobsWithNextTick()).toEqual(['live_job']);
    } finally {
      await service.stop();
    }
  });
  it('starts the tick series of a job added by the reload at 0, as for the configured ones', async () => {
    const dir = tempDir();
    const port = await freePort();
    const options = { storage: 'sqlite' as const, metrics: { port } };
    const jobs = { live_job: { schedule: '*/2 * * * * *' }, backfill_job: null };
    const service = startServe(dir, jobs, options);
    const ticksTotal = async (job: string): Promise<string[]> => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return samplesOf(parseExposition(text), 'pipeline_schedule_ticks_total', { job_name: job })
        .map((sample) => sample.labels.outcome ?? '')
        .sort();
    };
    try {
      await waitFor(
        'live_job on /metrics',
        async () => ((await ticksTotal('live_job').catch(() => [])).length > 0 ? true : undefined),
        60_000,
        200,
      );
      // The operator adds a nightly job (it will not tick during the test) and reloads.
      const reloaded = await service.reload({ backfill_job: { schedule: '0 2 * * *' } });
      expect(reloaded.rescheduled).toEqual(['backfill_job']);
      // Seen: no series at all for backfill_job, so increase() misses its first tick.
      expect(await ticksTotal('backfill_job')).toEqual([
        'cancelled',
        'failed',
        'missed',
        'ran',
        'skipped',
        'taken',
      ]);
    } finally {
      await service.stop();
    }
  });
});

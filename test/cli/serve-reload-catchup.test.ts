/**
 * Review (issue 13): SIGHUP that changes a job's schedule. README: "scheduled jobs that changed
 * start again at their next tick"; catch-up is for ticks missed while "the service was down, the
 * machine asleep". JobService.reload starts a new Scheduler, whose start() runs catch-up from the
 * job's last claimed tick: a tick of the NEW schedule that fell between the last tick of the old
 * one and the reload is run at once, as a catch-up (recorded catchup: true, shown as "catch-up"
 * by mdp status), though nothing was missed: the service was up the whole time.
 */
import { describe, expect, it } from 'vitest';
import { claimedTicks, startServe, ticksDone } from '../helpers/serve-config.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();
const kind = 'sqlite' as const;

describe('mdp serve: SIGHUP changing a schedule', { timeout: 120_000 }, () => {
  it('starts the job at its next tick, catching up nothing', async () => {
    const dir = tempDir();
    const jobs = { live_job: { schedule: '*/20 * * * * *' }, backfill_job: null };
    const service = startServe(dir, jobs, { storage: kind });
    try {
      const [first] = await ticksDone(kind, dir, 'live_job', 1);
      // A few seconds after the old schedule's tick, the operator makes it every 2 s.
      await waitFor('3 s after the first tick', () =>
        Date.now() > (first?.tickAt ?? 0) + 3_000 ? true : undefined,
      );
      const reloaded = await service.reload({ live_job: { schedule: '*/2 * * * * *' } });
      expect(reloaded.rescheduled).toEqual(['live_job']);
      const reloadedAt = Date.parse(String(reloaded.time));
      await waitFor(
        'two live ticks of the new schedule',
        async () => {
          const ticks = await claimedTicks(kind, dir, 'live_job');
          return ticks.filter((tick) => tick.tickAt > reloadedAt && tick.outcome !== null).length >=
            2
            ? true
            : undefined;
        },
        60_000,
        200,
      );
      const ticks = await claimedTicks(kind, dir, 'live_job');
      // Seen: one tick of the new schedule before the reload, run at once as a catch-up.
      expect(
        ticks
          .filter((tick) => tick.catchup)
          .map((tick) => [new Date(tick.tickAt).toISOString(), tick.outcome]),
      ).toEqual([]);
    } finally {
      await service.stop();
    }
  });
});

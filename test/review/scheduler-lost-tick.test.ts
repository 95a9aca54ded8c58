/**
 * Review (issue 13): a tick claimed by a service that died (SIGKILL, power loss) before it ran or
 * recorded the tick. The store then holds the state such a death leaves: a schedule_ticks row with
 * the dead service as claimant and no outcome. A service started later must not lose that tick for
 * ever: it is the job's newest tick, so `catchup: latest` ought to run it (or at least say it was
 * missed), instead of counting it as caught up because it was claimed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CronSchedule } from '../../src/core/cron-schedule.js';
import { Scheduler } from '../../src/service/scheduler.js';
import type { Tick } from '../../src/service/scheduler-events.js';
import type { Store } from '../../src/store/store.js';
import { FakeTiming, settle } from '../helpers/fake-timing.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { openTestStore, STORAGE_KINDS } from '../helpers/test-storage.js';

const HOUR = 3_600_000;
const at = (iso: string): number => Date.parse(iso);

const tempDir = useTempDir();
const opened: Store[] = [];
const schedulers: Scheduler[] = [];
afterEach(async () => {
  for (const scheduler of schedulers.splice(0)) {
    scheduler.abortRuns(new Error('test over'));
    await scheduler.stop();
  }
  for (const store of opened.splice(0)) await store.close();
});

describe.each(STORAGE_KINDS)('a tick claimed by a service that died (%s)', (kind) => {
  it('is run at the next start (catchup: latest), not left without an outcome for ever', async () => {
    const store = await openTestStore(kind, tempDir());
    opened.push(store);
    // The dead service claimed the 18:30 New York tick, then was SIGKILLed before its run began.
    const lostTick = at('2026-03-10T22:30:00Z');
    expect(await store.ticks.claim('spy_daily', lostTick, 'dead-host:4242:2026-03-10')).toBe(true);

    // The service is restarted an hour later (systemd Restart=on-failure).
    const timing = new FakeTiming({ wallStart: lostTick + HOUR });
    const seen: Tick[] = [];
    const scheduler = new Scheduler({
      jobs: [
        {
          name: 'spy_daily',
          schedule: new CronSchedule('30 18 * * 1-5', 'America/New_York'),
          catchup: 'latest',
          catchupLimit: 10,
          overlap: 'skip',
        },
      ],
      ticks: store.ticks,
      claimant: 'new-host:1',
      runTick: (tick) => {
        seen.push(tick);
        return Promise.resolve({ runId: 1 });
      },
      timing,
      beatMs: 60_000,
    });
    schedulers.push(scheduler);
    scheduler.start();
    for (let i = 0; i < 20; i += 1) await settle();
    await timing.advance(60_000);
    for (let i = 0; i < 20; i += 1) await settle();

    const [last] = await store.ticks.list('spy_daily', { limit: 1 });
    // Seen: no run of the lost tick, its row still has outcome null and the dead claimant,
    // and nothing (log, metrics, status) says the day's backfill never happened.
    expect(seen.map((tick) => new Date(tick.tickAt).toISOString())).toEqual([
      new Date(lostTick).toISOString(),
    ]);
    expect(last?.outcome).not.toBeNull();
  });
});

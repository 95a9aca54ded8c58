/**
 * Review (issue 13): a tick claimed by a service that died (SIGKILL, OOM, systemd's kill after
 * TimeoutStopSec) before it ran or recorded the tick. The store then holds the state such a death
 * leaves: a schedule_ticks row with the dead service as claimant and no outcome, and no fresh beat
 * of that claimant. A service started later takes the claim over by its catch-up policy: it runs
 * it (`catchup: latest`) or records it missed with why (`catchup: none`), never leaves it
 * "running" for ever. A claim whose claimant still beats is left alone.
 */
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/service/scheduler.js';
import type { ScheduledJob } from '../../src/service/scheduled-job.js';
import type { Tick } from '../../src/service/scheduler-events.js';
import type { TickClaims } from '../../src/store/tick-claims.js';
import { FakeTiming, settle } from '../helpers/fake-timing.js';
import { DEAD, finishedTick, LOST_TICK, spyDaily } from '../helpers/lost-tick.js';
import { useSchedulerCleanup } from '../helpers/scheduler-cleanup.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { openTestStore, STORAGE_KINDS } from '../helpers/test-storage.js';

const HOUR = 3_600_000;

const tempDir = useTempDir();
const { schedulers, opened } = useSchedulerCleanup();

/** A service restarted an hour after the death (systemd Restart=on-failure), on `ticks`. */
function restart(ticks: TickClaims, job: ScheduledJob, seen: Tick[]): Scheduler {
  const scheduler = new Scheduler({
    jobs: [job],
    ticks,
    claimant: 'new-host:1',
    runTick: (tick) => {
      seen.push(tick);
      return Promise.resolve({ runId: 1 });
    },
    timing: new FakeTiming({ wallStart: LOST_TICK + HOUR }),
    beatMs: 60_000,
  });
  schedulers.push(scheduler);
  scheduler.start();
  return scheduler;
}

describe.each(STORAGE_KINDS)('a tick claimed by a service that died (%s)', (kind) => {
  it('is run at the next start (catchup: latest), not left without an outcome for ever', async () => {
    const store = await openTestStore(kind, tempDir());
    opened.push(store);
    expect(await store.ticks.claim('spy_daily', LOST_TICK, DEAD)).toBe(true);
    expect(await store.ticks.lastTick('spy_daily')).toMatchObject({ claimantAlive: false });

    const seen: Tick[] = [];
    const scheduler = restart(store.ticks, spyDaily('latest'), seen);
    const last = await finishedTick(store);

    expect(seen.map((tick) => new Date(tick.tickAt).toISOString())).toEqual([
      new Date(LOST_TICK).toISOString(),
    ]);
    expect(last).toMatchObject({
      tickAt: LOST_TICK,
      claimant: 'new-host:1',
      claimantAlive: true,
      catchup: true,
      outcome: 'ran',
      runId: 1,
    });
    expect(scheduler.status()[0]?.counts).toMatchObject({ ran: 1, missed: 0 });
  });

  it('is recorded missed with why under catchup: none, and counted', async () => {
    const store = await openTestStore(kind, tempDir());
    opened.push(store);
    expect(await store.ticks.claim('spy_daily', LOST_TICK, DEAD)).toBe(true);
    const missed: (string | undefined)[] = [];
    const seen: Tick[] = [];
    const scheduler = restart(store.ticks, spyDaily('none'), seen);
    scheduler.events.on('tick:missed', (event) => missed.push(event.detail));
    const last = await finishedTick(store);

    expect(seen).toEqual([]);
    expect(last).toMatchObject({ tickAt: LOST_TICK, claimant: 'new-host:1', outcome: 'missed' });
    expect(last.detail).toContain(`claimed by ${DEAD}, a service that stopped before running it`);
    expect(scheduler.status()[0]?.counts.missed).toBe(1);
    expect(missed).toEqual([last.detail]);
  });

  it('is left to its claimant while that claimant still beats', async () => {
    const store = await openTestStore(kind, tempDir());
    opened.push(store);
    await store.ticks.beat('alive-host:7');
    expect(await store.ticks.claim('spy_daily', LOST_TICK, 'alive-host:7')).toBe(true);
    // The catch-up decides what to run from the orphans it reads: wait for that answer.
    let looked: () => void = () => undefined;
    const orphansRead = new Promise<void>((resolve) => (looked = resolve));
    const ticks: TickClaims = {
      ...store.ticks,
      orphans: async (jobName: string) => {
        const orphans = await store.ticks.orphans(jobName);
        looked();
        return orphans;
      },
    };
    const seen: Tick[] = [];
    restart(ticks, spyDaily('latest'), seen);
    await orphansRead;
    for (let i = 0; i < 20; i += 1) await settle();

    expect(seen).toEqual([]);
    expect(await store.ticks.lastTick('spy_daily')).toMatchObject({
      claimant: 'alive-host:7',
      claimantAlive: true,
      outcome: null,
    });
  });
});

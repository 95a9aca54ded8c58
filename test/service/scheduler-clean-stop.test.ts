/**
 * A service that stops cleanly (SIGTERM, SIGINT) takes its beat out of the store once its ticks
 * are recorded: other services must not count it among the claimants that died lately, which
 * makes each of them read every job's claims looking for orphans. Both stores.
 */
import { describe, expect, it } from 'vitest';
import { ADOPT_WINDOW_MS, Scheduler } from '../../src/service/scheduler.js';
import { CLAIM_LEASE_MS } from '../../src/store/tick-claims.js';
import { FakeTiming } from '../helpers/fake-timing.js';
import { finishedTick, LOST_TICK, spyDaily } from '../helpers/lost-tick.js';
import { useSchedulerCleanup } from '../helpers/scheduler-cleanup.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { openTestStore, STORAGE_KINDS } from '../helpers/test-storage.js';

const tempDir = useTempDir();
const { opened } = useSchedulerCleanup();

describe.each(STORAGE_KINDS)('a scheduler stopped cleanly on %s', (kind) => {
  it('leaves no beat behind once its tick is recorded: nobody takes it for dead', async () => {
    const timing = new FakeTiming({ wallStart: LOST_TICK - 1_000 });
    const clock = (): number => timing.now();
    const store = await openTestStore(kind, tempDir(), { clock, databaseClock: clock });
    opened.push(store);
    const scheduler = new Scheduler({
      jobs: [spyDaily('latest')],
      ticks: store.ticks,
      claimant: 'stopping-host:3:2026-03-10',
      runTick: () => Promise.resolve({ runId: 5 }),
      timing,
      beatMs: 5_000,
    });
    scheduler.start();
    await timing.advance(1_000);
    expect(await finishedTick(store)).toMatchObject({ outcome: 'ran', runId: 5 });
    await scheduler.stop();

    await timing.advance(CLAIM_LEASE_MS + 1);
    expect(await store.ticks.diedLately(ADOPT_WINDOW_MS)).toEqual([]);
    expect(await store.ticks.lastTick('spy_daily')).toMatchObject({
      claimant: 'stopping-host:3:2026-03-10',
      outcome: 'ran',
    });
  });
});

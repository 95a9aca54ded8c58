/**
 * A tick claimed by a service that then died while other services on the store kept running:
 * the running ones adopt it once the dead one's beat is older than the lease (no restart needed),
 * exactly once between them even when they notice at the same moment, by the job's catch-up
 * policy. Both stores; the store judges beats by the test's clock.
 */
import { describe, expect, it } from 'vitest';
import { ADOPT_SWEEP_MS, Scheduler } from '../../src/service/scheduler.js';
import type { ScheduledJob } from '../../src/service/scheduled-job.js';
import type { Tick } from '../../src/service/scheduler-events.js';
import { CLAIM_LEASE_MS } from '../../src/store/tick-claims.js';
import { FakeTiming } from '../helpers/fake-timing.js';
import { DEAD, finishedTick, LOST_TICK, spyDaily } from '../helpers/lost-tick.js';
import { useSchedulerCleanup } from '../helpers/scheduler-cleanup.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { openTestStore, STORAGE_KINDS } from '../helpers/test-storage.js';

const BEAT_MS = 5_000;

const tempDir = useTempDir();
const { schedulers, opened } = useSchedulerCleanup();

/** Two services running on one store a second after the dead one claimed the tick. */
async function twoPeers(kind: (typeof STORAGE_KINDS)[number], job: ScheduledJob) {
  const timing = new FakeTiming({ wallStart: LOST_TICK });
  const clock = (): number => timing.now();
  const store = await openTestStore(kind, tempDir(), { clock, databaseClock: clock });
  opened.push(store);
  await store.ticks.beat(DEAD);
  expect(await store.ticks.claim(job.name, LOST_TICK, DEAD)).toBe(true);
  await timing.advance(1_000);
  const seen: (Tick & { by: string })[] = [];
  const adopted: string[] = [];
  for (const claimant of ['peer-a:1', 'peer-b:2']) {
    const scheduler = new Scheduler({
      jobs: [job],
      ticks: store.ticks,
      claimant,
      runTick: (tick) => {
        seen.push({ ...tick, by: claimant });
        return Promise.resolve({ runId: 7 });
      },
      timing,
      beatMs: BEAT_MS,
    });
    scheduler.events.on('tick:orphaned', (event) => adopted.push(`${claimant} from ${event.from}`));
    schedulers.push(scheduler);
    scheduler.start();
  }
  return { timing, store, seen, adopted };
}

/** Moves the shared clock `ms` on a beat at a time, letting the store answer in between. */
async function live(timing: FakeTiming, ms: number): Promise<void> {
  for (let passed = 0; passed < ms; passed += BEAT_MS) {
    await timing.advance(BEAT_MS);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each(STORAGE_KINDS)('running services and a dead one on %s', (kind) => {
  it('leave the claim alone while its claimant beats, then one of them adopts and runs it once', async () => {
    const { timing, store, seen, adopted } = await twoPeers(kind, spyDaily('latest'));
    // Inside the lease from the dead one's last beat: its claim is still its own.
    await live(timing, CLAIM_LEASE_MS - 2 * BEAT_MS);
    expect(seen).toEqual([]);
    expect(await store.ticks.lastTick('spy_daily')).toMatchObject({ claimant: DEAD });

    await live(timing, 2 * BEAT_MS + ADOPT_SWEEP_MS);
    const last = await finishedTick(store);
    expect(adopted).toHaveLength(1);
    expect(seen).toEqual([
      { jobName: 'spy_daily', tickAt: LOST_TICK, catchup: true, by: seen[0]?.by },
    ]);
    expect(last).toMatchObject({
      tickAt: LOST_TICK,
      claimant: seen[0]?.by,
      catchup: true,
      outcome: 'ran',
      runId: 7,
    });
    // Later looks find nothing more to adopt: the tick ran once.
    await live(timing, 3 * ADOPT_SWEEP_MS);
    expect(seen).toHaveLength(1);
    expect(adopted).toHaveLength(1);
  });

  it('record the adopted tick missed under catchup: none, without running it', async () => {
    const { timing, store, seen, adopted } = await twoPeers(kind, spyDaily('none'));
    await live(timing, CLAIM_LEASE_MS + ADOPT_SWEEP_MS);
    const last = await finishedTick(store);
    expect(seen).toEqual([]);
    expect(adopted).toHaveLength(1);
    expect(last).toMatchObject({ tickAt: LOST_TICK, outcome: 'missed' });
    expect(last.detail).toContain(`claimed by ${DEAD}, a service that stopped before running it`);
  });
});

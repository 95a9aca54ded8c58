/**
 * Review of issue 13: a service judged dead once (frozen, or cut off from the store past the
 * lease) that came back and later really died. Its peers remember every claimant they have
 * looked after (`adoptedFrom`), so its later orphan is never adopted while they run.
 */
import { describe, expect, it } from 'vitest';
import { ADOPT_SWEEP_MS, Scheduler } from '../../src/service/scheduler.js';
import type { Tick } from '../../src/service/scheduler-events.js';
import { CLAIM_LEASE_MS } from '../../src/store/tick-claims.js';
import { FakeTiming } from '../helpers/fake-timing.js';
import { LOST_TICK, spyDaily } from '../helpers/lost-tick.js';
import { useSchedulerCleanup } from '../helpers/scheduler-cleanup.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { openTestStore, STORAGE_KINDS } from '../helpers/test-storage.js';

const BEAT_MS = 5_000;
const FLAKY = 'flaky-host:777:2026-03-10';

const tempDir = useTempDir();
const { schedulers, opened } = useSchedulerCleanup();

describe.each(STORAGE_KINDS)('a peer judged dead once, back, then dead for good, on %s', (kind) => {
  it(
    'has its later orphaned tick adopted by the running service',
    { timeout: 120_000 },
    async () => {
      const timing = new FakeTiming({ wallStart: LOST_TICK - 5 * 60_000 });
      const clock = (): number => timing.now();
      const store = await openTestStore(kind, tempDir(), { clock, databaseClock: clock });
      opened.push(store);
      const job = spyDaily('latest');
      await store.ticks.beat(FLAKY);
      const seen: Tick[] = [];
      const scheduler = new Scheduler({
        jobs: [job],
        ticks: store.ticks,
        claimant: 'peer-a:1',
        runTick: (tick) => {
          seen.push(tick);
          return Promise.resolve({ runId: 7 });
        },
        timing,
        beatMs: BEAT_MS,
      });
      schedulers.push(scheduler);
      scheduler.start();
      const live = async (ms: number, beat?: string): Promise<void> => {
        for (let passed = 0; passed < ms; passed += BEAT_MS) {
          if (beat !== undefined) await store.ticks.beat(beat);
          await timing.advance(BEAT_MS);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      // The flaky service is silent past the lease (SIGSTOP, a store outage): judged dead once,
      // with nothing to adopt.
      await live(CLAIM_LEASE_MS + 2 * ADOPT_SWEEP_MS);
      // It comes back, claims the 18:30 tick, and beats until past it; then it is SIGKILLed
      // before its run began.
      await store.ticks.beat(FLAKY);
      expect(await store.ticks.claim(job.name, LOST_TICK, FLAKY)).toBe(true);
      await live(LOST_TICK + 10_000 - timing.now(), FLAKY);
      expect(seen).toEqual([]);
      // Dead for good: the running service should adopt its tick, as for any dead service.
      await live(CLAIM_LEASE_MS + 3 * ADOPT_SWEEP_MS);
      const [last] = await store.ticks.list(job.name, { limit: 1 });
      expect({ seen, claimant: last?.claimant, outcome: last?.outcome }).toEqual({
        seen: [{ jobName: job.name, tickAt: LOST_TICK, catchup: true }],
        claimant: 'peer-a:1',
        outcome: 'ran',
      });
    },
  );
});

/**
 * Review of issue 13: on SQLite, beats and the lease are judged by this host's wall clock. A
 * step forward of that clock past the lease (NTP correcting a drifted clock, a VM resumed from
 * a pause, an operator setting the date) makes every live service on the host look dead to the
 * first peer that looks: it adopts the tick another service is running and runs it a second
 * time, concurrently.
 */
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/service/scheduler.js';
import type { Tick } from '../../src/service/scheduler-events.js';
import { CLAIM_BEAT_MS, CLAIM_LEASE_MS } from '../../src/store/tick-claims.js';
import { FakeTiming } from '../helpers/fake-timing.js';
import { LOST_TICK, spyDaily } from '../helpers/lost-tick.js';
import { useSchedulerCleanup } from '../helpers/scheduler-cleanup.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { openTestStore } from '../helpers/test-storage.js';

const BEAT_MS = 5_000;
const STEP_MS = 500;
const WALL_START = LOST_TICK - 30_000;

const tempDir = useTempDir();
const { schedulers, opened } = useSchedulerCleanup();

describe('two services on one SQLite file when the host clock steps forward', () => {
  it(
    'the tick one of them is running is not run again by the other',
    { timeout: 120_000 },
    async () => {
      const timing = new FakeTiming({ wallStart: WALL_START });
      let jumpMs = 0;
      timing.setWallClock((monotonic) => WALL_START + monotonic + jumpMs);
      const clock = (): number => timing.now();
      const store = await openTestStore('sqlite', tempDir(), { clock });
      opened.push(store);
      const job = spyDaily('latest');
      const seen: (Tick & { by: string })[] = [];
      const startedAt = new Map<string, number>();
      const start = (claimant: string): void => {
        const scheduler = new Scheduler({
          jobs: [job],
          ticks: store.ticks,
          claimant,
          // A long run: still going when the clock steps.
          runTick: (tick, signal) => {
            seen.push({ ...tick, by: claimant });
            return new Promise((_, reject) =>
              signal.addEventListener('abort', () => reject(signal.reason as Error)),
            );
          },
          timing,
          beatMs: BEAT_MS,
        });
        schedulers.push(scheduler);
        startedAt.set(claimant, timing.monotonic());
        scheduler.start();
      };
      const live = async (ms: number): Promise<void> => {
        for (let passed = 0; passed < ms; passed += STEP_MS) {
          await timing.advance(STEP_MS);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      };
      start('host:1:a');
      await live(7_000);
      start('host:2:b');
      await live(40_000);
      expect(seen).toHaveLength(1);
      const runner = seen[0]!.by;
      // Just after the runner's beat, the host's clock steps 3 minutes forward.
      const phase = (timing.monotonic() - startedAt.get(runner)!) % CLAIM_BEAT_MS;
      await live(CLAIM_BEAT_MS - phase + STEP_MS);
      jumpMs = CLAIM_LEASE_MS * 3;
      await live(2 * CLAIM_BEAT_MS);
      expect(seen.map((s) => `${s.by} ran ${new Date(s.tickAt).toISOString()}`)).toEqual([
        `${runner} ran ${new Date(LOST_TICK).toISOString()}`,
      ]);
    },
  );
});

/**
 * A service frozen (SIGSTOP, a paused VM) for longer than the claim lease while it held a tick:
 * a running peer judges it dead, adopts the tick and runs it. Resumed, the frozen one must not
 * run the tick again nor record over the peer: it finds the claim taken over, says so and counts
 * it `taken`; its beat says it was judged dead. Both stores; the store judges beats by the test's
 * clock, and the frozen scheduler's timers and pending answers wait for its thaw.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { JobSupersededError } from '../../src/core/errors.js';
import { ADOPT_SWEEP_MS, Scheduler, type TickRunner } from '../../src/service/scheduler.js';
import type { SchedulerEventMap, Tick } from '../../src/service/scheduler-events.js';
import type { Store } from '../../src/store/store.js';
import { CLAIM_LEASE_MS, type TickClaims } from '../../src/store/tick-claims.js';
import { FakeTiming } from '../helpers/fake-timing.js';
import { FrozenProcess } from '../helpers/frozen-process.js';
import { finishedTick, LOST_TICK, spyDaily } from '../helpers/lost-tick.js';
import { useSchedulerCleanup } from '../helpers/scheduler-cleanup.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { openTestStore, STORAGE_KINDS } from '../helpers/test-storage.js';
import { waitFor } from '../helpers/wait-for.js';

const BEAT_MS = 5_000;
const FROZEN = 'frozen-host:1:2026-03-10';
const PEER = 'peer-host:2:2026-03-10';

const tempDir = useTempDir();
const { schedulers, opened } = useSchedulerCleanup();
const frozen: FrozenProcess[] = [];
// A failed test must not leave a scheduler frozen for the cleanup's stop() to wait on forever.
afterEach(() => {
  for (const process of frozen.splice(0)) process.thaw();
});

/** Moves the shared clock `ms` on a beat at a time, letting the store answer in between. */
async function live(timing: FakeTiming, ms: number): Promise<void> {
  for (let passed = 0; passed < ms; passed += BEAT_MS) {
    await timing.advance(BEAT_MS);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What one scheduler's events said, in order. */
function listen(scheduler: Scheduler) {
  const lost: SchedulerEventMap['tick:lost'][0][] = [];
  const lapsed: number[] = [];
  const failed: Tick[] = [];
  scheduler.events.on('tick:lost', (event) => lost.push(event));
  scheduler.events.on('beat:lapsed', (event) => lapsed.push(event.silentMs));
  scheduler.events.on('tick:failed', (event) => failed.push(event));
  return { lost, lapsed, failed };
}

/** A store on the shared clock, opened a second before the 18:30 tick. */
async function setUp(kind: (typeof STORAGE_KINDS)[number]) {
  const timing = new FakeTiming({ wallStart: LOST_TICK - 1_000 });
  const clock = (): number => timing.now();
  const store = await openTestStore(kind, tempDir(), { clock, databaseClock: clock });
  opened.push(store);
  const process = new FrozenProcess();
  frozen.push(process);
  return { timing, store, process };
}

function scheduler(
  claimant: string,
  ticks: TickClaims,
  timing: FakeTiming | ReturnType<FrozenProcess['timing']>,
  runTick: TickRunner,
): Scheduler {
  const made = new Scheduler({
    jobs: [spyDaily('latest')],
    ticks,
    claimant,
    runTick,
    timing,
    beatMs: BEAT_MS,
  });
  schedulers.push(made);
  return made;
}

/** The peer starts once the frozen one holds the tick, and adopts it after the lease. */
async function peerAdopts(store: Store, timing: FakeTiming, runs: string[]): Promise<void> {
  await waitFor('the frozen service to hold the tick', async () =>
    (await store.ticks.lastTick('spy_daily'))?.claimant === FROZEN ? true : undefined,
  );
  scheduler(PEER, store.ticks, timing, () => {
    runs.push(PEER);
    return Promise.resolve({ runId: 8 });
  }).start();
  await live(timing, CLAIM_LEASE_MS + ADOPT_SWEEP_MS + BEAT_MS);
  expect(await finishedTick(store)).toMatchObject({
    tickAt: LOST_TICK,
    claimant: PEER,
    outcome: 'ran',
    runId: 8,
  });
}

/**
 * Starts `stopped`, which freezes at its 18:30 tick; a peer adopts and runs the tick; then
 * `stopped` is thawed and left to find out. Returns what `stopped` said meanwhile.
 */
async function frozenWhileAdopted(
  stopped: Scheduler,
  setup: { store: Store; timing: FakeTiming; process: FrozenProcess; runs: string[] },
): Promise<ReturnType<typeof listen>> {
  const said = listen(stopped);
  stopped.start();
  await setup.timing.advance(1_000);
  await peerAdopts(setup.store, setup.timing, setup.runs);
  setup.process.thaw();
  await waitFor('the resumed service to find its tick taken', () =>
    said.lost.length > 0 && said.lapsed.length > 0 ? true : undefined,
  );
  await live(setup.timing, 2 * BEAT_MS);
  return said;
}

describe.each(STORAGE_KINDS)('a service frozen past the lease on %s', (kind) => {
  it('between its claim and its run: resumed, it finds the tick taken over and does not run it', async () => {
    const { timing, store, process } = await setUp(kind);
    const runs: string[] = [];
    // Stopped the moment the store answered its claim, before it read the answer.
    const ticks: TickClaims = {
      ...store.ticks,
      claim: async (...args) => {
        const won = await store.ticks.claim(...args);
        process.freeze();
        await process.resumed();
        return won;
      },
    };
    const stopped = scheduler(FROZEN, ticks, process.timing(timing), () => {
      runs.push(FROZEN);
      return Promise.resolve({ runId: 7 });
    });
    const said = await frozenWhileAdopted(stopped, { store, timing, process, runs });
    expect(runs).toEqual([PEER]);
    expect(said.lost).toEqual([{ jobName: 'spy_daily', tickAt: LOST_TICK, catchup: false }]);
    expect(said.lapsed).toHaveLength(1);
    expect(said.lapsed[0]).toBeGreaterThan(CLAIM_LEASE_MS);
    expect(stopped.status()[0]?.counts).toMatchObject({ ran: 0, failed: 0, taken: 1 });
    expect(stopped.status()[0]?.lastTickAt).toBeUndefined();
    expect(await store.ticks.lastTick('spy_daily')).toMatchObject({
      claimant: PEER,
      outcome: 'ran',
      runId: 8,
    });
  });

  it('in the middle of its run: its outcome is not recorded over the peer, nor counted a failure', async () => {
    const { timing, store, process } = await setUp(kind);
    const runs: string[] = [];
    // Frozen inside its run; resumed, the run finds itself superseded by the peer's.
    const stopped = scheduler(FROZEN, store.ticks, process.timing(timing), async () => {
      runs.push(FROZEN);
      process.freeze();
      await process.resumed();
      throw new JobSupersededError(
        7,
        { runId: 8, host: 'peer-host', pid: 2 },
        'run 7 of job spy_daily was superseded: run 8 took the job over',
      );
    });
    const said = await frozenWhileAdopted(stopped, { store, timing, process, runs });
    expect(runs).toEqual([FROZEN, PEER]);
    expect(said.failed).toEqual([]);
    const [status] = stopped.status();
    expect(status?.counts).toMatchObject({ ran: 0, failed: 0, taken: 1 });
    expect(status?.backoffUntil).toBe(0);
    expect(await store.ticks.lastTick('spy_daily')).toMatchObject({
      claimant: PEER,
      outcome: 'ran',
      runId: 8,
    });
    expect(said.lost).toEqual([
      {
        jobName: 'spy_daily',
        tickAt: LOST_TICK,
        catchup: false,
        unrecorded: {
          outcome: 'failed',
          detail: 'run 7 of job spy_daily was superseded: run 8 took the job over',
        },
      },
    ]);
  });
});

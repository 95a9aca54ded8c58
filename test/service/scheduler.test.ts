/**
 * The Scheduler on a fake clock and a real store: ticks on time in the job's zone, catch-up by
 * policy before live ticks, overlap, failure backoff, stop, and two schedulers sharing a store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Scheduler, type TickRunner } from '../../src/service/scheduler.js';
import type { ScheduledJob } from '../../src/service/scheduled-job.js';
import type { Tick } from '../../src/service/scheduler-events.js';
import type { Store } from '../../src/store/store.js';
import { FakeTiming } from '../helpers/fake-timing.js';
import { scheduledJob } from '../helpers/scheduled-job.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { openTestStore, STORAGE_KINDS, type StorageKind } from '../helpers/test-storage.js';
import { waitFor } from '../helpers/wait-for.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const at = (iso: string): number => Date.parse(iso);
const isos = (ticks: readonly number[]): string[] => ticks.map((t) => new Date(t).toISOString());

const job = scheduledJob;

/** What a runner saw: each tick with the wall time it started at. */
interface Seen extends Tick {
  readonly startedAt: number;
}

const tempDir = useTempDir();
const opened: Store[] = [];
const schedulers: Scheduler[] = [];
afterEach(async () => {
  for (const scheduler of schedulers.splice(0)) {
    scheduler.abortRuns(new Error('test over'));
    void scheduler.stop();
  }
  for (const store of opened.splice(0)) await store.close();
});

async function openStore(kind: StorageKind, dir: string): Promise<Store> {
  const store = await openTestStore(kind, dir);
  opened.push(store);
  return store;
}

/** A runner that records each tick and takes `durationMs` of fake time (or throws `fail`). */
function recordingRunner(
  timing: FakeTiming,
  seen: Seen[],
  options: { durationMs?: (tick: Tick) => number; fail?: (tick: Tick) => boolean } = {},
): TickRunner {
  let runId = 0;
  return async (tick, signal) => {
    seen.push({ ...tick, startedAt: timing.now() });
    const id = ++runId;
    await timing.sleep(options.durationMs?.(tick) ?? 0, signal);
    if (options.fail?.(tick)) throw new Error(`tick ${new Date(tick.tickAt).toISOString()} broke`);
    return { runId: id };
  };
}

function makeScheduler(
  store: Store,
  timing: FakeTiming,
  jobs: ScheduledJob[],
  runTick: TickRunner,
  extra: { claimant?: string; beatMs?: number; backoff?: { baseMs: number; maxMs: number } } = {},
): Scheduler {
  const scheduler = new Scheduler({
    jobs,
    ticks: store.ticks,
    claimant: extra.claimant ?? 'test-host:1',
    runTick,
    timing,
    beatMs: extra.beatMs ?? 10 * MINUTE,
    ...(extra.backoff ? { failureBackoff: extra.backoff } : {}),
  });
  schedulers.push(scheduler);
  return scheduler;
}

/** A scheduler over `jobs` on a fake clock from `wallStart`, a recording runner and a SQLite store. */
async function setUp(options: {
  wallStart: number;
  jobs: ScheduledJob[];
  store?: Store;
  run?: Parameters<typeof recordingRunner>[2];
  beatMs?: number;
  backoff?: { baseMs: number; maxMs: number };
}): Promise<{ store: Store; timing: FakeTiming; seen: Seen[]; scheduler: Scheduler }> {
  const store = options.store ?? (await openStore('sqlite', tempDir()));
  const timing = new FakeTiming({ wallStart: options.wallStart });
  const seen: Seen[] = [];
  const scheduler = makeScheduler(
    store,
    timing,
    options.jobs,
    recordingRunner(timing, seen, options.run),
    {
      ...(options.beatMs !== undefined ? { beatMs: options.beatMs } : {}),
      ...(options.backoff ? { backoff: options.backoff } : {}),
    },
  );
  return { store, timing, seen, scheduler };
}

describe('Scheduler', () => {
  it('runs each tick at its time in the job zone, across the spring-forward change', async () => {
    const store = await openStore('sqlite', tempDir());
    const timing = new FakeTiming({ wallStart: at('2024-03-09T00:00:00Z') });
    const seen: Seen[] = [];
    const nightly = job('nightly', '30 2 * * *', {}, 'America/New_York');
    const scheduler = makeScheduler(store, timing, [nightly], recordingRunner(timing, seen));
    const nexts: (number | undefined)[] = [];
    scheduler.events.on('tick:next', (event) => nexts.push(event.tickAt));
    scheduler.start();
    await timing.advance(3 * 24 * HOUR);
    const expected = [
      '2024-03-09T07:30:00.000Z',
      '2024-03-10T07:00:00.000Z',
      '2024-03-11T06:30:00.000Z',
    ];
    expect(isos(seen.map((tick) => tick.tickAt))).toEqual(expected);
    // Each started at its tick by the (fake) wall clock, none late or early.
    expect(isos(seen.map((tick) => tick.startedAt))).toEqual(expected);
    expect(seen.every((tick) => !tick.catchup)).toBe(true);
    expect(isos(nexts.slice(0, 4) as number[])).toEqual([...expected, '2024-03-12T06:30:00.000Z']);
    const records = await store.ticks.list('nightly');
    expect(records.map((r) => [new Date(r.tickAt).toISOString(), r.outcome, r.runId])).toEqual([
      ['2024-03-11T06:30:00.000Z', 'ran', 3],
      ['2024-03-10T07:00:00.000Z', 'ran', 2],
      ['2024-03-09T07:30:00.000Z', 'ran', 1],
    ]);
    expect(scheduler.status()[0]).toMatchObject({
      jobName: 'nightly',
      nextTickAt: at('2024-03-12T06:30:00Z'),
      lastTickAt: at('2024-03-11T06:30:00Z'),
      counts: { ran: 3, skipped: 0, missed: 0, failed: 0, taken: 0 },
    });
    await scheduler.stop();
    expect(scheduler.state).toBe('stopped');
  });

  describe('catch-up on start, by policy, before any live tick', () => {
    const START = at('2024-01-01T12:10:00Z');
    /** A store whose job last ticked five hours before START's hour. */
    async function storeWithLastTick(): Promise<Store> {
      const store = await openStore('sqlite', tempDir());
      await store.ticks.claim('hourly', at('2024-01-01T07:00:00Z'), 'earlier-service');
      // Finished: a claim without an outcome would be a dead service's, to be taken over.
      await store.ticks.record('hourly', at('2024-01-01T07:00:00Z'), 'earlier-service', {
        outcome: 'ran',
      });
      return store;
    }

    it.each([
      ['latest', 10, ['2024-01-01T12:00:00.000Z'], 4],
      [
        'all',
        3,
        ['2024-01-01T10:00:00.000Z', '2024-01-01T11:00:00.000Z', '2024-01-01T12:00:00.000Z'],
        2,
      ],
      ['all', 10, ['08', '09', '10', '11', '12'].map((h) => `2024-01-01T${h}:00:00.000Z`), 0],
      ['none', 10, [], 5],
    ] as const)('catchup: %s (limit %d)', async (catchup, catchupLimit, caughtUp, missed) => {
      const { store, timing, seen, scheduler } = await setUp({
        store: await storeWithLastTick(),
        wallStart: START,
        jobs: [job('hourly', '0 * * * *', { catchup, catchupLimit })],
      });
      const missedEvents: number[] = [];
      scheduler.events.on('tick:missed', (event) => missedEvents.push(event.count));
      scheduler.start();
      await timing.advance(HOUR);
      expect(seen.map((tick) => [new Date(tick.tickAt).toISOString(), tick.catchup])).toEqual([
        ...caughtUp.map((iso) => [iso, true]),
        ['2024-01-01T13:00:00.000Z', false],
      ]);
      expect(missedEvents).toEqual(missed > 0 ? [missed] : []);
      expect(scheduler.status()[0]?.counts).toMatchObject({ ran: caughtUp.length + 1, missed });
      const records = await store.ticks.list('hourly');
      expect(records.filter((r) => r.catchup).map((r) => r.tickAt)).toEqual(
        caughtUp.map(at).reverse(),
      );
    });

    it('a job that never ticked catches up nothing and waits for its next tick', async () => {
      const { timing, seen, scheduler } = await setUp({
        wallStart: START,
        jobs: [job('hourly', '0 * * * *', { catchup: 'all' })],
      });
      scheduler.start();
      await timing.advance(HOUR);
      expect(isos(seen.map((tick) => tick.tickAt))).toEqual(['2024-01-01T13:00:00.000Z']);
    });

    it('long catch-up runs hold the live ticks back, and those are then run by the policy', async () => {
      // Three catch-up runs of 50 minutes each: 13:00 and 14:00 pass meanwhile.
      const { timing, seen, scheduler } = await setUp({
        store: await storeWithLastTick(),
        wallStart: START,
        jobs: [job('hourly', '0 * * * *', { catchup: 'all', catchupLimit: 3 })],
        run: {
          durationMs: (tick) => (tick.tickAt <= at('2024-01-01T12:00:00Z') ? 50 * MINUTE : 0),
        },
        beatMs: MINUTE,
      });
      scheduler.start();
      await timing.advance(4 * HOUR);
      const order = seen.map((tick) => tick.tickAt);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(isos(order.slice(0, 3))).toEqual([
        '2024-01-01T10:00:00.000Z',
        '2024-01-01T11:00:00.000Z',
        '2024-01-01T12:00:00.000Z',
      ]);
      // Nothing ran twice or before its time; 13:00 (passed during the catch-up) ran late as a
      // catch-up of its own, then 14:00 as the live tick, then the rest on time.
      expect(new Set(order).size).toBe(order.length);
      expect(seen.every((tick) => tick.startedAt >= tick.tickAt)).toBe(true);
      expect(
        seen.slice(3).map((tick) => [new Date(tick.tickAt).toISOString(), tick.catchup]),
      ).toEqual([
        ['2024-01-01T13:00:00.000Z', true],
        ['2024-01-01T14:00:00.000Z', false],
        ['2024-01-01T15:00:00.000Z', false],
        ['2024-01-01T16:00:00.000Z', false],
      ]);
      expect(seen.slice(5).every((tick) => tick.startedAt === tick.tickAt)).toBe(true);
    });
  });

  it('after a sleep (the wall clock jumps ahead) the newest tick runs live and the older ones by the policy', async () => {
    const { timing, seen, scheduler } = await setUp({
      wallStart: at('2024-01-01T00:30:00Z'),
      jobs: [job('hourly', '0 * * * *', { catchup: 'all', catchupLimit: 2 })],
      beatMs: MINUTE,
    });
    const missed: number[] = [];
    scheduler.events.on('tick:missed', (event) => missed.push(event.count));
    scheduler.start();
    await timing.advance(MINUTE);
    // The machine sleeps from 00:31 to 05:31 while the monotonic clock stands still.
    const jump = 5 * HOUR;
    const wallStart = at('2024-01-01T00:30:00Z');
    timing.setWallClock((monotonic) => wallStart + monotonic + jump);
    await timing.advance(MINUTE);
    expect(seen.map((tick) => [new Date(tick.tickAt).toISOString(), tick.catchup])).toEqual([
      ['2024-01-01T03:00:00.000Z', true],
      ['2024-01-01T04:00:00.000Z', true],
      ['2024-01-01T05:00:00.000Z', false],
    ]);
    expect(missed).toEqual([2]);
    expect(scheduler.status()[0]?.nextTickAt).toBe(at('2024-01-01T06:00:00Z'));
  });

  describe('a tick that finds its job still running', () => {
    const START = at('2024-01-01T00:00:30Z');

    it('overlap: skip skips it, says why, records it skipped and counts it', async () => {
      const { store, timing, seen, scheduler } = await setUp({
        wallStart: START,
        jobs: [job('minutely', '* * * * *')],
        run: { durationMs: () => 150_000 },
        beatMs: MINUTE,
      });
      const skipped: string[] = [];
      scheduler.events.on('tick:skipped', (event) =>
        skipped.push(`${new Date(event.tickAt).toISOString()} ${event.reason}: ${event.detail}`),
      );
      scheduler.start();
      await timing.advance(4 * MINUTE);
      expect(isos(seen.map((tick) => tick.tickAt))).toEqual([
        '2024-01-01T00:01:00.000Z',
        '2024-01-01T00:04:00.000Z',
      ]);
      expect(skipped).toEqual([
        '2024-01-01T00:02:00.000Z overlap: the run of its tick 2024-01-01T00:01:00.000Z is still running (overlap: skip)',
        '2024-01-01T00:03:00.000Z overlap: the run of its tick 2024-01-01T00:01:00.000Z is still running (overlap: skip)',
      ]);
      const records = await store.ticks.list('minutely');
      expect(records.map((r) => r.outcome)).toEqual([null, 'skipped', 'skipped', 'ran']);
      expect(scheduler.status()[0]?.counts).toMatchObject({ ran: 1, skipped: 2 });
    });

    it('overlap: wait runs it when the run ends; a further tick meanwhile is skipped', async () => {
      const { store, timing, seen, scheduler } = await setUp({
        wallStart: START,
        jobs: [job('minutely', '* * * * *', { overlap: 'wait' })],
        run: { durationMs: () => 150_000 },
        beatMs: MINUTE,
      });
      const waiting: number[] = [];
      scheduler.events.on('tick:waiting', (tick) => waiting.push(tick.tickAt));
      scheduler.start();
      await timing.advance(4 * MINUTE);
      // 00:01 runs to 00:03:30; 00:02 waits and runs then; 00:03 finds 00:02 waiting: skipped;
      // 00:04 finds 00:02 running and nothing waiting: it waits.
      expect(
        seen.map((tick) => [
          new Date(tick.tickAt).toISOString(),
          new Date(tick.startedAt).toISOString(),
        ]),
      ).toEqual([
        ['2024-01-01T00:01:00.000Z', '2024-01-01T00:01:00.000Z'],
        ['2024-01-01T00:02:00.000Z', '2024-01-01T00:03:30.000Z'],
      ]);
      expect(isos(waiting)).toEqual(['2024-01-01T00:02:00.000Z', '2024-01-01T00:04:00.000Z']);
      const records = await store.ticks.list('minutely');
      expect(records.map((r) => [new Date(r.tickAt).toISOString(), r.outcome, r.detail])).toEqual([
        ['2024-01-01T00:04:00.000Z', null, null],
        [
          '2024-01-01T00:03:00.000Z',
          'skipped',
          'the run of its tick 2024-01-01T00:01:00.000Z is still running and tick 2024-01-01T00:02:00.000Z already waits for it (overlap: wait)',
        ],
        ['2024-01-01T00:02:00.000Z', null, null],
        ['2024-01-01T00:01:00.000Z', 'ran', null],
      ]);
      await timing.advance(3 * MINUTE);
      expect(isos(seen.map((tick) => tick.startedAt)).at(-1)).toBe('2024-01-01T00:06:00.000Z');
    });
  });

  it('a job whose ticks keep failing backs off, capped, while the others keep their ticks', async () => {
    const { store, timing, seen, scheduler } = await setUp({
      wallStart: at('2024-01-01T00:00:30Z'),
      jobs: [job('broken', '* * * * *'), job('healthy', '* * * * *')],
      run: { fail: (tick) => tick.jobName === 'broken' },
      beatMs: MINUTE,
      backoff: { baseMs: 90_000, maxMs: 200_000 },
    });
    const failures: number[] = [];
    scheduler.events.on('tick:failed', (event) => failures.push(event.failures));
    scheduler.start();
    await timing.advance(12 * MINUTE);
    const minutes = (name: string): number[] =>
      seen
        .filter((tick) => tick.jobName === name)
        .map((tick) => (tick.tickAt - at('2024-01-01T00:00:00Z')) / MINUTE);
    // Fails at 1 (back off 90 s: 2 skipped), at 3 (180 s: 4, 5 skipped), at 6 (200 s cap: 7, 8, 9).
    expect(minutes('broken')).toEqual([1, 3, 6, 10]);
    expect(failures).toEqual([1, 2, 3, 4]);
    expect(minutes('healthy')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const broken = await store.ticks.list('broken', { limit: 3 });
    expect(broken.map((r) => r.outcome)).toEqual(['skipped', 'skipped', 'failed']);
    expect(broken[0]?.detail).toBe(
      'backing off after 4 failed ticks in a row, until 2024-01-01T00:13:20.000Z',
    );
    expect(broken[2]?.detail).toBe('tick 2024-01-01T00:10:00.000Z broke');
    expect(scheduler.status().map((s) => [s.jobName, s.counts.failed, s.counts.skipped])).toEqual([
      ['broken', 4, 8],
      ['healthy', 0, 0],
    ]);
  });

  it('stop() takes no more ticks and lets the running one finish; a waiting tick is recorded missed', async () => {
    const { store, timing, seen, scheduler } = await setUp({
      wallStart: at('2024-01-01T00:00:30Z'),
      jobs: [job('minutely', '* * * * *', { overlap: 'wait' })],
      run: { durationMs: () => 100_000 },
      beatMs: 5_000,
    });
    scheduler.start();
    expect(scheduler.isAlive()).toBe(true);
    await timing.advance(MINUTE + 40_000); // 00:01 runs until 00:02:40; 00:02 waits.
    let stopped = false;
    const stopping = scheduler.stop().then(() => (stopped = true));
    await timing.advance(20_000);
    expect(stopped).toBe(false);
    expect(scheduler.isAlive()).toBe(false);
    await timing.advance(20_000);
    await stopping;
    expect(scheduler.state).toBe('stopped');
    expect(isos(seen.map((tick) => tick.tickAt))).toEqual(['2024-01-01T00:01:00.000Z']);
    const records = await store.ticks.list('minutely');
    expect(records.map((r) => [new Date(r.tickAt).toISOString(), r.outcome, r.detail])).toEqual([
      [
        '2024-01-01T00:02:00.000Z',
        'missed',
        'the service stopped while the tick waited for the running one',
      ],
      ['2024-01-01T00:01:00.000Z', 'ran', null],
    ]);
    await timing.advance(10 * MINUTE);
    expect(seen).toHaveLength(1);
    expect(timing.pendingTimers).toBe(0);
  });

  it('reconfigure(): a removed job takes no more ticks, its running one finishing; changed and added jobs start at their next tick, nothing caught up', async () => {
    const { store, timing, seen, scheduler } = await setUp({
      wallStart: at('2024-01-01T00:00:30Z'),
      jobs: [job('minutely', '* * * * *'), job('hourly', '0 * * * *'), job('kept', '*/3 * * * *')],
      run: { durationMs: (tick) => (tick.jobName === 'minutely' ? 90_000 : 0) },
      beatMs: MINUTE,
    });
    const nextTicks: string[] = [];
    scheduler.events.on('tick:next', (event) => {
      if (event.tickAt === undefined) nextTicks.push(`${event.jobName}: none`);
    });
    scheduler.start();
    await timing.advance(MINUTE); // 00:01:30: minutely's 00:01 runs until 00:02:30.
    const changes = scheduler.reconfigure(
      [job('hourly', '*/5 * * * *'), job('kept', '*/3 * * * *'), job('added', '*/2 * * * *')],
      new Set(['hourly', 'added']),
    );
    expect(changes).toEqual({ added: ['added'], removed: ['minutely'] });
    expect(nextTicks).toEqual(['minutely: none']);
    await timing.advance(4 * MINUTE); // to 00:05:30
    expect(
      seen.map((tick) => `${tick.jobName} ${new Date(tick.tickAt).toISOString()} ${tick.catchup}`),
    ).toEqual([
      'minutely 2024-01-01T00:01:00.000Z false',
      'added 2024-01-01T00:02:00.000Z false',
      'kept 2024-01-01T00:03:00.000Z false',
      'added 2024-01-01T00:04:00.000Z false',
      'hourly 2024-01-01T00:05:00.000Z false',
    ]);
    const minutely = await store.ticks.list('minutely');
    expect(minutely.map((r) => [new Date(r.tickAt).toISOString(), r.outcome])).toEqual([
      ['2024-01-01T00:01:00.000Z', 'ran'],
    ]);
    expect(scheduler.status().map((status) => status.jobName)).toEqual(['hourly', 'kept', 'added']);
  });

  it('reconfigure(): a changed job whose tick still runs meets it under its new overlap', async () => {
    const { store, timing, scheduler } = await setUp({
      wallStart: at('2024-01-01T00:00:30Z'),
      jobs: [job('minutely', '* * * * *')],
      run: { durationMs: () => 90_000 },
      beatMs: MINUTE,
    });
    const skipped: string[] = [];
    scheduler.events.on('tick:skipped', (event) => skipped.push(event.detail));
    scheduler.start();
    await timing.advance(MINUTE); // 00:01:30: the 00:01 tick runs until 00:02:30.
    scheduler.reconfigure([job('minutely', '*/2 * * * *')], new Set(['minutely']));
    await timing.advance(3 * MINUTE); // to 00:04:30
    expect(skipped).toEqual([
      'the run of its tick 2024-01-01T00:01:00.000Z is still running (overlap: skip)',
    ]);
    const records = await store.ticks.list('minutely');
    expect(records.map((r) => [new Date(r.tickAt).toISOString(), r.outcome])).toEqual([
      ['2024-01-01T00:04:00.000Z', null],
      ['2024-01-01T00:02:00.000Z', 'skipped'],
      ['2024-01-01T00:01:00.000Z', 'ran'],
    ]);
  });

  it('abortRuns() cancels running ticks: recorded failed as cancelled, no backoff counted', async () => {
    const { store, timing, scheduler } = await setUp({
      wallStart: at('2024-01-01T00:00:30Z'),
      jobs: [job('minutely', '* * * * *')],
      run: { durationMs: () => 100_000 },
    });
    scheduler.start();
    await timing.advance(MINUTE);
    const stopping = scheduler.stop();
    scheduler.abortRuns(new Error('SIGTERM'));
    await stopping;
    const [record] = await store.ticks.list('minutely');
    expect(record).toMatchObject({ outcome: 'failed', detail: 'cancelled: SIGTERM' });
    expect(scheduler.status()[0]?.counts).toMatchObject({ cancelled: 1, failed: 0 });
  });
});

describe.each(STORAGE_KINDS)('%s: two schedulers on one store', (kind) => {
  it('run each tick once between them', async () => {
    const dir = tempDir();
    const [storeA, storeB] = [await openStore(kind, dir), await openStore(kind, dir)];
    const timing = new FakeTiming({ wallStart: at('2024-01-01T00:00:30Z') });
    const seenA: Seen[] = [];
    const seenB: Seen[] = [];
    const jobs = [job('minutely', '* * * * *'), job('every_2m', '*/2 * * * *')];
    const a = makeScheduler(storeA, timing, jobs, recordingRunner(timing, seenA), {
      claimant: 'service-a',
      beatMs: MINUTE,
    });
    const b = makeScheduler(storeB, timing, jobs, recordingRunner(timing, seenB), {
      claimant: 'service-b',
      beatMs: MINUTE,
    });
    a.start();
    b.start();
    const settled = (minutes: number): Promise<true> =>
      waitFor(`both schedulers through minute ${minutes}`, () => {
        const decided = [...a.status(), ...b.status()].reduce(
          (sum, s) => sum + s.counts.ran + s.counts.taken,
          0,
        );
        // Each tick is decided twice: ran by one scheduler, taken by the other.
        return decided === 2 * (minutes + Math.floor(minutes / 2)) ? true : undefined;
      });
    for (let minute = 1; minute <= 10; minute += 1) {
      await timing.advance(MINUTE);
      await settled(minute);
    }
    const ran = [...seenA, ...seenB].map((tick) => `${tick.jobName}@${tick.tickAt}`);
    expect(new Set(ran).size).toBe(ran.length);
    expect(ran).toHaveLength(15);
    const records = await storeA.ticks.list('minutely');
    expect(records).toHaveLength(10);
    expect(records.every((r) => r.outcome === 'ran')).toBe(true);
    for (const record of records) {
      const runner = seenA.some((t) => t.jobName === 'minutely' && t.tickAt === record.tickAt)
        ? 'service-a'
        : 'service-b';
      expect(record.claimant).toBe(runner);
    }
  });
});

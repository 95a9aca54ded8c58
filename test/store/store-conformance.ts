/**
 * The behaviour every Store backend must share, written against the protocol only. A backend's
 * test file calls `describeStoreConformance` with a factory for a store on a fresh, empty
 * database; the suite opens it.
 */
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Bar, BarColumn } from '../../src/core/bar.js';
import {
  CancelledError,
  JobLockedError,
  JobSupersededError,
  StoreError,
} from '../../src/core/errors.js';
import type { RejectedBar, RunStart, Store } from '../../src/store/store.js';

/** What a conformance test may ask of the store it gets. */
export interface ConformanceStoreOptions {
  readonly upsertKeys?: readonly BarColumn[];
  readonly clock?: () => number;
  readonly hostname?: string;
  readonly isPidAlive?: (pid: number) => boolean;
  /** This host's boot id and pid namespace, and the start time of a pid on it (see RunHost). */
  readonly bootId?: string | null;
  readonly pidNamespace?: string | null;
  readonly processStart?: (pid: number) => string | null;
}

/** A store on a fresh, empty database, not yet open; the suite opens it and closes it after each test. */
export type MakeStore = (options: ConformanceStoreOptions) => Store;

const T0 = Date.UTC(2024, 0, 2, 9, 30);
const MINUTE = 60_000;
const THIS_HOST = 'conformance-host';

/** A valid bar of series p1/AAA/1m at minute `i` after T0, with prices derived from `price`. */
export function makeBar(i: number, overrides: Partial<Bar> = {}, price = 100 + i): Bar {
  return {
    provider: 'p1',
    symbol: 'AAA',
    interval: '1m',
    ts: T0 + i * MINUTE,
    open: price,
    high: price + 2,
    low: price - 1,
    close: price + 0.5,
    volume: 1000 + i,
    vwap: price + 0.25,
    tradeCount: 10 + i,
    ...overrides,
  };
}

/** The StoreError a promise rejects with. */
export async function failure(promise: Promise<unknown>): Promise<StoreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreError);
  return error as StoreError;
}

function runStart(overrides: Partial<RunStart> = {}): RunStart {
  return {
    jobName: 'job_a',
    mode: 'live',
    profile: 'dev',
    dryRun: false,
    host: 'other-host',
    pid: 4242,
    configHash: 'cfg-1',
    params: { lookback: '2h', follow: false },
    heartbeatIntervalMs: 10_000,
    ...overrides,
  };
}

function reject(overrides: Partial<RejectedBar> = {}): RejectedBar {
  return {
    provider: 'p1',
    symbol: 'AAA',
    interval: '1m',
    ts: T0,
    reason: 'high_below_low',
    raw: '{"o":1,"h":0,"l":2,"c":1}',
    ...overrides,
  };
}

/** Registers the shared Store behaviour tests under `label`. */
export function describeStoreConformance(label: string, makeStore: MakeStore): void {
  describe(`${label}: Store conformance`, () => {
    let now = T0;
    const clock = (): number => now;
    const deadPids = new Set<number>();
    const stores: Store[] = [];

    /** A store with the fake clock and this suite's host and pid table, closed after the test. */
    function create(options: ConformanceStoreOptions = {}): Store {
      const store = makeStore({
        clock,
        hostname: THIS_HOST,
        isPidAlive: (pid) => !deadPids.has(pid),
        ...options,
      });
      stores.push(store);
      return store;
    }

    /** `create`, opened. */
    async function open(options: ConformanceStoreOptions = {}): Promise<Store> {
      const store = create(options);
      await store.open();
      return store;
    }

    beforeEach(() => {
      now = T0 + 3600_000;
      deadPids.clear();
    });

    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
    });

    describe('lifecycle', () => {
      it('open and close are idempotent', async () => {
        const store = await open();
        await store.open();
        await store.writeBatch({ runId: 1, bars: [makeBar(0)] });
        expect(await store.countBars()).toBe(1);
        await store.close();
        await store.close();
      });

      it('refuses use before open and after close, and reopens after close', async () => {
        const store = create();
        expect((await failure(store.countBars())).code).toBe('MDP_STORE_CLOSED');
        await store.open();
        await store.writeBatch({ runId: 1, bars: [makeBar(0)] });
        await store.close();
        expect((await failure(store.lastBarTs('p1', 'AAA', '1m'))).code).toBe('MDP_STORE_CLOSED');
        await store.open();
        expect(await store.countBars()).toBe(1);
      });
    });

    describe('writeBatch', () => {
      it('stores bars and reads them back in ts order with every field', async () => {
        const store = await open();
        const bars = [makeBar(2), makeBar(0, { vwap: null, tradeCount: null }), makeBar(1)];
        const result = await store.writeBatch({ runId: 7, bars });
        expect(result).toEqual({ rowsWritten: 3, duplicatesDropped: 0 });
        const stored = await store.readBars({ provider: 'p1', symbol: 'AAA', interval: '1m' });
        expect(stored).toEqual([bars[1], bars[2], bars[0]]);
        expect(stored[0]).toEqual({
          provider: 'p1',
          symbol: 'AAA',
          interval: '1m',
          ts: T0,
          open: 100,
          high: 102,
          low: 99,
          close: 100.5,
          volume: 1000,
          vwap: null,
          tradeCount: null,
        });
      });

      it('writing the same bars twice leaves the same rows, with the latest values', async () => {
        const store = await open();
        const first = [0, 1, 2, 3].map((i) => makeBar(i));
        await store.writeBatch({ runId: 1, bars: first });
        await store.writeBatch({ runId: 1, bars: first });
        expect(await store.countBars()).toBe(4);
        expect(await store.readBars({ provider: 'p1', symbol: 'AAA', interval: '1m' })).toEqual(
          first,
        );

        const revised = [1, 2].map((i) => makeBar(i, {}, 500 + i));
        const result = await store.writeBatch({ runId: 2, bars: revised });
        expect(result).toEqual({ rowsWritten: 2, duplicatesDropped: 0 });
        expect(await store.countBars()).toBe(4);
        const stored = await store.readBars({ provider: 'p1', symbol: 'AAA', interval: '1m' });
        expect(stored.map((bar) => bar.open)).toEqual([100, 501, 502, 103]);
        expect(stored[1]).toEqual(revised[0]);
      });

      it('collapses duplicate keys within a batch: the last one wins and is counted', async () => {
        const store = await open();
        const bars = [
          makeBar(0, {}, 10),
          makeBar(1, {}, 11),
          makeBar(0, {}, 20),
          makeBar(2, {}, 12),
          makeBar(0, {}, 30),
          makeBar(1, {}, 21),
        ];
        const result = await store.writeBatch({ runId: 1, bars });
        expect(result).toEqual({ rowsWritten: 3, duplicatesDropped: 3 });
        const stored = await store.readBars({ provider: 'p1', symbol: 'AAA', interval: '1m' });
        expect(stored.map((bar) => [bar.ts - T0, bar.open])).toEqual([
          [0, 30],
          [MINUTE, 21],
          [2 * MINUTE, 12],
        ]);
      });

      it('collapses duplicates across a large batch, last one winning', async () => {
        const store = await open();
        // Far more bars than one SQLite statement holds, with repeats across statement bounds.
        const bars = Array.from({ length: 2345 }, (_, i) => makeBar(i % 1000, {}, i));
        expect(await store.writeBatch({ runId: 1, bars })).toEqual({
          rowsWritten: 1000,
          duplicatesDropped: 1345,
        });
        const stored = await store.readBars({ provider: 'p1', symbol: 'AAA', interval: '1m' });
        expect(stored).toHaveLength(1000);
        expect(stored[0]?.open).toBe(2000);
        expect(stored[344]?.open).toBe(2344);
        expect(stored[345]?.open).toBe(1345);
      });

      it('keeps series apart: same ts under another symbol, interval or provider is another row', async () => {
        const store = await open();
        const bars = [
          makeBar(0),
          makeBar(0, { symbol: 'BBB' }),
          makeBar(0, { interval: '5m' }),
          makeBar(0, { provider: 'p2' }),
        ];
        expect(await store.writeBatch({ runId: 1, bars })).toEqual({
          rowsWritten: 4,
          duplicatesDropped: 0,
        });
        expect(await store.countBars()).toBe(4);
        expect(await store.countBars({ symbol: 'BBB' })).toBe(1);
        expect(await store.countBars({ provider: 'p1', interval: '1m' })).toBe(2);
      });

      it('upserts on the configured keys', async () => {
        const store = await open({ upsertKeys: ['provider', 'symbol', 'ts'] });
        // Without interval in the key, the 5m bar at the same open time replaces the 1m bar.
        await store.writeBatch({ runId: 1, bars: [makeBar(0)] });
        await store.writeBatch({ runId: 1, bars: [makeBar(0, { interval: '5m' }, 77)] });
        expect(await store.countBars()).toBe(1);
        expect(await store.countBars({ interval: '5m' })).toBe(1);
        expect(await store.lastBarTs('p1', 'AAA', '1m')).toBeUndefined();
      });

      it('stores every double and integer exactly as given', async () => {
        const store = await open();
        const awkward = [
          0.1 + 0.2,
          1 / 3,
          Math.PI * 1e10,
          123_456_789.123_456_79,
          5e-324,
          2.2250738585072014e-308,
          1e-300,
          1.7976931348623157e308,
          9_007_199_254_740_991,
        ];
        const bars = awkward.map((value, i) =>
          makeBar(i, {
            open: value,
            high: value,
            low: value,
            close: value,
            volume: awkward[awkward.length - 1 - i] as number,
            vwap: -value,
            tradeCount: Number.MAX_SAFE_INTEGER - i,
          }),
        );
        await store.writeBatch({ runId: 1, bars });
        const stored = await store.readBars({ provider: 'p1', symbol: 'AAA', interval: '1m' });
        expect(stored).toEqual(bars);
        for (const [i, bar] of stored.entries()) {
          expect(Object.is(bar.open, awkward[i])).toBe(true);
        }
      });

      it('accepts an empty batch', async () => {
        const store = await open();
        expect(await store.writeBatch({ runId: 1, bars: [] })).toEqual({
          rowsWritten: 0,
          duplicatesDropped: 0,
        });
        expect(await store.countBars()).toBe(0);
      });

      it('is all-or-nothing: a bar the database refuses keeps the whole batch out', async () => {
        const store = await open();
        await store.writeBatch({ runId: 1, bars: [makeBar(0)] });
        const bars = Array.from({ length: 250 }, (_, i) => makeBar(i + 1));
        // A null symbol gets past the type system only by force; the NOT NULL column refuses it.
        bars[200] = makeBar(201, { symbol: null as unknown as string });
        const failed = store.writeBatch({
          runId: 2,
          bars,
          rejected: [reject()],
          checkpoint: {
            jobName: 'job_a',
            provider: 'p1',
            symbol: 'AAA',
            interval: '1m',
            windowStart: T0,
            windowEnd: T0 + 300 * MINUTE,
            rows: 250,
          },
        });
        await expect(failed).rejects.toBeInstanceOf(StoreError);
        await expect(failed).rejects.toMatchObject({ code: 'MDP_STORE_WRITE' });
        expect(await store.countBars()).toBe(1);
        expect(await store.countRejected()).toBe(0);
        expect(await store.checkpoints('job_a')).toEqual([]);
        expect(await store.lastBarTs('p1', 'AAA', '1m')).toBe(T0);
      });

      it('keeps no bars of a batch whose checkpoint fails', async () => {
        const store = await open();
        await store.writeBatch({ runId: 1, bars: [makeBar(0)] });
        const error = await failure(
          store.writeBatch({
            runId: 2,
            bars: Array.from({ length: 300 }, (_, i) => makeBar(i + 1)),
            checkpoint: {
              jobName: 'job',
              provider: 'p1',
              symbol: 'AAA',
              interval: '1m',
              windowStart: Number.NaN,
              windowEnd: 1,
              rows: 300,
            },
          }),
        );
        expect(error.code).toBe('MDP_STORE_WRITE');
        // The database refused the checkpoint itself, after the bars went in: a rollback, not a
        // batch refused before its transaction began.
        expect(error.message).toMatch(/job_checkpoints\.window_start|bigint: "NaN"/);
        expect(await store.countBars()).toBe(1);
        expect(await store.checkpoints('job')).toEqual([]);
      });
    });

    describe('reads', () => {
      it('lastBarTs is the newest open time of one series, undefined when it has none', async () => {
        const store = await open();
        expect(await store.lastBarTs('p1', 'AAA', '1m')).toBeUndefined();
        await store.writeBatch({
          runId: 1,
          bars: [makeBar(5), makeBar(9), makeBar(2), makeBar(50, { symbol: 'BBB' })],
        });
        expect(await store.lastBarTs('p1', 'AAA', '1m')).toBe(T0 + 9 * MINUTE);
        expect(await store.lastBarTs('p1', 'BBB', '1m')).toBe(T0 + 50 * MINUTE);
        expect(await store.lastBarTs('p1', 'AAA', '5m')).toBeUndefined();
        expect(await store.lastBarTs('p2', 'AAA', '1m')).toBeUndefined();
      });

      it('readBars and countBars select the half-open window [start, end)', async () => {
        const store = await open();
        await store.writeBatch({ runId: 1, bars: [0, 1, 2, 3, 4, 5].map((i) => makeBar(i)) });
        const series = { provider: 'p1', symbol: 'AAA', interval: '1m' } as const;
        const window = { ...series, start: T0 + MINUTE, end: T0 + 4 * MINUTE };
        expect((await store.readBars(window)).map((bar) => bar.ts)).toEqual([
          T0 + MINUTE,
          T0 + 2 * MINUTE,
          T0 + 3 * MINUTE,
        ]);
        expect(await store.countBars(window)).toBe(3);
        expect(await store.countBars({ start: T0 + 4 * MINUTE })).toBe(2);
        expect(await store.countBars({ end: T0 + MINUTE })).toBe(1);
        expect(await store.readBars({ ...series, symbol: 'ZZZ' })).toEqual([]);
      });
    });

    describe('checkpoints and rejects', () => {
      const chunk = {
        jobName: 'job_b',
        provider: 'p1',
        symbol: 'AAA',
        interval: '1m',
        windowStart: T0,
        windowEnd: T0 + 3 * MINUTE,
        rows: 3,
      } as const;

      it('records the checkpoint with its batch, and upserts it on a rewrite', async () => {
        const store = await open();
        await store.writeBatch({
          runId: 3,
          bars: [0, 1, 2].map((i) => makeBar(i)),
          checkpoint: chunk,
        });
        expect(await store.checkpoints('job_b')).toEqual([
          {
            ...chunk,
            runId: 3,
            completedAt: now,
            expectedRows: null,
            complete: true,
            provisional: false,
          },
        ]);

        const firstAt = now;
        now += 5000;
        await store.writeBatch({
          runId: 4,
          bars: [makeBar(0), makeBar(1)],
          checkpoint: { ...chunk, rows: 2 },
        });
        expect(await store.checkpoints('job_b')).toEqual([
          {
            ...chunk,
            rows: 2,
            runId: 4,
            completedAt: firstAt + 5000,
            expectedRows: null,
            complete: true,
            provisional: false,
          },
        ]);
        expect(await store.checkpoints('other_job')).toEqual([]);
      });

      it('lists checkpoints in window order, including empty chunks', async () => {
        const store = await open();
        const later = { ...chunk, windowStart: chunk.windowEnd, windowEnd: T0 + 6 * MINUTE };
        await store.writeBatch({ runId: 1, bars: [], checkpoint: { ...later, rows: 0 } });
        await store.writeBatch({ runId: 1, bars: [makeBar(0)], checkpoint: chunk });
        const stored = await store.checkpoints('job_b');
        expect(stored.map((c) => [c.windowStart, c.windowEnd, c.rows])).toEqual([
          [T0, T0 + 3 * MINUTE, 3],
          [T0 + 3 * MINUTE, T0 + 6 * MINUTE, 0],
        ]);
      });

      it('records a chunk left short as incomplete, and a later complete rewrite clears it', async () => {
        const store = await open();
        await store.writeBatch({
          runId: 5,
          bars: [makeBar(0)],
          checkpoint: { ...chunk, rows: 1, expectedRows: 3, complete: false },
        });
        expect(await store.checkpoints('job_b')).toEqual([
          {
            ...chunk,
            rows: 1,
            runId: 5,
            completedAt: now,
            expectedRows: 3,
            complete: false,
            provisional: false,
          },
        ]);
        expect((await store.jobSummary('job_b')).incompleteChunks).toEqual(
          await store.checkpoints('job_b'),
        );
        await store.writeBatch({
          runId: 6,
          bars: [0, 1, 2].map((i) => makeBar(i)),
          checkpoint: { ...chunk, expectedRows: 3, complete: true },
        });
        expect(await store.checkpoints('job_b')).toMatchObject([
          { rows: 3, runId: 6, expectedRows: 3, complete: true },
        ]);
        expect((await store.jobSummary('job_b')).incompleteChunks).toEqual([]);
      });

      it('a complete checkpoint clears the incomplete ones it covers, and only those', async () => {
        const store = await open();
        const short = (start: number, end: number) => ({
          ...chunk,
          windowStart: T0 + start * MINUTE,
          windowEnd: T0 + end * MINUTE,
          rows: 0,
          complete: false,
        });
        for (const window of [short(0, 2), short(2, 4), short(4, 8)]) {
          await store.writeBatch({ runId: 1, bars: [], checkpoint: window });
        }
        await store.writeBatch({
          runId: 1,
          bars: [],
          checkpoint: { ...chunk, symbol: 'BBB', windowStart: T0, windowEnd: T0 + 8 * MINUTE },
        });
        // Another chunk size: [0, 5) covers the first two short chunks but not [4, 8).
        await store.writeBatch({
          runId: 2,
          bars: [],
          checkpoint: { ...chunk, windowStart: T0, windowEnd: T0 + 5 * MINUTE, rows: 5 },
        });
        const stored = await store.checkpoints('job_b');
        expect(
          stored.map((c) => [
            c.symbol,
            (c.windowStart - T0) / MINUTE,
            (c.windowEnd - T0) / MINUTE,
            c.complete,
          ]),
        ).toEqual([
          ['AAA', 0, 5, true],
          ['BBB', 0, 8, true],
          ['AAA', 4, 8, false],
        ]);
      });

      it('records a provisional chunk apart from incomplete ones, until a final rewrite', async () => {
        const store = await open();
        const tail = { ...chunk, windowStart: T0 + 3 * MINUTE, windowEnd: T0 + 6 * MINUTE };
        await store.writeBatch({ runId: 7, bars: [makeBar(0)], checkpoint: chunk });
        await store.writeBatch({
          runId: 7,
          bars: [makeBar(3)],
          checkpoint: { ...tail, rows: 1, expectedRows: 3, provisional: true },
        });
        await store.writeBatch({
          runId: 7,
          bars: [],
          checkpoint: { ...tail, symbol: 'BBB', rows: 0, complete: false },
        });
        const summary = await store.jobSummary('job_b');
        expect(summary.provisionalChunks).toEqual([
          {
            ...tail,
            rows: 1,
            runId: 7,
            completedAt: now,
            expectedRows: 3,
            complete: true,
            provisional: true,
          },
        ]);
        expect(summary.incompleteChunks.map((c) => [c.symbol, c.provisional])).toEqual([
          ['BBB', false],
        ]);

        // Fetched again, still within the delay: the same key stays provisional.
        await store.writeBatch({
          runId: 8,
          bars: [makeBar(3), makeBar(4)],
          checkpoint: { ...tail, rows: 2, provisional: true },
        });
        expect((await store.jobSummary('job_b')).provisionalChunks).toMatchObject([
          { rows: 2, runId: 8, provisional: true },
        ]);
        // A later run cuts the same window at a later edge: its rows replace the old one.
        await store.writeBatch({
          runId: 9,
          bars: [makeBar(3)],
          checkpoint: { ...tail, windowEnd: T0 + 4 * MINUTE, rows: 1 },
        });
        expect((await store.jobSummary('job_b')).provisionalChunks).toEqual([]);
        await store.writeBatch({
          runId: 9,
          bars: [makeBar(4)],
          checkpoint: { ...tail, windowStart: T0 + 4 * MINUTE, rows: 1, provisional: true },
        });
        expect(
          (await store.jobSummary('job_b')).provisionalChunks.map((c) => [
            (c.windowStart - T0) / MINUTE,
            (c.windowEnd - T0) / MINUTE,
          ]),
        ).toEqual([[4, 6]]);
        // Published at last: a final checkpoint over another window replaces it.
        await store.writeBatch({
          runId: 9,
          bars: [3, 4, 5].map((i) => makeBar(i)),
          checkpoint: { ...tail, windowStart: T0, rows: 6 },
        });
        expect((await store.jobSummary('job_b')).provisionalChunks).toEqual([]);
        const aaa = (await store.checkpoints('job_b')).filter((c) => c.symbol === 'AAA');
        expect(
          aaa.map((c) => [
            (c.windowStart - T0) / MINUTE,
            (c.windowEnd - T0) / MINUTE,
            c.provisional,
          ]),
        ).toEqual([
          [0, 3, false],
          [0, 6, false],
          [3, 4, false],
        ]);
      });

      it('stores rejected bars with their run', async () => {
        const store = await open();
        await store.writeBatch({ runId: 1, bars: [makeBar(0)], rejected: [reject()] });
        await store.writeBatch({
          runId: 2,
          bars: [],
          rejected: [reject({ reason: 'nan', raw: '{"o":"NaN"}' }), reject({ ts: 0 })],
        });
        expect(await store.countRejected()).toBe(3);
        expect(await store.countRejected(1)).toBe(1);
        expect(await store.countRejected(2)).toBe(2);
        expect(await store.countRejected(99)).toBe(0);
        expect(await store.countBars()).toBe(1);
      });
    });

    describe('job runs', () => {
      it('records start, heartbeat and completion', async () => {
        const store = await open();
        const started = await store.startRun(runStart());
        expect(started).toEqual({
          runId: expect.any(Number),
          jobName: 'job_a',
          mode: 'live',
          profile: 'dev',
          dryRun: false,
          status: 'running',
          startedAt: now,
          heartbeatAt: now,
          completedAt: null,
          rowsWritten: 0,
          batches: 0,
          error: null,
          host: 'other-host',
          pid: 4242,
          configHash: 'cfg-1',
          params: { lookback: '2h', follow: false },
          heartbeatIntervalMs: 10_000,
          identity: { bootId: null, pidNamespace: null, processStart: null },
        });
        const startedAt = now;

        now += 10_000;
        await store.heartbeat(started.runId, { rowsWritten: 120, batches: 2 });
        expect(await store.getRun(started.runId)).toMatchObject({
          status: 'running',
          heartbeatAt: startedAt + 10_000,
          rowsWritten: 120,
          batches: 2,
        });

        now += 4000;
        await store.completeRun(started.runId, 'success', { rowsWritten: 180, batches: 3 });
        expect(await store.getRun(started.runId)).toEqual({
          ...started,
          status: 'success',
          heartbeatAt: startedAt + 14_000,
          completedAt: startedAt + 14_000,
          rowsWritten: 180,
          batches: 3,
        });
      });

      it('records a failure with its error, and keeps null profile and dry-run flag', async () => {
        const store = await open();
        const run = await store.startRun(
          runStart({ profile: null, dryRun: true, mode: 'backfill', params: {} }),
        );
        await store.completeRun(run.runId, 'failure', { rowsWritten: 0, batches: 0 }, 'boom');
        expect(await store.getRun(run.runId)).toMatchObject({
          status: 'failure',
          error: 'boom',
          profile: null,
          dryRun: true,
          mode: 'backfill',
          params: {},
        });
        expect(await store.getRun(run.runId + 1000)).toBeUndefined();
      });

      it('jobSummary: last run, last success, the active run and rejects by reason', async () => {
        const store = await open();
        const empty = await store.jobSummary('job_a');
        expect(empty).toEqual({
          jobName: 'job_a',
          lastRun: undefined,
          lastSuccess: undefined,
          running: undefined,
          incompleteChunks: [],
          provisionalChunks: [],
          rejectedByReason: {},
        });
        const ok = await store.startRun(runStart());
        await store.writeBatch({
          runId: ok.runId,
          bars: [],
          rejected: [reject(), reject({ reason: 'non_finite' }), reject()],
        });
        await store.completeRun(ok.runId, 'success', { rowsWritten: 0, batches: 0 });
        now += 1000;
        const failed = await store.startRun(runStart());
        await store.writeBatch({ runId: failed.runId, bars: [], rejected: [reject()] });
        await store.completeRun(failed.runId, 'failure', { rowsWritten: 0, batches: 0 }, 'x');
        now += 1000;
        await store.startRun(runStart({ dryRun: true }));
        const other = await store.startRun(runStart({ jobName: 'job_z' }));
        await store.writeBatch({ runId: other.runId, bars: [], rejected: [reject()] });
        now += 1000;
        const active = await store.startRun(runStart());
        now += 1000;
        const dry = await store.startRun(runStart({ dryRun: true }));

        const summary = await store.jobSummary('job_a');
        expect(summary.lastRun?.runId).toBe(dry.runId);
        expect(summary.lastSuccess?.runId).toBe(ok.runId);
        expect(summary.running?.runId).toBe(active.runId);
        expect(summary.rejectedByReason).toEqual({ high_below_low: 3, non_finite: 1 });
        expect((await store.jobSummary('job_z')).rejectedByReason).toEqual({ high_below_low: 1 });
      });

      it('refuses a second concurrent run of a job, naming the first', async () => {
        const store = await open();
        const first = await store.startRun(runStart({ host: 'box-1', pid: 777 }));
        now += 1000;
        const second = store.startRun(runStart());
        await expect(second).rejects.toBeInstanceOf(JobLockedError);
        const error = (await second.catch((e: unknown) => e)) as JobLockedError;
        expect(error.code).toBe('MDP_JOB_LOCKED');
        expect(error.message).toContain(`run ${first.runId}`);
        expect(error.message).toContain('pid 777');
        expect(error.message).toContain('box-1');
        expect(error.message).toContain(new Date(first.startedAt).toISOString());
        expect(error.message).toMatch(/abandoned/);
        expect(await store.listRuns()).toHaveLength(1);

        await store.completeRun(first.runId, 'cancelled', { rowsWritten: 0, batches: 0 });
        const third = await store.startRun(runStart());
        expect(third.status).toBe('running');
        expect(third.runId).toBeGreaterThan(first.runId);
      });

      it('lets different jobs run at once', async () => {
        const store = await open();
        await store.startRun(runStart({ jobName: 'job_a' }));
        const other = await store.startRun(runStart({ jobName: 'job_b' }));
        expect(other.status).toBe('running');
      });

      it('does not lock for dry runs', async () => {
        const store = await open();
        const dry1 = await store.startRun(runStart({ dryRun: true }));
        const real = await store.startRun(runStart());
        const dry2 = await store.startRun(runStart({ dryRun: true }));
        expect([dry1.status, real.status, dry2.status]).toEqual(['running', 'running', 'running']);
        await expect(store.startRun(runStart())).rejects.toBeInstanceOf(JobLockedError);
      });

      it('abandons a run that missed three heartbeats, and only then', async () => {
        const store = await open();
        const run = await store.startRun(runStart({ heartbeatIntervalMs: 1000 }));
        now += 2500;
        await store.heartbeat(run.runId, { rowsWritten: 5, batches: 1 });
        now += 3000;
        expect(await store.reapAbandoned()).toEqual([]);
        expect((await store.getRun(run.runId))?.status).toBe('running');

        now += 1500;
        const reaped = await store.reapAbandoned();
        expect(reaped).toHaveLength(1);
        expect(reaped[0]).toMatchObject({
          runId: run.runId,
          status: 'abandoned',
          completedAt: now,
          rowsWritten: 5,
          batches: 1,
        });
        expect(reaped[0]?.error).toMatch(/no heartbeat for 4\.5s/);
        expect(await store.getRun(run.runId)).toEqual(reaped[0]);
        expect(await store.reapAbandoned()).toEqual([]);
      });

      it('reapAbandoned with an aborted signal throws its reason and marks nothing', async () => {
        const store = await open();
        const stale = await store.startRun(runStart({ heartbeatIntervalMs: 1000 }));
        now += 3001;
        const stop = new AbortController();
        const reason = new CancelledError('stopping', { kind: 'shutdown' });
        stop.abort(reason);
        await expect(store.reapAbandoned(undefined, stop.signal)).rejects.toBe(reason);
        expect((await store.getRun(stale.runId))?.status).toBe('running');
        expect(
          (await store.reapAbandoned(undefined, new AbortController().signal))[0],
        ).toMatchObject({ runId: stale.runId, status: 'abandoned' });
      });

      it('lets a new run start once the old one is stale, marking the old one abandoned', async () => {
        const store = await open();
        const stale = await store.startRun(runStart({ heartbeatIntervalMs: 1000 }));
        now += 3001;
        const fresh = await store.startRun(runStart());
        expect(fresh.status).toBe('running');
        expect(await store.getRun(stale.runId)).toMatchObject({
          status: 'abandoned',
          completedAt: now,
          error: expect.stringMatching(/no heartbeat for 3s/),
        });
      });

      it('abandons at once a run whose pid died on this host, not one on another host', async () => {
        const store = await open();
        const local = await store.startRun(runStart({ host: THIS_HOST, pid: 5151 }));
        const remote = await store.startRun(
          runStart({ jobName: 'job_b', host: 'other-host', pid: 5151 }),
        );
        expect(await store.reapAbandoned()).toEqual([]);

        deadPids.add(5151);
        const reaped = await store.reapAbandoned();
        expect(reaped.map((run) => run.runId)).toEqual([local.runId]);
        expect(reaped[0]).toMatchObject({
          status: 'abandoned',
          completedAt: now,
          error: expect.stringContaining(`process 5151 on ${THIS_HOST} is gone`),
        });
        expect((await store.getRun(remote.runId))?.status).toBe('running');
        // The job is free again without waiting for the heartbeat rule.
        expect((await store.startRun(runStart({ host: THIS_HOST, pid: 6000 }))).status).toBe(
          'running',
        );
      });

      it('by default abandons at once a run whose process on this host has exited', async () => {
        // The real host name, pid table and clock rather than the suite's fakes.
        const store = makeStore({});
        stores.push(store);
        await store.open();
        const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], {
          encoding: 'utf8',
        });
        const pid = Number(child.stdout.trim());
        const run = await store.startRun(
          runStart({ jobName: 'crashed', host: hostname(), pid, heartbeatIntervalMs: 3_600_000 }),
        );
        await store.reapAbandoned();
        const [listed] = await store.listRuns({ jobName: 'crashed' });
        expect(listed).toMatchObject({
          runId: run.runId,
          status: 'abandoned',
          error: `process ${pid} on ${hostname()} is gone`,
        });
      });

      it('reapAbandoned(job) touches only that job', async () => {
        const store = await open();
        const a = await store.startRun(runStart({ jobName: 'job_a', heartbeatIntervalMs: 1000 }));
        const b = await store.startRun(runStart({ jobName: 'job_b', heartbeatIntervalMs: 1000 }));
        now += 10_000;
        expect((await store.reapAbandoned('job_b')).map((run) => run.runId)).toEqual([b.runId]);
        expect((await store.getRun(a.runId))?.status).toBe('running');
      });

      it('completeRun and heartbeat refuse an abandoned run and leave it as it is', async () => {
        const store = await open();
        const run = await store.startRun(runStart({ heartbeatIntervalMs: 1000 }));
        now += 5000;
        const [abandoned] = await store.reapAbandoned();
        now += 1000;
        await expect(store.heartbeat(run.runId, { rowsWritten: 9, batches: 9 })).rejects.toThrow(
          JobSupersededError,
        );
        for (const status of ['success', 'failure', 'cancelled'] as const) {
          await expect(
            store.completeRun(run.runId, status, { rowsWritten: 10, batches: 10 }),
          ).rejects.toThrow(JobSupersededError);
        }
        expect(await store.getRun(run.runId)).toEqual(abandoned);
        expect(abandoned?.status).toBe('abandoned');
      });

      it('completeRun again of a run it already ended is no error (a lost acknowledgement)', async () => {
        const store = await open();
        const run = await store.startRun(runStart());
        await store.completeRun(run.runId, 'success', { rowsWritten: 3, batches: 1 });
        await store.completeRun(run.runId, 'success', { rowsWritten: 3, batches: 1 });
        expect(await store.getRun(run.runId)).toMatchObject({ status: 'success', rowsWritten: 3 });
      });

      it('listRuns is a pure read: a stale run stays running until reapAbandoned', async () => {
        const store = await open();
        const stale = await store.startRun(runStart({ heartbeatIntervalMs: 1000 }));
        now += 60_000;
        // A dashboard polling runs must not write (SQLite's write lock) nor judge liveness.
        expect((await store.listRuns()).map((run) => run.status)).toEqual(['running']);
        expect(await store.getRun(stale.runId)).toEqual(stale);
        expect((await store.reapAbandoned()).map((run) => run.runId)).toEqual([stale.runId]);
        expect((await store.listRuns()).map((run) => run.status)).toEqual(['abandoned']);
      });

      it('listRuns is newest first, filtered by job, limited; reaped runs show abandoned', async () => {
        const store = await open();
        const ids: number[] = [];
        for (const jobName of ['job_a', 'job_b', 'job_a', 'job_b', 'job_a']) {
          const run = await store.startRun(runStart({ jobName, dryRun: true }));
          ids.push(run.runId);
          now += 1000;
        }
        const all = await store.listRuns();
        expect(all.map((run) => run.runId)).toEqual([...ids].reverse());
        expect((await store.listRuns({ limit: 2 })).map((run) => run.runId)).toEqual([
          ids[4],
          ids[3],
        ]);
        expect((await store.listRuns({ jobName: 'job_a' })).map((run) => run.runId)).toEqual([
          ids[4],
          ids[2],
          ids[0],
        ]);
        expect(
          (await store.listRuns({ jobName: 'job_b', limit: 1 })).map((run) => run.runId),
        ).toEqual([ids[3]]);

        now += 60_000;
        await store.reapAbandoned();
        const listed = await store.listRuns({ jobName: 'job_a' });
        expect(listed.map((run) => run.status)).toEqual(['abandoned', 'abandoned', 'abandoned']);
      });

      it('orders runs started in the same millisecond by run id', async () => {
        const store = await open();
        const first = await store.startRun(runStart({ jobName: 'job_a' }));
        const second = await store.startRun(runStart({ jobName: 'job_b' }));
        expect((await store.listRuns()).map((run) => run.runId)).toEqual([
          second.runId,
          first.runId,
        ]);
      });

      describe('a run that lost its job', () => {
        const chunk = {
          jobName: 'job_a',
          provider: 'p1',
          symbol: 'AAA',
          interval: '1m',
          windowStart: T0,
          windowEnd: T0 + 2 * MINUTE,
          rows: 2,
        } as const;

        /** A run silent past three heartbeats, and the run that took the job from it. */
        async function superseded(store: Store) {
          const frozen = await store.startRun(
            runStart({ heartbeatIntervalMs: 1000, host: 'frozen-host', pid: 1111 }),
          );
          now += 5000;
          const successor = await store.startRun(runStart({ host: 'next-host', pid: 2222 }));
          return { frozen, successor };
        }

        /** What a promise rejects with, checked to be the superseded error naming both runs. */
        async function supersededError(
          promise: Promise<unknown>,
          frozen: number,
          successor: number,
        ): Promise<JobSupersededError> {
          const error = await promise.then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(JobSupersededError);
          const superseded = error as JobSupersededError;
          expect(superseded.code).toBe('MDP_JOB_SUPERSEDED');
          expect(superseded.runId).toBe(frozen);
          expect(superseded.successor).toEqual({
            runId: successor,
            host: 'next-host',
            pid: 2222,
          });
          expect(superseded.message).toContain(`run ${frozen} of job job_a`);
          expect(superseded.message).toContain(`run ${successor} (pid 2222 on next-host)`);
          return superseded;
        }

        it('commits nothing of a batch whose run was marked abandoned, naming its successor', async () => {
          const store = await open();
          const { frozen, successor } = await superseded(store);
          await supersededError(
            store.writeBatch({
              runId: frozen.runId,
              bars: [makeBar(0), makeBar(1)],
              rejected: [reject()],
              checkpoint: chunk,
            }),
            frozen.runId,
            successor.runId,
          );
          expect(await store.countBars()).toBe(0);
          expect(await store.countRejected()).toBe(0);
          expect(await store.checkpoints('job_a')).toEqual([]);

          await store.writeBatch({ runId: successor.runId, bars: [makeBar(0)], checkpoint: chunk });
          expect(await store.countBars()).toBe(1);
          expect((await store.checkpoints('job_a')).map((c) => c.runId)).toEqual([successor.runId]);
        });

        it('fences a spooled batch by the run draining it, not the run that fetched it', async () => {
          const store = await open();
          const earlier = await store.startRun(runStart());
          await store.completeRun(earlier.runId, 'success', { rowsWritten: 0, batches: 0 });
          const { frozen, successor } = await superseded(store);
          const spooled = { runId: earlier.runId, bars: [makeBar(0)] };
          await supersededError(
            store.writeBatch({ ...spooled, heldBy: frozen.runId }),
            frozen.runId,
            successor.runId,
          );
          expect(await store.countBars()).toBe(0);
          await store.writeBatch({ ...spooled, heldBy: successor.runId });
          expect(await store.readBars({ provider: 'p1', symbol: 'AAA', interval: '1m' })).toEqual([
            makeBar(0),
          ]);
        });

        it('rejects the heartbeat and the end of a superseded run, and leaves it abandoned', async () => {
          const store = await open();
          const { frozen, successor } = await superseded(store);
          await supersededError(
            store.heartbeat(frozen.runId, { rowsWritten: 7, batches: 1 }),
            frozen.runId,
            successor.runId,
          );
          await supersededError(
            store.completeRun(frozen.runId, 'success', { rowsWritten: 7, batches: 1 }),
            frozen.runId,
            successor.runId,
          );
          expect(await store.getRun(frozen.runId)).toMatchObject({
            status: 'abandoned',
            rowsWritten: 0,
            error: expect.stringMatching(/no heartbeat for 5s/),
          });
          expect((await store.getRun(successor.runId))?.status).toBe('running');
        });
      });

      describe('starting a run', () => {
        it('is idempotent: a start retried with its run token adopts the row it committed', async () => {
          const store = await open();
          const first = await store.startRun(runStart({ runToken: 'attempt-7f3a' }));
          // The acknowledgement of the first start was lost; the retry carries the same token.
          const retried = await store.startRun(runStart({ runToken: 'attempt-7f3a' }));
          expect(retried).toEqual(first);
          expect(await store.listRuns()).toHaveLength(1);
          // Another start of the job is still locked out.
          await expect(store.startRun(runStart({ runToken: 'attempt-other' }))).rejects.toThrow(
            JobLockedError,
          );
        });

        it('a retry that comes after its first row was marked abandoned records a new run', async () => {
          const store = await open();
          const orphan = await store.startRun(
            runStart({ runToken: 'attempt-slow', heartbeatIntervalMs: 1000 }),
          );
          now += 5000;
          // Another process judged the orphan abandoned before the retry came.
          expect((await store.reapAbandoned()).map((run) => run.runId)).toEqual([orphan.runId]);
          const retried = await store.startRun(runStart({ runToken: 'attempt-slow' }));
          expect(retried.runId).toBeGreaterThan(orphan.runId);
          expect((await store.getRun(orphan.runId))?.status).toBe('abandoned');
          expect(retried.status).toBe('running');
        });

        it('records the process identity of a run', async () => {
          const store = await open();
          const identity = {
            bootId: 'boot-1',
            pidNamespace: 'pid:[4026531836]',
            processStart: '123456',
          };
          const run = await store.startRun(runStart({ identity }));
          expect(run.identity).toEqual(identity);
          expect((await store.getRun(run.runId))?.identity).toEqual(identity);
        });
      });

      describe('liveness beyond host name and pid', () => {
        const local = { bootId: 'boot-A', pidNamespace: 'pid:[1]' };

        it('does not judge by pid a run in another pid namespace or boot sharing the host name', async () => {
          const store = await open({ ...local, processStart: () => '500' });
          deadPids.add(5151);
          const otherNamespace = await store.startRun(
            runStart({
              jobName: 'job_ns',
              host: THIS_HOST,
              pid: 5151,
              identity: { ...local, pidNamespace: 'pid:[2]', processStart: '500' },
            }),
          );
          const otherBoot = await store.startRun(
            runStart({
              jobName: 'job_boot',
              host: THIS_HOST,
              pid: 5151,
              identity: { ...local, bootId: 'boot-B', processStart: '500' },
            }),
          );
          expect(await store.reapAbandoned()).toEqual([]);
          expect((await store.getRun(otherNamespace.runId))?.status).toBe('running');
          expect((await store.getRun(otherBoot.runId))?.status).toBe('running');
          // Still subject to the heartbeat rule.
          now += 30_001;
          expect((await store.reapAbandoned()).map((run) => run.runId).sort()).toEqual(
            [otherNamespace.runId, otherBoot.runId].sort(),
          );
        });

        it('abandons at once a run whose pid lives on but belongs to a later process', async () => {
          const starts = new Map<number, string>([[5151, '900']]);
          const store = await open({ ...local, processStart: (pid) => starts.get(pid) ?? null });
          const same = await store.startRun(
            runStart({ host: THIS_HOST, pid: 5151, identity: { ...local, processStart: '900' } }),
          );
          const reused = await store.startRun(
            runStart({
              jobName: 'job_b',
              host: THIS_HOST,
              pid: 5151,
              identity: { ...local, processStart: '300' },
            }),
          );
          const reaped = await store.reapAbandoned();
          expect(reaped.map((run) => run.runId)).toEqual([reused.runId]);
          expect(reaped[0]?.error).toBe(
            `process 5151 on ${THIS_HOST} is gone (pid 5151 now belongs to a process started later)`,
          );
          expect((await store.getRun(same.runId))?.status).toBe('running');
        });
      });
    });
  });
}

import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Bar } from '../../src/core/bar.js';
import { JobSupersededError, StoreError } from '../../src/core/errors.js';
import { RunEvents } from '../../src/pipeline/run-events.js';
import { BarSink } from '../../src/pipeline/runner/bar-sink.js';
import { RunTotalsCounter } from '../../src/pipeline/runner/run-totals-counter.js';
import { systemTiming } from '../../src/pipeline/timing.js';
import { SqliteSpool } from '../../src/store/sqlite/sqlite-spool.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { WriteBatch, WriteResult } from '../../src/store/store.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { TEST_RUN_START } from '../helpers/tracked-run-options.js';
import { makeBar } from '../store/store-conformance.js';

const tempDir = useTempDir();

/** A real SQLite store that can be told the database is unreachable (or broken for good). */
class FlakyStore extends SqliteStore {
  state: 'up' | 'down' | 'broken' = 'up';
  /** The first bar's minute of every batch that reached the database, in order. */
  readonly committed: number[] = [];

  override async writeBatch(batch: WriteBatch): Promise<WriteResult> {
    if (this.state === 'down') {
      throw new StoreError('MDP_STORE_REFUSED', 'sqlite', 'refused the connection', {
        transient: true,
      });
    }
    if (this.state === 'broken') throw new StoreError('MDP_STORE_FULL', 'sqlite', 'disk full');
    const result = await super.writeBatch(batch);
    if (batch.bars[0]) this.committed.push((batch.bars[0].ts - makeBar(0).ts) / 60_000);
    return result;
  }
}

async function setup(options: { keep: boolean; maxBars?: number }) {
  const dir = tempDir();
  const store = new FlakyStore({ path: join(dir, 'data.db') });
  await store.open();
  const spool = new SqliteSpool({ path: join(dir, 'spool.db'), maxBars: options.maxBars ?? 1000 });
  const events = new RunEvents();
  const depths: number[] = [];
  events.on('spool:depth', ({ bars }) => depths.push(bars));
  const totals = new RunTotalsCounter();
  const sink = (): BarSink =>
    new BarSink({
      store,
      runId: 1,
      jobName: 'live_job',
      provider: 'p1',
      batchSize: 2,
      writeEnabled: true,
      events,
      totals,
      timing: systemTiming,
      retry: {
        max_attempts: 2,
        backoff_seconds: 0.001,
        max_backoff_seconds: 0.001,
        jitter: 'none',
      },
      random: () => 0.5,
      signal: new AbortController().signal,
      logger: pino({ level: 'silent' }),
      spool: { spool, keep: options.keep },
    });
  return { dir, store, spool, events, depths, totals, sink };
}

const bars = (from: number, to: number): Bar[] =>
  Array.from({ length: to - from }, (_, i) => makeBar(from + i));

describe('BarSink with a spool', () => {
  it('keeps batches while the primary is down and writes them first, in order, once it is back', async () => {
    const { store, spool, depths, totals, sink } = await setup({ keep: true });
    const live = sink();
    await live.write(bars(0, 2), []);
    store.state = 'down';
    await live.write(bars(2, 6), []);
    await live.write(bars(6, 8), []);
    expect(await spool.depth('live_job')).toBe(6);
    expect(await store.countBars()).toBe(2);
    store.state = 'up';
    await live.write(bars(8, 10), []);
    expect(store.committed).toEqual([0, 2, 4, 6, 8]);
    expect(await store.countBars()).toBe(10);
    expect(await spool.depth()).toBe(0);
    expect(totals.rowsWritten).toBe(10);
    expect(depths).toEqual([0, 2, 4, 6, 4, 2, 0]);
    await spool.close();
  });

  it('a spool left by another run is drained by the next sink before anything new', async () => {
    const first = await setup({ keep: true });
    first.store.state = 'down';
    await first.sink().write(bars(0, 4), []);
    first.store.state = 'up';
    await first.sink().drainSpool();
    expect(first.store.committed).toEqual([0, 2]);
    expect(await first.spool.depth()).toBe(0);
    await first.spool.close();
  });

  it('without keep, a batch the primary cannot take fails the write and is not spooled', async () => {
    const { store, spool, sink } = await setup({ keep: false });
    store.state = 'down';
    await expect(sink().write(bars(0, 2), [])).rejects.toThrow(
      /^storage sqlite: gave up on a batch after 2 attempts .*; last error: refused the connection$/,
    );
    expect(await spool.depth()).toBe(0);
  });

  it('a permanent storage error is thrown, not spooled', async () => {
    const { store, spool, sink } = await setup({ keep: true });
    store.state = 'broken';
    await expect(sink().write(bars(0, 2), [])).rejects.toThrow('disk full');
    expect(await spool.depth()).toBe(0);
  });

  it('a full spool fails the write, saying so', async () => {
    const { store, spool, sink } = await setup({ keep: true, maxBars: 3 });
    store.state = 'down';
    const live = sink();
    await live.write(bars(0, 2), []);
    await expect(live.write(bars(2, 4), [])).rejects.toMatchObject({
      code: 'MDP_STORE_SPOOL_FULL',
    });
    expect(await spool.depth()).toBe(2);
    await spool.close();
  });

  it('a superseded run meeting the spool stops, leaves the batch and reports no storage error', async () => {
    const { dir, store, spool, events, sink } = await setup({ keep: true });
    const run = await store.startRun({ ...TEST_RUN_START, jobName: 'live_job' });
    expect(run.runId).toBe(1);
    const live = sink();
    store.state = 'down';
    await live.write(bars(0, 2), []);
    store.state = 'up';
    const storageErrors: string[] = [];
    events.on('storage:error', ({ kind }) => storageErrors.push(kind));
    // Another process, past three missed heartbeats, reaps run 1 and takes the job.
    const other = new SqliteStore({
      path: join(dir, 'data.db'),
      clock: () => Date.now() + 600_000,
    });
    await other.open();
    try {
      await other.startRun({ ...TEST_RUN_START, jobName: 'live_job', pid: 4321 });
      await expect(live.drainSpool()).rejects.toThrow(JobSupersededError);
      expect(storageErrors).toEqual([]);
      expect(await spool.depth('live_job')).toBe(2);
      expect(await store.countBars()).toBe(0);
    } finally {
      await other.close();
    }
  });
});

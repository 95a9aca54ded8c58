/**
 * A live `--follow` run whose primary can be read but not written: batches go to the spool. Two
 * lanes must never both write the same spooled batch when the primary comes back, and cycle after
 * cycle of the outage must add only the new bars to the spool, not the whole window since the
 * last stored bar again.
 */
import { join } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load-config.js';
import { CancelledError, StoreError } from '../../src/core/errors.js';
import { ProviderRegistry } from '../../src/core/provider-registry.js';
import { PacingRegistry } from '../../src/pipeline/policies/pacing-registry.js';
import { RunEvents } from '../../src/pipeline/run-events.js';
import { JobRunner } from '../../src/pipeline/runner/job-runner.js';
import { systemTiming, type Timing } from '../../src/pipeline/timing.js';
import { SyntheticProvider } from '../../src/providers/synthetic/synthetic-provider.js';
import { SqliteSpool } from '../../src/store/sqlite/sqlite-spool.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { WriteBatch, WriteResult } from '../../src/store/store.js';
import { FakeTiming } from '../helpers/fake-timing.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { testConfig, type TestConfigOptions } from '../helpers/test-config.js';
import { waitFor } from '../helpers/wait-for.js';

const tempDir = useTempDir();

/**
 * A real SQLite primary that refuses writes while `writable` is false (reads go on, as with a
 * PostgreSQL whose bars table another session has locked), and takes a little while per write,
 * as a primary across a network does. Counts the commits of every batch, by its first bar.
 */
class ReadOnlyWhileDown extends SqliteStore {
  writable = false;
  readonly commits = new Map<string, number>();

  constructor(
    path: string,
    private readonly writeDelayMs: number,
  ) {
    super({ path });
  }

  override async writeBatch(batch: WriteBatch): Promise<WriteResult> {
    if (this.writeDelayMs > 0)
      await new Promise((resolve) => setTimeout(resolve, this.writeDelayMs));
    if (!this.writable) {
      throw new StoreError('MDP_STORE_BUSY', 'sqlite', 'bars_ohlcv is locked by another session', {
        transient: true,
      });
    }
    const result = await super.writeBatch(batch);
    const first = batch.bars[0];
    if (first) {
      const key = `${first.symbol}@${first.ts}`;
      this.commits.set(key, (this.commits.get(key) ?? 0) + 1);
    }
    return result;
  }
}

async function liveRun(options: {
  readonly config: TestConfigOptions;
  readonly timing: Timing;
  readonly writeDelayMs: number;
}) {
  const dir = tempDir();
  const raw = testConfig(dir, {
    ...options.config,
    // One attempt: a batch the primary refuses goes to the spool at once.
    storageRetry: { max_attempts: 1, backoff_seconds: 0.001 },
  });
  const config = parseConfig(stringify(raw), { file: join(dir, 'mdp.yaml'), cwd: dir, env: {} });
  const store = new ReadOnlyWhileDown(join(dir, 'data', 'test.db'), options.writeDelayMs);
  await store.open();
  const spool = new SqliteSpool({ path: join(dir, 'spool.db'), maxBars: 1_000_000 });
  const events = new RunEvents();
  const controller = new AbortController();
  const runner = new JobRunner({
    config,
    store,
    providers: new ProviderRegistry().register(
      'synthetic',
      (name, cfg) => new SyntheticProvider(name, cfg, { clock: () => options.timing.now() }),
    ),
    pacing: new PacingRegistry(options.timing),
    events,
    logger: pino({ level: 'silent' }),
    host: 'h',
    pid: process.pid,
    timing: options.timing,
    spool,
  });
  const start = (): Promise<unknown> =>
    runner.run({ jobName: 'live_job', mode: 'live', follow: true, signal: controller.signal });
  const stop = (): void => controller.abort(new CancelledError('test over', { kind: 'shutdown' }));
  return { store, spool, events, start, stop };
}

describe('live --follow with a primary that reads but does not write', () => {
  it('two lanes: every spooled batch reaches the primary exactly once when it is back', async () => {
    const symbols = ['AAA', 'BBB', 'CCC', 'DDD'];
    const { store, spool, events, start, stop } = await liveRun({
      // Batches of 10 bars: each symbol's 2 h is 12 of them, enough to drain while the other
      // lane arrives.
      config: { symbols, concurrency: 2, batchSize: 10, latencyMs: 20 },
      timing: systemTiming,
      writeDelayMs: 5,
    });
    // Back once the spool holds a few batches of both lanes.
    events.on('spool:depth', ({ bars }) => {
      if (bars >= 60) store.writable = true;
    });
    const run = start();
    run.catch(() => undefined);
    const minimum = symbols.length * 119;
    await waitFor(
      'the first cycle written',
      async () =>
        store.writable && (await spool.depth()) === 0 && (await store.countBars()) >= minimum
          ? true
          : undefined,
      20_000,
    );
    stop();
    await expect(run).rejects.toThrow('test over');

    // 12 batches a symbol (119 or 120 bars in tens), each committed once.
    expect(store.commits.size).toBe(symbols.length * 12);
    const twice = [...store.commits].filter(([, commits]) => commits > 1);
    expect(twice).toEqual([]);
    await spool.close();
    await store.close();
  });

  it('several cycles of the outage: the spool grows by the new bars only', async () => {
    // Just past a minute's close: the 2 h lookback is the 119 bars that closed after 13:00:01.
    const timing = new FakeTiming({ wallStart: Date.parse('2024-03-04T15:00:01Z') });
    const { store, spool, events, start, stop } = await liveRun({
      config: { symbols: ['AAA', 'BBB'], concurrency: 1 },
      timing,
      writeDelayMs: 0,
    });
    /** The minute the first cycle runs in; each later cycle runs just after a minute's close. */
    const origin = Date.parse('2024-03-04T15:00:00Z');
    /** The spool's depth at the end of each cycle (one cycle a minute). */
    const depths: number[] = [];
    events.on('spool:depth', ({ bars }) => {
      const cycle = Math.floor((timing.now() - origin) / 60_000);
      depths[cycle] = bars;
      if (cycle === 4 && bars > (depths[3] ?? 0) + 1) stop();
    });
    await expect(timing.run(start())).rejects.toThrow('test over');

    expect(await store.countBars()).toBe(0);
    // The lookback, then one bar a symbol for each bar that closed since.
    expect(depths).toEqual([238, 240, 242, 244, 246]);
    await spool.close();
    await store.close();
  });
});

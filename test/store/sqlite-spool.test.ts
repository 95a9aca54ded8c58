import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/core/errors.js';
import { SqliteSpool } from '../../src/store/sqlite/sqlite-spool.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { makeBar } from './store-conformance.js';

const tempDir = useTempDir();

describe('SqliteSpool', () => {
  it('creates nothing until something is spooled; an unwritten spool reads as empty', async () => {
    const path = join(tempDir(), 'nested', 'spool.db');
    const spool = new SqliteSpool({ path, maxBars: 100 });
    expect(await spool.depth()).toBe(0);
    expect(await spool.oldest('job', 'target')).toBeUndefined();
    expect(existsSync(path)).toBe(false);
    await spool.close();
  });

  it('hands batches back oldest first, per job and primary, whole, until removed', async () => {
    const path = join(tempDir(), 'spool.db');
    const spool = new SqliteSpool({ path, maxBars: 100 });
    const first = [makeBar(0), makeBar(1, { volume: null, vwap: null, tradeCount: null })];
    const rejected = [
      { provider: 'p1', symbol: 'AAA', interval: '1m', ts: 0, reason: 'non_finite', raw: '{}' },
    ] as const;
    await spool.append({ jobName: 'a', target: 'db1', runId: 7, bars: first, rejected });
    await spool.append({ jobName: 'b', target: 'db1', runId: 8, bars: [makeBar(5)], rejected: [] });
    await spool.append({ jobName: 'a', target: 'db2', runId: 9, bars: [makeBar(6)], rejected: [] });
    await spool.append({ jobName: 'a', target: 'db1', runId: 7, bars: [makeBar(2)], rejected: [] });
    expect(await spool.depth()).toBe(5);
    expect(await spool.depth('a')).toBe(4);

    // Another process (a later run) sees what this one left.
    const reopened = new SqliteSpool({ path, maxBars: 100 });
    const oldest = await reopened.oldest('a', 'db1');
    expect(oldest).toEqual({
      seq: expect.any(Number),
      jobName: 'a',
      target: 'db1',
      runId: 7,
      bars: first,
      rejected,
    });
    await reopened.remove(oldest?.seq ?? -1);
    expect((await reopened.oldest('a', 'db1'))?.bars).toEqual([makeBar(2)]);
    expect(await reopened.depth('a')).toBe(2);
    await reopened.close();
    await spool.close();
  });

  it('refuses a batch past max_bars with MDP_STORE_SPOOL_FULL, keeping what it holds', async () => {
    const spool = new SqliteSpool({ path: join(tempDir(), 'spool.db'), maxBars: 3 });
    const bars = [makeBar(0), makeBar(1)];
    await spool.append({ jobName: 'a', target: 't', runId: 1, bars, rejected: [] });
    const error = await spool
      .append({ jobName: 'a', target: 't', runId: 1, bars, rejected: [] })
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('MDP_STORE_SPOOL_FULL');
    expect((error as StoreError).message).toMatch(
      /holds 2 bars; 2 more would pass storage\.spool\.max_bars \(3\)/,
    );
    expect(await spool.depth()).toBe(2);
    await spool.close();
  });
});

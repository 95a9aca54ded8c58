/**
 * SQLite and PostgreSQL given the same batches end with the same rows, value for value: batches
 * full of repeated keys (a provider repeating bars across pages), awkward doubles, NaN vwaps,
 * unknown (null) volumes and negative zeros. Also checked against a model of the semantics: per key, the last write wins.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bar } from '../../src/core/bar.js';
import type { Interval } from '../../src/core/interval.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store, WriteResult } from '../../src/store/store.js';
import { uniqueTestName } from '../helpers/postgres-test-names.js';
import { testPostgresUrl } from '../helpers/postgres-test-server.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tempDir = useTempDir();
const stores: Store[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

/** xorshift32: the same batches on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4_294_967_296;
  };
}

const T0 = Date.UTC(2024, 2, 1);
const SERIES: readonly { provider: string; symbol: string; interval: Interval }[] = [
  { provider: 'p1', symbol: 'AAA', interval: '1m' },
  { provider: 'p1', symbol: 'BBB', interval: '1m' },
  { provider: 'p2', symbol: 'AAA', interval: '5m' },
  { provider: 'p1', symbol: 'ÄÖÜ-€', interval: '1m' },
];

/** Any finite double, often an awkward one. */
function awkwardDouble(next: () => number): number {
  const pick = next();
  if (pick < 0.1) return -0;
  if (pick < 0.2) return 5e-324 * Math.ceil(next() * 1000);
  if (pick < 0.3) return (next() - 0.5) * 1e300;
  if (pick < 0.4) return 0.1 * Math.floor(next() * 1e6);
  const bits = new Float64Array(new Uint32Array([next() * 2 ** 32, next() * 2 ** 32]).buffer);
  return Number.isFinite(bits[0]) ? (bits[0] as number) : next();
}

/** `count` bars drawn from 4 series × 40 open times, so keys repeat within and across batches. */
function batchOf(next: () => number, count: number): Bar[] {
  return Array.from({ length: count }, () => {
    const series = SERIES[Math.floor(next() * SERIES.length)]!;
    const step = series.interval === '5m' ? 300_000 : 60_000;
    const vwapPick = next();
    const volumePick = next();
    return {
      ...series,
      ts: T0 + Math.floor(next() * 40) * step,
      open: awkwardDouble(next),
      high: awkwardDouble(next),
      low: awkwardDouble(next),
      close: awkwardDouble(next),
      // Unknown volume (an index's aggregates) must stay NULL in both, never become 0.
      volume: volumePick < 0.15 ? null : awkwardDouble(next),
      vwap: vwapPick < 0.2 ? null : vwapPick < 0.3 ? Number.NaN : awkwardDouble(next),
      tradeCount: next() < 0.3 ? null : Math.floor((next() - 0.5) * 2 ** 53),
    };
  });
}

/** What every store must hold after the batches: per key the last bar, as SQLite stores values. */
function model(batches: readonly Bar[][]): Bar[] {
  const latest = new Map<string, Bar>();
  for (const bar of batches.flat()) {
    const stored: Bar = {
      ...bar,
      open: bar.open + 0,
      high: bar.high + 0,
      low: bar.low + 0,
      close: bar.close + 0,
      volume: bar.volume === null || Number.isNaN(bar.volume) ? null : bar.volume + 0,
      vwap: bar.vwap === null || Number.isNaN(bar.vwap) ? null : bar.vwap + 0,
    };
    latest.set(`${bar.provider}|${bar.symbol}|${bar.interval}|${bar.ts}`, stored);
  }
  return [...latest.values()];
}

async function everything(store: Store): Promise<Bar[]> {
  const all: Bar[] = [];
  for (const series of SERIES) all.push(...(await store.readBars(series)));
  return all;
}

const byKey = (a: Bar, b: Bar): number =>
  `${a.provider}|${a.symbol}|${a.interval}`.localeCompare(
    `${b.provider}|${b.symbol}|${b.interval}`,
  ) || a.ts - b.ts;

describe('SQLite and PostgreSQL stores', () => {
  it('end with the same rows from batches full of repeated keys, and report the same counts', async () => {
    const sqlite = new SqliteStore({ path: join(tempDir(), 'equivalence.db') });
    const postgres = new PostgresStore({ uri: testPostgresUrl(), schema: uniqueTestName() });
    stores.push(sqlite, postgres);
    await sqlite.open();
    await postgres.open();

    const next = random(20240301);
    const batches = Array.from({ length: 12 }, (_, i) => batchOf(next, i === 0 ? 1 : 40 + i * 20));
    const results: Record<'sqlite' | 'postgres', WriteResult[]> = { sqlite: [], postgres: [] };
    for (const [i, bars] of batches.entries()) {
      results.sqlite.push(await sqlite.writeBatch({ runId: i + 1, bars }));
      results.postgres.push(await postgres.writeBatch({ runId: i + 1, bars }));
    }
    expect(results.postgres).toEqual(results.sqlite);
    const dropped = results.sqlite.reduce((sum, r) => sum + r.duplicatesDropped, 0);
    expect(dropped).toBeGreaterThan(100);

    const fromSqlite = await everything(sqlite);
    const fromPostgres = await everything(postgres);
    expect(fromPostgres).toEqual(fromSqlite);
    expect([...fromSqlite].sort(byKey)).toEqual(model(batches).sort(byKey));
    expect(await postgres.countBars()).toBe(await sqlite.countBars());
    for (const series of SERIES) {
      const { provider, symbol, interval } = series;
      expect(await postgres.lastBarTs(provider, symbol, interval)).toBe(
        await sqlite.lastBarTs(provider, symbol, interval),
      );
    }
  });
});

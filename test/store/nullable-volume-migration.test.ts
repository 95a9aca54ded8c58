/**
 * Migration 3 makes `bars_ohlcv.volume` nullable (index aggregates have no volume). A database an
 * earlier mdp left at schema version 2 must come out of it with every row as it was, on both
 * stores, and then take bars whose volume is unknown.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Bar, BarColumn } from '../../src/core/bar.js';
import { StoreError } from '../../src/core/errors.js';
import { SqliteDatabase } from '../../src/store/sqlite/sqlite-driver.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { DEFAULT_UPSERT_KEYS } from '../../src/store/upsert-keys.js';
import { createEarlierSchema } from '../helpers/earlier-schema.js';
import { schemaForDir } from '../helpers/postgres-test-names.js';
import { useTestPostgresPool } from '../helpers/postgres-test-server.js';
import { useTempDir } from '../helpers/temp-dir.js';
import {
  openTestStore,
  STORAGE_KINDS,
  useTestStorage,
  type BarSnapshot,
  type StorageKind,
} from '../helpers/test-storage.js';
import { makeBar } from './store-conformance.js';

const tempDir = useTempDir();
const pool = useTestPostgresPool();
const NOW = Date.UTC(2024, 5, 1);

/** Bars as version 2 held them: every volume known, some vwap and trade counts missing. */
const OLD_BARS: Bar[] = [
  ...Array.from({ length: 250 }, (_, i) => makeBar(i, {}, 100 + i / 7)),
  ...Array.from({ length: 50 }, (_, i) =>
    makeBar(i, { symbol: 'BBB', vwap: null, tradeCount: null, volume: 1e-300 * (i + 1) }),
  ),
];

/** A bar whose volume nobody knows, as an index aggregate gives it. */
const NO_VOLUME: Bar = makeBar(400, { volume: null, vwap: null, tradeCount: null });

/** The index names and primary-key columns of `bars_ohlcv`, with volume's nullability. */
async function layoutOf(
  kind: StorageKind,
  dir: string,
): Promise<{ indexes: string[]; key: string[]; volumeNullable: boolean }> {
  if (kind === 'sqlite') {
    const db = new SqliteDatabase(join(dir, 'data', 'test.db'), { readonly: true });
    try {
      const indexes = db
        .prepare(
          "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'bars_ohlcv' AND sql IS NOT NULL ORDER BY name",
        )
        .pluck()
        .all() as string[];
      const columns = db
        .prepare("SELECT name, pk, [notnull] FROM pragma_table_info('bars_ohlcv')")
        .all() as {
        name: string;
        pk: number;
        notnull: number;
      }[];
      const key = columns
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name);
      const volume = columns.find((c) => c.name === 'volume');
      return { indexes, key, volumeNullable: volume?.notnull === 0 && !key.includes('volume') };
    } finally {
      db.close();
    }
  }
  const schema = schemaForDir(dir);
  const indexes = await pool().query<{ name: string }>(
    `SELECT indexname AS name FROM pg_indexes
     WHERE schemaname = $1 AND tablename = 'bars_ohlcv' AND indexname <> 'bars_ohlcv_pkey'
     ORDER BY indexname`,
    [schema],
  );
  const key = await pool().query<{ name: string }>(
    `SELECT a.attname AS name
     FROM pg_index i
     CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY k.n`,
    [`"${schema}".bars_ohlcv`],
  );
  const volume = await pool().query<{ nullable: string }>(
    `SELECT is_nullable AS nullable FROM information_schema.columns
     WHERE table_schema = $1 AND table_name = 'bars_ohlcv' AND column_name = 'volume'`,
    [schema],
  );
  return {
    indexes: indexes.rows.map((row) => row.name),
    key: key.rows.map((row) => row.name),
    volumeNullable: volume.rows[0]?.nullable === 'YES',
  };
}

describe.each(STORAGE_KINDS)('migration 3 (nullable volume) on %s', (kind) => {
  const storage = useTestStorage(kind);

  /** A new test dir whose database is at schema version 2 with OLD_BARS, and what it holds. */
  async function versionTwo(
    upsertKeys: readonly BarColumn[],
  ): Promise<{ dir: string; before: BarSnapshot }> {
    const dir = tempDir();
    await createEarlierSchema(kind, dir, { version: 2, upsertKeys, bars: OLD_BARS, now: NOW });
    return { dir, before: await storage.barSnapshot(dir) };
  }

  it('a database at schema version 2 keeps every row as it was, then stores bars without volume', async () => {
    const { dir, before } = await versionTwo(DEFAULT_UPSERT_KEYS);
    expect(before.count).toBe(300);
    expect((await layoutOf(kind, dir)).volumeNullable).toBe(false);

    const store = await openTestStore(kind, dir);
    try {
      expect(await storage.barSnapshot(dir)).toEqual(before);
      expect(await layoutOf(kind, dir)).toEqual({
        indexes: [],
        key: [...DEFAULT_UPSERT_KEYS],
        volumeNullable: true,
      });
      await store.writeBatch({ runId: 2, bars: [NO_VOLUME] });
      expect(
        await store.readBars({ ...NO_VOLUME, start: NO_VOLUME.ts, end: NO_VOLUME.ts + 1 }),
      ).toEqual([NO_VOLUME]);
    } finally {
      await store.close();
    }
    const after = await storage.barSnapshot(dir);
    expect(after.count).toBe(301);
    expect(JSON.parse(after.digest)).toEqual([
      ...(JSON.parse(before.digest) as unknown[][]).slice(0, 250),
      [
        'p1',
        'AAA',
        '1m',
        NO_VOLUME.ts,
        NO_VOLUME.open,
        NO_VOLUME.high,
        NO_VOLUME.low,
        NO_VOLUME.close,
        null,
        null,
        null,
      ],
      ...(JSON.parse(before.digest) as unknown[][]).slice(250),
    ]);
  });

  it('rebuilds with the keys the database was created with, whatever the config says', async () => {
    const keys: BarColumn[] = ['symbol', 'interval', 'ts'];
    const { dir, before } = await versionTwo(keys);

    // The config's keys differ: the store refuses the file, which keeps its own key and rows.
    const refused = await openTestStore(kind, dir).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(StoreError);
    expect(refused).toMatchObject({ code: 'MDP_STORE_SCHEMA_MISMATCH' });
    expect(await storage.barSnapshot(dir)).toEqual(before);
    expect(await layoutOf(kind, dir)).toEqual({
      indexes: ['bars_ohlcv_series'],
      key: keys,
      volumeNullable: true,
    });

    const store = await openTestStore(kind, dir, { upsertKeys: keys });
    try {
      await store.writeBatch({ runId: 2, bars: [NO_VOLUME] });
      expect(await store.countBars()).toBe(301);
    } finally {
      await store.close();
    }
  });

  it('leaves volume required where it is part of the key, and every row as it was', async () => {
    const keys: BarColumn[] = [...DEFAULT_UPSERT_KEYS, 'volume'];
    const { dir, before } = await versionTwo(keys);
    // A config without volume in its keys is refused, after a migration that kept to the table's.
    await expect(openTestStore(kind, dir)).rejects.toMatchObject({
      code: 'MDP_STORE_SCHEMA_MISMATCH',
    });
    const store = await openTestStore(kind, dir, { upsertKeys: keys });
    await store.close();
    expect(await storage.barSnapshot(dir)).toEqual(before);
    expect(await layoutOf(kind, dir)).toEqual({ indexes: [], key: keys, volumeNullable: false });
  });
});

describe('migration 3 on sqlite, when the rebuild does not fit', () => {
  const storage = useTestStorage('sqlite');

  it('rolls back whole (MDP_STORE_FULL), keeps version 2 and its rows, and succeeds on the next open', async () => {
    const dir = tempDir();
    await createEarlierSchema('sqlite', dir, {
      version: 2,
      upsertKeys: DEFAULT_UPSERT_KEYS,
      bars: OLD_BARS,
      now: NOW,
    });
    const before = await storage.barSnapshot(dir);
    const path = join(dir, 'data', 'test.db');
    // No room beyond what the file holds: the copy of bars_ohlcv cannot be written.
    const full = new SqliteStore({ path, maxBytes: statSync(path).size });
    await expect(full.open()).rejects.toMatchObject({ code: 'MDP_STORE_FULL' });
    await full.close();
    expect(await storage.barSnapshot(dir)).toEqual(before);
    expect((await layoutOf('sqlite', dir)).volumeNullable).toBe(false);

    const store = await openTestStore('sqlite', dir);
    try {
      await store.writeBatch({ runId: 2, bars: [NO_VOLUME] });
      expect(await store.countBars()).toBe(301);
    } finally {
      await store.close();
    }
  });
});

/**
 * Review of issue 13: a store at schema version 8 with rows in provider_budgets (written by the
 * mdp before migration 9), opened by today's mdp: migration 9 adds the held-rate columns and the
 * first takes hold the old row as the bucket it was, on both stores.
 */
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { SqliteDatabase } from '../../src/store/sqlite/sqlite-driver.js';
import { DEFAULT_UPSERT_KEYS } from '../../src/store/upsert-keys.js';
import { createEarlierSchema } from '../helpers/earlier-schema.js';
import { schemaForDir } from '../helpers/postgres-test-names.js';
import { testPostgresUrl } from '../helpers/postgres-test-server.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { openTestStore, STORAGE_KINDS } from '../helpers/test-storage.js';

const tempDir = useTempDir();
const NOW = Date.parse('2026-03-10T15:00:00Z');

async function oldRow(kind: string, dir: string, tokens: number, updatedAt: number): Promise<void> {
  if (kind === 'sqlite') {
    const db = new SqliteDatabase(join(dir, 'data', 'test.db'));
    try {
      db.prepare(
        `INSERT INTO provider_budgets (provider, tokens, updated_at, full_since) VALUES (?, ?, ?, NULL)`,
      ).run('polygon', tokens, updatedAt);
    } finally {
      db.close();
    }
    return;
  }
  const pool = new pg.Pool({ connectionString: testPostgresUrl(), max: 1 });
  try {
    await pool.query(
      `INSERT INTO "${schemaForDir(dir)}".provider_budgets (provider, tokens, updated_at, full_since)
       VALUES ($1, $2, $3, NULL)`,
      ['polygon', tokens, updatedAt],
    );
  } finally {
    await pool.end();
  }
}

describe.each(STORAGE_KINDS)('a version-8 %s store with budget rows, upgraded to 9', (kind) => {
  it('keeps the row (an empty bucket stays empty) and holds later takes to the strictest rate', async () => {
    const dir = tempDir();
    await createEarlierSchema(kind, dir, {
      version: 8,
      upsertKeys: DEFAULT_UPSERT_KEYS,
      bars: [],
      now: NOW,
    });
    // An empty bucket, as a busy process left it a moment ago.
    await oldRow(kind, dir, 0, NOW);
    let now = NOW + 100;
    const clock = (): number => now;
    const store = await openTestStore(kind, dir, { clock, databaseClock: clock });
    try {
      const strict = { burst: 1, ratePerMs: 1 / 1000, phaseMarginMs: 0 };
      const generous = { burst: 1, ratePerMs: 10 / 1000, phaseMarginMs: 0 };
      // 100 ms after the old row was emptied: the strict process waits about 900 ms.
      const first = await store.budgets.take('polygon', strict);
      expect(first.granted).toBe(false);
      now = NOW + 1_200;
      expect((await store.budgets.take('polygon', strict)).granted).toBe(true);
      // 150 ms later a generous process (10/s) is held to the strict one's 1/s.
      now = NOW + 1_350;
      const held = await store.budgets.take('polygon', generous);
      expect(held.granted).toBe(false);
    } finally {
      await store.close();
    }
  });
});

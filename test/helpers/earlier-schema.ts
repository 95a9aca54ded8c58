/**
 * A test dir's database as an earlier mdp left it: migrated only up to a given schema version,
 * with its bars (written by plain INSERTs on SQLite, by today's batch writer on PostgreSQL, whose
 * bar SQL every version so far accepts). Upgrade
 * tests open it with today's store, or run today's CLI on it, and check nothing stored was lost.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { BAR_COLUMNS, type Bar, type BarColumn } from '../../src/core/bar.js';
import { migratePostgres } from '../../src/store/postgres/postgres-migrate.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/postgres-migrations.js';
import { PostgresBatchWriter } from '../../src/store/postgres/postgres-batch-writer.js';
import { SqliteDatabase } from '../../src/store/sqlite/sqlite-driver.js';
import { migrateSqlite } from '../../src/store/sqlite/sqlite-migrate.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/sqlite-migrations.js';
import { schemaForDir } from './postgres-test-names.js';
import { testPostgresUrl } from './postgres-test-server.js';
import type { StorageKind } from './test-storage.js';

/** What the earlier database holds. */
export interface EarlierSchema {
  /** The last migration applied: the database is at this schema version. */
  readonly version: number;
  readonly upsertKeys: readonly BarColumn[];
  readonly bars: readonly Bar[];
  /** Stamps mdp_migrations and ingested_at. */
  readonly now: number;
}

/** Creates `dir`'s SQLite file or PostgreSQL schema at `earlier.version`, holding its bars. */
export async function createEarlierSchema(
  kind: StorageKind,
  dir: string,
  earlier: EarlierSchema,
): Promise<void> {
  const batch = { runId: 1, bars: earlier.bars };
  if (kind === 'sqlite') {
    mkdirSync(join(dir, 'data'), { recursive: true });
    const db = new SqliteDatabase(join(dir, 'data', 'test.db'));
    try {
      db.pragma('journal_mode = WAL');
      const migrations = SQLITE_MIGRATIONS.filter((m) => m.id <= earlier.version);
      migrateSqlite(db, migrations, { upsertKeys: earlier.upsertKeys }, () => earlier.now);
      // Plain INSERTs, not today's batch writer: it prepares statements for columns that later
      // migrations add (job_checkpoints.provisional), which an earlier schema does not have.
      const insert = db.prepare(
        `INSERT INTO bars_ohlcv (${BAR_COLUMNS.join(', ')}, run_id, ingested_at)
         VALUES (${BAR_COLUMNS.map(() => '?').join(', ')}, ?, ?)`,
      );
      db.transaction(() => {
        for (const bar of batch.bars) {
          insert.run(
            ...[bar.provider, bar.symbol, bar.interval, bar.ts, bar.open, bar.high, bar.low],
            ...[bar.close, bar.volume, bar.vwap ?? null, bar.tradeCount ?? null],
            batch.runId,
            earlier.now,
          );
        }
      })();
    } finally {
      db.close();
    }
    return;
  }
  const schemaName = schemaForDir(dir);
  const target = { schema: `"${schemaName}"`, schemaName, upsertKeys: earlier.upsertKeys };
  const pool = new pg.Pool({ connectionString: testPostgresUrl(), max: 2 });
  try {
    const client = await pool.connect();
    try {
      const migrations = POSTGRES_MIGRATIONS.filter((m) => m.id <= earlier.version);
      await migratePostgres(client, migrations, target, () => earlier.now);
    } finally {
      client.release();
    }
    await new PostgresBatchWriter(pool, target.schema, earlier.upsertKeys).writeBatch(
      batch,
      earlier.now,
    );
  } finally {
    await pool.end();
  }
}

import type Database from 'better-sqlite3';
import { inIdOrder, newestMigrationId, type MigrationOutcome } from '../numbered-migration.js';
import { storedUpsertKeys } from '../upsert-keys.js';
import type { SqliteMigration, SqliteMigrationContext } from './sqlite-migrations.js';

const CREATE_MIGRATIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS mdp_migrations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`;

/**
 * Applies the pending migrations, each in its own BEGIN IMMEDIATE transaction that records it
 * first, so two processes opening the same new file take turns and the second finds nothing to do.
 */
export function migrateSqlite(
  db: Database.Database,
  migrations: readonly SqliteMigration[],
  context: SqliteMigrationContext,
  now: () => number,
): MigrationOutcome {
  const newest = newestMigrationId(migrations);
  // A current database needs no write lock at all, which keeps read-only files openable.
  const recorded = recordedLatest(db);
  if (recorded >= newest) return { applied: [], latest: recorded };

  const applied: number[] = [];
  for (const migration of inIdOrder(migrations)) {
    const apply = db.transaction(() => {
      db.exec(CREATE_MIGRATIONS_TABLE);
      const done = db.prepare('SELECT 1 FROM mdp_migrations WHERE id = ?').get(migration.id);
      if (done !== undefined) return false;
      db.prepare('INSERT INTO mdp_migrations (id, name, applied_at) VALUES (?, ?, ?)').run(
        migration.id,
        migration.name,
        now(),
      );
      db.exec(
        typeof migration.sql === 'string' ? migration.sql : migration.sql(layoutOf(db, context)),
      );
      return true;
    });
    if (apply.immediate()) applied.push(migration.id);
  }
  return { applied, latest: Math.max(newest, recordedLatest(db)) };
}

/**
 * The context for the next migration: once the database has recorded its upsert keys, those are
 * the key of `bars_ohlcv`, even when the config now names others (the store refuses that after
 * migrating, but a rebuild must not have changed the key meanwhile).
 */
function layoutOf(db: Database.Database, context: SqliteMigrationContext): SqliteMigrationContext {
  const meta = db
    .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'mdp_meta'")
    .get();
  if (meta === undefined) return context;
  const row = db
    .prepare<[], { value: string }>("SELECT value FROM mdp_meta WHERE key = 'upsert_keys'")
    .get();
  return row === undefined ? context : { ...context, upsertKeys: storedUpsertKeys(row.value) };
}

/** The highest recorded migration id, 0 for a new database. */
function recordedLatest(db: Database.Database): number {
  const table = db
    .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'mdp_migrations'")
    .get();
  if (table === undefined) return 0;
  const row = db.prepare('SELECT MAX(id) AS id FROM mdp_migrations').get() as {
    id: number | null;
  };
  return row.id ?? 0;
}

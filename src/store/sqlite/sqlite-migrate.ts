import type Database from 'better-sqlite3';
import { StoreError } from '../../core/errors.js';
import { inIdOrder, newestMigrationId, type MigrationOutcome } from '../numbered-migration.js';
import { storedUpsertKeys } from '../upsert-keys.js';
import type { SqliteMigration, SqliteMigrationContext } from './sqlite-migrations.js';

const CREATE_MIGRATIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS mdp_migrations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`;

/** Where the migrations apply, for messages, and whom to tell about a long one. */
export interface SqliteMigrationReport {
  /** The database file, as messages name it. */
  readonly file: string;
  /** Told before a table is rebuilt, so a long open is never silent. */
  readonly warn: (message: string) => void;
}

/** The size of a table about to be rebuilt. */
interface TableSize {
  readonly table: string;
  readonly rows: number;
  /** Its pages and its indexes', in bytes: about what the copy needs free. */
  readonly bytes: number;
}

/**
 * Applies the pending migrations, each in its own BEGIN IMMEDIATE transaction that records it
 * first, so two processes opening the same new file take turns and the second finds nothing to do.
 */
export function migrateSqlite(
  db: Database.Database,
  migrations: readonly SqliteMigration[],
  context: SqliteMigrationContext,
  now: () => number,
  report?: SqliteMigrationReport,
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
      const layout = layoutOf(db, context);
      const table = migration.rebuilds?.(layout);
      const size = table === undefined ? undefined : tableSize(db, table);
      if (size !== undefined && size.rows > 0) {
        report?.warn(
          `upgrading ${report.file} to schema version ${migration.id}: rebuilding ${size.table} ` +
            `(${size.rows} rows, ${formatBytes(size.bytes)}); this takes a while and needs about ` +
            'as much free space as the table',
        );
      }
      try {
        db.exec(typeof migration.sql === 'string' ? migration.sql : migration.sql(layout));
      } catch (error: unknown) {
        throw size === undefined ? error : rebuildError(error, migration, size, report?.file);
      }
      return true;
    });
    if (apply.immediate()) applied.push(migration.id);
  }
  return { applied, latest: Math.max(newest, recordedLatest(db)) };
}

/** Rows and bytes (table and indexes, from dbstat) of `table`. */
function tableSize(db: Database.Database, table: string): TableSize {
  const rows = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()?.n ?? 0;
  const bytes =
    db
      .prepare<[string], { bytes: number | null }>(
        `SELECT sum(pgsize) AS bytes FROM dbstat
         WHERE name IN (SELECT name FROM sqlite_schema WHERE tbl_name = ?)`,
      )
      .get(table)?.bytes ?? 0;
  return { table, rows, bytes };
}

/**
 * A rebuild that ran out of room (the disk, or storage.primary.max_size) says that it was the
 * schema upgrade and how much it needs, which a plain "disk full" would leave to guesswork.
 */
function rebuildError(
  error: unknown,
  migration: SqliteMigration,
  size: TableSize,
  file = 'the database',
): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== 'SQLITE_FULL') return error;
  return new StoreError(
    'MDP_STORE_FULL',
    'sqlite',
    `upgrading ${file} to schema version ${migration.id} (${migration.name}) rebuilds ` +
      `${size.table} (${size.rows} rows, ${formatBytes(size.bytes)}) and needs about that much ` +
      'free space, on the disk and below storage.primary.max_size if set, but ran out: ' +
      `${error instanceof Error ? error.message : String(error)}. The upgrade was rolled back ` +
      'and nothing was changed; free that much space (or raise max_size) and run mdp again.',
    { cause: error },
  );
}

/** Bytes for a message: `312 KB`, `48.6 MB`. */
function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
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

import type pg from 'pg';
import { inIdOrder, newestMigrationId, type MigrationOutcome } from '../numbered-migration.js';
import { storedUpsertKeys } from '../upsert-keys.js';
import type { PostgresMigration, PostgresMigrationContext } from './postgres-migrations.js';
import { timestamptzFromMs } from './postgres-timestamps.js';

/** Where to migrate: the schema's plain name (for catalog lookups and the lock) and its tables. */
export interface PostgresMigrationTarget extends PostgresMigrationContext {
  /** The schema's name unquoted, e.g. `public`. */
  readonly schemaName: string;
}

/** The key of the transaction-level advisory lock that serializes migrations of one schema. */
export function migrationLockKey(schemaName: string): string {
  return `mdp:migrate:${schemaName}`;
}

/**
 * Applies the pending migrations, each in its own transaction that first takes an advisory lock
 * on the schema and records the migration, so processes opening the same new schema at once take
 * turns and the later ones find nothing to do. The lock is transaction-level: a crashed migrator
 * releases it with its connection, and its half-done migration is rolled back.
 */
export async function migratePostgres(
  client: pg.ClientBase,
  migrations: readonly PostgresMigration[],
  target: PostgresMigrationTarget,
  now: () => number,
): Promise<MigrationOutcome> {
  const s = target.schema;
  const newest = newestMigrationId(migrations);
  // A current schema needs no lock and no privilege beyond reading it.
  const recorded = await recordedLatest(client, s);
  if (recorded >= newest) return { applied: [], latest: recorded };

  const applied: number[] = [];
  for (const migration of inIdOrder(migrations)) {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        migrationLockKey(target.schemaName),
      ]);
      const schemaExists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
        target.schemaName,
      ]);
      // Only when missing: CREATE SCHEMA needs a privilege that using an existing one does not.
      if (schemaExists.rowCount === 0) await client.query(`CREATE SCHEMA ${s}`);
      await client.query(`
        CREATE TABLE IF NOT EXISTS ${s}.mdp_migrations (
          id integer PRIMARY KEY,
          name text NOT NULL,
          applied_at timestamptz NOT NULL
        )`);
      const done = await client.query(`SELECT 1 FROM ${s}.mdp_migrations WHERE id = $1`, [
        migration.id,
      ]);
      if (done.rowCount === 0) {
        await client.query(
          `INSERT INTO ${s}.mdp_migrations (id, name, applied_at)
           VALUES ($1, $2, ${timestamptzFromMs('$3')})`,
          [migration.id, migration.name, now()],
        );
        for (const statement of migration.statements(await layoutOf(client, target))) {
          if (typeof statement === 'string') await client.query(statement);
          else await client.query(statement.text, statement.values);
        }
        applied.push(migration.id);
      }
      await client.query('COMMIT');
    } catch (error: unknown) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
  return { applied, latest: Math.max(newest, await recordedLatest(client, s)) };
}

/**
 * The context for the next migration: once the schema has recorded its upsert keys, those are the
 * key of `bars_ohlcv`, even when the config now names others (the store refuses that after
 * migrating, but a migration must not have acted on keys the table does not have).
 */
async function layoutOf(
  client: pg.ClientBase,
  target: PostgresMigrationTarget,
): Promise<PostgresMigrationContext> {
  const meta = await client.query<{ found: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AS found',
    [`${target.schema}.mdp_meta`],
  );
  if (!meta.rows[0]?.found) return target;
  const row = await client.query<{ value: string }>(
    `SELECT value FROM ${target.schema}.mdp_meta WHERE key = 'upsert_keys'`,
  );
  const value = row.rows[0]?.value;
  return value === undefined ? target : { ...target, upsertKeys: storedUpsertKeys(value) };
}

/** The highest recorded migration id, 0 for a new schema. */
async function recordedLatest(client: pg.ClientBase, schema: string): Promise<number> {
  const table = await client.query<{ found: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AS found',
    [`${schema}.mdp_migrations`],
  );
  if (!table.rows[0]?.found) return 0;
  const row = await client.query<{ id: number | null }>(
    `SELECT max(id) AS id FROM ${schema}.mdp_migrations`,
  );
  return row.rows[0]?.id ?? 0;
}

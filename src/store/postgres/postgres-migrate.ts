import type pg from 'pg';
import { abortableSleep } from '../../core/abortable-sleep.js';
import { formatDuration } from '../../core/duration.js';
import { StoreError } from '../../core/errors.js';
import {
  inIdOrder,
  newestMigrationId,
  type MigrationOutcome,
  type NumberedMigration,
} from '../numbered-migration.js';
import { storedUpsertKeys } from '../upsert-keys.js';
import type { PostgresMigration, PostgresMigrationContext } from './postgres-migrations.js';
import { describeAdvisoryHolder, describeLockHolders } from './postgres-lock-holders.js';
import { DEFAULT_POSTGRES_TIMEOUTS } from './postgres-pool.js';
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

/** How long a migration may wait for locks others hold, and whom it tells. */
export interface PostgresMigrationWaits {
  /**
   * `storage.primary.lock_timeout`: the longest a migration keeps trying for the table locks it
   * needs, in tries of at most MIGRATION_LOCK_TRY_MS, before the open fails.
   */
  readonly lockMs: number;
  /** The longest to wait for another session migrating the same schema (`statement_timeout`). */
  readonly migratorMs: number;
  /** Told when a migration has to wait, so a slow open is never silent. */
  readonly warn: (message: string) => void;
}

/**
 * One try's lock wait. A DDL statement waiting for ACCESS EXCLUSIVE queues every later reader
 * and writer of its table behind it, so it waits briefly, lets them through, and tries again.
 */
export const MIGRATION_LOCK_TRY_MS = 1_000;

/** No waits beyond the defaults' (tools and tests that migrate with a plain client). */
const DEFAULT_WAITS: PostgresMigrationWaits = {
  lockMs: DEFAULT_POSTGRES_TIMEOUTS.lockMs,
  migratorMs: DEFAULT_POSTGRES_TIMEOUTS.statementMs,
  warn: () => undefined,
};

/** lock_not_available: lock_timeout ran out. */
const LOCK_NOT_AVAILABLE = '55P03';

/**
 * Applies the pending migrations, each in its own transaction that first takes an advisory lock
 * on the schema and records the migration, so processes opening the same new schema at once take
 * turns and the later ones find nothing to do. The lock is transaction-level: a crashed migrator
 * releases it with its connection, and its half-done migration is rolled back. A migration whose
 * tables another session holds locked is rolled back and tried again until `waits.lockMs` has
 * passed, then fails the open naming that session.
 */
export async function migratePostgres(
  client: pg.ClientBase,
  migrations: readonly PostgresMigration[],
  target: PostgresMigrationTarget,
  now: () => number,
  waits: PostgresMigrationWaits = DEFAULT_WAITS,
): Promise<MigrationOutcome> {
  const newest = newestMigrationId(migrations);
  // A current schema needs no lock and no privilege beyond reading it.
  const recorded = await recordedLatest(client, target.schema);
  if (recorded >= newest) return { applied: [], latest: recorded };

  const applied: number[] = [];
  for (const migration of inIdOrder(migrations)) {
    if (await applyWhenUnlocked(client, migration, target, now, waits)) applied.push(migration.id);
  }
  return { applied, latest: Math.max(newest, await recordedLatest(client, target.schema)) };
}

/** Tries `migration` until it gets its locks or `waits.lockMs` runs out; true if it applied it. */
async function applyWhenUnlocked(
  client: pg.ClientBase,
  migration: PostgresMigration,
  target: PostgresMigrationTarget,
  now: () => number,
  waits: PostgresMigrationWaits,
): Promise<boolean> {
  const tryMs = Math.max(1, Math.min(waits.lockMs, MIGRATION_LOCK_TRY_MS));
  const started = performance.now();
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await applyOnce(client, migration, target, now, { ...waits, tryMs });
    } catch (error: unknown) {
      if (!isLockTimeout(error)) throw error;
      const holders = await describeLockHolders(client, target.schemaName);
      const waited = performance.now() - started;
      if (waited + tryMs > waits.lockMs) {
        throw lockedOutError(migration, target, holders, waits.lockMs, error);
      }
      if (attempt === 1) {
        waits.warn(
          `upgrading schema ${target.schemaName} to version ${migration.id} ` +
            `(${migration.name}) waits for a lock another session holds on ` +
            `${holders || 'one of its tables'}; trying again for up to ` +
            `${formatDuration(waits.lockMs)} (storage.primary.lock_timeout). Find the session ` +
            'in pg_stat_activity / pg_locks and end its transaction.',
        );
      }
      // The pause lets readers and writers queued behind the DDL through.
      await abortableSleep(tryMs);
    }
  }
}

/** One transaction applying `migration` unless another process already did. */
async function applyOnce(
  client: pg.ClientBase,
  migration: PostgresMigration,
  target: PostgresMigrationTarget,
  now: () => number,
  waits: PostgresMigrationWaits & { readonly tryMs: number },
): Promise<boolean> {
  const s = target.schema;
  await client.query('BEGIN');
  try {
    await takeMigrationLock(client, target.schemaName, waits);
    await client.query(`SET LOCAL lock_timeout = ${Math.round(waits.tryMs)}`);
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
    }
    await client.query('COMMIT');
    return done.rowCount === 0;
  } catch (error: unknown) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Takes the schema's migration lock, waiting at most `waits.migratorMs` for another session
 * (another mdp migrating, normally for moments) and saying so when it has to wait.
 */
async function takeMigrationLock(
  client: pg.ClientBase,
  schemaName: string,
  waits: PostgresMigrationWaits,
): Promise<void> {
  const key = migrationLockKey(schemaName);
  const got = await client.query<{ got: boolean }>(
    'SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS got',
    [key],
  );
  if (got.rows[0]?.got === true) return;
  const holder = (await describeAdvisoryHolder(client, key)) || 'another session';
  const bound = formatDuration(waits.migratorMs);
  waits.warn(
    `schema ${schemaName} is being upgraded by ${holder}; waiting up to ${bound} ` +
      '(storage.primary.statement_timeout) for it to finish',
  );
  await client.query(`SET LOCAL lock_timeout = ${Math.round(waits.migratorMs)}`);
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
  } catch (error: unknown) {
    if (!isLockTimeout(error)) throw error;
    throw new StoreError(
      'MDP_STORE_BUSY',
      'postgres',
      `schema ${schemaName} was still being upgraded by ${holder} after ${bound} ` +
        `(storage.primary.statement_timeout): that session holds the migration lock ` +
        `(advisory lock on hashtextextended('${key}', 0)). If it is an mdp still migrating, ` +
        'wait for it; otherwise find it in pg_stat_activity / pg_locks and end it ' +
        '(pg_terminate_backend(pid)). Nothing was changed.',
      { cause: error, transient: true },
    );
  }
}

function isLockTimeout(error: unknown): boolean {
  return (
    error !== null &&
    typeof error === 'object' &&
    (error as { code?: unknown }).code === LOCK_NOT_AVAILABLE
  );
}

/** The open's failure after a migration's lock waits outlasted lock_timeout. */
function lockedOutError(
  migration: NumberedMigration,
  target: PostgresMigrationTarget,
  holders: string,
  lockMs: number,
  cause: unknown,
): StoreError {
  const held = holders
    ? `another session holds a lock on ${holders}`
    : `another session held a lock on one of its tables`;
  return new StoreError(
    'MDP_STORE_BUSY',
    'postgres',
    `cannot upgrade schema ${target.schemaName} to version ${migration.id} ` +
      `(${migration.name}): ${held}, and kept it past storage.primary.lock_timeout ` +
      `(${formatDuration(lockMs)}). Nothing was changed. Find the session in pg_locks and ` +
      `pg_stat_activity (SELECT l.pid, l.mode, a.state, a.xact_start, a.query FROM pg_locks l ` +
      `JOIN pg_stat_activity a USING (pid) JOIN pg_class c ON c.oid = l.relation WHERE ` +
      `c.relnamespace = '${target.schema.replaceAll("'", "''")}'::regnamespace), end its ` +
      'transaction (or pg_terminate_backend(pid)), and run mdp again.',
    { cause, transient: true },
  );
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

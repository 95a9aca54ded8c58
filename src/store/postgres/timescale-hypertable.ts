/*
 * TimescaleDB, kept apart from the rest of the store: with the extension, `bars_ohlcv` becomes a
 * hypertable partitioned on ts; without it, the store works the same on a plain table and says so.
 */
import type pg from 'pg';
import { migrationLockKey } from './postgres-migrate.js';

/** How `bars_ohlcv` is stored after `ensureHypertable`, and why when it is not a hypertable. */
export interface HypertableOutcome {
  readonly layout: 'hypertable' | 'plain';
  /** Why the table is plain, and what to do about it; undefined for a hypertable. */
  readonly reason?: string;
}

/** Where the table is and how to partition it. */
export interface HypertableTarget {
  /** The quoted schema, e.g. `"public"`. */
  readonly schema: string;
  /** The schema's name unquoted. */
  readonly schemaName: string;
  readonly chunkIntervalMs: number;
}

/** A statement with its parameters. */
export interface SqlStatement {
  readonly text: string;
  readonly values: unknown[];
}

/**
 * The call that turns `bars_ohlcv` into a hypertable on ts. The function is qualified by the
 * extension's schema so a search_path without it cannot hide it; `if_not_exists` makes a race
 * between two processes harmless. The primary key already includes ts, as TimescaleDB requires.
 */
export function createHypertableStatement(
  extensionSchema: string,
  target: Pick<HypertableTarget, 'schema' | 'chunkIntervalMs'>,
): SqlStatement {
  return {
    text:
      `SELECT ${extensionSchema}.create_hypertable($1::regclass, $2::name, ` +
      `chunk_time_interval => $3::bigint * interval '1 millisecond', if_not_exists => true)`,
    values: [`${target.schema}.bars_ohlcv`, 'ts', target.chunkIntervalMs],
  };
}

/** `SELECT create_hypertable(…)` as a user would type it, for the advice in a message. */
function manualConversion(target: HypertableTarget): string {
  const days = target.chunkIntervalMs / 86_400_000;
  const interval = Number.isInteger(days)
    ? `${days} days`
    : `${target.chunkIntervalMs / 1000} seconds`;
  return (
    `SELECT create_hypertable('${target.schema}.bars_ohlcv', 'ts', ` +
    `chunk_time_interval => interval '${interval}', migrate_data => true)`
  );
}

/**
 * Makes `bars_ohlcv` a hypertable when the server has TimescaleDB, enabling the extension in the
 * database if needed. A table that already holds rows is left plain: converting it rewrites every
 * row under an exclusive lock, which is a maintenance task, not something to do on open.
 */
export async function ensureHypertable(
  client: pg.ClientBase,
  target: HypertableTarget,
): Promise<HypertableOutcome> {
  await client.query('BEGIN');
  try {
    // The same lock as migrations: two processes opening at once convert the table once.
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      migrationLockKey(target.schemaName),
    ]);
    const outcome = await convert(client, target);
    await client.query('COMMIT');
    return outcome;
  } catch (error: unknown) {
    await client.query('ROLLBACK').catch(() => undefined); // the first error is the one to report
    throw error;
  }
}

async function convert(
  client: pg.ClientBase,
  target: HypertableTarget,
): Promise<HypertableOutcome> {
  let extensionSchema = await installedExtensionSchema(client);
  if (extensionSchema === undefined) {
    const available = await client.query(
      "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'",
    );
    if (available.rowCount === 0) {
      return {
        layout: 'plain',
        reason:
          'timescaledb not installed: bars_ohlcv is a plain table (everything works, without ' +
          'time partitioning). Install TimescaleDB on the server for a ' +
          'hypertable, or set storage.primary.type: postgres to say a plain table is intended.',
      };
    }
    // A savepoint, because a failed CREATE EXTENSION (not preloaded, no privilege) must not
    // abort the transaction that still has to report the outcome.
    await client.query('SAVEPOINT enable_timescaledb');
    try {
      await client.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
    } catch (error: unknown) {
      await client.query('ROLLBACK TO SAVEPOINT enable_timescaledb');
      return {
        layout: 'plain',
        reason:
          `timescaledb is available but could not be enabled in this database (` +
          `${error instanceof Error ? error.message : String(error)}): bars_ohlcv is a plain ` +
          'table. Run CREATE EXTENSION timescaledb as a superuser (the server must have ' +
          "shared_preload_libraries = 'timescaledb'), then open the store again.",
      };
    }
    extensionSchema = await installedExtensionSchema(client);
  }
  if (extensionSchema === undefined) {
    return {
      layout: 'plain',
      reason: 'timescaledb could not be enabled: bars_ohlcv is a plain table',
    };
  }
  const existing = await client.query(
    `SELECT 1 FROM timescaledb_information.hypertables
     WHERE hypertable_schema = $1 AND hypertable_name = 'bars_ohlcv'`,
    [target.schemaName],
  );
  if ((existing.rowCount ?? 0) > 0) return { layout: 'hypertable' };
  const holdsRows = await client.query(`SELECT 1 FROM ${target.schema}.bars_ohlcv LIMIT 1`);
  if ((holdsRows.rowCount ?? 0) > 0) {
    return {
      layout: 'plain',
      reason:
        'bars_ohlcv already holds rows as a plain table, so it was not converted to a ' +
        `hypertable. Convert it in a maintenance window with ${manualConversion(target)}.`,
    };
  }
  const statement = createHypertableStatement(extensionSchema, target);
  await client.query(statement.text, statement.values);
  return { layout: 'hypertable' };
}

/** The quoted schema of the installed extension, or undefined when it is not installed. */
async function installedExtensionSchema(client: pg.ClientBase): Promise<string | undefined> {
  const row = await client.query<{ schema: string }>(
    `SELECT quote_ident(n.nspname) AS schema
     FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'timescaledb'`,
  );
  return row.rows[0]?.schema;
}

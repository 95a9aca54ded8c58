import pg from 'pg';
import { quoteIdentifier } from './postgres-identifier.js';
import { postgresEndpoint } from './postgres-pool.js';
import { postgresStoreError } from './postgres-store-error.js';

/** What `probePostgres` saw on the server, without changing anything there. */
export interface PostgresProbe {
  /** e.g. `17.10` */
  readonly serverVersion: string;
  /** The installed extension's version in this database, or undefined. */
  readonly timescaleInstalled: string | undefined;
  /** The version the server could install, or undefined when it has no TimescaleDB at all. */
  readonly timescaleAvailable: string | undefined;
  /** `bars_ohlcv` in the schema: not created yet, a plain table, or a hypertable. */
  readonly barsTable: 'missing' | 'plain' | 'hypertable';
}

/**
 * Connects once, with a short timeout, and reads what `mdp validate` reports: the server version,
 * TimescaleDB, and how `bars_ohlcv` is stored. Read-only; throws the connection's StoreError.
 */
export async function probePostgres(options: {
  readonly uri: string;
  readonly schema: string;
  readonly timeoutMs: number;
}): Promise<PostgresProbe> {
  const endpoint = postgresEndpoint(options.uri);
  const schema = quoteIdentifier(options.schema, 'storage.primary.schema');
  const client = new pg.Client({
    connectionString: options.uri,
    connectionTimeoutMillis: options.timeoutMs,
    fallback_application_name: 'mdp validate',
  });
  // A socket error after connect arrives as an event; the query in flight rejects with it.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error: unknown) {
    throw postgresStoreError(error, endpoint, 'connect');
  }
  try {
    const server = await client.query<{ version: string }>(
      "SELECT current_setting('server_version') AS version",
    );
    const extension = await client.query<{ installed: string | null; available: string }>(
      `SELECT installed_version AS installed, default_version AS available
       FROM pg_available_extensions WHERE name = 'timescaledb'`,
    );
    const table = await client.query<{ exists: boolean }>(
      'SELECT to_regclass($1) IS NOT NULL AS exists',
      [`${schema}.bars_ohlcv`],
    );
    const installed = extension.rows[0]?.installed ?? undefined;
    let barsTable: PostgresProbe['barsTable'] = table.rows[0]?.exists ? 'plain' : 'missing';
    if (barsTable === 'plain' && installed !== undefined) {
      const hypertable = await client.query(
        `SELECT 1 FROM timescaledb_information.hypertables
         WHERE hypertable_schema = $1 AND hypertable_name = 'bars_ohlcv'`,
        [options.schema],
      );
      if ((hypertable.rowCount ?? 0) > 0) barsTable = 'hypertable';
    }
    return {
      serverVersion: (server.rows[0]?.version ?? '').split(' ')[0] ?? '',
      timescaleInstalled: installed,
      timescaleAvailable: extension.rows[0]?.available,
      barsTable,
    };
  } catch (error: unknown) {
    throw postgresStoreError(error, endpoint, 'read');
  } finally {
    await client.end().catch(() => undefined); // the probe's answer is already decided
  }
}

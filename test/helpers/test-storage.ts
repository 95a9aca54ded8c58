/**
 * The CLI and runner tests run against both stores. A test's data lives under its temp dir:
 * `dir/data/test.db` for SQLite, or a schema named after `dir` on the test PostgreSQL server.
 * These helpers write the matching `storage.primary` and read back what a child process stored,
 * in one shape whichever store it is.
 */
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { BarColumn } from '../../src/core/bar.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteDatabase } from '../../src/store/sqlite/sqlite-driver.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { msFromTimestamptz } from '../../src/store/postgres/postgres-timestamps.js';
import { schemaForDir } from './postgres-test-names.js';
import { testPostgresUrl, useTestPostgresPool } from './postgres-test-server.js';

export type StorageKind = 'sqlite' | 'postgres';

/** The stores every store-agnostic test runs against (for `describe.each`). */
export const STORAGE_KINDS: readonly StorageKind[] = ['sqlite', 'postgres'];

/**
 * `storage.primary` (without `write`) of a test config whose data belongs to `dir`; PostgreSQL
 * data goes to the run's test server unless `postgresUrl` names another.
 */
export function storagePrimary(
  kind: StorageKind,
  dir: string,
  postgresUrl: string = testPostgresUrl(),
): Record<string, unknown> {
  return kind === 'sqlite'
    ? { type: 'sqlite', uri: `sqlite:${join(dir, 'data', 'test.db')}` }
    : { type: 'postgres', uri: postgresUrl, schema: schemaForDir(dir) };
}

/** Bars per symbol, and a digest of all stored values (run_id and ingested_at excluded). */
export interface BarSnapshot {
  readonly count: number;
  readonly perSymbol: Record<string, number>;
  readonly digest: string;
}

/** The `job_runs` columns tests look at, with times in epoch ms and dry_run a boolean. */
export interface RunRow {
  readonly run_id: number;
  readonly job_name: string;
  readonly mode: string;
  readonly dry_run: boolean;
  readonly status: string;
  readonly rows_written: number;
  readonly batches: number;
  readonly error: string | null;
  readonly pid: number;
  readonly started_at: number;
  readonly completed_at: number | null;
}

/** Tables a test may count rows of. */
export type TableName = 'bars_ohlcv' | 'job_runs' | 'job_checkpoints' | 'bars_rejected';

/** Read-only views of what was stored for a test dir. Each rejects while the tables are missing. */
export interface TestStorage {
  readonly kind: StorageKind;
  barSnapshot(dir: string): Promise<BarSnapshot>;
  jobRuns(dir: string): Promise<RunRow[]>;
  countRows(dir: string, table: TableName): Promise<number>;
  /** Sum of `rows` over the job's checkpoints: the bars their chunks hold. */
  checkpointedRows(dir: string): Promise<number>;
  /** Rows of a table (bars or checkpoints) by the run that last wrote them: `{ [run_id]: n }`. */
  rowsPerRun(dir: string, table: 'bars_ohlcv' | 'job_checkpoints'): Promise<Record<number, number>>;
}

/** `{ run_id, n }` rows as `{ [run_id]: n }`. */
function perRun(rows: readonly { run_id: number; n: number }[]): Record<number, number> {
  return Object.fromEntries(rows.map((row) => [row.run_id, row.n]));
}

/**
 * A store on a test dir's data, opened the way the CLI would open it, for tests that set up state
 * through the protocol (a run held by another host, say). The caller closes it.
 */
export async function openTestStore(
  kind: StorageKind,
  dir: string,
  options: {
    hostname?: string;
    upsertKeys?: readonly BarColumn[];
    clock?: () => number;
    /** PostgreSQL's stand-in for the database's clock (SQLite judges by `clock`). */
    databaseClock?: () => number;
  } = {},
): Promise<Store> {
  const { databaseClock, ...common } = options;
  const store =
    kind === 'sqlite'
      ? new SqliteStore({ path: join(dir, 'data', 'test.db'), ...common })
      : new PostgresStore({
          uri: testPostgresUrl(),
          schema: schemaForDir(dir),
          ...common,
          databaseClock,
        });
  await store.open();
  return store;
}

/** The value columns of a bar, in the order the digest lists them (as SQLite stores them). */
const BAR_VALUES =
  'provider, symbol, interval, ts, open, high, low, close, volume, vwap, trade_count';

/**
 * The inspectors for one kind of store; PostgreSQL ones share a pool closed after the file, on
 * the run's test server unless `postgresUrl` names another.
 */
export function useTestStorage(
  kind: StorageKind,
  postgresUrl: () => string = testPostgresUrl,
): TestStorage {
  return kind === 'sqlite' ? sqliteStorage() : postgresStorage(postgresUrl);
}

function sqliteStorage(): TestStorage {
  const read = <T>(dir: string, look: (db: Database.Database) => T): Promise<T> => {
    try {
      const db = new SqliteDatabase(join(dir, 'data', 'test.db'), {
        readonly: true,
        fileMustExist: true,
      });
      try {
        return Promise.resolve(look(db));
      } finally {
        db.close();
      }
    } catch (error: unknown) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
  return {
    kind: 'sqlite',
    barSnapshot: (dir) =>
      read(dir, (db) => {
        const perSymbol: Record<string, number> = {};
        const counts = db
          .prepare('SELECT symbol, COUNT(*) AS n FROM bars_ohlcv GROUP BY symbol')
          .all() as { symbol: string; n: number }[];
        for (const row of counts) perSymbol[row.symbol] = row.n;
        const rows = db
          .prepare(`SELECT ${BAR_VALUES} FROM bars_ohlcv ORDER BY provider, symbol, interval, ts`)
          .raw()
          .all();
        return { count: rows.length, perSymbol, digest: JSON.stringify(rows) };
      }),
    jobRuns: (dir) =>
      read(dir, (db) =>
        (
          db
            .prepare(
              `SELECT run_id, job_name, mode, dry_run, status, rows_written, batches, error, pid,
                 started_at, completed_at
               FROM job_runs ORDER BY run_id`,
            )
            .all() as (Omit<RunRow, 'dry_run'> & { dry_run: number })[]
        ).map((row) => ({ ...row, dry_run: row.dry_run === 1 })),
      ),
    countRows: (dir, table) =>
      read(
        dir,
        (db) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n,
      ),
    checkpointedRows: (dir) =>
      read(
        dir,
        (db) =>
          (
            db.prepare('SELECT COALESCE(SUM(rows), 0) AS n FROM job_checkpoints').get() as {
              n: number;
            }
          ).n,
      ),
    rowsPerRun: (dir, table) =>
      read(dir, (db) =>
        perRun(
          db.prepare(`SELECT run_id, COUNT(*) AS n FROM ${table} GROUP BY run_id`).all() as {
            run_id: number;
            n: number;
          }[],
        ),
      ),
  };
}

function postgresStorage(url: () => string): TestStorage {
  const pool = useTestPostgresPool(url);
  const s = (dir: string): string => `"${schemaForDir(dir)}"`;
  return {
    kind: 'postgres',
    async barSnapshot(dir) {
      const counts = await pool().query<{ symbol: string; n: number }>(
        `SELECT symbol, count(*) AS n FROM ${s(dir)}.bars_ohlcv GROUP BY symbol`,
      );
      const perSymbol: Record<string, number> = {};
      for (const row of counts.rows) perSymbol[row.symbol] = row.n;
      // Ordered as SQLite orders text (bytewise), ts as epoch ms: digests compare across stores.
      const rows = await pool().query({
        text: `SELECT provider, symbol, interval, ${msFromTimestamptz('ts')} AS ts, open, high, low,
                 close, volume, vwap, trade_count
               FROM ${s(dir)}.bars_ohlcv
               ORDER BY provider COLLATE "C", symbol COLLATE "C", interval COLLATE "C", ts`,
        rowMode: 'array',
      });
      return { count: rows.rows.length, perSymbol, digest: JSON.stringify(rows.rows) };
    },
    async jobRuns(dir) {
      const result = await pool().query<RunRow>(
        `SELECT run_id, job_name, mode, dry_run, status, rows_written, batches, error, pid,
           ${msFromTimestamptz('started_at')} AS started_at,
           ${msFromTimestamptz('completed_at')} AS completed_at
         FROM ${s(dir)}.job_runs ORDER BY run_id`,
      );
      return result.rows;
    },
    async countRows(dir, table) {
      const result = await pool().query<{ n: number }>(
        `SELECT count(*) AS n FROM ${s(dir)}.${table}`,
      );
      return result.rows[0]?.n ?? 0;
    },
    async checkpointedRows(dir) {
      const result = await pool().query<{ n: number }>(
        `SELECT COALESCE(sum(rows), 0)::bigint AS n FROM ${s(dir)}.job_checkpoints`,
      );
      return result.rows[0]?.n ?? 0;
    },
    async rowsPerRun(dir, table) {
      const result = await pool().query<{ run_id: number; n: number }>(
        `SELECT run_id, count(*) AS n FROM ${s(dir)}.${table} GROUP BY run_id`,
      );
      return perRun(result.rows);
    },
  };
}

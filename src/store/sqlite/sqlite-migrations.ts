import { BAR_COLUMNS, type BarColumn } from '../../core/bar.js';
import type { NumberedMigration } from '../numbered-migration.js';
import { keysServeSeriesLookups } from '../upsert-keys.js';

/** What a migration's SQL may depend on: the table layout fixed when the database is created. */
export interface SqliteMigrationContext {
  /**
   * The primary key of `bars_ohlcv`: the configured upsert keys for a new database, the keys it
   * was created with (mdp_meta) for an existing one, whatever the config says now.
   */
  readonly upsertKeys: readonly BarColumn[];
}

/** One schema change. Append-only: a released migration is never edited, only followed. */
export interface SqliteMigration extends NumberedMigration {
  readonly sql: string | ((context: SqliteMigrationContext) => string);
  /**
   * The table the migration copies whole, if any: it takes time and free space in proportion to
   * the table, which the migrator says before it starts and when the space runs out.
   */
  readonly rebuilds?: (context: SqliteMigrationContext) => string | undefined;
}

/** The series columns every lookup (`lastBarTs`, `readBars`) filters on, then orders by ts. */
const SERIES_PREFIX: readonly BarColumn[] = ['provider', 'symbol', 'interval', 'ts'];

/** Every column of `bars_ohlcv` as migration 1 made it, for copying rows into a rebuilt table. */
const REBUILT_COLUMNS = [...BAR_COLUMNS, 'run_id', 'ingested_at'].join(', ');

/** The schema, oldest first. `mdp_migrations` records which ids a database has. */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    id: 1,
    name: 'initial schema',
    // STRICT so a wrong type fails the batch instead of being stored as text; WITHOUT ROWID
    // because the bars are looked up by their key and the key is most of the row.
    sql: ({ upsertKeys }) => `
      CREATE TABLE mdp_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
      INSERT INTO mdp_meta (key, value) VALUES ('upsert_keys', '${upsertKeys.join(',')}');

      CREATE TABLE bars_ohlcv (
        provider TEXT NOT NULL,
        symbol TEXT NOT NULL,
        interval TEXT NOT NULL,
        ts INTEGER NOT NULL,
        open REAL NOT NULL,
        high REAL NOT NULL,
        low REAL NOT NULL,
        close REAL NOT NULL,
        volume REAL NOT NULL,
        vwap REAL,
        trade_count INTEGER,
        run_id INTEGER NOT NULL,
        ingested_at INTEGER NOT NULL,
        PRIMARY KEY (${upsertKeys.join(', ')})
      ) STRICT, WITHOUT ROWID;
      ${
        keysServeSeriesLookups(upsertKeys)
          ? ''
          : `CREATE INDEX bars_ohlcv_series ON bars_ohlcv (${SERIES_PREFIX.join(', ')});`
      }

      CREATE TABLE job_runs (
        run_id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_name TEXT NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('live', 'backfill')),
        profile TEXT,
        dry_run INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
        status TEXT NOT NULL
          CHECK (status IN ('running', 'success', 'failure', 'cancelled', 'abandoned')),
        started_at INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL,
        completed_at INTEGER,
        rows_written INTEGER NOT NULL DEFAULT 0,
        batches INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        config_hash TEXT NOT NULL,
        params TEXT NOT NULL,
        heartbeat_interval_ms INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX job_runs_job_started ON job_runs (job_name, started_at);
      -- startRun already checks under a write lock; this catches any path that does not.
      CREATE UNIQUE INDEX job_runs_one_active ON job_runs (job_name)
        WHERE status = 'running' AND dry_run = 0;

      CREATE TABLE job_checkpoints (
        job_name TEXT NOT NULL,
        provider TEXT NOT NULL,
        symbol TEXT NOT NULL,
        interval TEXT NOT NULL,
        window_start INTEGER NOT NULL,
        window_end INTEGER NOT NULL,
        rows INTEGER NOT NULL,
        run_id INTEGER NOT NULL,
        completed_at INTEGER NOT NULL,
        UNIQUE (job_name, provider, symbol, interval, window_start, window_end)
      ) STRICT;

      -- Not STRICT: a rejected bar is bad data by definition, and its ts may be fractional.
      CREATE TABLE bars_rejected (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER NOT NULL,
        provider TEXT NOT NULL,
        symbol TEXT NOT NULL,
        interval TEXT NOT NULL,
        ts INTEGER,
        reason TEXT NOT NULL,
        raw TEXT NOT NULL
      );
      CREATE INDEX bars_rejected_run ON bars_rejected (run_id);
    `,
  },
  {
    id: 2,
    name: 'checkpoint completeness',
    // Existing checkpoints were all written for windows fetched whole: complete, count unknown.
    sql: `
      ALTER TABLE job_checkpoints ADD COLUMN expected_rows INTEGER;
      ALTER TABLE job_checkpoints
        ADD COLUMN complete INTEGER NOT NULL DEFAULT 1 CHECK (complete IN (0, 1));
      -- Status and planning look for the few incomplete chunks among many complete ones.
      CREATE INDEX job_checkpoints_incomplete ON job_checkpoints (job_name) WHERE complete = 0;
    `,
  },
  {
    id: 3,
    name: 'volume may be unknown',
    // Index aggregates carry no volume: NULL says unknown, where 0 would claim no trades. SQLite
    // cannot drop a NOT NULL in place, so the table is rebuilt (create, copy, drop, rename) in
    // this migration's transaction: a failure leaves the old table whole. The copy costs time
    // and free space in proportion to the table, once. A key column stays NOT NULL.
    rebuilds: ({ upsertKeys }) => (upsertKeys.includes('volume') ? undefined : 'bars_ohlcv'),
    sql: ({ upsertKeys }) =>
      upsertKeys.includes('volume')
        ? ''
        : `
      CREATE TABLE bars_ohlcv_rebuilt (
        provider TEXT NOT NULL,
        symbol TEXT NOT NULL,
        interval TEXT NOT NULL,
        ts INTEGER NOT NULL,
        open REAL NOT NULL,
        high REAL NOT NULL,
        low REAL NOT NULL,
        close REAL NOT NULL,
        volume REAL,
        vwap REAL,
        trade_count INTEGER,
        run_id INTEGER NOT NULL,
        ingested_at INTEGER NOT NULL,
        PRIMARY KEY (${upsertKeys.join(', ')})
      ) STRICT, WITHOUT ROWID;
      INSERT INTO bars_ohlcv_rebuilt (${REBUILT_COLUMNS})
        SELECT ${REBUILT_COLUMNS} FROM bars_ohlcv;
      DROP TABLE bars_ohlcv;
      ALTER TABLE bars_ohlcv_rebuilt RENAME TO bars_ohlcv;
      ${
        keysServeSeriesLookups(upsertKeys)
          ? ''
          : `CREATE INDEX bars_ohlcv_series ON bars_ohlcv (${SERIES_PREFIX.join(', ')});`
      }
      `,
  },
  {
    id: 4,
    name: 'provisional checkpoints',
    // Existing checkpoints were written before publication delays were known: final, as they were.
    sql: `
      ALTER TABLE job_checkpoints
        ADD COLUMN provisional INTEGER NOT NULL DEFAULT 0 CHECK (provisional IN (0, 1));
      CREATE INDEX job_checkpoints_provisional ON job_checkpoints (job_name)
        WHERE provisional = 1;
      `,
  },
  {
    id: 5,
    name: 'run identity and start token',
    // Runs recorded before have none: they are judged by host name and pid as they were.
    sql: `
      ALTER TABLE job_runs ADD COLUMN boot_id TEXT;
      ALTER TABLE job_runs ADD COLUMN pid_namespace TEXT;
      ALTER TABLE job_runs ADD COLUMN process_start TEXT;
      ALTER TABLE job_runs ADD COLUMN run_token TEXT;
      -- A start looks for its own running row; not unique, as a row reaped before the retry
      -- came keeps its token and the retry records a new one.
      CREATE INDEX job_runs_token ON job_runs (run_token) WHERE status = 'running';
    `,
  },
  {
    id: 6,
    name: 'config hashes over secrets cleared',
    // Runs recorded before hashed the config with its secrets unmasked: an unsalted SHA-256 that
    // tests a password guess offline. Cleared to '' (the column is NOT NULL, and rebuilding
    // job_runs for it is not worth it), which reads as no hash; later runs record the masked one.
    sql: `UPDATE job_runs SET config_hash = '' WHERE config_hash <> '';`,
  },
  {
    id: 7,
    name: 'provider budgets',
    // One token bucket per provider, shared by every process on the file (see ProviderBudgets).
    // Times are this host's epoch ms, fractional: a bucket refills in fractions of a token.
    sql: `
      CREATE TABLE provider_budgets (
        provider TEXT PRIMARY KEY,
        tokens REAL NOT NULL,
        updated_at REAL NOT NULL,
        full_since REAL
      ) STRICT;
    `,
  },
  {
    id: 8,
    name: 'schedule tick claims',
    // One row per claimed tick: the key makes a tick claimable once across every service.
    // The claimants' beats tell a running claim from one its dead claimant left.
    sql: `
      CREATE TABLE schedule_ticks (
        job_name TEXT NOT NULL,
        tick_at INTEGER NOT NULL,
        claimant TEXT NOT NULL,
        claimed_at INTEGER NOT NULL,
        catchup INTEGER NOT NULL DEFAULT 0 CHECK (catchup IN (0, 1)),
        outcome TEXT CHECK (outcome IN ('ran', 'skipped', 'failed', 'missed')),
        run_id INTEGER,
        detail TEXT,
        finished_at INTEGER,
        PRIMARY KEY (job_name, tick_at)
      ) STRICT, WITHOUT ROWID;
      -- Each claimant's last beat: a claim without an outcome is its claimant's while that beat
      -- is fresh, and a later service's to take over once it is not (the claimant died).
      CREATE TABLE schedule_claimants (
        claimant TEXT PRIMARY KEY,
        beat_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    id: 9,
    name: 'provider budgets hold the strictest rate',
    // The rate and burst a provider's row holds every taker to, each with when a take last asked
    // for it (see HeldRate in core/bucket-level.ts). NULL until a take writes them: a row of
    // before is held to the next taker's rate, as it was.
    sql: `
      ALTER TABLE provider_budgets ADD COLUMN rate_per_ms REAL;
      ALTER TABLE provider_budgets ADD COLUMN rate_asserted_at REAL;
      ALTER TABLE provider_budgets ADD COLUMN burst REAL;
      ALTER TABLE provider_budgets ADD COLUMN burst_asserted_at REAL;
    `,
  },
];

import type { BarColumn } from '../../core/bar.js';
import type { NumberedMigration } from '../numbered-migration.js';
import { keysServeSeriesLookups } from '../upsert-keys.js';
import { budgetRuleFunctions } from './postgres-budget-rule.js';

/** What a migration's SQL may depend on: where the tables live and their fixed layout. */
export interface PostgresMigrationContext {
  /** The quoted schema holding mdp's tables, e.g. `"public"`. */
  readonly schema: string;
  /**
   * The primary key of `bars_ohlcv`: the configured upsert keys for a new schema, the keys it was
   * created with (mdp_meta) for an existing one, whatever the config says now.
   */
  readonly upsertKeys: readonly BarColumn[];
}

/** One statement of a migration: DDL text, or a statement with parameters. */
export type PostgresMigrationStatement =
  string | { readonly text: string; readonly values: unknown[] };

/** One schema change. Append-only: a released migration is never edited, only followed. */
export interface PostgresMigration extends NumberedMigration {
  readonly statements: (context: PostgresMigrationContext) => readonly PostgresMigrationStatement[];
}

/**
 * The schema, oldest first, with the tables and semantics of the SQLite store's migrations.
 * `mdp_migrations` records which ids a schema has.
 */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    id: 1,
    name: 'initial schema',
    statements: ({ schema: s, upsertKeys }) => [
      `
      CREATE TABLE ${s}.mdp_meta (
        key text PRIMARY KEY,
        value text NOT NULL
      );

      -- Key text is COLLATE "C": bytewise comparison, several times cheaper in the primary key
      -- than a locale's, and the order SQLite uses, so both stores sort series alike.
      CREATE TABLE ${s}.bars_ohlcv (
        provider text COLLATE "C" NOT NULL,
        symbol text COLLATE "C" NOT NULL,
        interval text COLLATE "C" NOT NULL,
        ts timestamptz NOT NULL,
        open double precision NOT NULL,
        high double precision NOT NULL,
        low double precision NOT NULL,
        close double precision NOT NULL,
        volume double precision NOT NULL,
        vwap double precision,
        trade_count bigint,
        run_id bigint NOT NULL,
        ingested_at timestamptz NOT NULL,
        PRIMARY KEY (${upsertKeys.join(', ')})
      );
      ${
        keysServeSeriesLookups(upsertKeys)
          ? ''
          : `CREATE INDEX bars_ohlcv_series ON ${s}.bars_ohlcv (provider, symbol, interval, ts);`
      }

      CREATE TABLE ${s}.job_runs (
        run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        job_name text NOT NULL,
        mode text NOT NULL CHECK (mode IN ('live', 'backfill')),
        profile text,
        dry_run boolean NOT NULL,
        status text NOT NULL
          CHECK (status IN ('running', 'success', 'failure', 'cancelled', 'abandoned')),
        started_at timestamptz NOT NULL,
        heartbeat_at timestamptz NOT NULL,
        completed_at timestamptz,
        rows_written bigint NOT NULL DEFAULT 0,
        batches bigint NOT NULL DEFAULT 0,
        error text,
        host text NOT NULL,
        pid integer NOT NULL,
        config_hash text NOT NULL,
        params jsonb NOT NULL,
        heartbeat_interval_ms bigint NOT NULL
      );
      CREATE INDEX job_runs_job_started ON ${s}.job_runs (job_name, started_at);
      CREATE INDEX job_runs_started ON ${s}.job_runs (started_at);
      -- Reaping reads only running rows; most rows are finished runs.
      CREATE INDEX job_runs_running ON ${s}.job_runs (job_name) WHERE status = 'running';
      -- startRun already checks under an advisory lock; this catches any path that does not.
      CREATE UNIQUE INDEX job_runs_one_active ON ${s}.job_runs (job_name)
        WHERE status = 'running' AND NOT dry_run;

      CREATE TABLE ${s}.job_checkpoints (
        job_name text COLLATE "C" NOT NULL,
        provider text COLLATE "C" NOT NULL,
        symbol text COLLATE "C" NOT NULL,
        interval text COLLATE "C" NOT NULL,
        window_start timestamptz NOT NULL,
        window_end timestamptz NOT NULL,
        rows bigint NOT NULL,
        run_id bigint NOT NULL,
        completed_at timestamptz NOT NULL,
        PRIMARY KEY (job_name, provider, symbol, interval, window_start, window_end)
      );

      -- ts may be null: a rejected bar's time may be missing or beyond what timestamptz holds.
      CREATE TABLE ${s}.bars_rejected (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        run_id bigint NOT NULL,
        provider text NOT NULL,
        symbol text NOT NULL,
        interval text NOT NULL,
        ts timestamptz,
        reason text NOT NULL,
        raw text NOT NULL
      );
      CREATE INDEX bars_rejected_run ON ${s}.bars_rejected (run_id);
      `,
      {
        text: `INSERT INTO ${s}.mdp_meta (key, value) VALUES ('upsert_keys', $1)`,
        values: [upsertKeys.join(',')],
      },
    ],
  },
  {
    id: 2,
    name: 'checkpoint completeness',
    // Existing checkpoints were all written for windows fetched whole: complete, count unknown.
    statements: ({ schema: s }) => [
      `
      ALTER TABLE ${s}.job_checkpoints
        ADD COLUMN expected_rows bigint,
        ADD COLUMN complete boolean NOT NULL DEFAULT true;
      -- Status and planning look for the few incomplete chunks among many complete ones.
      CREATE INDEX job_checkpoints_incomplete ON ${s}.job_checkpoints (job_name)
        WHERE NOT complete;
      `,
    ],
  },
  {
    id: 3,
    name: 'volume may be unknown',
    // Index aggregates carry no volume: NULL says unknown, where 0 would claim no trades. Only the
    // catalog changes (no rewrite); on a hypertable TimescaleDB applies it to every chunk. A key
    // column stays NOT NULL, as PostgreSQL requires.
    statements: ({ schema: s, upsertKeys }) =>
      upsertKeys.includes('volume')
        ? []
        : [`ALTER TABLE ${s}.bars_ohlcv ALTER COLUMN volume DROP NOT NULL`],
  },
  {
    id: 4,
    name: 'provisional checkpoints',
    // Existing checkpoints were written before publication delays were known: final, as they were.
    statements: ({ schema: s }) => [
      `
      ALTER TABLE ${s}.job_checkpoints ADD COLUMN provisional boolean NOT NULL DEFAULT false;
      CREATE INDEX job_checkpoints_provisional ON ${s}.job_checkpoints (job_name)
        WHERE provisional;
      `,
    ],
  },
  {
    id: 5,
    name: 'run identity and start token',
    // Runs recorded before have none: they are judged by host name and pid as they were.
    statements: ({ schema: s }) => [
      `
      ALTER TABLE ${s}.job_runs
        ADD COLUMN boot_id text,
        ADD COLUMN pid_namespace text,
        ADD COLUMN process_start text,
        ADD COLUMN run_token text;
      -- A start looks for its own running row; not unique, as a row reaped before the retry
      -- came keeps its token and the retry records a new one.
      CREATE INDEX job_runs_token ON ${s}.job_runs (run_token) WHERE status = 'running';
      `,
    ],
  },
  {
    id: 6,
    name: 'config hashes over secrets cleared',
    // As on SQLite: '' rather than NULL, so both stores read alike and no ALTER needs an
    // ACCESS EXCLUSIVE lock on job_runs; the UPDATE's row locks block no reader.
    statements: ({ schema: s }) => [
      `UPDATE ${s}.job_runs SET config_hash = '' WHERE config_hash <> ''`,
    ],
  },
  {
    id: 7,
    name: 'provider budgets',
    // One token bucket per provider, shared by every process on the schema (see ProviderBudgets).
    // Times are the database's epoch ms as float8, not timestamptz: the bucket's arithmetic is in
    // fractional milliseconds, and no host reads them as times.
    statements: ({ schema: s }) => [
      `
      CREATE TABLE ${s}.provider_budgets (
        provider text PRIMARY KEY,
        tokens double precision NOT NULL,
        updated_at double precision NOT NULL,
        full_since double precision
      )
      `,
    ],
  },
  {
    id: 8,
    name: 'schedule tick claims',
    // One row per claimed tick: the key makes a tick claimable once across every service.
    // The claimants' beats (by the database's clock) tell a running claim from one its dead
    // claimant left.
    statements: ({ schema: s }) => [
      `
      CREATE TABLE ${s}.schedule_ticks (
        job_name text NOT NULL,
        tick_at timestamptz NOT NULL,
        claimant text NOT NULL,
        claimed_at timestamptz NOT NULL,
        catchup boolean NOT NULL DEFAULT false,
        outcome text CHECK (outcome IN ('ran', 'skipped', 'failed', 'missed')),
        run_id bigint,
        detail text,
        finished_at timestamptz,
        PRIMARY KEY (job_name, tick_at)
      )
      `,
      `
      CREATE TABLE ${s}.schedule_claimants (
        claimant text PRIMARY KEY,
        beat_at timestamptz NOT NULL
      )
      `,
    ],
  },
  {
    id: 9,
    name: 'provider budget takes in one statement, held to the strictest rate',
    // The bucket rule as functions, so a take or a pause is one round trip, not four (see
    // postgres-budget-rule.ts), and the rate and burst a provider's row holds every taker to,
    // each with when a take last asked for it (see HeldRate in core/bucket-level.ts). NULL until
    // a take writes them: a row of before is held to the next taker's rate, as it was.
    statements: ({ schema: s }) => [
      `
      ALTER TABLE ${s}.provider_budgets
        ADD COLUMN rate_per_ms double precision,
        ADD COLUMN rate_asserted_at double precision,
        ADD COLUMN burst double precision,
        ADD COLUMN burst_asserted_at double precision
      `,
      ...budgetRuleFunctions(s),
    ],
  },
];

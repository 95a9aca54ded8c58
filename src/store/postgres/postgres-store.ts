import type pg from 'pg';
import type { Bar, BarColumn } from '../../core/bar.js';
import type { Interval } from '../../core/interval.js';
import { redactUri } from '../../core/redact.js';
import { checkpointFromRow, type CheckpointRow } from '../checkpoint-rows.js';
import { refuseNewerSchema } from '../numbered-migration.js';
import { runHost, type RunHost } from '../run-host.js';
import { storeClosedError } from '../store-closed-error.js';
import type {
  BarQuery,
  Checkpoint,
  JobRun,
  JobSummary,
  RunProgress,
  RunStart,
  RunStatus,
  Store,
  WriteBatch,
  WriteResult,
} from '../store.js';
import type { ProviderBudgets } from '../provider-budgets.js';
import { checkStoredUpsertKeys, checkUpsertKeys, DEFAULT_UPSERT_KEYS } from '../upsert-keys.js';
import { PostgresBatchWriter } from './postgres-batch-writer.js';
import { cancellableQuery } from './postgres-cancellable-connection.js';
import { CHECKPOINT_COLUMNS } from './postgres-checkpoint-rows.js';
import { PostgresJobSummaries } from './postgres-job-summaries.js';
import { quoteIdentifier } from './postgres-identifier.js';
import { PostgresJobRuns } from './postgres-job-runs.js';
import { PostgresProviderBudgets } from './postgres-provider-budgets.js';
import { migratePostgres } from './postgres-migrate.js';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.js';
import {
  createPostgresPool,
  DEFAULT_POSTGRES_TIMEOUTS,
  formatEndpoint,
  postgresEndpoint,
  type PostgresEndpoint,
  type PostgresTimeouts,
} from './postgres-pool.js';
import { postgresStoreError, type PostgresAction } from './postgres-store-error.js';
import { PostgresTickClaims } from './postgres-tick-claims.js';
import type { TickClaims } from '../tick-claims.js';
import { msFromTimestamptz, timestamptzFromMs } from './postgres-timestamps.js';
import { ensureHypertable, type HypertableOutcome } from './timescale-hypertable.js';

/** Options of PostgresStore. */
export interface PostgresStoreOptions {
  /** `postgresql://user:password@host:5432/database` */
  readonly uri: string;
  /** `storage.primary.schema`: where the tables live, created if missing. Default `public`. */
  readonly schema?: string;
  /** `storage.primary.write.upsert_keys`: the primary key of `bars_ohlcv`, fixed at creation. */
  readonly upsertKeys?: readonly BarColumn[];
  /** Set for `type: timescaledb`: make `bars_ohlcv` a hypertable when the server allows. */
  readonly timescale?: { readonly chunkIntervalMs: number };
  /** Connections at most (default 10): concurrent batch writes, heartbeats and reads. */
  readonly poolSize?: number;
  /** How long to wait for a connection before giving up (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** `storage.primary.statement_timeout` and `lock_timeout` (default 5 min and 30 s). */
  readonly timeouts?: PostgresTimeouts;
  /** This host's clock, epoch ms: stamps `ingested_at` and checkpoints; injectable for tests. */
  readonly clock?: () => number;
  /**
   * Stands in for the database's clock, which stamps and judges heartbeats (never a host's
   * clock); for tests that move time.
   */
  readonly databaseClock?: () => number;
  /** This machine's name, compared with `job_runs.host` to judge pids. */
  readonly hostname?: string;
  /** Whether a pid on this host still lives; injectable for tests. */
  readonly isPidAlive?: (pid: number) => boolean;
  /** This host's boot id, pid namespace and pids' start times (see RunHost); injectable for tests. */
  readonly bootId?: string | null;
  readonly pidNamespace?: string | null;
  readonly processStart?: (pid: number) => string | null;
  /**
   * Told about what works but not as configured (no TimescaleDB: a plain table), once per
   * open, and about idle connections the server dropped.
   */
  readonly onWarning?: (message: string) => void;
}

/** What exists while the store is open. */
interface Session {
  readonly pool: pg.Pool;
  readonly writer: PostgresBatchWriter;
  readonly runs: PostgresJobRuns;
  readonly summaries: PostgresJobSummaries;
  readonly budgets: PostgresProviderBudgets;
  readonly ticks: PostgresTickClaims;
}

/**
 * The production backend: PostgreSQL, or TimescaleDB with `bars_ohlcv` as a hypertable. One
 * connection pool; every table lives in the configured schema; the same migrations, tables and
 * semantics as the SQLite store, checked by the same conformance suite.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly target: string;
  /** The primary key of `bars_ohlcv`. */
  readonly upsertKeys: readonly BarColumn[];
  /** The schema holding the tables, unquoted. */
  readonly schemaName: string;
  private readonly schema: string;
  private readonly endpoint: PostgresEndpoint;
  private readonly host: RunHost;
  private readonly timeouts: PostgresTimeouts;
  private session: Session | undefined;
  readonly budgets: ProviderBudgets = {
    take: (provider, rate, signal) =>
      this.guard('write', (s) => s.budgets.take(provider, rate, signal)),
    pause: (provider, ms) => this.guard('write', (s) => s.budgets.pause(provider, ms)),
  };
  private layout: HypertableOutcome | undefined;

  readonly ticks: TickClaims = {
    claim: (jobName, tickAt, claimant, options) =>
      this.guard('write', (s) => s.ticks.claim(jobName, tickAt, claimant, options)),
    record: (jobName, tickAt, claimant, result) =>
      this.guard('write', (s) => s.ticks.record(jobName, tickAt, claimant, result)),
    beat: (claimant) => this.guard('write', (s) => s.ticks.beat(claimant)),
    standing: (jobName, tickAt, claimant) =>
      this.guard('write', (s) => s.ticks.standing(jobName, tickAt, claimant)),
    leave: (claimant) => this.guard('write', (s) => s.ticks.leave(claimant)),
    orphans: (jobName) => this.guard('read', (s) => s.ticks.orphans(jobName)),
    diedLately: (withinMs) => this.guard('read', (s) => s.ticks.diedLately(withinMs)),
    takeOver: (jobName, tickAt, from, to) =>
      this.guard('write', (s) => s.ticks.takeOver(jobName, tickAt, from, to)),
    recordUnclaimed: (jobName, tickAt, claimant, detail) =>
      this.guard('write', (s) => s.ticks.recordUnclaimed(jobName, tickAt, claimant, detail)),
    lastTick: (jobName) => this.guard('read', (s) => s.ticks.lastTick(jobName)),
    list: (jobName, options) => this.guard('read', (s) => s.ticks.list(jobName, options)),
  };
  private readonly sql: {
    readonly lastBarTs: string;
    readonly checkpoints: string;
    readonly bars: string;
  };

  constructor(private readonly options: PostgresStoreOptions) {
    this.schemaName = options.schema ?? 'public';
    this.schema = quoteIdentifier(this.schemaName, 'storage.primary.schema');
    this.endpoint = postgresEndpoint(options.uri);
    this.target = `${redactUri(options.uri)} (schema ${this.schemaName})`;
    this.upsertKeys = checkUpsertKeys(
      options.upsertKeys ?? DEFAULT_UPSERT_KEYS,
      'postgres',
      this.target,
    );
    this.host = runHost(options);
    this.timeouts = options.timeouts ?? DEFAULT_POSTGRES_TIMEOUTS;
    const s = this.schema;
    this.sql = {
      lastBarTs: `
        SELECT ${msFromTimestamptz('max(ts)')} AS ts FROM ${s}.bars_ohlcv
        WHERE provider = $1 AND symbol = $2 AND interval = $3`,
      checkpoints: `
        SELECT ${CHECKPOINT_COLUMNS}
        FROM ${s}.job_checkpoints WHERE job_name = $1
        ORDER BY window_start, window_end, provider, symbol, interval`,
      // Columns aliased to Bar's property names, so rows come back as Bars.
      bars: `
        SELECT provider, symbol, interval, ${msFromTimestamptz('ts')} AS ts, open, high, low,
          close, volume, vwap, trade_count AS "tradeCount"
        FROM ${s}.bars_ohlcv`,
    };
  }

  /**
   * How `bars_ohlcv` is stored, known once open with `timescale` set: a hypertable, or a plain
   * table with the reason (also given to onWarning).
   */
  get timescaleLayout(): HypertableOutcome | undefined {
    return this.layout;
  }

  async open(): Promise<void> {
    if (this.session !== undefined) return;
    const pool = createPostgresPool(this.options.uri, {
      max: this.options.poolSize ?? 10,
      connectTimeoutMs: this.options.connectTimeoutMs ?? 10_000,
      timeouts: this.timeouts,
    });
    // An idle connection the server drops must not crash the process: the pool replaces it.
    pool.on('error', (error) =>
      this.warn(`lost an idle connection to ${formatEndpoint(this.endpoint)}: ${error.message}`),
    );
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error: unknown) {
      await pool.end();
      throw postgresStoreError(error, this.endpoint, 'connect', this.timeouts);
    }
    try {
      await this.prepare(client);
      client.release();
    } catch (error: unknown) {
      client.release(true);
      await pool.end();
      throw postgresStoreError(error, this.endpoint, 'open', this.timeouts);
    }
    this.session = {
      pool,
      writer: new PostgresBatchWriter(pool, this.schema, this.upsertKeys),
      runs: new PostgresJobRuns(
        pool,
        this.schema,
        this.schemaName,
        this.host,
        this.options.databaseClock,
      ),
      summaries: new PostgresJobSummaries(pool, this.schema),
      budgets: new PostgresProviderBudgets(pool, this.schema, this.options.databaseClock),
      ticks: new PostgresTickClaims(pool, this.schema, this.schemaName, this.options.databaseClock),
    };
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.pool.end();
  }

  async writeBatch(batch: WriteBatch, signal?: AbortSignal): Promise<WriteResult> {
    return this.guard('write', (s) => s.writer.writeBatch(batch, this.host.clock(), signal));
  }

  async lastBarTs(
    provider: string,
    symbol: string,
    interval: Interval,
    signal?: AbortSignal,
  ): Promise<number | undefined> {
    return this.guard('read', async (s) => {
      const result = await cancellableQuery<{ ts: number | null }>(
        s.pool,
        this.sql.lastBarTs,
        [provider, symbol, interval],
        signal,
      );
      return result.rows[0]?.ts ?? undefined;
    });
  }

  async readBars(query: BarQuery): Promise<Bar[]> {
    return this.guard('read', async (s) => {
      const where = barWhere(query);
      const result = await s.pool.query<Bar>(
        `${this.sql.bars} ${where.sql} ORDER BY ts`,
        where.params,
      );
      return result.rows;
    });
  }

  async countBars(query: Partial<BarQuery> = {}): Promise<number> {
    return this.guard('read', async (s) => {
      const where = barWhere(query);
      const result = await s.pool.query<{ n: number }>(
        `SELECT count(*) AS n FROM ${this.schema}.bars_ohlcv ${where.sql}`,
        where.params,
      );
      return result.rows[0]?.n ?? 0;
    });
  }

  async countRejected(runId?: number): Promise<number> {
    return this.guard('read', async (s) => {
      const result =
        runId === undefined
          ? await s.pool.query<{ n: number }>(
              `SELECT count(*) AS n FROM ${this.schema}.bars_rejected`,
            )
          : await s.pool.query<{ n: number }>(
              `SELECT count(*) AS n FROM ${this.schema}.bars_rejected WHERE run_id = $1`,
              [runId],
            );
      return result.rows[0]?.n ?? 0;
    });
  }

  async checkpoints(jobName: string, signal?: AbortSignal): Promise<Checkpoint[]> {
    return this.guard('read', async (s) => {
      const result = await cancellableQuery<CheckpointRow>(
        s.pool,
        this.sql.checkpoints,
        [jobName],
        signal,
      );
      return result.rows.map(checkpointFromRow);
    });
  }

  async jobSummary(jobName: string): Promise<JobSummary> {
    return this.guard('read', (s) => s.summaries.summary(jobName));
  }

  async startRun(start: RunStart): Promise<JobRun> {
    return this.guard('write', (s) => s.runs.start(start));
  }

  async heartbeat(runId: number, progress: RunProgress): Promise<void> {
    return this.guard('write', (s) => s.runs.heartbeat(runId, progress));
  }

  async completeRun(
    runId: number,
    status: Exclude<RunStatus, 'running' | 'abandoned'>,
    progress: RunProgress,
    error?: string,
  ): Promise<void> {
    await this.guard('write', (s) => s.runs.complete(runId, status, progress, error));
  }

  async reapAbandoned(jobName?: string, signal?: AbortSignal): Promise<JobRun[]> {
    return this.guard('write', (s) => s.runs.reap(jobName, signal));
  }

  async listRuns(options: { jobName?: string; limit?: number } = {}): Promise<JobRun[]> {
    return this.guard('read', (s) => s.runs.list(options.jobName, options.limit));
  }

  async runClock(): Promise<number> {
    return this.guard('read', (s) => s.runs.clock());
  }

  async getRun(runId: number): Promise<JobRun | undefined> {
    return this.guard('read', (s) => s.runs.get(runId));
  }

  /** Migrates, checks the stored layout against the config, and sets up TimescaleDB if asked. */
  private async prepare(client: pg.PoolClient): Promise<void> {
    // A migration may rewrite a large table; the session's limit comes back before the pool
    // hands the connection to anyone else. Its lock waits stay bounded (migratePostgres).
    await client.query('SET statement_timeout = 0');
    await this.prepareSchema(client);
    await client.query('RESET statement_timeout');
  }

  private async prepareSchema(client: pg.PoolClient): Promise<void> {
    const { latest } = await migratePostgres(
      client,
      POSTGRES_MIGRATIONS,
      { schema: this.schema, schemaName: this.schemaName, upsertKeys: this.upsertKeys },
      this.host.clock,
      {
        lockMs: this.timeouts.lockMs,
        migratorMs: this.timeouts.statementMs,
        warn: (message) => this.warn(message),
      },
    );
    refuseNewerSchema(
      'postgres',
      this.target,
      latest,
      POSTGRES_MIGRATIONS,
      'set storage.primary.schema to another schema',
    );
    await this.checkStoredKeys(client);
    const timescale = this.options.timescale;
    if (timescale !== undefined) {
      this.layout = await ensureHypertable(client, {
        schema: this.schema,
        schemaName: this.schemaName,
        chunkIntervalMs: timescale.chunkIntervalMs,
      });
      if (this.layout.reason !== undefined) this.warn(this.layout.reason);
    }
  }

  /** The primary key was fixed when the schema was created; a different config cannot apply. */
  private async checkStoredKeys(client: pg.PoolClient): Promise<void> {
    const result = await client.query<{ value: string }>(
      `SELECT value FROM ${this.schema}.mdp_meta WHERE key = 'upsert_keys'`,
    );
    checkStoredUpsertKeys(
      result.rows[0]?.value.split(',') ?? [],
      this.upsertKeys,
      'postgres',
      this.target,
      'set storage.primary.schema to a new schema',
    );
  }

  private warn(message: string): void {
    this.options.onWarning?.(`storage postgres: ${redactUri(message)}`);
  }

  /** Runs `work` on the open session, turning PostgreSQL's errors into StoreErrors. */
  private async guard<T>(
    action: PostgresAction,
    work: (session: Session) => Promise<T>,
  ): Promise<T> {
    const session = this.session;
    if (session === undefined) throw storeClosedError('postgres', this.target);
    try {
      return await work(session);
    } catch (error: unknown) {
      throw postgresStoreError(error, this.endpoint, action, this.timeouts);
    }
  }
}

/** The WHERE clause of a bar query; absent fields do not filter. */
function barWhere(query: Partial<BarQuery>): { sql: string; params: (string | number)[] } {
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  for (const column of ['provider', 'symbol', 'interval'] as const) {
    const value = query[column];
    if (value === undefined) continue;
    params.push(value);
    clauses.push(`${column} = $${params.length}`);
  }
  if (query.start !== undefined) {
    params.push(query.start);
    clauses.push(`ts >= ${timestamptzFromMs(`$${params.length}`)}`);
  }
  if (query.end !== undefined) {
    params.push(query.end);
    clauses.push(`ts < ${timestamptzFromMs(`$${params.length}`)}`);
  }
  return { sql: clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`, params };
}

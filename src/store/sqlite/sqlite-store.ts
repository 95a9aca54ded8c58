import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { SqliteDatabase } from './sqlite-driver.js';
import type { Bar, BarColumn } from '../../core/bar.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { abortableSleep } from '../../core/abortable-sleep.js';
import { StoreError } from '../../core/errors.js';
import type { Interval } from '../../core/interval.js';
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
import { BudgetLockWaits, budgetLockedError } from '../budget-lock-waits.js';
import type { ProviderBudgets } from '../provider-budgets.js';
import { refuseNewerSchema } from '../numbered-migration.js';
import { runHost, type RunHost } from '../run-host.js';
import { storeClosedError } from '../store-closed-error.js';
import { checkStoredUpsertKeys, checkUpsertKeys, DEFAULT_UPSERT_KEYS } from '../upsert-keys.js';
import { SqliteBatchWriter } from './sqlite-batch-writer.js';
import {
  CHECKPOINT_COLUMNS,
  checkpointFromSqliteRow,
  type SqliteCheckpointRow,
} from './sqlite-checkpoint-rows.js';
import { SqliteJobSummaries } from './sqlite-job-summaries.js';
import { SqliteJobRuns } from './sqlite-job-runs.js';
import { SqliteProviderBudgets } from './sqlite-provider-budgets.js';
import { migrateSqlite } from './sqlite-migrate.js';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js';
import { sqliteStoreError, type SqliteAction } from './sqlite-store-error.js';
import { SqliteTickClaims } from './sqlite-tick-claims.js';
import type { TickClaims } from '../tick-claims.js';

/** How long a statement waits for another process's write lock before failing with BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * How long an open keeps trying while the file is locked: opening switches the file to WAL and
 * applies migrations under the write lock, which another process creating the file or running a
 * long batch holds for a while. Switching the journal mode fails at once rather than waiting on
 * busy_timeout, hence the pause between tries.
 */
const OPEN_BUSY_WAIT_MS = 20_000;

/** Between a budget's tries for the file's write lock: about what SQLite's busy handler sleeps. */
const BUDGET_BUSY_PAUSE_MS = 10;
const OPEN_BUSY_PAUSE_MS = 250;

/** Options of SqliteStore. */
export interface SqliteStoreOptions {
  /** The database file, or `:memory:`. */
  readonly path: string;
  /** `storage.primary.write.upsert_keys`: the primary key of `bars_ohlcv`, fixed at creation. */
  readonly upsertKeys?: readonly BarColumn[];
  /** Epoch milliseconds; injectable so tests can move time. */
  readonly clock?: () => number;
  /** This machine's name, compared with `job_runs.host` to judge pids. */
  readonly hostname?: string;
  /** Whether a pid on this host still lives; injectable for tests. */
  readonly isPidAlive?: (pid: number) => boolean;
  /** This host's boot id, pid namespace and pids' start times (see RunHost); injectable for tests. */
  readonly bootId?: string | null;
  readonly pidNamespace?: string | null;
  readonly processStart?: (pid: number) => string | null;
  /** `storage.primary.max_size`: writes that would grow the file past it fail as MDP_STORE_FULL. */
  readonly maxBytes?: number;
  /** Something worth a line in the log that is not an error (waiting for another's lock). */
  readonly onWarning?: (message: string) => void;
}

/** `sqlite:/abs/path.db` (as config loading leaves it; also `sqlite::memory:`) → the file path. */
export function sqlitePathFromUri(uri: string): string {
  // The same prefix config loading strips before making the path absolute.
  const path = uri.replace(/^sqlite:(\/\/)?/, '');
  if (path === '') {
    throw new StoreError(
      'MDP_STORE_OPEN',
      'sqlite',
      `storage uri ${uri} names no file; write it as sqlite:path/to/file.db`,
    );
  }
  return path;
}

/** What exists while the store is open. */
interface Session {
  readonly db: Database.Database;
  readonly writer: SqliteBatchWriter;
  readonly runs: SqliteJobRuns;
  readonly summaries: SqliteJobSummaries;
  readonly budgets: SqliteProviderBudgets;
  readonly ticks: SqliteTickClaims;
  readonly lastBarTs: Database.Statement<[string, string, string], { ts: number | null }>;
  readonly checkpoints: Database.Statement<[string], SqliteCheckpointRow>;
}

const LAST_BAR_TS = `
  SELECT MAX(ts) AS ts FROM bars_ohlcv WHERE provider = ? AND symbol = ? AND interval = ?`;

const SELECT_CHECKPOINTS = `
  SELECT ${CHECKPOINT_COLUMNS}
  FROM job_checkpoints WHERE job_name = ?
  ORDER BY window_start, window_end, provider, symbol, interval`;

/** Columns of `bars_ohlcv` aliased to Bar's property names, so rows come back as Bars. */
const BAR_SELECT = `
  SELECT provider, symbol, interval, ts, open, high, low, close, volume, vwap,
    trade_count AS tradeCount
  FROM bars_ohlcv`;

/**
 * The embedded backend: one SQLite file in WAL mode, shared safely by several processes.
 * better-sqlite3 is synchronous; the methods are async only because the protocol is shared.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly target: string;
  /** The primary key of `bars_ohlcv`. */
  readonly upsertKeys: readonly BarColumn[];
  private readonly host: RunHost;
  private session: Session | undefined;
  private readonly budgetLockWaits = new BudgetLockWaits(BUSY_TIMEOUT_MS);
  readonly budgets: ProviderBudgets = {
    take: (provider, rate, signal) =>
      this.budgetWrite(provider, signal, (budgets) => budgets.take(provider, rate)),
    pause: (provider, ms) =>
      this.budgetWrite(provider, undefined, (budgets) => budgets.pause(provider, ms)),
  };

  readonly ticks: TickClaims = {
    claim: async (jobName, tickAt, claimant, options) =>
      this.guard('write', (s) => s.ticks.claim(jobName, tickAt, claimant, options)),
    beat: async (claimant) => this.guard('write', (s) => s.ticks.beat(claimant)),
    standing: async (jobName, tickAt, claimant) =>
      this.guard('read', (s) => s.ticks.standing(jobName, tickAt, claimant)),
    leave: async (claimant) => this.guard('write', (s) => s.ticks.leave(claimant)),
    orphans: async (jobName) => this.guard('read', (s) => s.ticks.orphans(jobName)),
    diedLately: async (withinMs) => this.guard('read', (s) => s.ticks.diedLately(withinMs)),
    takeOver: async (jobName, tickAt, from, to) =>
      this.guard('write', (s) => s.ticks.takeOver(jobName, tickAt, from, to)),
    recordUnclaimed: async (jobName, tickAt, claimant, detail) =>
      this.guard('write', (s) => s.ticks.recordUnclaimed(jobName, tickAt, claimant, detail)),
    record: async (jobName, tickAt, claimant, result) =>
      this.guard('write', (s) => s.ticks.record(jobName, tickAt, claimant, result)),
    lastTick: async (jobName) => this.guard('read', (s) => s.ticks.lastTick(jobName)),
    list: async (jobName, options) => this.guard('read', (s) => s.ticks.list(jobName, options)),
  };

  constructor(private readonly options: SqliteStoreOptions) {
    this.target = options.path;
    this.upsertKeys = checkUpsertKeys(
      options.upsertKeys ?? DEFAULT_UPSERT_KEYS,
      'sqlite',
      options.path,
    );
    this.host = runHost(options);
  }

  async open(): Promise<void> {
    const started = performance.now();
    let warned = false;
    for (;;) {
      try {
        this.openOnce();
        return;
      } catch (error: unknown) {
        const busy = error instanceof StoreError && error.code === 'MDP_STORE_BUSY';
        if (!busy || performance.now() - started >= OPEN_BUSY_WAIT_MS) throw error;
        if (!warned) {
          this.options.onWarning?.(
            `${this.target} is locked by another connection (database is busy); waiting up to ${OPEN_BUSY_WAIT_MS / 1000} s for it`,
          );
          warned = true;
        }
        await sleep(OPEN_BUSY_PAUSE_MS);
      }
    }
  }

  private openOnce(): void {
    if (this.session !== undefined) return;
    let db: Database.Database | undefined;
    try {
      if (this.target !== ':memory:') mkdirSync(dirname(this.target), { recursive: true });
      db = new SqliteDatabase(this.target, { timeout: BUSY_TIMEOUT_MS });
      configure(db, this.options.maxBytes);
      const { latest } = migrateSqlite(
        db,
        SQLITE_MIGRATIONS,
        { upsertKeys: this.upsertKeys },
        this.host.clock,
        { file: this.target, warn: (message) => this.options.onWarning?.(message) },
      );
      refuseNewerSchema(
        'sqlite',
        this.target,
        latest,
        SQLITE_MIGRATIONS,
        'point storage.primary.uri at another file',
      );
      this.checkStoredKeys(db);
      this.session = {
        db,
        writer: new SqliteBatchWriter(db, this.upsertKeys),
        runs: new SqliteJobRuns(db, this.host),
        summaries: new SqliteJobSummaries(db),
        budgets: new SqliteProviderBudgets(db, this.host.clock),
        ticks: new SqliteTickClaims(db, this.host.clock),
        lastBarTs: db.prepare(LAST_BAR_TS),
        checkpoints: db.prepare(SELECT_CHECKPOINTS),
      };
    } catch (error: unknown) {
      db?.close();
      throw sqliteStoreError(error, this.target, 'open');
    }
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    session?.db.close();
  }

  async writeBatch(batch: WriteBatch): Promise<WriteResult> {
    return this.guard('write', (s) => s.writer.writeBatch(batch, this.host.clock()));
  }

  async lastBarTs(
    provider: string,
    symbol: string,
    interval: Interval,
  ): Promise<number | undefined> {
    return this.guard('read', (s) => s.lastBarTs.get(provider, symbol, interval)?.ts ?? undefined);
  }

  async readBars(query: BarQuery): Promise<Bar[]> {
    return this.guard('read', (s) => {
      const where = barWhere(query);
      return s.db
        .prepare<unknown[], Bar>(`${BAR_SELECT} ${where.sql} ORDER BY ts`)
        .all(...where.params);
    });
  }

  async countBars(query: Partial<BarQuery> = {}): Promise<number> {
    return this.guard('read', (s) => {
      const where = barWhere(query);
      const row = s.db
        .prepare<unknown[], { n: number }>(`SELECT COUNT(*) AS n FROM bars_ohlcv ${where.sql}`)
        .get(...where.params);
      return row?.n ?? 0;
    });
  }

  async countRejected(runId?: number): Promise<number> {
    return this.guard('read', (s) => {
      const row =
        runId === undefined
          ? s.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM bars_rejected').get()
          : s.db
              .prepare<[number], { n: number }>(
                'SELECT COUNT(*) AS n FROM bars_rejected WHERE run_id = ?',
              )
              .get(runId);
      return row?.n ?? 0;
    });
  }

  async checkpoints(jobName: string): Promise<Checkpoint[]> {
    return this.guard('read', (s) => s.checkpoints.all(jobName).map(checkpointFromSqliteRow));
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
    this.guard('write', (s) => s.runs.complete(runId, status, progress, error));
  }

  /** `signal` is only checked first: SQLite's calls are synchronous and never wait on a lock. */
  async reapAbandoned(jobName?: string, signal?: AbortSignal): Promise<JobRun[]> {
    signal?.throwIfAborted();
    return this.guard('write', (s) => s.runs.reap(jobName));
  }

  async listRuns(options: { jobName?: string; limit?: number } = {}): Promise<JobRun[]> {
    return this.guard('read', (s) => s.runs.list(options.jobName, options.limit));
  }

  async runClock(): Promise<number> {
    return this.host.clock();
  }

  async getRun(runId: number): Promise<JobRun | undefined> {
    return this.guard('read', (s) => s.runs.get(runId));
  }

  /**
   * Tries `work` on a provider's budget until it gets the file's write lock, sleeping between
   * tries off the event loop (SQLite's busy handler sleeps on it: timers, signals and heartbeats
   * would stop) for up to the provider's lock wait; then fails as MDP_STORE_BUSY.
   */
  private async budgetWrite<T>(
    provider: string,
    signal: AbortSignal | undefined,
    work: (budgets: SqliteProviderBudgets) => T,
  ): Promise<T> {
    const waitMs = this.budgetLockWaits.waitMs(provider);
    const started = performance.now();
    for (;;) {
      signal?.throwIfAborted();
      try {
        const result = this.guard('write', (s) => work(s.budgets));
        this.budgetLockWaits.got(provider);
        return result;
      } catch (error: unknown) {
        if (!(error instanceof StoreError && error.code === 'MDP_STORE_BUSY')) throw error;
        const waited = performance.now() - started;
        if (waited >= waitMs) {
          this.budgetLockWaits.ranOut(provider);
          throw budgetLockedError('sqlite', provider, this.target, waited, error);
        }
      }
      await abortableSleep(BUDGET_BUSY_PAUSE_MS, signal);
    }
  }

  /** Runs `work` on the open session, turning SQLite's errors into StoreErrors. */
  private guard<T>(action: SqliteAction, work: (session: Session) => T): T {
    const session = this.session;
    if (session === undefined) throw storeClosedError('sqlite', this.target);
    try {
      return work(session);
    } catch (error: unknown) {
      throw sqliteStoreError(error, this.target, action);
    }
  }

  /** The primary key was fixed when the file was created; a different config cannot apply. */
  private checkStoredKeys(db: Database.Database): void {
    const row = db
      .prepare<[], { value: string }>("SELECT value FROM mdp_meta WHERE key = 'upsert_keys'")
      .get();
    checkStoredUpsertKeys(
      row?.value.split(',') ?? [],
      this.upsertKeys,
      'sqlite',
      this.target,
      'point storage.primary.uri at a new file',
    );
  }
}

/** WAL lets readers run beside the one writer; NORMAL sync is durable at each WAL checkpoint. */
function configure(db: Database.Database, maxBytes: number | undefined): void {
  // Set before anything else touches the file, so a second process waits rather than fails.
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // Asking for WAL on a file already in WAL takes no lock; only a new file is switched.
  if (db.pragma('journal_mode', { simple: true }) !== 'wal' && db.name !== ':memory:') {
    db.pragma('journal_mode = WAL');
  }
  db.pragma('synchronous = NORMAL');
  if (maxBytes !== undefined) {
    // Per connection, not stored in the file. SQLite keeps it at least the current page count.
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.pragma(`max_page_count = ${Math.max(1, Math.floor(maxBytes / pageSize))}`);
  }
}

/** The WHERE clause of a bar query; absent fields do not filter. */
function barWhere(query: Partial<BarQuery>): { sql: string; params: (string | number)[] } {
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  for (const column of ['provider', 'symbol', 'interval'] as const) {
    const value = query[column];
    if (value === undefined) continue;
    clauses.push(`${column} = ?`);
    params.push(value);
  }
  if (query.start !== undefined) {
    clauses.push('ts >= ?');
    params.push(query.start);
  }
  if (query.end !== undefined) {
    clauses.push('ts < ?');
    params.push(query.end);
  }
  return { sql: clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`, params };
}

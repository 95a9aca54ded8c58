import type { Bar } from '../core/bar.js';
import type { Interval } from '../core/interval.js';
import type { ProviderBudgets } from './provider-budgets.js';
import type { TickClaims } from './tick-claims.js';

/** Statuses of a `job_runs` row; see DESIGN.md. */
export type RunStatus = 'running' | 'success' | 'failure' | 'cancelled' | 'abandoned';

export type RunMode = 'live' | 'backfill';

/**
 * What tells a process apart beyond its host name and pid; null where the host cannot say (no
 * /proc), and for runs recorded before these were kept.
 */
export interface ProcessIdentity {
  /** `/proc/sys/kernel/random/boot_id`: new at every boot, shared by containers on one kernel. */
  readonly bootId: string | null;
  /** `readlink /proc/self/ns/pid`: pids name the same process only within one namespace. */
  readonly pidNamespace: string | null;
  /** Field 22 of `/proc/PID/stat` (clock ticks after boot): a reused pid has another. */
  readonly processStart: string | null;
}

/** What is recorded when a run starts. */
export interface RunStart {
  readonly jobName: string;
  readonly mode: RunMode;
  readonly profile: string | null;
  readonly dryRun: boolean;
  readonly host: string;
  readonly pid: number;
  readonly configHash: string;
  /** The run's parameters (window, flags), stored as JSON. */
  readonly params: Readonly<Record<string, unknown>>;
  /** How often this run promises a heartbeat; the run is abandoned after three missed ones. */
  readonly heartbeatIntervalMs: number;
  /** The starting process beyond host and pid, for the liveness rule; unknown when left out. */
  readonly identity?: ProcessIdentity;
  /**
   * Unique per attempt to start (not per try): a start retried after its commit's acknowledgement
   * was lost finds the row it committed by this token and adopts it instead of being locked out.
   */
  readonly runToken?: string;
}

/** One `job_runs` row. Times are epoch milliseconds. */
export interface JobRun {
  readonly runId: number;
  readonly jobName: string;
  readonly mode: RunMode;
  readonly profile: string | null;
  readonly dryRun: boolean;
  readonly status: RunStatus;
  readonly startedAt: number;
  readonly heartbeatAt: number;
  readonly completedAt: number | null;
  readonly rowsWritten: number;
  readonly batches: number;
  readonly error: string | null;
  readonly host: string;
  readonly pid: number;
  /**
   * The hash of the config with its secrets masked; null for runs recorded before schema
   * version 6, whose hash covered the secrets and was cleared.
   */
  readonly configHash: string | null;
  readonly params: Record<string, unknown>;
  readonly heartbeatIntervalMs: number;
  readonly identity: ProcessIdentity;
}

/** Progress reported by a heartbeat and at completion. */
export interface RunProgress {
  readonly rowsWritten: number;
  readonly batches: number;
}

/** A finished backfill chunk: the bars of one symbol in `[windowStart, windowEnd)` are stored. */
export interface Checkpoint {
  readonly jobName: string;
  readonly provider: string;
  readonly symbol: string;
  readonly interval: Interval;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly rows: number;
  readonly runId: number;
  readonly completedAt: number;
  /** Bars the window should hold when the series has one per interval; null when unknown. */
  readonly expectedRows: number | null;
  /**
   * False when the provider's answer stayed short of the window after retries: what came is
   * stored, and the next run fetches the window again instead of skipping it.
   */
  readonly complete: boolean;
  /**
   * True when the window ended within the provider's publication delay when it was fetched: bars
   * may still be published into it, so the next run fetches it again, however full it looked.
   */
  readonly provisional: boolean;
}

/**
 * A checkpoint as the runner records it; it defaults to a complete, final, uncounted window.
 */
export type CheckpointInput = Omit<
  Checkpoint,
  'runId' | 'completedAt' | 'expectedRows' | 'complete' | 'provisional'
> & {
  readonly expectedRows?: number | null;
  readonly complete?: boolean;
  readonly provisional?: boolean;
};

/** A bar that failed validation, kept with the reason and the provider's raw form. */
export interface RejectedBar {
  readonly provider: string;
  readonly symbol: string;
  readonly interval: Interval;
  /** Open time, or NaN-free best effort (0 when the provider gave none). */
  readonly ts: number;
  readonly reason: string;
  /** JSON of what the provider sent. */
  readonly raw: string;
}

/** One all-or-nothing write: bars upserted, rejects recorded, and optionally a chunk checkpointed. */
export interface WriteBatch {
  readonly runId: number;
  readonly bars: readonly Bar[];
  readonly rejected?: readonly RejectedBar[];
  /** Recorded in the same transaction as the bars, so a checkpoint never outlives its data. */
  readonly checkpoint?: CheckpointInput;
  /**
   * The run committing the batch (default `runId`; a spooled batch of an earlier run is committed
   * by the run draining it). The batch commits only while that run is `running`: once it has been
   * judged abandoned, JobSupersededError and nothing written. A run id without a row is refused
   * once a later run is running (its row was deleted: it holds no job); an id above every run
   * (tools, tests) is not fenced.
   */
  readonly heldBy?: number;
}

export interface WriteResult {
  /** Bars upserted (after in-batch duplicates were collapsed). */
  readonly rowsWritten: number;
  /** Bars dropped because the batch held the same key twice (the last one wins). */
  readonly duplicatesDropped: number;
}

/** Where one job stands, for `mdp status`. */
export interface JobSummary {
  readonly jobName: string;
  /** The newest run, dry runs included. */
  readonly lastRun: JobRun | undefined;
  /** The newest successful run that wrote (not a dry run). */
  readonly lastSuccess: JobRun | undefined;
  /** The run holding the job now (not a dry run), if any. */
  readonly running: JobRun | undefined;
  /**
   * Checkpointed chunks whose provider answer stayed short of the window, in window order;
   * provisional ones are listed apart.
   */
  readonly incompleteChunks: readonly Checkpoint[];
  /** Chunks fetched within the provider's publication delay, to be fetched again; window order. */
  readonly provisionalChunks: readonly Checkpoint[];
  /** Bars the job's runs rejected, by reason. */
  readonly rejectedByReason: Readonly<Record<string, number>>;
}

/** Selects the bars of one series in `[start, end)`. */
export interface BarQuery {
  readonly provider: string;
  readonly symbol: string;
  readonly interval: Interval;
  readonly start?: number;
  readonly end?: number;
}

/**
 * The storage protocol the pipeline writes through. Every backend (store/sqlite, store/postgres)
 * implements it with the same tables and semantics, checked by one conformance suite.
 */
export interface Store {
  /** `sqlite` | `postgres`: the `storage` label of metrics. */
  readonly kind: 'sqlite' | 'postgres';
  /** The target with any password masked, for messages. */
  readonly target: string;
  /** Pacing budgets shared by every process on this store, one per provider. */
  readonly budgets: ProviderBudgets;
  /** Ticks of scheduled jobs claimed by services on this store (usable once open). */
  readonly ticks: TickClaims;

  /** Opens the database and applies pending migrations. Idempotent. */
  open(): Promise<void>;
  /** Closes connections. Idempotent. */
  close(): Promise<void>;

  /**
   * Upserts bars on the configured keys, records rejects and the checkpoint, in one transaction.
   * Aborting `signal` cancels a write still waiting on the server (a lock another session holds):
   * the batch is rolled back whole and the abort reason thrown.
   */
  writeBatch(batch: WriteBatch, signal?: AbortSignal): Promise<WriteResult>;
  /**
   * Open time of the newest stored bar of a series, or undefined when there is none. Aborting
   * `signal` cancels a read waiting on the server (a table lock another session holds) and
   * throws the abort reason; a synchronous backend (SQLite) never waits and ignores it.
   */
  lastBarTs(
    provider: string,
    symbol: string,
    interval: Interval,
    signal?: AbortSignal,
  ): Promise<number | undefined>;
  /** Stored bars of one series in ts order. For tests, checks and export; not the hot path. */
  readBars(query: BarQuery): Promise<Bar[]>;
  countBars(query?: Partial<BarQuery>): Promise<number>;
  countRejected(runId?: number): Promise<number>;

  /** Checkpoints of a job, in window order. `signal` as for `lastBarTs`. */
  checkpoints(jobName: string, signal?: AbortSignal): Promise<Checkpoint[]>;
  /**
   * Last run, last success, the active run, incomplete and provisional chunks and rejects by
   * reason; no reaping.
   */
  jobSummary(jobName: string): Promise<JobSummary>;

  /**
   * Records a new `running` run. First marks stale runs of the job abandoned; throws
   * JobLockedError naming the active run when a non-dry run of the job is still running. A
   * `running` row with the same `runToken` (this start, committed before) is returned as is.
   */
  startRun(start: RunStart): Promise<JobRun>;
  /**
   * Records progress and liveness. Throws JobSupersededError, naming the run that took over, when
   * the run is no longer `running`: another process judged it abandoned, and the run must stop.
   */
  heartbeat(runId: number, progress: RunProgress): Promise<void>;
  /**
   * Ends a run, only while it is `running`. Throws JobSupersededError, naming the run that took
   * over, when another process judged it abandoned (or its row is gone): the row is left as is,
   * and the run must not report its end as its own. A row this run already ended (a retry after a
   * lost acknowledgement) is no error.
   */
  completeRun(
    runId: number,
    status: Exclude<RunStatus, 'running' | 'abandoned'>,
    progress: RunProgress,
    error?: string,
  ): Promise<void>;
  /**
   * Marks `running` runs abandoned (stale heartbeat, or a dead pid on this host); returns them.
   * `signal` as for `lastBarTs`: a pass waiting on another session's lock gives up (the service's
   * shutdown must not wait out lock_timeout); runs it already marked stay marked.
   */
  reapAbandoned(jobName?: string, signal?: AbortSignal): Promise<JobRun[]>;
  /**
   * Recent runs, newest first, as stored: a pure read (no reaping, so no write lock); a stale run
   * shows `running` until someone calls `reapAbandoned` (`mdp status`, the service's reaper).
   */
  listRuns(options?: { jobName?: string; limit?: number }): Promise<JobRun[]>;
  getRun(runId: number): Promise<JobRun | undefined>;
  /**
   * Now, by the clock runs are stamped and judged with, in epoch ms: the database's on PostgreSQL
   * (a heartbeat's age measured against it holds whatever this host's clock says), this host's on
   * SQLite.
   */
  runClock(): Promise<number>;
}

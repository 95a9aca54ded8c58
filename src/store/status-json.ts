import type { Checkpoint, JobRun, JobSummary } from './store.js';
import type { TickRecord } from './tick-claims.js';

/**
 * The status read model as JSON (`mdp status --json`, and the web API's shape): snake_case keys,
 * times as ISO 8601 UTC to the second, heartbeat ages in seconds against the store's clock.
 */

/** How `mdp serve` runs a job: at the ticks of its schedule, or followed continuously. */
export type JobServing =
  | {
      readonly kind: 'schedule';
      readonly expression: string;
      readonly timeZone: string;
      /** By the schedule, after the store's now; undefined when it never fires again. */
      readonly nextTickAt: number | undefined;
      /** The newest tick a service claimed, with its outcome. */
      readonly lastTick: TickRecord | undefined;
    }
  | { readonly kind: 'follow' };

/** A job's summary with what only this machine knows: bars in its local spool. */
export interface JobStatus extends JobSummary {
  /** Bars of the job in `storage.spool`, waiting for the primary; 0 without a spool. */
  readonly spoolBars: number;
  /** How the service runs it; undefined for a job it does not run (or not in the config). */
  readonly serving?: JobServing;
}

/** Epoch ms as ISO 8601 UTC to the second, the form status times are shown in. */
export const isoSeconds = (ms: number): string =>
  new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** `{ runs, jobs }`, as `mdp status --json` prints it; `now` is the store's clock. */
export function statusJson(
  runs: readonly JobRun[],
  jobs: readonly JobStatus[],
  now: number,
): { runs: Record<string, unknown>[]; jobs: Record<string, unknown>[] } {
  return { runs: runs.map(runJson), jobs: jobs.map((job) => jobStatusJson(job, now)) };
}

/** One entry of `runs` in `mdp status --json`. */
export function runJson(run: JobRun): Record<string, unknown> {
  return {
    run_id: run.runId,
    job_name: run.jobName,
    mode: run.mode,
    profile: run.profile,
    dry_run: run.dryRun,
    status: run.status,
    started_at: isoSeconds(run.startedAt),
    heartbeat_at: isoSeconds(run.heartbeatAt),
    completed_at: run.completedAt === null ? null : isoSeconds(run.completedAt),
    rows_written: run.rowsWritten,
    batches: run.batches,
    error: run.error,
    host: run.host,
    pid: run.pid,
    config_hash: run.configHash,
    params: run.params,
  };
}

function runRef(run: JobRun | undefined): Record<string, unknown> | null {
  if (run === undefined) return null;
  return {
    run_id: run.runId,
    status: run.status,
    dry_run: run.dryRun,
    started_at: isoSeconds(run.startedAt),
    completed_at: run.completedAt === null ? null : isoSeconds(run.completedAt),
  };
}

function chunkJson(chunk: Checkpoint): Record<string, unknown> {
  return {
    provider: chunk.provider,
    symbol: chunk.symbol,
    interval: chunk.interval,
    window_start: isoSeconds(chunk.windowStart),
    window_end: isoSeconds(chunk.windowEnd),
    rows: chunk.rows,
    expected_rows: chunk.expectedRows,
    run_id: chunk.runId,
  };
}

/** The `jobs` entries of `mdp status --json`. */
export function jobStatusJson(job: JobStatus, now: number): Record<string, unknown> {
  return {
    job_name: job.jobName,
    last_run: runRef(job.lastRun),
    last_success: runRef(job.lastSuccess),
    running:
      job.running === undefined
        ? null
        : {
            run_id: job.running.runId,
            pid: job.running.pid,
            host: job.running.host,
            started_at: isoSeconds(job.running.startedAt),
            heartbeat_at: isoSeconds(job.running.heartbeatAt),
            heartbeat_age_seconds: Math.max(0, now - job.running.heartbeatAt) / 1000,
          },
    incomplete_chunks: job.incompleteChunks.map(chunkJson),
    provisional_chunks: job.provisionalChunks.map(chunkJson),
    rejected_by_reason: job.rejectedByReason,
    spool_bars: job.spoolBars,
    schedule: job.serving?.kind === 'schedule' ? scheduleJson(job.serving) : null,
    follow: job.serving?.kind === 'follow',
  };
}

/** `schedule` of a job in `mdp status --json`. */
function scheduleJson(serving: Extract<JobServing, { kind: 'schedule' }>): Record<string, unknown> {
  const last = serving.lastTick;
  return {
    cron: serving.expression,
    timezone: serving.timeZone,
    next_tick: serving.nextTickAt === undefined ? null : isoSeconds(serving.nextTickAt),
    last_tick:
      last === undefined
        ? null
        : {
            tick_at: isoSeconds(last.tickAt),
            outcome: last.outcome,
            run_id: last.runId,
            catchup: last.catchup,
            claimant: last.claimant,
            claimant_alive: last.claimantAlive,
            detail: last.detail,
          },
  };
}

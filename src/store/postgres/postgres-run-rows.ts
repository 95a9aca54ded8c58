import type { JobRun, RunMode, RunStatus } from '../store.js';
import { msFromTimestamptz } from './postgres-timestamps.js';

/** One `job_runs` row as RUN_COLUMNS selects it: times in epoch ms, int8 parsed as numbers. */
export interface JobRunRow {
  run_id: number;
  job_name: string;
  mode: string;
  profile: string | null;
  dry_run: boolean;
  status: string;
  started_at: number;
  heartbeat_at: number;
  completed_at: number | null;
  rows_written: number;
  batches: number;
  error: string | null;
  host: string;
  pid: number;
  config_hash: string;
  /** jsonb, parsed by the driver. */
  params: unknown;
  heartbeat_interval_ms: number;
}

/** The select list (and RETURNING list) that yields a JobRunRow. */
export const RUN_COLUMNS = `
  run_id, job_name, mode, profile, dry_run, status,
  ${msFromTimestamptz('started_at')} AS started_at,
  ${msFromTimestamptz('heartbeat_at')} AS heartbeat_at,
  ${msFromTimestamptz('completed_at')} AS completed_at,
  rows_written, batches, error, host, pid, config_hash, params, heartbeat_interval_ms`;

/** The row as the protocol's JobRun; the CHECK constraints guarantee mode and status. */
export function jobRunFromRow(row: JobRunRow): JobRun {
  return {
    runId: row.run_id,
    jobName: row.job_name,
    mode: row.mode as RunMode,
    profile: row.profile,
    dryRun: row.dry_run,
    status: row.status as RunStatus,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    completedAt: row.completed_at,
    rowsWritten: row.rows_written,
    batches: row.batches,
    error: row.error,
    host: row.host,
    pid: row.pid,
    configHash: row.config_hash,
    params: asParams(row.params),
    heartbeatIntervalMs: row.heartbeat_interval_ms,
  };
}

/** Params are written by us as a JSON object; anything else is shown rather than thrown. */
function asParams(value: unknown): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return value as Record<string, unknown>;
  }
  return { value };
}

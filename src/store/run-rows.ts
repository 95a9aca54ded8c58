import type { JobRun, RunMode, RunStatus } from './store.js';

/**
 * One `job_runs` row once the driver's values are JavaScript ones: times in epoch ms, dry_run a
 * boolean, params parsed from JSON. Each backend selects or converts its rows into this shape.
 */
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
  params: unknown;
  heartbeat_interval_ms: number;
  boot_id: string | null;
  pid_namespace: string | null;
  process_start: string | null;
}

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
    // '' marks a hash cleared by migration 6 (it covered the config's secrets).
    configHash: row.config_hash === '' ? null : row.config_hash,
    params: asParams(row.params),
    heartbeatIntervalMs: row.heartbeat_interval_ms,
    identity: {
      bootId: row.boot_id,
      pidNamespace: row.pid_namespace,
      processStart: row.process_start,
    },
  };
}

/** Params are written by us as a JSON object; anything else is shown rather than thrown. */
function asParams(value: unknown): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return value as Record<string, unknown>;
  }
  return { value };
}

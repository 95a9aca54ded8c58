import { msFromTimestamptz } from './postgres-timestamps.js';

/**
 * The select list (and RETURNING list) that yields a `JobRunRow` (../run-rows.ts) as it stands:
 * times in epoch ms, int8 parsed as numbers, boolean and jsonb parsed by the driver.
 */
export const RUN_COLUMNS = `
  run_id, job_name, mode, profile, dry_run, status,
  ${msFromTimestamptz('started_at')} AS started_at,
  ${msFromTimestamptz('heartbeat_at')} AS heartbeat_at,
  ${msFromTimestamptz('completed_at')} AS completed_at,
  rows_written, batches, error, host, pid, config_hash, params, heartbeat_interval_ms,
  boot_id, pid_namespace, process_start`;

import { msFromTimestamptz } from './postgres-timestamps.js';

/**
 * The select list that yields a `CheckpointRow` (../checkpoint-rows.ts) as it stands: times in
 * epoch ms, `complete` and `provisional` booleans.
 */
export const CHECKPOINT_COLUMNS = `
  job_name AS "jobName", provider, symbol, interval,
  ${msFromTimestamptz('window_start')} AS "windowStart",
  ${msFromTimestamptz('window_end')} AS "windowEnd", rows, run_id AS "runId",
  ${msFromTimestamptz('completed_at')} AS "completedAt",
  expected_rows AS "expectedRows", complete, provisional`;

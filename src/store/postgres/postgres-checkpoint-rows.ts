import type { Interval } from '../../core/interval.js';
import type { Checkpoint } from '../store.js';
import { msFromTimestamptz } from './postgres-timestamps.js';

/** One `job_checkpoints` row as CHECKPOINT_COLUMNS selects it: times in epoch ms. */
export interface CheckpointRow {
  jobName: string;
  provider: string;
  symbol: string;
  interval: string;
  windowStart: number;
  windowEnd: number;
  rows: number;
  runId: number;
  completedAt: number;
  expectedRows: number | null;
  complete: boolean;
}

/** The select list that yields a CheckpointRow. */
export const CHECKPOINT_COLUMNS = `
  job_name AS "jobName", provider, symbol, interval,
  ${msFromTimestamptz('window_start')} AS "windowStart",
  ${msFromTimestamptz('window_end')} AS "windowEnd", rows, run_id AS "runId",
  ${msFromTimestamptz('completed_at')} AS "completedAt",
  expected_rows AS "expectedRows", complete`;

/** The row as the protocol's Checkpoint; intervals were validated when the chunk was written. */
export function checkpointFromRow(row: CheckpointRow): Checkpoint {
  return { ...row, interval: row.interval as Interval };
}

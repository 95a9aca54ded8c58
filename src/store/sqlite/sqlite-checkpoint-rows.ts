import { checkpointFromRow, type CheckpointRow } from '../checkpoint-rows.js';
import type { Checkpoint } from '../store.js';

/** One `job_checkpoints` row as CHECKPOINT_COLUMNS selects it; flags are SQLite's 0 or 1. */
export type SqliteCheckpointRow = Omit<CheckpointRow, 'complete' | 'provisional'> & {
  complete: number;
  provisional: number;
};

/** The select list that yields a SqliteCheckpointRow. */
export const CHECKPOINT_COLUMNS = `
  job_name AS jobName, provider, symbol, interval, window_start AS windowStart,
  window_end AS windowEnd, rows, run_id AS runId, completed_at AS completedAt,
  expected_rows AS expectedRows, complete, provisional`;

/** The row as the protocol's Checkpoint, once SQLite's integer flags are booleans. */
export function checkpointFromSqliteRow(row: SqliteCheckpointRow): Checkpoint {
  return checkpointFromRow({
    ...row,
    complete: row.complete === 1,
    provisional: row.provisional === 1,
  });
}

import type { Interval } from '../core/interval.js';
import type { Checkpoint, CheckpointInput } from './store.js';

/**
 * One `job_checkpoints` row once the driver's values are JavaScript ones, under Checkpoint's
 * property names: times in epoch ms, `complete` a boolean. Each backend selects or converts its
 * rows into this shape.
 */
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
  provisional: boolean;
}

/** The row as the protocol's Checkpoint; intervals were validated when the chunk was written. */
export function checkpointFromRow(row: CheckpointRow): Checkpoint {
  return { ...row, interval: row.interval as Interval };
}

/** What names one chunk: the unique columns of `job_checkpoints`, in their declared order. */
export type CheckpointKey = [
  jobName: string,
  provider: string,
  symbol: string,
  interval: string,
  windowStart: number,
  windowEnd: number,
];

/** The key parameters of the upsert and of the delete of covered incomplete chunks. */
export function checkpointKey(checkpoint: CheckpointInput): CheckpointKey {
  return [
    checkpoint.jobName,
    checkpoint.provider,
    checkpoint.symbol,
    checkpoint.interval,
    checkpoint.windowStart,
    checkpoint.windowEnd,
  ];
}

/** The runner leaves `complete` out for a window fetched whole; only `false` marks it short. */
export function isCompleteCheckpoint(checkpoint: CheckpointInput): boolean {
  return checkpoint.complete !== false;
}

/**
 * The parameters of the checkpoint upsert, in column order: the key, then rows, run_id,
 * completed_at, expected_rows, complete and provisional. `flag` puts a boolean in the dialect's
 * form (a boolean for PostgreSQL, 0 or 1 for SQLite, which binds no booleans).
 */
export function checkpointUpsertValues<Flag extends boolean | number>(
  checkpoint: CheckpointInput,
  runId: number,
  now: number,
  flag: (value: boolean) => Flag,
): [...CheckpointKey, number, number, number, number | null, Flag, Flag] {
  return [
    ...checkpointKey(checkpoint),
    checkpoint.rows,
    runId,
    now,
    checkpoint.expectedRows ?? null,
    flag(checkpoint.complete !== false),
    flag(checkpoint.provisional === true),
  ];
}

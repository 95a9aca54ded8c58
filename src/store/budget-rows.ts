import type { BucketLevel } from '../core/bucket-level.js';

/** One `provider_budgets` row as both stores read it (times in epoch ms of the store's clock). */
export interface BudgetRow {
  readonly tokens: number;
  readonly updated_at: number;
  /** NULL for a bucket never full since its row was made: -Infinity does not survive every driver. */
  readonly full_since: number | null;
}

/** The bucket a row holds. */
export function bucketLevelFromRow(row: BudgetRow): BucketLevel {
  return {
    tokens: row.tokens,
    updatedAt: row.updated_at,
    fullSince: row.full_since ?? -Infinity,
  };
}

/** The row's `full_since` of a level: NULL for never. */
export function fullSinceColumn(level: BucketLevel): number | null {
  return Number.isFinite(level.fullSince) ? level.fullSince : null;
}

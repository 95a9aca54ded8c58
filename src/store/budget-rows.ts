import type { BucketLevel, BucketRate, HeldRate } from '../core/bucket-level.js';
import type { BudgetTake } from './provider-budgets.js';

/** One `provider_budgets` row as both stores read it (times in epoch ms of the store's clock). */
export interface BudgetRow {
  readonly tokens: number;
  readonly updated_at: number;
  /** NULL for a bucket never full since its row was made: -Infinity does not survive every driver. */
  readonly full_since: number | null;
  /** The held rate (HeldRate): all four NULL in a row no take has written yet (a pause made it). */
  readonly rate_per_ms: number | null;
  readonly rate_asserted_at: number | null;
  readonly burst: number | null;
  readonly burst_asserted_at: number | null;
}

/** The bucket a row holds. */
export function bucketLevelFromRow(row: BudgetRow): BucketLevel {
  return {
    tokens: row.tokens,
    updatedAt: row.updated_at,
    fullSince: row.full_since ?? -Infinity,
  };
}

/** The rate a row holds its takers to; undefined when no take has written one. */
export function heldRateFromRow(row: BudgetRow): HeldRate | undefined {
  const { rate_per_ms, rate_asserted_at, burst, burst_asserted_at } = row;
  if (rate_per_ms === null || rate_asserted_at === null) return undefined;
  if (burst === null || burst_asserted_at === null) return undefined;
  return {
    ratePerMs: rate_per_ms,
    rateAssertedAt: rate_asserted_at,
    burst,
    burstAssertedAt: burst_asserted_at,
  };
}

/** The row's `full_since` of a level: NULL for never. */
export function fullSinceColumn(level: BucketLevel): number | null {
  return Number.isFinite(level.fullSince) ? level.fullSince : null;
}

/** A take's answer, saying what the row held it to when that is not the taker's own rate. */
export function budgetTake(
  waitMs: number,
  own: BucketRate | undefined,
  held: { readonly ratePerMs: number; readonly burst: number } | undefined,
): BudgetTake {
  const answer: BudgetTake = waitMs === 0 ? { granted: true } : { granted: false, waitMs };
  if (own === undefined || held === undefined) return answer;
  if (held.ratePerMs === own.ratePerMs && held.burst === own.burst) return answer;
  return { ...answer, heldTo: { ratePerMs: held.ratePerMs, burst: held.burst } };
}

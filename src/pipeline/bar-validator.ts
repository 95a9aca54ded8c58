import type { Bar } from '../core/bar.js';
import { intervalMs } from '../core/interval.js';
import type { FetchRequest } from '../core/provider.js';
import type { RejectedBar } from '../store/store.js';

/**
 * Reasons about a bar's values: the provider did send a bar for that open time, only a bad one
 * (so it still counts as an answer for the time when judging whether a page is short).
 */
export const VALUE_REJECT_REASONS = [
  'non_finite',
  'high_below_low',
  'open_outside_range',
  'close_outside_range',
  'negative_volume',
  'invalid_trade_count',
] as const;

/** Why a bar is rejected: a bounded set, used as a metric label (and pre-set at 0 for each). */
export const REJECT_REASONS = [
  ...VALUE_REJECT_REASONS,
  'unaligned_ts',
  'duplicate_ts',
  'outside_window',
  'wrong_series',
  // A row the provider could not read as a bar at all (a CSV line, say); raw names file and line.
  'unparseable',
] as const;

/** Why a bar was rejected. */
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface ValidationResult {
  readonly valid: readonly Bar[];
  readonly rejected: readonly RejectedBar[];
}

function reasonFor(
  bar: Bar,
  request: FetchRequest,
  provider: string,
  step: number,
): RejectReason | undefined {
  const { open, high, low, close, volume, ts } = bar;
  if (
    bar.symbol !== request.symbol ||
    bar.interval !== request.interval ||
    bar.provider !== provider
  )
    return 'wrong_series';
  if (
    !Number.isFinite(ts) ||
    !Number.isFinite(open) ||
    !Number.isFinite(high) ||
    !Number.isFinite(low) ||
    !Number.isFinite(close) ||
    (volume !== null && !Number.isFinite(volume)) ||
    (bar.vwap !== null && !Number.isFinite(bar.vwap)) ||
    (bar.tradeCount !== null && !Number.isFinite(bar.tradeCount))
  ) {
    return 'non_finite';
  }
  if (bar.tradeCount !== null && (!Number.isSafeInteger(bar.tradeCount) || bar.tradeCount < 0)) {
    return 'invalid_trade_count';
  }
  if (ts % step !== 0) return 'unaligned_ts';
  if (ts < request.start || ts >= request.end) return 'outside_window';
  if (high < low) return 'high_below_low';
  if (open < low || open > high) return 'open_outside_range';
  if (close < low || close > high) return 'close_outside_range';
  if (volume !== null && volume < 0) return 'negative_volume';
  return undefined;
}

/**
 * Splits a provider page into bars fit to store and rejects (with reasons). A bar repeated within
 * the page is rejected as `duplicate_ts` after its first valid occurrence. Returns the input array
 * itself when every bar is valid, so the common case allocates nothing.
 */
export function validateBars(
  bars: readonly Bar[],
  request: FetchRequest,
  provider: string,
): ValidationResult {
  const step = intervalMs(request.interval);
  let valid: Bar[] | undefined;
  let rejected: RejectedBar[] | undefined;
  let previousTs = -Infinity;
  let seen: Set<number> | undefined;
  for (let i = 0; i < bars.length; i++) {
    const bar = bars[i] as Bar;
    let reason = reasonFor(bar, request, provider, step);
    if (reason === undefined) {
      // Pages are normally ascending; only an out-of-order page pays for the set.
      if (bar.ts <= previousTs) {
        // Only kept bars count as a first occurrence, whatever the page order.
        seen ??= new Set((valid ?? bars.slice(0, i)).map((b) => b.ts));
        if (seen.has(bar.ts)) reason = 'duplicate_ts';
      }
      seen?.add(bar.ts);
      previousTs = Math.max(previousTs, bar.ts);
    }
    if (reason !== undefined) {
      valid ??= bars.slice(0, i) as Bar[];
      rejected ??= [];
      rejected.push(rejectedBar(bar, reason, { ...request, provider }));
    } else if (valid) {
      valid.push(bar);
    }
  }
  return { valid: valid ?? bars, rejected: rejected ?? [] };
}

/**
 * `bar` as a `bars_rejected` row of the series `where` names (the one it was fetched for, which
 * a wrong-series bar does not match). Non-finite numbers are kept as text in `raw`.
 */
export function rejectedBar(
  bar: Bar,
  reason: RejectReason,
  where: Pick<RejectedBar, 'provider' | 'symbol' | 'interval'>,
): RejectedBar {
  return {
    provider: where.provider,
    symbol: where.symbol,
    interval: where.interval,
    ts: Number.isFinite(bar.ts) ? bar.ts : 0,
    reason,
    raw: JSON.stringify(bar, (_key, value: unknown) =>
      typeof value === 'number' && !Number.isFinite(value) ? String(value) : value,
    ),
  };
}

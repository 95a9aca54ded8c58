import type { Interval } from './interval.js';

/**
 * One OHLCV bar. `ts` is the UTC open time of its interval in epoch milliseconds: a number,
 * not a Date, because bars are created by the million on the hot path.
 */
export interface Bar {
  readonly provider: string;
  readonly symbol: string;
  readonly interval: Interval;
  readonly ts: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  /** null when the provider has none to give (an index's values are not trades); never 0 for that. */
  readonly volume: number | null;
  readonly vwap: number | null;
  readonly tradeCount: number | null;
}

/**
 * The columns of `bars_ohlcv` a bar supplies, in the order the stores write them; upsert keys are
 * drawn from these.
 */
export const BAR_COLUMNS = [
  'provider',
  'symbol',
  'interval',
  'ts',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'vwap',
  'trade_count',
] as const;

export type BarColumn = (typeof BAR_COLUMNS)[number];

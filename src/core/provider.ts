import type { Bar } from './bar.js';
import type { Interval } from './interval.js';

/** A request for the bars of one symbol whose open time lies in `[start, end)` (epoch ms). */
export interface FetchRequest {
  readonly symbol: string;
  readonly interval: Interval;
  readonly start: number;
  readonly end: number;
}

/**
 * The protocol every provider implements. Errors are TransientProviderError (worth a retry) or
 * PermanentProviderError (not); anything else is treated as transient by the retry policy.
 */
export interface Provider {
  /** The config key, e.g. `synthetic_1`. */
  readonly name: string;
  /** The provider's page size; drives the backfill chunk size. */
  readonly maxBarsPerRequest: number;
  fetchBars(request: FetchRequest, signal: AbortSignal): Promise<Bar[]>;
}

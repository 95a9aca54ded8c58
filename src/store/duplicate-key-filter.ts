import type { Bar, BarColumn } from '../core/bar.js';
import type { WriteResult } from './store.js';

/** The Bar property behind each `bars_ohlcv` column. */
export const BAR_PROPERTY: Readonly<Record<BarColumn, keyof Bar>> = {
  provider: 'provider',
  symbol: 'symbol',
  interval: 'interval',
  ts: 'ts',
  open: 'open',
  high: 'high',
  low: 'low',
  close: 'close',
  volume: 'volume',
  vwap: 'vwap',
  trade_count: 'tradeCount',
};

/** The bars of a batch to write (`keep`, as `lastOccurrences` gives it) and what to report. */
export interface CollapsedBatch {
  readonly keep: Uint8Array | undefined;
  readonly result: WriteResult;
}

/**
 * Finds bars of one batch that share an upsert key, so that every backend keeps the last of them
 * (PostgreSQL would reject the whole `ON CONFLICT DO UPDATE` with SQLSTATE 21000, SQLite would
 * apply both; neither may decide for us). Shared by the backends so they cannot disagree.
 */
export class DuplicateKeyFilter {
  private readonly keyProperties: readonly (keyof Bar)[];
  /** The key properties other than ts, when ts is a key (enables the sorted-series fast path). */
  private readonly seriesProperties: readonly (keyof Bar)[] | undefined;

  constructor(upsertKeys: readonly BarColumn[]) {
    this.keyProperties = upsertKeys.map((column) => BAR_PROPERTY[column]);
    this.seriesProperties = upsertKeys.includes('ts')
      ? this.keyProperties.filter((property) => property !== 'ts')
      : undefined;
  }

  /**
   * Undefined when every bar has a distinct key (the common case, found without allocating);
   * otherwise a 0/1 mask keeping only the last bar of each key.
   */
  lastOccurrences(bars: readonly Bar[]): Uint8Array | undefined {
    if (bars.length < 2 || this.isSortedSeries(bars)) return undefined;
    const keys = this.keyProperties;
    const seen = new Set<string>();
    const keep = new Uint8Array(bars.length);
    for (let i = bars.length - 1; i >= 0; i--) {
      const bar = bars[i] as Bar;
      let key = '';
      for (const property of keys) key += `${String(bar[property])}\u0000`;
      if (seen.has(key)) continue;
      seen.add(key);
      keep[i] = 1;
    }
    return seen.size === bars.length ? undefined : keep;
  }

  /** `lastOccurrences`, and the counts every backend reports for a batch so collapsed. */
  collapse(bars: readonly Bar[]): CollapsedBatch {
    const keep = this.lastOccurrences(bars);
    const rowsWritten =
      keep === undefined ? bars.length : keep.reduce((sum, kept) => sum + kept, 0);
    return { keep, result: { rowsWritten, duplicatesDropped: bars.length - rowsWritten } };
  }

  /** One series in strictly increasing ts order cannot repeat a key that includes ts. */
  private isSortedSeries(bars: readonly Bar[]): boolean {
    const series = this.seriesProperties;
    if (series === undefined) return false;
    const first = bars[0] as Bar;
    let previousTs = first.ts;
    for (let i = 1; i < bars.length; i++) {
      const bar = bars[i] as Bar;
      if (!(bar.ts > previousTs)) return false;
      for (const property of series) if (bar[property] !== first[property]) return false;
      previousTs = bar.ts;
    }
    return true;
  }
}

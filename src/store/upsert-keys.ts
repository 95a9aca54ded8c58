import { BAR_COLUMNS, type BarColumn } from '../core/bar.js';
import { StoreError } from '../core/errors.js';

/** The upsert keys when the config names none (and those of the sample config). */
export const DEFAULT_UPSERT_KEYS: readonly BarColumn[] = ['provider', 'symbol', 'interval', 'ts'];

/**
 * Upsert keys must be distinct bar columns and non-null ones, since they become the primary key
 * of `bars_ohlcv` in every backend. Returns them frozen, or throws MDP_STORE_CONFIG.
 */
export function checkUpsertKeys(
  keys: readonly BarColumn[],
  storage: string,
  target: string,
): readonly BarColumn[] {
  const problem =
    keys.length === 0
      ? 'are empty'
      : new Set(keys).size !== keys.length
        ? 'repeat a column'
        : keys.some((key) => !(BAR_COLUMNS as readonly string[]).includes(key))
          ? `must be drawn from ${BAR_COLUMNS.join(', ')}`
          : keys.some((key) => key === 'vwap' || key === 'trade_count')
            ? 'include vwap or trade_count, which may be null and so cannot be part of a key'
            : undefined;
  if (problem !== undefined) {
    throw new StoreError(
      'MDP_STORE_CONFIG',
      storage,
      `upsert keys [${keys.join(', ')}] for ${target} ${problem}; fix ` +
        'storage.primary.write.upsert_keys (default: [provider, symbol, interval, ts])',
    );
  }
  return Object.freeze([...keys]);
}

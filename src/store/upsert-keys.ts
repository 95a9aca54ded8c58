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

/**
 * Throws MDP_STORE_SCHEMA_MISMATCH unless the keys `bars_ohlcv` was created with (as stored in
 * `mdp_meta`) are the configured ones in any order: they are its primary key and cannot change in
 * place. `elsewhere` is the backend's way to start over, e.g. `point storage.primary.uri at a new
 * file`.
 */
export function checkStoredUpsertKeys(
  stored: readonly string[],
  configured: readonly BarColumn[],
  storage: 'sqlite' | 'postgres',
  target: string,
  elsewhere: string,
): void {
  const same =
    stored.length === configured.length && configured.every((key) => stored.includes(key));
  if (same) return;
  throw new StoreError(
    'MDP_STORE_SCHEMA_MISMATCH',
    storage,
    `${target} was created with upsert keys [${stored.join(', ')}] but the config ` +
      `says [${configured.join(', ')}]. The keys are the table's primary key and ` +
      `cannot change in place: set storage.primary.write.upsert_keys to ` +
      `[${stored.join(', ')}], or ${elsewhere}.`,
  );
}

/** The upsert keys as `mdp_meta` records them (comma-separated), which migrations build on. */
export function storedUpsertKeys(value: string): readonly BarColumn[] {
  return value.split(',') as BarColumn[];
}

/** True when the primary key already serves series lookups, so no second index is needed. */
export function keysServeSeriesLookups(keys: readonly BarColumn[]): boolean {
  const head = keys.slice(0, 3);
  return (
    keys.length >= 4 &&
    ['provider', 'symbol', 'interval'].every((column) => head.includes(column as BarColumn)) &&
    keys[3] === 'ts'
  );
}

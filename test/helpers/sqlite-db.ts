import type BetterSqlite3 from 'better-sqlite3';
import { SqliteDatabase as Database } from '../../src/store/sqlite/sqlite-driver.js';
import { join } from 'node:path';

/** Read-only access to a test's SQLite file, for checking what a child process stored. */
export function openTestDb(dir: string): BetterSqlite3.Database {
  return new Database(join(dir, 'data', 'test.db'), { readonly: true, fileMustExist: true });
}

/** Bars per symbol, and a digest of all stored values (run_id and ingested_at excluded). */
export function barSnapshot(dir: string): {
  count: number;
  perSymbol: Record<string, number>;
  digest: string;
} {
  const db = openTestDb(dir);
  try {
    const perSymbol: Record<string, number> = {};
    for (const row of db
      .prepare('SELECT symbol, COUNT(*) AS n FROM bars_ohlcv GROUP BY symbol')
      .all() as { symbol: string; n: number }[]) {
      perSymbol[row.symbol] = row.n;
    }
    const rows = db
      .prepare(
        'SELECT provider, symbol, interval, ts, open, high, low, close, volume, vwap, trade_count FROM bars_ohlcv ORDER BY provider, symbol, interval, ts',
      )
      .raw()
      .all();
    const digest = JSON.stringify(rows);
    return { count: rows.length, perSymbol, digest };
  } finally {
    db.close();
  }
}

export interface RunRow {
  run_id: number;
  job_name: string;
  mode: string;
  dry_run: number;
  status: string;
  rows_written: number;
  batches: number;
  error: string | null;
  pid: number;
}

export function jobRuns(dir: string): RunRow[] {
  const db = openTestDb(dir);
  try {
    return db.prepare('SELECT * FROM job_runs ORDER BY run_id').all() as RunRow[];
  } finally {
    db.close();
  }
}

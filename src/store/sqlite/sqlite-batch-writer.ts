import type Database from 'better-sqlite3';
import { BAR_COLUMNS, type Bar, type BarColumn } from '../../core/bar.js';
import { checkpointKey, checkpointUpsertValues, isCompleteCheckpoint } from '../checkpoint-rows.js';
import { DuplicateKeyFilter } from '../duplicate-key-filter.js';
import type { WriteBatch, WriteResult } from '../store.js';
import { SqliteRunFence } from './sqlite-run-fence.js';

/** Parameters per bar row of the upsert: the bar's columns, then run_id and ingested_at. */
const PARAMS_PER_ROW = BAR_COLUMNS.length + 2;

/**
 * Bars per multi-row upsert. Binding a whole chunk in one call saves the per-call overhead of
 * crossing into native code, which is most of the cost per bar (about 1.5× overall); 100 rows
 * are 1,300 parameters, far below SQLite's 32,766.
 */
export const ROWS_PER_STATEMENT = 100;

/**
 * `INSERT … VALUES (…), … ON CONFLICT (keys) DO UPDATE` of `rows` bars, positional parameters
 * per row in BAR_COLUMNS order then run_id, ingested_at. SQLite applies the conflict clause row
 * by row, so a key repeated within one statement would still end with the last row's values.
 */
export function barUpsertSql(upsertKeys: readonly BarColumn[], rows = 1): string {
  const columns = [...BAR_COLUMNS, 'run_id', 'ingested_at'];
  const updated = columns.filter((column) => !upsertKeys.includes(column as BarColumn));
  const row = `(${columns.map(() => '?').join(', ')})`;
  return (
    `INSERT INTO bars_ohlcv (${columns.join(', ')}) VALUES ${Array(rows).fill(row).join(', ')} ` +
    `ON CONFLICT (${upsertKeys.join(', ')}) DO UPDATE SET ` +
    updated.map((column) => `${column} = excluded.${column}`).join(', ')
  );
}

const INSERT_REJECT = `
  INSERT INTO bars_rejected (run_id, provider, symbol, interval, ts, reason, raw)
  VALUES (?, ?, ?, ?, ?, ?, ?)`;

/** Incomplete checkpoints a complete one covers (their chunks were fetched again, whole). */
const DELETE_COVERED_INCOMPLETE = `
  DELETE FROM job_checkpoints
  WHERE job_name = ? AND provider = ? AND symbol = ? AND interval = ? AND complete = 0
    AND window_start >= ? AND window_end <= ?`;

/**
 * Provisional checkpoints the new one overlaps. A provisional row spares nothing a refetch, so a
 * run fetches its whole window again, cut at a later publication edge maybe: the new rows replace
 * it, and a part outside this run's window stays uncovered for the next one to fetch.
 */
const DELETE_OVERLAPPED_PROVISIONAL = `
  DELETE FROM job_checkpoints
  WHERE job_name = ? AND provider = ? AND symbol = ? AND interval = ? AND provisional = 1
    AND window_end > ? AND window_start < ?`;

const UPSERT_CHECKPOINT = `
  INSERT INTO job_checkpoints
    (job_name, provider, symbol, interval, window_start, window_end, rows, run_id, completed_at,
      expected_rows, complete, provisional)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (job_name, provider, symbol, interval, window_start, window_end) DO UPDATE SET
    rows = excluded.rows, run_id = excluded.run_id, completed_at = excluded.completed_at,
    expected_rows = excluded.expected_rows, complete = excluded.complete,
    provisional = excluded.provisional`;

/**
 * The hot path: one IMMEDIATE transaction per batch; bars go through one prepared multi-row
 * upsert, ROWS_PER_STATEMENT at a time, and the same upsert for a single row takes the rest.
 */
export class SqliteBatchWriter {
  private readonly upsertChunk: Database.Statement;
  private readonly upsertBar: Database.Statement;
  /** Reused for every chunk, so the hot loop allocates nothing per bar. */
  private readonly chunkParams: (string | number | null)[];
  private readonly insertReject: Database.Statement;
  private readonly upsertCheckpoint: Database.Statement;
  private readonly deleteCoveredIncomplete: Database.Statement;
  private readonly deleteOverlappedProvisional: Database.Statement;
  private readonly write: Database.Transaction<(batch: WriteBatch, now: number) => WriteResult>;
  private readonly duplicates: DuplicateKeyFilter;
  private readonly fence: SqliteRunFence;

  constructor(db: Database.Database, upsertKeys: readonly BarColumn[]) {
    this.fence = new SqliteRunFence(db);
    this.upsertChunk = db.prepare(barUpsertSql(upsertKeys, ROWS_PER_STATEMENT));
    this.upsertBar = db.prepare(barUpsertSql(upsertKeys));
    this.chunkParams = new Array<string | number | null>(ROWS_PER_STATEMENT * PARAMS_PER_ROW);
    this.insertReject = db.prepare(INSERT_REJECT);
    this.upsertCheckpoint = db.prepare(UPSERT_CHECKPOINT);
    this.deleteCoveredIncomplete = db.prepare(DELETE_COVERED_INCOMPLETE);
    this.deleteOverlappedProvisional = db.prepare(DELETE_OVERLAPPED_PROVISIONAL);
    this.duplicates = new DuplicateKeyFilter(upsertKeys);
    // better-sqlite3 rolls the transaction back when the function throws: all-or-nothing.
    this.write = db.transaction((batch: WriteBatch, now: number) => this.writeLocked(batch, now));
  }

  /** Writes the batch atomically; `now` stamps ingested_at and the checkpoint. */
  writeBatch(batch: WriteBatch, now: number): WriteResult {
    // IMMEDIATE takes the write lock up front, so a concurrent writer waits on busy_timeout
    // instead of failing at its first write with SQLITE_BUSY.
    return this.write.immediate(batch, now);
  }

  private writeLocked(batch: WriteBatch, now: number): WriteResult {
    const { bars, runId } = batch;
    // Under the write lock: a run marked abandoned before this point commits nothing.
    this.fence.check(batch.heldBy ?? runId);
    const { keep, result } = this.duplicates.collapse(bars);
    const params = this.chunkParams;
    let offset = 0;
    for (let i = 0; i < bars.length; i++) {
      if (keep !== undefined && keep[i] === 0) continue;
      const bar = bars[i] as Bar;
      params[offset++] = bar.provider;
      params[offset++] = bar.symbol;
      params[offset++] = bar.interval;
      params[offset++] = bar.ts;
      params[offset++] = bar.open;
      params[offset++] = bar.high;
      params[offset++] = bar.low;
      params[offset++] = bar.close;
      params[offset++] = bar.volume;
      params[offset++] = bar.vwap ?? null;
      params[offset++] = bar.tradeCount ?? null;
      params[offset++] = runId;
      params[offset++] = now;
      if (offset === params.length) {
        this.upsertChunk.run(params);
        offset = 0;
      }
    }
    for (let start = 0; start < offset; start += PARAMS_PER_ROW) {
      this.upsertBar.run(params.slice(start, start + PARAMS_PER_ROW));
    }

    for (const reject of batch.rejected ?? []) {
      this.insertReject.run(
        runId,
        reject.provider,
        reject.symbol,
        reject.interval,
        Number.isFinite(reject.ts) ? reject.ts : null,
        reject.reason,
        reject.raw,
      );
    }

    const checkpoint = batch.checkpoint;
    if (checkpoint !== undefined) {
      const complete = isCompleteCheckpoint(checkpoint);
      // A rerun with another chunk size covers an old short chunk without sharing its key.
      if (complete) this.deleteCoveredIncomplete.run(...checkpointKey(checkpoint));
      this.deleteOverlappedProvisional.run(...checkpointKey(checkpoint));
      this.upsertCheckpoint.run(
        ...checkpointUpsertValues(checkpoint, runId, now, (value) => (value ? 1 : 0)),
      );
    }
    return result;
  }
}

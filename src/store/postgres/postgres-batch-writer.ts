import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { BAR_COLUMNS, type BarColumn } from '../../core/bar.js';
import { checkpointKey, checkpointUpsertValues, isCompleteCheckpoint } from '../checkpoint-rows.js';
import { DuplicateKeyFilter } from '../duplicate-key-filter.js';
import type { RejectedBar, WriteBatch, WriteResult } from '../store.js';
import { PostgresCopyEncoder } from './postgres-copy-encoder.js';
import { timestamptzFromMs } from './postgres-timestamps.js';
import { PostgresRunFence } from './postgres-run-fence.js';
import { inTransaction } from './postgres-transaction.js';

/**
 * One temporary staging table per connection, created by the first batch of each session (and
 * again after anything drops it). ON COMMIT DELETE ROWS empties it at every commit, so it never
 * needs a DELETE, never bloats, and a rolled-back batch leaves nothing behind either.
 */
const BEGIN_AND_STAGE = `
  BEGIN;
  CREATE TEMP TABLE IF NOT EXISTS mdp_staging_bars (
    provider text, symbol text, interval text, ts timestamptz,
    open float8, high float8, low float8, close float8, volume float8, vwap float8,
    trade_count int8
  ) ON COMMIT DELETE ROWS`;

const COPY_INTO_STAGING = `COPY pg_temp.mdp_staging_bars (${BAR_COLUMNS.join(', ')}) FROM STDIN (FORMAT binary)`;

/** Bytes of `text` hashed to a short name, so one connection never sees one name with two texts. */
function statementName(prefix: string, text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return `${prefix}_${(hash >>> 0).toString(36)}`;
}

/** A rejected bar's ts, or null when timestamptz cannot hold it (the raw form keeps it anyway). */
function rejectedTs(ts: number): number | null {
  // timestamptz starts at 4714-11-24 BC; JavaScript dates end before timestamptz does.
  return Number.isFinite(ts) && ts >= -210_866_803_200_000 && ts <= 8.64e15 ? ts : null;
}

/**
 * The hot path. Per batch, in one transaction: the bars (in-batch duplicates collapsed, the last
 * one winning) go by binary COPY into the staging table, then one INSERT … SELECT … ON CONFLICT
 * DO UPDATE moves them into `bars_ohlcv`; rejects are one multi-row INSERT from arrays, and the
 * checkpoint one upsert. Nothing is written row by row.
 */
export class PostgresBatchWriter {
  private readonly upsert: pg.QueryConfig;
  private readonly insertRejects: string;
  private readonly upsertCheckpoint: string;
  private readonly deleteCoveredIncomplete: string;
  private readonly deleteOverlappedProvisional: string;
  private readonly duplicates: DuplicateKeyFilter;
  private readonly encoder = new PostgresCopyEncoder();
  private readonly fence: PostgresRunFence;

  constructor(
    private readonly pool: pg.Pool,
    /** The quoted schema, e.g. `"public"`. */
    schema: string,
    upsertKeys: readonly BarColumn[],
  ) {
    const columns = [...BAR_COLUMNS, 'run_id', 'ingested_at'];
    const updated = columns.filter((column) => !upsertKeys.includes(column as BarColumn));
    const upsertText =
      `INSERT INTO ${schema}.bars_ohlcv (${columns.join(', ')}) ` +
      `SELECT ${BAR_COLUMNS.join(', ')}, $1::bigint, ${timestamptzFromMs('$2')} ` +
      `FROM pg_temp.mdp_staging_bars ` +
      `ON CONFLICT (${upsertKeys.join(', ')}) DO UPDATE SET ` +
      updated.map((column) => `${column} = EXCLUDED.${column}`).join(', ');
    // Named, so each connection parses and plans it once rather than per batch.
    this.upsert = { name: statementName('mdp_upsert', upsertText), text: upsertText };
    this.insertRejects = `
      INSERT INTO ${schema}.bars_rejected (run_id, provider, symbol, interval, ts, reason, raw)
      SELECT $1::bigint, provider, symbol, interval,
        'epoch'::timestamptz + ts_ms * interval '1 millisecond', reason, raw
      FROM unnest($2::text[], $3::text[], $4::text[], $5::float8[], $6::text[], $7::text[])
        AS r (provider, symbol, interval, ts_ms, reason, raw)`;
    this.upsertCheckpoint = `
      INSERT INTO ${schema}.job_checkpoints
        (job_name, provider, symbol, interval, window_start, window_end, rows, run_id, completed_at,
          expected_rows, complete, provisional)
      VALUES ($1, $2, $3, $4, ${timestamptzFromMs('$5')}, ${timestamptzFromMs('$6')}, $7, $8,
        ${timestamptzFromMs('$9')}, $10, $11, $12)
      ON CONFLICT (job_name, provider, symbol, interval, window_start, window_end) DO UPDATE SET
        rows = EXCLUDED.rows, run_id = EXCLUDED.run_id, completed_at = EXCLUDED.completed_at,
        expected_rows = EXCLUDED.expected_rows, complete = EXCLUDED.complete,
        provisional = EXCLUDED.provisional`;
    // Provisional checkpoints the new one overlaps: see the SQLite writer for why.
    this.deleteOverlappedProvisional = `
      DELETE FROM ${schema}.job_checkpoints
      WHERE job_name = $1 AND provider = $2 AND symbol = $3 AND interval = $4 AND provisional
        AND window_end > ${timestamptzFromMs('$5')} AND window_start < ${timestamptzFromMs('$6')}`;
    // Incomplete checkpoints a complete one covers (their chunks were fetched again, whole).
    this.deleteCoveredIncomplete = `
      DELETE FROM ${schema}.job_checkpoints
      WHERE job_name = $1 AND provider = $2 AND symbol = $3 AND interval = $4 AND NOT complete
        AND window_start >= ${timestamptzFromMs('$5')} AND window_end <= ${timestamptzFromMs('$6')}`;
    this.duplicates = new DuplicateKeyFilter(upsertKeys);
    this.fence = new PostgresRunFence(schema);
  }

  /**
   * Writes the batch atomically; `now` stamps ingested_at and the checkpoint; `signal` cancels
   * the statement in flight.
   */
  async writeBatch(batch: WriteBatch, now: number, signal?: AbortSignal): Promise<WriteResult> {
    const { bars, runId, checkpoint } = batch;
    const rejected = batch.rejected ?? [];
    const { keep, result } = this.duplicates.collapse(bars);
    if (result.rowsWritten === 0 && rejected.length === 0 && checkpoint === undefined) {
      return result;
    }
    // Encoded before a connection is taken: a bar the encoder refuses costs no round trip.
    const data = result.rowsWritten > 0 ? this.encoder.encode(bars, keep) : undefined;

    await inTransaction(
      this.pool,
      BEGIN_AND_STAGE,
      async (client) => {
        if (data !== undefined) {
          const copy = client.query(copyFrom(COPY_INTO_STAGING));
          copy.end(data);
          await finished(copy);
          await client.query({ ...this.upsert, values: [runId, now] });
        }
        if (rejected.length > 0) await this.writeRejects(client, runId, rejected);
        if (checkpoint !== undefined) {
          const key = checkpointKey(checkpoint);
          // A rerun with another chunk size covers an old short chunk without sharing its key.
          if (isCompleteCheckpoint(checkpoint))
            await client.query(this.deleteCoveredIncomplete, key);
          await client.query(this.deleteOverlappedProvisional, key);
          await client.query(
            this.upsertCheckpoint,
            checkpointUpsertValues(checkpoint, runId, now, (value) => value),
          );
        }
        await this.fence.check(client, batch.heldBy ?? runId);
      },
      signal,
    );
    return result;
  }

  private async writeRejects(
    client: pg.PoolClient,
    runId: number,
    rejected: readonly RejectedBar[],
  ): Promise<void> {
    await client.query(this.insertRejects, [
      runId,
      rejected.map((r) => r.provider),
      rejected.map((r) => r.symbol),
      rejected.map((r) => r.interval),
      rejected.map((r) => rejectedTs(r.ts)),
      rejected.map((r) => r.reason),
      rejected.map((r) => r.raw),
    ]);
  }
}

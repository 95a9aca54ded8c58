import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import type { Bar } from '../../core/bar.js';
import type { Interval } from '../../core/interval.js';
import { StoreError } from '../../core/errors.js';
import type { Spool, SpooledBatch } from '../spool.js';
import type { RejectedBar } from '../store.js';
import { SqliteDatabase } from './sqlite-driver.js';
import { sqliteStoreError } from './sqlite-store-error.js';

/** Options of SqliteSpool. */
export interface SqliteSpoolOptions {
  /** The spool file; created on the first append, with its directory. */
  readonly path: string;
  /** `storage.spool.max_bars`: the bound on bars held, over all jobs. */
  readonly maxBars: number;
}

/** Bumped (with a step in `migrate`) if the layout below ever changes. */
const LAYOUT_VERSION = 1;

const CREATE = `
  CREATE TABLE IF NOT EXISTS spooled_batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_name TEXT NOT NULL,
    target TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    bar_count INTEGER NOT NULL,
    bars TEXT NOT NULL,
    rejected TEXT NOT NULL
  ) STRICT;
  CREATE INDEX IF NOT EXISTS spooled_batches_job ON spooled_batches (job_name, target, seq);`;

interface SpoolRow {
  seq: number;
  job_name: string;
  target: string;
  run_id: number;
  bars: string;
  rejected: string;
}

/**
 * The spool as one SQLite file beside the data. A batch is one row (its bars as JSON): appended
 * and removed whole, so a batch is never half in the spool. The file exists only once something
 * had to be spooled; reading a spool that was never written opens nothing.
 */
export class SqliteSpool implements Spool {
  readonly path: string;
  private db: Database.Database | undefined;

  constructor(private readonly options: SqliteSpoolOptions) {
    this.path = options.path;
  }

  async append(batch: Omit<SpooledBatch, 'seq'>): Promise<void> {
    this.guard('write', true, (db) => {
      db.transaction(() => {
        const held = this.heldBars(db);
        if (held + batch.bars.length > this.options.maxBars) {
          throw new StoreError(
            'MDP_STORE_SPOOL_FULL',
            'spool',
            `${this.path} already holds ${held} bars; ${batch.bars.length} more would pass ` +
              `storage.spool.max_bars (${this.options.maxBars}). Bring the primary storage back ` +
              'so the spool drains, or raise the bound.',
          );
        }
        db.prepare(
          `INSERT INTO spooled_batches (job_name, target, run_id, bar_count, bars, rejected)
           VALUES (?, ?, ?, ?, ?, ?)`,
        ).run(
          batch.jobName,
          batch.target,
          batch.runId,
          batch.bars.length,
          JSON.stringify(batch.bars),
          JSON.stringify(batch.rejected),
        );
      }).immediate();
    });
  }

  async oldest(jobName: string, target: string): Promise<SpooledBatch | undefined> {
    return this.guard('read', false, (db) => {
      const row = db
        .prepare<[string, string], SpoolRow>(
          `SELECT seq, job_name, target, run_id, bars, rejected FROM spooled_batches
           WHERE job_name = ? AND target = ? ORDER BY seq LIMIT 1`,
        )
        .get(jobName, target);
      if (row === undefined) return undefined;
      return {
        seq: row.seq,
        jobName: row.job_name,
        target: row.target,
        runId: row.run_id,
        bars: JSON.parse(row.bars) as Bar[],
        rejected: JSON.parse(row.rejected) as RejectedBar[],
      };
    });
  }

  async remove(seq: number): Promise<void> {
    this.guard('write', false, (db) => {
      db.prepare('DELETE FROM spooled_batches WHERE seq = ?').run(seq);
    });
  }

  async newestTs(
    jobName: string,
    target: string,
    series: { readonly provider: string; readonly interval: Interval },
  ): Promise<Map<string, number>> {
    // Bars are held as JSON (a batch is one row), so this reads through them; the spool is
    // bounded and only asked while it holds something.
    const rows =
      this.guard('read', false, (db) =>
        db
          .prepare<[string, string, string, string], { symbol: string; ts: number }>(
            `SELECT json_extract(bar.value, '$.symbol') AS symbol,
               max(json_extract(bar.value, '$.ts')) AS ts
             FROM spooled_batches, json_each(spooled_batches.bars) AS bar
             WHERE job_name = ? AND target = ?
               AND json_extract(bar.value, '$.provider') = ?
               AND json_extract(bar.value, '$.interval') = ?
             GROUP BY 1`,
          )
          .all(jobName, target, series.provider, series.interval),
      ) ?? [];
    return new Map(rows.map((row) => [row.symbol, row.ts]));
  }

  async depth(jobName?: string): Promise<number> {
    return (
      this.guard('read', false, (db) =>
        jobName === undefined
          ? this.heldBars(db)
          : (db
              .prepare<[string], { n: number }>(
                'SELECT COALESCE(SUM(bar_count), 0) AS n FROM spooled_batches WHERE job_name = ?',
              )
              .get(jobName)?.n ?? 0),
      ) ?? 0
    );
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    db?.close();
  }

  private heldBars(db: Database.Database): number {
    return (
      db
        .prepare<[], { n: number }>('SELECT COALESCE(SUM(bar_count), 0) AS n FROM spooled_batches')
        .get()?.n ?? 0
    );
  }

  /**
   * Runs `work` on the open file (opened or, with `create`, created on first use), turning
   * SQLite's errors into StoreErrors. Without `create`, a spool with no file yields undefined.
   */
  private guard<T>(
    action: 'read' | 'write',
    create: boolean,
    work: (db: Database.Database) => T,
  ): T | undefined {
    try {
      if (this.db === undefined) {
        if (!create && !existsSync(this.path)) return undefined;
        mkdirSync(dirname(this.path), { recursive: true });
        const db = new SqliteDatabase(this.path, { timeout: 5000 });
        try {
          db.pragma('journal_mode = WAL');
          // The spool is the last copy of its bars: a commit must survive a power cut.
          db.pragma('synchronous = FULL');
          if (db.pragma('user_version', { simple: true }) !== LAYOUT_VERSION) {
            db.exec(CREATE);
            db.pragma(`user_version = ${LAYOUT_VERSION}`);
          }
        } catch (error: unknown) {
          db.close();
          throw error;
        }
        this.db = db;
      }
      return work(this.db);
    } catch (error: unknown) {
      throw sqliteStoreError(error, this.path, action);
    }
  }
}

import type Database from 'better-sqlite3';
import {
  fullBucket,
  pausedUntil,
  takeToken,
  type BucketLevel,
  type BucketRate,
} from '../../core/bucket-level.js';
import type { BudgetTake } from '../provider-budgets.js';
import { bucketLevelFromRow, fullSinceColumn, type BudgetRow } from '../budget-rows.js';

const SQL = {
  select: `SELECT tokens, updated_at, full_since FROM provider_budgets WHERE provider = ?`,
  upsert: `
    INSERT INTO provider_budgets (provider, tokens, updated_at, full_since) VALUES (?, ?, ?, ?)
    ON CONFLICT (provider) DO UPDATE SET
      tokens = excluded.tokens, updated_at = excluded.updated_at, full_since = excluded.full_since`,
} as const;

/**
 * The `provider_budgets` half of SqliteStore. Each take reads and writes its row inside one
 * BEGIN IMMEDIATE transaction: the file's write lock makes it atomic across processes (another
 * waits on busy_timeout, as every write does), and a missing row is created under that lock.
 * Timed by `clock`: this host's, as every process on the file runs on this host.
 */
export class SqliteProviderBudgets {
  private readonly select: Database.Statement<[string], BudgetRow>;
  private readonly upsert: Database.Statement<[string, number, number, number | null]>;
  private readonly takeTx: (provider: string, rate: BucketRate) => number;
  private readonly pauseTx: (provider: string, ms: number) => void;

  constructor(
    db: Database.Database,
    private readonly clock: () => number,
  ) {
    this.select = db.prepare(SQL.select);
    this.upsert = db.prepare(SQL.upsert);
    const take = db.transaction((provider: string, rate: BucketRate): number => {
      const now = this.clock();
      const stored = this.level(provider);
      const { level, waitMs } = takeToken(stored ?? fullBucket(rate, now), rate, now);
      if (waitMs === 0) this.write(provider, level);
      return waitMs;
    });
    const pause = db.transaction((provider: string, ms: number): void => {
      const now = this.clock();
      // A pause of a provider nobody took from yet: its row starts empty.
      const stored = this.level(provider) ?? { tokens: 0, updatedAt: now, fullSince: -Infinity };
      this.write(provider, pausedUntil(stored, now + ms));
    });
    this.takeTx = (provider, rate) => take.immediate(provider, rate);
    this.pauseTx = (provider, ms) => pause.immediate(provider, ms);
  }

  /** ProviderBudgets.take, synchronous as better-sqlite3 is. */
  take(provider: string, rate: BucketRate | undefined): BudgetTake {
    // Without a rate only a pause holds a take back: a read, no write lock.
    const waitMs =
      rate === undefined
        ? Math.max(0, (this.level(provider)?.updatedAt ?? -Infinity) - this.clock())
        : this.takeTx(provider, rate);
    return waitMs === 0 ? { granted: true } : { granted: false, waitMs };
  }

  /** ProviderBudgets.pause, synchronous as better-sqlite3 is. */
  pause(provider: string, ms: number): void {
    this.pauseTx(provider, ms);
  }

  private level(provider: string): BucketLevel | undefined {
    const row = this.select.get(provider);
    return row === undefined ? undefined : bucketLevelFromRow(row);
  }

  private write(provider: string, level: BucketLevel): void {
    this.upsert.run(provider, level.tokens, level.updatedAt, fullSinceColumn(level));
  }
}

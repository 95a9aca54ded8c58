import type Database from 'better-sqlite3';
import {
  fullBucket,
  heldRate,
  heldTo,
  pausedUntil,
  takeToken,
  type BucketLevel,
  type BucketRate,
  type HeldRate,
} from '../../core/bucket-level.js';
import type { BudgetTake } from '../provider-budgets.js';
import {
  bucketLevelFromRow,
  budgetTake,
  fullSinceColumn,
  heldRateFromRow,
  type BudgetRow,
} from '../budget-rows.js';

/** The `mdp_meta` key of the latest clock reading any take or pause on the file wrote. */
const CLOCK_MARK_KEY = 'budgets_clock';

const SQL = {
  select: `
    SELECT tokens, updated_at, full_since, rate_per_ms, rate_asserted_at, burst, burst_asserted_at
    FROM provider_budgets WHERE provider = ?`,
  upsert: `
    INSERT INTO provider_budgets (provider, tokens, updated_at, full_since) VALUES (?, ?, ?, ?)
    ON CONFLICT (provider) DO UPDATE SET
      tokens = excluded.tokens, updated_at = excluded.updated_at, full_since = excluded.full_since`,
  hold: `
    UPDATE provider_budgets SET
      rate_per_ms = ?, rate_asserted_at = ?, burst = ?, burst_asserted_at = ?
    WHERE provider = ?`,
  mark: `SELECT value FROM mdp_meta WHERE key = '${CLOCK_MARK_KEY}'`,
  setMark: `
    INSERT INTO mdp_meta (key, value) VALUES ('${CLOCK_MARK_KEY}', ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  shift: `
    UPDATE provider_budgets SET updated_at = updated_at - @by, full_since = full_since - @by,
      rate_asserted_at = rate_asserted_at - @by, burst_asserted_at = burst_asserted_at - @by`,
} as const;

/**
 * The `provider_budgets` half of SqliteStore. Each take reads and writes its row inside one
 * BEGIN IMMEDIATE transaction: the file's write lock makes it atomic across processes, and a
 * missing row is created under that lock. A take or pause tries for the lock once, without
 * SQLite's busy wait (which would block the event loop): SqliteStore waits between tries.
 *
 * Timed by `clock`: this host's, as every process on the file runs on this host. That is the
 * wall clock, which can step back (NTP, a VM resumed, `date -s`): a row written before the step
 * would lie in the future by the size of the step and hold the provider as long. So every write
 * also records the clock it read (mdp_meta), and a reading behind that record moves every row
 * back by the difference: the budgets keep the waits they had, not the step.
 */
export class SqliteProviderBudgets {
  private readonly select: Database.Statement<[string], BudgetRow>;
  private readonly upsert: Database.Statement<[string, number, number, number | null]>;
  private readonly mark: Database.Statement<[], { value: string }>;
  private readonly setMark: Database.Statement<[string]>;
  private readonly hold: Database.Statement<[number, number, number, number, string]>;
  private readonly shift: Database.Statement<[{ by: number }]>;
  private readonly takeTx: (provider: string, rate: BucketRate) => BudgetTake;
  private readonly pauseTx: (provider: string, ms: number) => void;
  /** The connection's busy_timeout, put back after each try without it. */
  private readonly busyTimeoutMs: number;

  constructor(
    private readonly db: Database.Database,
    private readonly clock: () => number,
  ) {
    this.select = db.prepare(SQL.select);
    this.upsert = db.prepare(SQL.upsert);
    this.mark = db.prepare(SQL.mark);
    this.setMark = db.prepare(SQL.setMark);
    this.hold = db.prepare(SQL.hold);
    this.shift = db.prepare(SQL.shift);
    this.busyTimeoutMs = db.pragma('busy_timeout', { simple: true }) as number;
    const take = db.transaction((provider: string, own: BucketRate): BudgetTake => {
      const now = this.steadyNow();
      const row = this.select.get(provider);
      const before = row === undefined ? undefined : heldRateFromRow(row);
      const held = heldRate(before, own, now);
      const rate = heldTo(own, held);
      const stored = row === undefined ? fullBucket(rate, now) : bucketLevelFromRow(row);
      const { level, waitMs } = takeToken(stored, rate, now);
      if (waitMs === 0) this.write(provider, level);
      // A refused take asserts its rate too: a strict process outasked by a generous one is
      // still taking from the bucket, and must keep holding it.
      if (!sameHeldRate(before, held)) this.writeHeld(provider, held);
      return budgetTake(waitMs, own, held);
    });
    const pause = db.transaction((provider: string, ms: number): void => {
      const now = this.steadyNow();
      // A pause of a provider nobody took from yet: its row starts empty.
      const stored = this.level(provider) ?? { tokens: 0, updatedAt: now, fullSince: -Infinity };
      this.write(provider, pausedUntil(stored, now + ms));
    });
    this.takeTx = (provider, rate) => this.withoutBusyWait(() => take.immediate(provider, rate));
    this.pauseTx = (provider, ms) => this.withoutBusyWait(() => pause.immediate(provider, ms));
  }

  /**
   * One try at ProviderBudgets.take, synchronous as better-sqlite3 is; throws SQLITE_BUSY at once
   * while another connection holds the file's write lock.
   */
  take(provider: string, rate: BucketRate | undefined): BudgetTake {
    if (rate !== undefined) return this.takeTx(provider, rate);
    return budgetTake(this.pauseLeft(provider), undefined, undefined);
  }

  /** One try at ProviderBudgets.pause, as take. */
  pause(provider: string, ms: number): void {
    this.pauseTx(provider, ms);
  }

  /**
   * Without a rate only a pause holds a take back: a read, no write lock. A clock stepped back
   * since the last write is read as if it stood at that write (see the class).
   */
  private pauseLeft(provider: string): number {
    const now = Math.max(this.clock(), this.lastMark() ?? -Infinity);
    return Math.max(0, (this.level(provider)?.updatedAt ?? -Infinity) - now);
  }

  /** The clock, inside a write: rows moved back by any step back since the last write. */
  private steadyNow(): number {
    const now = this.clock();
    const last = this.lastMark();
    if (last !== undefined && last > now) this.shift.run({ by: last - now });
    if (last !== now) this.setMark.run(String(now));
    return now;
  }

  private lastMark(): number | undefined {
    const row = this.mark.get();
    return row === undefined ? undefined : Number(row.value);
  }

  /** SQLite's busy handler sleeps on this thread: it would freeze every timer and signal. */
  private withoutBusyWait<T>(work: () => T): T {
    this.db.pragma('busy_timeout = 0');
    try {
      return work();
    } finally {
      this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
  }

  private level(provider: string): BucketLevel | undefined {
    const row = this.select.get(provider);
    return row === undefined ? undefined : bucketLevelFromRow(row);
  }

  private write(provider: string, level: BucketLevel): void {
    this.upsert.run(provider, level.tokens, level.updatedAt, fullSinceColumn(level));
  }

  private writeHeld(provider: string, held: HeldRate): void {
    const { ratePerMs, rateAssertedAt, burst, burstAssertedAt } = held;
    this.hold.run(ratePerMs, rateAssertedAt, burst, burstAssertedAt, provider);
  }
}

function sameHeldRate(a: HeldRate | undefined, b: HeldRate): boolean {
  return (
    a !== undefined &&
    a.ratePerMs === b.ratePerMs &&
    a.rateAssertedAt === b.rateAssertedAt &&
    a.burst === b.burst &&
    a.burstAssertedAt === b.burstAssertedAt
  );
}

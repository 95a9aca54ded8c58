import type pg from 'pg';
import {
  pausedUntil,
  takeToken,
  type BucketLevel,
  type BucketRate,
} from '../../core/bucket-level.js';
import { BudgetLockWaits, budgetLockedError } from '../budget-lock-waits.js';
import { bucketLevelFromRow, fullSinceColumn, type BudgetRow } from '../budget-rows.js';
import type { BudgetTake, ProviderBudgets } from '../provider-budgets.js';
import { cancellableQuery } from './postgres-cancellable-connection.js';
import { inTransaction } from './postgres-transaction.js';

/**
 * How long a take or pause waits for its provider's row, whatever `storage.primary.lock_timeout`
 * says: a take holds the row for a few round trips, so a holder past a second is frozen (SIGSTOP,
 * a paused VM) or stuck, and the process had better pace itself than wait out lock_timeout for
 * each request.
 */
export const POSTGRES_BUDGET_LOCK_WAIT_MS = 1000;

/** lock_not_available: here, the row's lock not granted within the take's lock_timeout. */
const LOCK_NOT_AVAILABLE = '55P03';

/** The `mdp_meta` key of the database clock a provider's row was last written at. */
function clockMarkKey(provider: string): string {
  return `budgets_clock:${provider}`;
}

/** SQL for the database's clock in epoch ms, or the test's stand-in in parameter `$n`. */
function budgetNow(parameter: string): string {
  return `COALESCE(${parameter}::float8, (extract(epoch from clock_timestamp()) * 1000)::float8)`;
}

/**
 * The `provider_budgets` half of PostgresStore. A take is one transaction: the upsert creates a
 * missing row (full) or locks the existing one, and returns it with the database's clock read
 * after the lock was granted; the new level is written and committed before the lock is let go.
 * Every process is timed by the database's clock, never its host's: hosts' clocks may disagree,
 * and a bucket's refill is a difference of two readings of one clock. That clock is a wall clock
 * and can step back; each write also records the reading it was made at (mdp_meta, one key per
 * provider, written under the row's lock) so a take can tell a step back from a pause.
 */
export class PostgresProviderBudgets implements ProviderBudgets {
  private readonly sql: { readonly lock: string; readonly write: string; readonly read: string };
  private readonly lockWaits = new BudgetLockWaits(POSTGRES_BUDGET_LOCK_WAIT_MS);

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    /** Stands in for the database's clock (tests that move time); undefined in production. */
    private readonly databaseClock?: () => number,
  ) {
    const s = schema;
    this.sql = {
      // DO UPDATE (not DO NOTHING) so the row comes back locked whether it was there or not.
      lock: `
        INSERT INTO ${s}.provider_budgets AS b (provider, tokens, updated_at, full_since)
        VALUES ($1, $2, ${budgetNow('$3')}, NULL)
        ON CONFLICT (provider) DO UPDATE SET provider = b.provider
        RETURNING tokens, updated_at, full_since, ${budgetNow('$3')} AS now,
          (SELECT value::float8 FROM ${s}.mdp_meta WHERE key = $4) AS mark`,
      // The row and the clock it was written at, in one round trip.
      write: `
        WITH written AS (
          UPDATE ${s}.provider_budgets SET tokens = $2, updated_at = $3, full_since = $4
          WHERE provider = $1)
        INSERT INTO ${s}.mdp_meta (key, value) VALUES ($5, $6)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      // GREATEST skips a NULL mark (a row never written since marks were kept).
      read: `
        SELECT updated_at - GREATEST(${budgetNow('$2')},
          (SELECT value::float8 FROM ${s}.mdp_meta WHERE key = $3)) AS left
        FROM ${s}.provider_budgets WHERE provider = $1`,
    };
  }

  async take(
    provider: string,
    rate: BucketRate | undefined,
    signal?: AbortSignal,
  ): Promise<BudgetTake> {
    const waitMs =
      rate === undefined
        ? await this.pauseLeft(provider, signal)
        : await this.onRow(provider, signal, async (client) => {
            const { stored, now } = await this.lock(client, provider, rate.burst);
            const { level, waitMs: left } = takeToken(stored, rate, now);
            if (left === 0) await this.write(client, provider, level, now);
            return left;
          });
    return waitMs === 0 ? { granted: true } : { granted: false, waitMs };
  }

  async pause(provider: string, ms: number): Promise<void> {
    // A provider nobody took from yet gets its row, empty (tokens 0) until the pause ends.
    await this.onRow(provider, undefined, async (client) => {
      const { stored, now } = await this.lock(client, provider, 0);
      await this.write(client, provider, pausedUntil(stored, now + ms), now);
    });
  }

  /** Without a rate only a pause holds a take back: one read, no lock. */
  private async pauseLeft(provider: string, signal: AbortSignal | undefined): Promise<number> {
    const result = await cancellableQuery<{ left: number }>(
      this.pool,
      this.sql.read,
      [provider, this.standIn(), clockMarkKey(provider)],
      signal,
    );
    return Math.max(0, result.rows[0]?.left ?? 0);
  }

  /**
   * Runs `work` in one transaction that waits for the provider's row no longer than its lock wait
   * (SET LOCAL: the pool's lock_timeout stays for every other statement), cancelled when `signal`
   * aborts; a wait that runs out fails as MDP_STORE_BUSY.
   */
  private async onRow<T>(
    provider: string,
    signal: AbortSignal | undefined,
    work: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    const waitMs = this.lockWaits.waitMs(provider);
    try {
      const result = await inTransaction(
        this.pool,
        `BEGIN; SET LOCAL lock_timeout = ${Math.max(1, Math.round(waitMs))}`,
        work,
        signal,
      );
      this.lockWaits.got(provider);
      return result;
    } catch (error: unknown) {
      if (!(error instanceof Error && 'code' in error && error.code === LOCK_NOT_AVAILABLE)) {
        throw error;
      }
      this.lockWaits.ranOut(provider);
      const where = `${this.schema}.provider_budgets`;
      throw budgetLockedError('postgres', provider, where, waitMs, error);
    }
  }

  /**
   * Locks the provider's row (made full if missing) and reads it with the database's clock. A
   * clock behind the one the row was last written at (the server's clock stepped back) moves
   * the row back by the difference, or it would lie in the future and hold the provider for
   * the size of the step.
   */
  private async lock(
    client: pg.PoolClient,
    provider: string,
    tokens: number,
  ): Promise<{ stored: BucketLevel; now: number }> {
    const result = await client.query<BudgetRow & { now: number; mark: number | null }>(
      this.sql.lock,
      [provider, tokens, this.standIn(), clockMarkKey(provider)],
    );
    const row = result.rows[0] as BudgetRow & { now: number; mark: number | null };
    const level = bucketLevelFromRow(row);
    const behindMs = (row.mark ?? -Infinity) - row.now;
    const stored =
      behindMs > 0
        ? {
            tokens: level.tokens,
            updatedAt: level.updatedAt - behindMs,
            fullSince: level.fullSince - behindMs,
          }
        : level;
    return { stored, now: row.now };
  }

  /** Writes the row and the database clock it was written at (see lock). */
  private async write(
    client: pg.PoolClient,
    provider: string,
    level: BucketLevel,
    now: number,
  ): Promise<void> {
    await client.query(this.sql.write, [
      provider,
      level.tokens,
      level.updatedAt,
      fullSinceColumn(level),
      clockMarkKey(provider),
      String(now),
    ]);
  }

  private standIn(): number | null {
    return this.databaseClock?.() ?? null;
  }
}

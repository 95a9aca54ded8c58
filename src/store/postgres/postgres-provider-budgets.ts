import type pg from 'pg';
import type { BucketRate } from '../../core/bucket-level.js';
import { BudgetLockWaits, budgetLockedError } from '../budget-lock-waits.js';
import { budgetTake } from '../budget-rows.js';
import type { BudgetTake, ProviderBudgets } from '../provider-budgets.js';
import { cancellableQuery } from './postgres-cancellable-connection.js';

/**
 * How long a take or pause waits for its provider's row, whatever `storage.primary.lock_timeout`
 * says: a take holds the row for one statement, so a holder past a second is frozen (SIGSTOP,
 * a paused VM) or stuck, and the process had better pace itself than wait out lock_timeout for
 * each request.
 */
export const POSTGRES_BUDGET_LOCK_WAIT_MS = 1000;

/** What `mdp_budget_take` answers: the wait (0: granted), and the rate and burst it held to. */
interface TakeRow {
  readonly o_wait_ms: number;
  readonly o_rate_per_ms: number;
  readonly o_burst: number;
}

/** lock_not_available: here, the row's lock not granted within the take's lock_timeout. */
const LOCK_NOT_AVAILABLE = '55P03';

/** The `mdp_meta` key of the database clock a provider's row was last taken or paused at. */
function clockMarkKey(provider: string): string {
  return `budgets_clock:${provider}`;
}

/**
 * The `provider_budgets` half of PostgresStore. A take or a pause is one statement, one round
 * trip: a function of the schema (postgres-budget-rule.ts, migration 9) locks the provider's row
 * (created full if missing), reads the database's clock once the lock is granted, applies the
 * bucket rule and writes the row before the statement's transaction lets the lock go. Every
 * process is timed by the database's clock, never its host's: hosts' clocks may disagree, and a
 * bucket's refill is a difference of two readings of one clock. That clock is a wall clock and
 * can step back; each take and pause also records the reading it was made at (mdp_meta, one key
 * per provider, written under the row's lock) so a take can tell a step back from a pause.
 */
export class PostgresProviderBudgets implements ProviderBudgets {
  private readonly sql: { readonly take: string; readonly pause: string; readonly read: string };
  private readonly lockWaits = new BudgetLockWaits(POSTGRES_BUDGET_LOCK_WAIT_MS);

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    /** Stands in for the database's clock (tests that move time); undefined in production. */
    private readonly databaseClock?: () => number,
  ) {
    const s = schema;
    this.sql = {
      take: `SELECT o_wait_ms, o_rate_per_ms, o_burst FROM ${s}.mdp_budget_take($1::text,
        $2::float8, $3::float8, $4::float8, $5::text, $6::integer, $7::text, $8::float8)`,
      pause: `SELECT ${s}.mdp_budget_pause($1::text, $2::float8, $3::integer, $4::text,
        $5::float8)`,
      // GREATEST skips a NULL mark (a row never written since marks were kept).
      read: `
        SELECT updated_at - GREATEST(
          COALESCE($2::float8, (extract(epoch from clock_timestamp()) * 1000)::float8),
          (SELECT value::float8 FROM ${s}.mdp_meta WHERE key = $3)) AS left
        FROM ${s}.provider_budgets WHERE provider = $1`,
    };
  }

  async take(
    provider: string,
    rate: BucketRate | undefined,
    signal?: AbortSignal,
  ): Promise<BudgetTake> {
    if (rate === undefined) {
      return budgetTake(await this.pauseLeft(provider, signal), undefined, undefined);
    }
    const row = await this.onRow(provider, signal, async (lockMs) => {
      const result = await cancellableQuery<TakeRow>(
        this.pool,
        this.sql.take,
        [
          provider,
          rate.burst,
          rate.ratePerMs,
          rate.phaseMarginMs,
          rate.margin ?? 'quiet',
          lockMs,
          clockMarkKey(provider),
          this.standIn(),
        ],
        signal,
      );
      return result.rows[0] as TakeRow;
    });
    const held = { ratePerMs: row.o_rate_per_ms, burst: row.o_burst };
    return budgetTake(row.o_wait_ms, rate, held);
  }

  async pause(provider: string, ms: number): Promise<void> {
    await this.onRow(provider, undefined, async (lockMs) => {
      await this.pool.query(this.sql.pause, [
        provider,
        ms,
        lockMs,
        clockMarkKey(provider),
        this.standIn(),
      ]);
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
   * Runs `statement`, which waits for the provider's row no longer than the lock wait it is
   * given (BudgetLockWaits); a wait that runs out fails as MDP_STORE_BUSY.
   */
  private async onRow<T>(
    provider: string,
    signal: AbortSignal | undefined,
    statement: (lockMs: number) => Promise<T>,
  ): Promise<T> {
    const waitMs = this.lockWaits.waitMs(provider);
    try {
      const result = await statement(Math.max(1, Math.round(waitMs)));
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

  private standIn(): number | null {
    return this.databaseClock?.() ?? null;
  }
}

import type { BucketRate } from '../../core/bucket-level.js';
import { StoreError } from '../../core/errors.js';
import type { BudgetTake, ProviderBudgets } from '../../store/provider-budgets.js';
import type { Timing } from '../timing.js';
import { ArrivalQueue } from './arrival-queue.js';
import { bucketRate, estimatePacingMs, type PacingBucket } from './token-bucket.js';

/**
 * The phase margin (see DEFAULT_PHASE_MARGIN_MS) of a bucket shared by processes: the delays of
 * requests from several processes differ far more than one process's do. Each process opens its
 * connection (TCP, TLS) with its first request, and processes compete for the CPU (measured
 * here: 40 ms and more on a loaded machine drew 429s against 25 ms of margin, and still one run
 * in ten against 250 ms; a first request over TLS to a distant provider takes hundreds).
 */
export const STORE_PHASE_MARGIN_MS = 500;

/**
 * The rate of a shared bucket. A take near full pays what is left of the margin (see
 * BucketRate.margin): a margin paid only after a quiet period is lost whenever demand dips and
 * the server's bucket fills. A stream at the full rate takes its last token and pays nothing; a
 * burst of 1 has only its last token, so it keeps the in-process rule (a take after the bucket
 * sat full for the margin).
 */
export function sharedBucketRate(burst: number, requestsPerMinute: number): BucketRate {
  const rate = bucketRate({ burst, requestsPerMinute, phaseMarginMs: STORE_PHASE_MARGIN_MS });
  return burst > 1 ? { ...rate, margin: 'near-full' } : rate;
}

/** What a StoreTokenBucket draws from, and what it falls back on. */
export interface StoreTokenBucketOptions {
  readonly provider: string;
  readonly budgets: ProviderBudgets;
  /** The provider's rate; undefined for a provider without one (only a 429's pause holds it). */
  readonly rate: BucketRate | undefined;
  /**
   * Paces this process alone while the store cannot answer (its database is down): a live run
   * keeps fetching into the spool rather than stopping for its pacing. Told about every pause.
   */
  readonly fallback: PacingBucket;
  readonly timing: Timing;
  /**
   * The store could not answer; the process paces itself until it can. Told once per outage (the
   * first failure after an answer), not at every take.
   */
  readonly onStoreUnavailable?: (error: StoreError) => void;
  /**
   * The store held this process to a stricter rate or burst than its own (another process on the
   * store configures the provider so): told once per held rate and burst, not at every take.
   */
  readonly onHeldToStricter?: (own: BucketRate, held: HeldPacing) => void;
}

/** The rate and burst a shared budget held a take to. */
export type HeldPacing = NonNullable<BudgetTake['heldTo']>;

/** A rate and burst as `pacing:` says them: `60/min burst 1`. */
export function pacingText(pacing: HeldPacing): string {
  // Six digits: 60 requests a minute is 0.001 a ms, and 0.001 * 60000 is not quite 60.
  const perMinute = Number((pacing.ratePerMs * 60_000).toPrecision(6));
  return `${perMinute}/min burst ${pacing.burst}`;
}

/**
 * A provider's bucket kept in the store (ProviderBudgets), shared by every process on it, so
 * processes that each pace themselves to the provider's limit do not together exceed it. Local
 * waiters still queue in arrival order, one take in flight per provider per process: ten waiting
 * chunks ask the store once per wait, not ten times.
 */
export class StoreTokenBucket implements PacingBucket {
  private readonly queue = new ArrivalQueue();
  private unavailable = false;
  private rate: BucketRate | undefined;
  /** The held rate last told of (see onHeldToStricter), as `ratePerMs/burst`. */
  private toldHeld: string | undefined;

  constructor(private readonly options: StoreTokenBucketOptions) {
    this.rate = options.rate;
  }

  /** The provider's new rate (a reload): the store's row keeps its level and pause. */
  reconfigure(rate: BucketRate | undefined): void {
    this.rate = rate;
    this.toldHeld = undefined;
  }

  acquire(signal?: AbortSignal): Promise<void> {
    return this.queue.turn(() => this.take(signal), signal);
  }

  /**
   * Pauses the provider for every process on the store. Not queued behind local waiters: other
   * processes must learn of the 429 now, and a waiter asleep here finds the pause at its next take.
   */
  async pause(ms: number): Promise<void> {
    await this.options.fallback.pause(ms);
    try {
      await this.options.budgets.pause(this.options.provider, ms);
    } catch (error: unknown) {
      this.storeFailed(error);
    }
  }

  estimateMs(requests: number): number {
    const rate = this.rate;
    return rate === undefined ? 0 : estimatePacingMs(rate, requests);
  }

  private async take(signal?: AbortSignal): Promise<void> {
    const { budgets, provider, timing } = this.options;
    for (;;) {
      signal?.throwIfAborted();
      let answer: BudgetTake;
      try {
        answer = await budgets.take(provider, this.rate, signal);
      } catch (error: unknown) {
        this.storeFailed(error);
        return this.options.fallback.acquire(signal);
      }
      this.unavailable = false;
      if (answer.heldTo !== undefined) this.heldTo(answer.heldTo);
      if (answer.granted) return;
      await timing.sleep(answer.waitMs, signal);
    }
  }

  private heldTo(held: HeldPacing): void {
    const key = `${held.ratePerMs}/${held.burst}`;
    if (this.rate === undefined || key === this.toldHeld) return;
    this.toldHeld = key;
    this.options.onHeldToStricter?.(this.rate, held);
  }

  /** Rethrows what is not the store's failure; tells of an outage once. */
  private storeFailed(error: unknown): void {
    if (!(error instanceof StoreError)) throw error;
    if (!this.unavailable) this.options.onStoreUnavailable?.(error);
    this.unavailable = true;
  }
}

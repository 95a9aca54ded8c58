import type { Logger } from 'pino';
import type { Bar } from '../../core/bar.js';
import type { Interval } from '../../core/interval.js';
import type { RetryConfig } from '../../core/config/config-schema.js';
import { JobSupersededError, StoreError, toError } from '../../core/errors.js';
import { backoffDelayMs } from '../policies/retry-policy.js';
import type {
  CheckpointInput,
  RejectedBar,
  Store,
  WriteBatch,
  WriteResult,
} from '../../store/store.js';
import type { Timing } from '../timing.js';
import type { RunEvents } from '../run-events.js';
import type { Spool } from '../../store/spool.js';
import type { RunTotalsCounter } from './run-totals-counter.js';
import { SerialLock } from './serial-lock.js';

export interface BarSinkOptions {
  readonly store: Store;
  readonly runId: number;
  readonly jobName: string;
  readonly provider: string;
  readonly batchSize: number;
  readonly writeEnabled: boolean;
  readonly events: RunEvents;
  readonly totals: RunTotalsCounter;
  readonly timing: Timing;
  /** `storage.primary.write.retry`: for writes that failed transiently. */
  readonly retry: RetryConfig;
  readonly random: () => number;
  /**
   * Cancels the wait between storage retries, and a write still waiting on the server (for a
   * lock another session holds): that batch is rolled back whole.
   */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /**
   * `storage.spool`: batches spooled earlier are written to the primary before anything new;
   * with `keep`, a batch the primary cannot take after its retries is spooled instead of failing.
   */
  readonly spool?: {
    readonly spool: Spool;
    readonly keep: boolean;
    /**
     * Shared by the sinks of one run: concurrent lanes drain one at a time, or two would read the
     * same oldest batch and both write it.
     */
    readonly drainLock?: SerialLock;
  };
}

/** The bounded `kind` label of a storage error: its code without the prefix, e.g. `busy`. */
export function storageErrorKind(error: Error): string {
  return error instanceof StoreError
    ? error.code.replace(/^MDP_STORE_/, '').toLowerCase()
    : 'unknown';
}

/**
 * Writes validated bars in batches of `batch_size`, each one transaction. Rejects ride with the
 * first batch and the chunk's checkpoint with the last, so a checkpoint never exists without its
 * bars.
 */
export class BarSink {
  /** Whether the spool may hold batches of this job; unknown (true) until looked at. */
  private spoolMayHold = true;
  private readonly drainLock: SerialLock;

  constructor(private readonly options: BarSinkOptions) {
    this.drainLock = options.spool?.drainLock ?? new SerialLock();
  }

  async write(
    bars: readonly Bar[],
    rejected: readonly RejectedBar[],
    checkpoint?: CheckpointInput,
  ): Promise<void> {
    const { runId, batchSize, totals } = this.options;
    totals.rejected += rejected.length;
    this.reportRejected(rejected);
    if (!this.options.writeEnabled) {
      totals.skipped += bars.length;
      return;
    }
    const batchCount = Math.max(1, Math.ceil(bars.length / batchSize));
    for (let index = 0; index < batchCount; index++) {
      const slice =
        bars.length <= batchSize ? bars : bars.slice(index * batchSize, (index + 1) * batchSize);
      const first = index === 0;
      const last = index === batchCount - 1;
      if (slice.length === 0 && !(first && rejected.length > 0) && !(last && checkpoint)) continue;
      const batch: WriteBatch = {
        runId,
        bars: slice,
        rejected: first ? rejected : undefined,
        checkpoint: last ? checkpoint : undefined,
      };
      // A checkpoint must commit with its bars in the primary, so only plain batches are spooled.
      const spoolable = this.options.spool?.keep === true && batch.checkpoint === undefined;
      // Spooled batches go first, so the primary receives bars in the order they were fetched.
      const reachable = await this.drainSpool();
      if (!reachable && spoolable) {
        await this.keep(batch, undefined);
        continue;
      }
      const started = this.options.timing.monotonic();
      let result: WriteResult;
      try {
        result = await this.writeWithRetry(batch);
      } catch (error: unknown) {
        if (!(error instanceof StoreError && error.transient && spoolable)) throw error;
        await this.keep(batch, error);
        continue;
      }
      this.count(slice.length, result, started);
    }
  }

  /**
   * Writes the job's spooled batches to the primary, oldest first, each removed from the spool
   * once committed (a crash in between rewrites it: upserts make that harmless). Resolves false
   * while the primary is still unreachable; other errors are thrown.
   */
  drainSpool(): Promise<boolean> {
    return this.drainLock.run(() => this.drainOldestFirst());
  }

  /**
   * Open time of the newest spooled bar per symbol of this job's series (none when nothing is
   * spooled): bars the primary has not taken yet but that need no fetching again.
   */
  async spooledNewest(interval: Interval): Promise<ReadonlyMap<string, number>> {
    const setting = this.options.spool;
    if (setting === undefined || !this.spoolMayHold || !this.options.writeEnabled) return new Map();
    const { store, jobName, provider } = this.options;
    return setting.spool.newestTs(jobName, store.target, { provider, interval });
  }

  private async drainOldestFirst(): Promise<boolean> {
    const setting = this.options.spool;
    // With writes disabled the primary is not to be touched, spooled bars included.
    if (setting === undefined || !this.spoolMayHold || !this.options.writeEnabled) return true;
    const { store, jobName, events, logger } = this.options;
    for (let drained = 0; ; drained++) {
      const next = await setting.spool.oldest(jobName, store.target);
      if (next === undefined) {
        this.spoolMayHold = false;
        // After a drain its last removal has said 0 already; otherwise this is the first word.
        if (drained === 0) {
          events.emit('spool:depth', { jobName, bars: await setting.spool.depth(jobName) });
        }
        return true;
      }
      const started = this.options.timing.monotonic();
      let result: WriteResult;
      try {
        result = await store.writeBatch(
          {
            runId: next.runId,
            bars: next.bars,
            rejected: next.rejected,
            // Committed by this run: it must still hold the job, whichever run fetched the bars.
            heldBy: this.options.runId,
          },
          this.options.signal,
        );
      } catch (thrown: unknown) {
        // Not a storage fault: this run lost its job, and the batch stays for the run holding it.
        if (thrown instanceof JobSupersededError) throw thrown;
        const error = toError(thrown);
        const transient = error instanceof StoreError && error.transient;
        events.emit('storage:error', {
          storage: store.kind,
          kind: storageErrorKind(error),
          error,
          willRetry: transient,
        });
        if (transient) return false;
        throw error;
      }
      await setting.spool.remove(next.seq);
      this.count(next.bars.length, result, started);
      const depth = await setting.spool.depth(jobName);
      events.emit('spool:depth', { jobName, bars: depth });
      logger.info(
        { storage: store.kind, bars: next.bars.length, runId: next.runId, spoolDepth: depth },
        'primary storage is back: spooled batch written',
      );
    }
  }

  /** Keeps a batch in the spool; `cause` is why the primary did not take it. */
  private async keep(batch: WriteBatch, cause: StoreError | undefined): Promise<void> {
    const { spool } = this.options.spool as { spool: Spool };
    const { store, jobName, events, logger } = this.options;
    try {
      await spool.append({
        jobName,
        target: store.target,
        runId: batch.runId,
        bars: batch.bars,
        rejected: batch.rejected ?? [],
      });
    } catch (thrown: unknown) {
      const error = toError(thrown);
      logger.error(
        { err: error.message, primaryError: cause?.message },
        'primary storage unreachable and the spool refused the batch',
      );
      throw error;
    }
    this.spoolMayHold = true;
    const depth = await spool.depth(jobName);
    events.emit('spool:depth', { jobName, bars: depth });
    logger.warn(
      { storage: store.kind, spool: spool.path, bars: batch.bars.length, spoolDepth: depth },
      cause
        ? `primary storage unreachable (${cause.message}); batch kept in the spool`
        : 'primary storage still unreachable; batch kept in the spool behind the earlier ones',
    );
  }

  private count(bars: number, result: WriteResult, started: number): void {
    const { store, totals, events, timing } = this.options;
    totals.rowsWritten += result.rowsWritten;
    if (bars > 0) totals.batches += 1;
    events.emit('batch:written', {
      jobName: this.options.jobName,
      provider: this.options.provider,
      storage: store.kind,
      rows: result.rowsWritten,
      durationMs: timing.monotonic() - started,
    });
  }

  /**
   * A batch is one transaction, rolled back whole when it fails, so trying it again can neither
   * duplicate nor half-write it. Only errors the store marks transient are retried; when they
   * outlast the budget, the error says so and carries the last one.
   */
  private async writeWithRetry(batch: WriteBatch): Promise<WriteResult> {
    const { store, retry, events, timing } = this.options;
    const started = timing.monotonic();
    for (let attempt = 1; ; attempt++) {
      try {
        return await store.writeBatch(batch, this.options.signal);
      } catch (thrown: unknown) {
        // Not a storage fault: the run lost its job, and the batch must not be tried again.
        if (thrown instanceof JobSupersededError) throw thrown;
        const error = toError(thrown);
        const transient = error instanceof StoreError && error.transient;
        const willRetry = transient && attempt < retry.max_attempts && !this.options.signal.aborted;
        events.emit('storage:error', {
          storage: store.kind,
          kind: storageErrorKind(error),
          error,
          willRetry,
        });
        if (!willRetry) {
          throw transient ? gaveUp(error, attempt, timing.monotonic() - started) : error;
        }
        const delayMs = backoffDelayMs(attempt, retry, this.options.random);
        this.options.logger.warn(
          { storage: store.kind, attempt, delayMs: Math.round(delayMs), err: error.message },
          'batch write failed and was rolled back; retrying',
        );
        await timing.sleep(delayMs, this.options.signal);
      }
    }
  }

  private reportRejected(rejected: readonly RejectedBar[]): void {
    if (rejected.length === 0) return;
    const byReason = new Map<string, number>();
    for (const bar of rejected) byReason.set(bar.reason, (byReason.get(bar.reason) ?? 0) + 1);
    for (const [reason, count] of byReason) {
      this.options.events.emit('bars:rejected', { provider: this.options.provider, reason, count });
    }
  }
}

/**
 * Transient trouble that outlasted the storage retry budget: the same code (the operator's
 * search term), the storage, how long it was tried, and the last error. Still transient: the
 * write may succeed later, which is what a spool or the next run relies on.
 */
function gaveUp(error: StoreError, attempts: number, elapsedMs: number): StoreError {
  const last = error.message.replace(`storage ${error.storage}: `, '');
  return new StoreError(
    error.code as `MDP_STORE_${string}`,
    error.storage,
    `gave up on a batch after ${attempts} attempt${attempts === 1 ? '' : 's'} in ` +
      `${(elapsedMs / 1000).toFixed(1)} s (storage.primary.write.retry); last error: ${last}`,
    { cause: error, transient: true },
  );
}

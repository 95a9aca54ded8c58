import type { Logger } from 'pino';
import type { Bar } from '../../core/bar.js';
import type { RetryConfig } from '../../core/config/config-schema.js';
import { StoreError, toError } from '../../core/errors.js';
import { backoffDelayMs } from '../policies/retry-policy.js';
import type { Checkpoint, RejectedBar, Store, WriteBatch, WriteResult } from '../../store/store.js';
import type { Timing } from '../timing.js';
import type { RunEvents } from '../run-events.js';
import type { RunTotalsCounter } from './run-totals-counter.js';

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
  /** Cancels the wait between storage retries (never a write in progress). */
  readonly signal: AbortSignal;
  readonly logger: Logger;
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
  constructor(private readonly options: BarSinkOptions) {}

  async write(
    bars: readonly Bar[],
    rejected: readonly RejectedBar[],
    checkpoint?: Omit<Checkpoint, 'runId' | 'completedAt'>,
  ): Promise<void> {
    const { store, runId, batchSize, events, totals, timing } = this.options;
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
      const started = timing.monotonic();
      const result = await this.writeWithRetry({
        runId,
        bars: slice,
        rejected: first ? rejected : undefined,
        checkpoint: last ? checkpoint : undefined,
      });
      totals.rowsWritten += result.rowsWritten;
      if (slice.length > 0) totals.batches += 1;
      events.emit('batch:written', {
        jobName: this.options.jobName,
        provider: this.options.provider,
        storage: store.kind,
        rows: result.rowsWritten,
        durationMs: timing.monotonic() - started,
      });
    }
  }

  /**
   * A batch is one transaction, rolled back whole when it fails, so trying it again can neither
   * duplicate nor half-write it. Only errors the store marks transient are retried.
   */
  private async writeWithRetry(batch: WriteBatch): Promise<WriteResult> {
    const { store, retry, events, timing } = this.options;
    for (let attempt = 1; ; attempt++) {
      try {
        return await store.writeBatch(batch);
      } catch (thrown: unknown) {
        const error = toError(thrown);
        const transient = error instanceof StoreError && error.transient;
        const willRetry = transient && attempt < retry.max_attempts && !this.options.signal.aborted;
        events.emit('storage:error', {
          storage: store.kind,
          kind: storageErrorKind(error),
          error,
          willRetry,
        });
        if (!willRetry) throw error;
        const delayMs = backoffDelayMs(attempt, retry, this.options.random);
        this.options.logger.warn(
          { storage: store.kind, attempt, delayMs: Math.round(delayMs), err: error.message },
          'batch write failed and was rolled back; retrying',
        );
        await timing.sleep(
          backoffDelayMs(attempt, retry, this.options.random),
          this.options.signal,
        );
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

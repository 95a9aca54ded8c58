import type { Bar } from '../../core/bar.js';
import type { Checkpoint, RejectedBar, Store } from '../../store/store.js';
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
      const result = await store.writeBatch({
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

  private reportRejected(rejected: readonly RejectedBar[]): void {
    if (rejected.length === 0) return;
    const byReason = new Map<string, number>();
    for (const bar of rejected) byReason.set(bar.reason, (byReason.get(bar.reason) ?? 0) + 1);
    for (const [reason, count] of byReason) {
      this.options.events.emit('bars:rejected', { provider: this.options.provider, reason, count });
    }
  }
}

import type { RunTotals } from '../run-events.js';

/** The running counts of one run; read by heartbeats and the final summary. */
export class RunTotalsCounter {
  rowsWritten = 0;
  batches = 0;
  rejected = 0;
  /** Bars fetched and validated but not written because `features.write_enabled` is false. */
  skipped = 0;
  /** Backfill chunks whose provider answer stayed short of the window; fetched again next run. */
  incompleteChunks = 0;
  /** Backfill chunks ending within the provider's publication delay; fetched again next run. */
  provisionalChunks = 0;

  snapshot(): RunTotals {
    return {
      rowsWritten: this.rowsWritten,
      batches: this.batches,
      rejected: this.rejected,
      incompleteChunks: this.incompleteChunks,
      provisionalChunks: this.provisionalChunks,
    };
  }
}

import type { Bar } from '../core/bar.js';
import type { Interval } from '../core/interval.js';
import type { RejectedBar } from './store.js';

/** A batch the primary storage could not take, kept until it can. */
export interface SpooledBatch {
  /** Position in the spool: batches go to the primary in this order. */
  readonly seq: number;
  readonly jobName: string;
  /** The primary the batch is meant for (`Store.target`), so a spool never feeds the wrong one. */
  readonly target: string;
  readonly runId: number;
  readonly bars: readonly Bar[];
  readonly rejected: readonly RejectedBar[];
}

/**
 * A local, bounded holding area for batches fetched while the primary storage is unreachable
 * (`storage.spool`). Appending past the bound fails with MDP_STORE_SPOOL_FULL; nothing is dropped
 * silently. Reads of a spool that was never written create nothing.
 */
export interface Spool {
  /** Where the spool lives, for messages. */
  readonly path: string;
  /** Keeps a batch; throws StoreError MDP_STORE_SPOOL_FULL when it would pass the bound. */
  append(batch: Omit<SpooledBatch, 'seq'>): Promise<void>;
  /** The oldest batch of a job for a primary, or undefined when there is none. */
  oldest(jobName: string, target: string): Promise<SpooledBatch | undefined>;
  /** Forgets a batch once the primary has committed it. */
  remove(seq: number): Promise<void>;
  /**
   * Open time of the newest bar held per symbol of one job's series for a primary: where the
   * job's next fetch begins while the primary cannot take these bars.
   */
  newestTs(
    jobName: string,
    target: string,
    series: { readonly provider: string; readonly interval: Interval },
  ): Promise<Map<string, number>>;
  /** Bars waiting, for one job (or all jobs). */
  depth(jobName?: string): Promise<number>;
  /** Closes the file, if open. Idempotent. */
  close(): Promise<void>;
}

import type { Logger } from 'pino';
import type { DatasetConfig, JobConfig, ProviderConfig } from '../../core/config/config-schema.js';
import type { BatchFetchRequest, FetchRequest, Provider } from '../../core/provider.js';
import type { Store } from '../../store/store.js';
import type { RunEvents } from '../run-events.js';
import type { Timing } from '../timing.js';
import type { PacingBucket } from '../policies/token-bucket.js';
import type { BarSink } from './bar-sink.js';
import type { BatchWindow, FetchedWindow } from './fetch-window.js';
import type { RunTotalsCounter } from './run-totals-counter.js';

/** Everything one running job needs; built once per run. */
export interface JobContext {
  readonly jobName: string;
  readonly job: JobConfig;
  readonly dataset: DatasetConfig;
  readonly providerName: string;
  readonly providerConfig: ProviderConfig;
  readonly provider: Provider;
  readonly bucket: PacingBucket | undefined;
  readonly store: Store;
  readonly timing: Timing;
  readonly logger: Logger;
  readonly totals: RunTotalsCounter;
  /** The process's run events, for what the runner reports beyond the sink's writes. */
  readonly events: RunEvents;
  readonly dryRun: boolean;
  /** Fetches one request's window, page by page, each through pacing, timeout and retry. */
  fetch(request: FetchRequest, signal: AbortSignal): Promise<FetchedWindow>;
  /**
   * Fetches several symbols' common window: one paced request per page from a provider that
   * takes batches, otherwise one `fetch` per symbol in turn.
   */
  fetchBatch(request: BatchFetchRequest, signal: AbortSignal): Promise<BatchWindow>;
  /** A sink writing into the given run. */
  sink(runId: number): BarSink;
}

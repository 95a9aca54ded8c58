import type { Logger } from 'pino';
import type { DatasetConfig, JobConfig, ProviderConfig } from '../../core/config/config-schema.js';
import type { FetchRequest, Provider } from '../../core/provider.js';
import type { Store } from '../../store/store.js';
import type { Timing } from '../timing.js';
import type { TokenBucket } from '../policies/token-bucket.js';
import type { BarSink } from './bar-sink.js';
import type { FetchedWindow } from './fetch-window.js';
import type { RunTotalsCounter } from './run-totals-counter.js';

/** Everything one running job needs; built once per run. */
export interface JobContext {
  readonly jobName: string;
  readonly job: JobConfig;
  readonly dataset: DatasetConfig;
  readonly providerName: string;
  readonly providerConfig: ProviderConfig;
  readonly provider: Provider;
  readonly bucket: TokenBucket | undefined;
  readonly store: Store;
  readonly timing: Timing;
  readonly logger: Logger;
  readonly totals: RunTotalsCounter;
  readonly dryRun: boolean;
  /** Fetches one request's window, page by page, each through pacing, timeout and retry. */
  fetch(request: FetchRequest, signal: AbortSignal): Promise<FetchedWindow>;
  /** A sink writing into the given run. */
  sink(runId: number): BarSink;
}

import pino from 'pino';
import {
  DEFAULT_MAX_RETRY_AFTER_MS,
  type RetryConfig,
} from '../../src/core/config/config-schema.js';
import type {
  BatchFetchRequest,
  BatchProvider,
  FetchRequest,
  Provider,
} from '../../src/core/provider.js';
import {
  callProvider,
  callProviderBatch,
  type ProviderCallOptions,
  type RequestOutcome,
} from '../../src/pipeline/policies/provider-call.js';
import {
  fetchBatchWindow,
  fetchWindow,
  type BatchWindow,
  type FetchedWindow,
} from '../../src/pipeline/runner/fetch-window.js';
import {
  RateLimitCooldown,
  type RateLimitCooldownOptions,
} from '../../src/pipeline/policies/rate-limit-cooldown.js';
import { systemTiming } from '../../src/pipeline/timing.js';

/** Quick retries, so a test of "500 then success" takes milliseconds. */
export const FAST_RETRY: RetryConfig = {
  max_attempts: 3,
  backoff_seconds: 0.01,
  max_backoff_seconds: 0.05,
  jitter: 'none',
};

/** A quick 429 cooldown, for the same reason; Retry-After still bounded by the default. */
export const FAST_COOLDOWN: RateLimitCooldownOptions = {
  cooldownMs: 10,
  maxRetryAfterMs: DEFAULT_MAX_RETRY_AFTER_MS,
};

/** What the pipeline saw while fetching. */
export interface PipelineTrace {
  readonly outcomes: RequestOutcome[];
  readonly retries: { attempt: number; delayMs: number; error: Error }[];
}

/**
 * Fetches a window the way a job does: every page through callProvider (timeout, retry, 429
 * handling) and the runner's paging and validation, on the real clock.
 */
export async function pipelineFetch(
  provider: Provider,
  request: FetchRequest,
  overrides: Partial<ProviderCallOptions> = {},
): Promise<FetchedWindow & PipelineTrace> {
  const { options, trace } = traced(overrides);
  const window = await fetchWindow(
    request,
    provider.name,
    (page) => callProvider(provider, page, options),
    pino({ level: 'silent' }),
  );
  return { ...window, ...trace };
}

/** pipelineFetch for a batch of symbols, one request per page for all of them. */
export async function pipelineFetchBatch(
  provider: BatchProvider,
  request: BatchFetchRequest,
  overrides: Partial<ProviderCallOptions> = {},
): Promise<BatchWindow & PipelineTrace> {
  const { options, trace } = traced(overrides);
  const batch = await fetchBatchWindow(
    request,
    provider.name,
    (page) => callProviderBatch(provider, page, options),
    pino({ level: 'silent' }),
  );
  return { ...batch, ...trace };
}

/** Call options as a job's, on the real clock, recording what the pipeline saw. */
function traced(overrides: Partial<ProviderCallOptions>): {
  options: ProviderCallOptions;
  trace: PipelineTrace;
} {
  const trace: PipelineTrace = { outcomes: [], retries: [] };
  const options: ProviderCallOptions = {
    retry: FAST_RETRY,
    cooldown: new RateLimitCooldown(FAST_COOLDOWN, systemTiming),
    bucket: undefined,
    timeoutMs: 10_000,
    timing: systemTiming,
    random: () => 0.5,
    signal: new AbortController().signal,
    onRequest: (outcome) => trace.outcomes.push(outcome),
    onRetry: (info) => trace.retries.push(info),
    ...overrides,
  };
  return { options, trace };
}

import type { Bar } from '../../core/bar.js';
import type { RetryConfig } from '../../core/config/config-schema.js';
import {
  ProviderRateLimitedError,
  RetriesExhaustedError,
  TransientProviderError,
  toError,
} from '../../core/errors.js';
import { setLongTimeout } from '../../core/long-timeout.js';
import type {
  BatchFetchRequest,
  BatchProvider,
  FetchRequest,
  FetchResult,
  Provider,
} from '../../core/provider.js';
import type { Timing } from '../timing.js';
import type { RateLimitCooldown } from './rate-limit-cooldown.js';
import { backoffDelayMs, isRetryable } from './retry-policy.js';
import type { TokenBucket } from './token-bucket.js';

/** What happened to one request, for telemetry. */
export interface RequestOutcome {
  readonly provider: string;
  readonly status: 'ok' | 'error' | 'rate_limited' | 'timeout';
  readonly durationMs: number;
}

export interface ProviderCallOptions {
  readonly retry: RetryConfig;
  /** The provider's 429 cooldown, shared like its bucket (see PacingRegistry). */
  readonly cooldown: RateLimitCooldown;
  readonly bucket: TokenBucket | undefined;
  readonly timeoutMs: number;
  readonly timing: Timing;
  readonly random: () => number;
  readonly signal: AbortSignal;
  readonly onRequest?: (outcome: RequestOutcome) => void;
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: Error }) => void;
}

/** Consecutive 429s tolerated for one request; they do not use the failure budget, but are not free. */
const MAX_RATE_LIMITED_TRIES = 50;

/**
 * One provider request through pacing, a per-request timeout and the retry policy. A 429 pauses
 * the provider (its cooldown, doubled per consecutive 429, or Retry-After, whichever is longer)
 * and is retried without spending an attempt. A server asking to wait longer than
 * `pacing.max_retry_after` fails the request at once with ProviderRateLimitedError. Resolves with
 * the provider's answer as it gave it (see toFetchResult).
 */
export function callProvider(
  provider: Provider,
  request: FetchRequest,
  options: ProviderCallOptions,
): Promise<Bar[] | FetchResult> {
  return pacedCall(provider.name, (signal) => provider.fetchBars(request, signal), options);
}

/** callProvider for one page of a batch of symbols: one paced request for all of them. */
export function callProviderBatch(
  provider: BatchProvider,
  request: BatchFetchRequest,
  options: ProviderCallOptions,
): Promise<FetchResult> {
  return pacedCall(provider.name, (signal) => provider.fetchBatch(request, signal), options);
}

async function pacedCall<T>(
  providerName: string,
  call: (signal: AbortSignal) => Promise<T>,
  options: ProviderCallOptions,
): Promise<T> {
  const { retry, timing, signal } = options;
  let attempt = 1;
  let rateLimited = 0;
  for (;;) {
    // A bucket holds the pause itself (it restarts empty, so no burst follows a cooldown).
    if (options.bucket) await options.bucket.acquire(signal);
    else await options.cooldown.wait(signal);
    const started = timing.monotonic();
    const timeout = requestTimeout(options.timeoutMs);
    const requestSignal = AbortSignal.any([signal, timeout.signal]);
    try {
      const answer = await untilAborted(call(requestSignal), requestSignal);
      options.onRequest?.({
        provider: providerName,
        status: 'ok',
        durationMs: timing.monotonic() - started,
      });
      options.cooldown.succeeded(started);
      return answer;
    } catch (thrown: unknown) {
      signal.throwIfAborted();
      const durationMs = timing.monotonic() - started;
      let error = toError(thrown);
      if (timeout.signal.aborted) {
        error = new TransientProviderError(
          providerName,
          `request timed out after ${options.timeoutMs} ms`,
          { cause: error },
        );
      }
      const limited = error instanceof TransientProviderError && error.rateLimited;
      options.onRequest?.({
        provider: providerName,
        status: limited ? 'rate_limited' : timeout.signal.aborted ? 'timeout' : 'error',
        durationMs,
      });
      const retryAfter = error instanceof TransientProviderError ? error.retryAfterMs : undefined;
      const { maxRetryAfterMs } = options.cooldown.options;
      if (retryAfter !== undefined && retryAfter > maxRetryAfterMs) {
        throw new ProviderRateLimitedError(providerName, retryAfter, maxRetryAfterMs, {
          cause: error,
        });
      }
      if (limited) {
        const waitMs = options.cooldown.rateLimited(started, retryAfter);
        if (++rateLimited <= MAX_RATE_LIMITED_TRIES) {
          options.bucket?.pause(waitMs);
          continue;
        }
      }
      if (!isRetryable(error)) throw error;
      if (attempt >= retry.max_attempts)
        throw new RetriesExhaustedError(providerName, attempt, error);
      const delayMs = retryAfter ?? backoffDelayMs(attempt, retry, options.random);
      options.onRetry?.({ attempt, delayMs, error });
      await timing.sleep(delayMs, signal);
      attempt += 1;
    } finally {
      timeout.clear();
    }
  }
}

/**
 * Aborts after `ms`. Unlike AbortSignal.timeout, whose timer is unref'd, the timer holds the
 * process open: a provider that hangs without a socket of its own would otherwise let Node exit
 * mid-run with nothing left to wait for.
 */
function requestTimeout(ms: number): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const clear = setLongTimeout(
    () => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')),
    ms,
  );
  return { signal: controller.signal, clear };
}

/** Settles like `promise`, or rejects once `signal` aborts: a client deaf to its signal cannot hang a run. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

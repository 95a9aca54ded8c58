import type { Bar } from '../../core/bar.js';
import type { RetryConfig } from '../../core/config/config-schema.js';
import {
  ProviderRateLimitedError,
  ProviderUnavailableError,
  RateLimitBudgetError,
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
  SendGate,
} from '../../core/provider.js';
import type { Timing } from '../timing.js';
import type { RateLimitCooldown } from './rate-limit-cooldown.js';
import { backoffDelayMs, isRetryable } from './retry-policy.js';
import type { PacingBucket } from './token-bucket.js';

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
  /** The provider's budget (in-process or shared through the store); undefined when unpaced. */
  readonly bucket: PacingBucket | undefined;
  readonly timeoutMs: number;
  readonly timing: Timing;
  readonly random: () => number;
  readonly signal: AbortSignal;
  readonly onRequest?: (outcome: RequestOutcome) => void;
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: Error }) => void;
  /** A 429 paused the provider for `waitMs` before this request is asked again. */
  readonly onPause?: (info: { waitMs: number; error: Error }) => void;
  /** The request waited `waitMs` for the provider's budget (its bucket or cooldown) before going. */
  readonly onPaced?: (info: { waitMs: number }) => void;
}

/**
 * How long 429s may hold one request, in multiples of its provider's max_retry_after: they do not
 * spend retry attempts, so without a bound a provider answering 429 forever would hold a run for
 * hours (the doubling stops at max_retry_after, not the asking).
 */
export const RATE_LIMIT_BUDGET_FACTOR = 2;

/**
 * One provider request through pacing, a per-request timeout and the retry policy. A 429 pauses
 * the provider (its cooldown, doubled per consecutive 429, or Retry-After, whichever is longer)
 * and is retried without spending an attempt, until 429s have held the request
 * RATE_LIMIT_BUDGET_FACTOR times max_retry_after (RateLimitBudgetError). A server asking to wait longer than
 * `pacing.max_retry_after` fails the request at once with ProviderRateLimitedError. Resolves with
 * the provider's answer as it gave it (see toFetchResult).
 */
export function callProvider(
  provider: Provider,
  request: FetchRequest,
  options: ProviderCallOptions,
): Promise<Bar[] | FetchResult> {
  return pacedCall(provider, (signal, gate) => provider.fetchBars(request, signal, gate), options);
}

/** callProvider for one page of a batch of symbols: one paced request for all of them. */
export function callProviderBatch(
  provider: BatchProvider,
  request: BatchFetchRequest,
  options: ProviderCallOptions,
): Promise<FetchResult> {
  return pacedCall(provider, (signal, gate) => provider.fetchBatch(request, signal, gate), options);
}

async function pacedCall<T>(
  provider: Provider,
  call: (signal: AbortSignal, gate: SendGate | undefined) => Promise<T>,
  options: ProviderCallOptions,
): Promise<T> {
  const { retry, timing, signal } = options;
  const providerName = provider.name;
  let attempt = 1;
  let requests = 0;
  // The request's consecutive 429s, and when (monotonic) the first of them was sent.
  let rateLimited = 0;
  let firstRateLimitedAt = 0;
  for (;;) {
    const timeout = requestTimeout(options.timeoutMs);
    let started = timing.monotonic();
    let refused: { reason: unknown } | undefined;
    // The take of the budget, as late as the provider can put it (see SendGate). The request's
    // timeout does not run while it waits: a queue of waiters may hold it longer than that.
    const gate: SendGate = async () => {
      timeout.stop();
      const waitFrom = timing.monotonic();
      try {
        // A bucket holds the pause itself (it restarts empty, so no burst follows a cooldown).
        if (options.bucket) await options.bucket.acquire(signal);
        else await options.cooldown.wait(signal);
      } catch (reason: unknown) {
        refused = { reason };
        throw reason;
      }
      started = timing.monotonic();
      if (started > waitFrom) options.onPaced?.({ waitMs: started - waitFrom });
      timeout.start();
    };
    const atSend = provider.pacesAtSend === true;
    if (!atSend) await gate();
    else timeout.start();
    requests += 1;
    const requestSignal = AbortSignal.any([signal, timeout.signal]);
    try {
      const answer = await untilAborted(
        call(requestSignal, atSend ? gate : undefined),
        requestSignal,
      );
      options.onRequest?.({
        provider: providerName,
        status: 'ok',
        durationMs: timing.monotonic() - started,
      });
      options.cooldown.succeeded(started);
      return answer;
    } catch (thrown: unknown) {
      signal.throwIfAborted();
      if (refused) throw refused.reason;
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
        throw askedTooLong(providerName, error as TransientProviderError, maxRetryAfterMs);
      }
      if (limited) {
        if (rateLimited++ === 0) firstRateLimitedAt = started;
        const waitMs = options.cooldown.rateLimited(started, retryAfter);
        const heldMs = timing.monotonic() - firstRateLimitedAt;
        const budgetMs = RATE_LIMIT_BUDGET_FACTOR * options.cooldown.longestPauseMs;
        if (heldMs + waitMs > budgetMs) {
          throw new RateLimitBudgetError(providerName, rateLimited, heldMs, budgetMs, error);
        }
        options.onPause?.({ waitMs, error });
        // Awaited: with a shared bucket, the next take must find the pause stored.
        await options.bucket?.pause(waitMs);
        continue;
      }
      rateLimited = 0;
      if (!isRetryable(error)) throw error;
      if (attempt >= retry.max_attempts)
        throw new RetriesExhaustedError(providerName, attempt, error, requests);
      const delayMs = retryAfter ?? backoffDelayMs(attempt, retry, options.random);
      options.onRetry?.({ attempt, delayMs, error });
      await timing.sleep(delayMs, signal);
      attempt += 1;
    } finally {
      timeout.clear();
    }
  }
}

/** The error for a server asking to wait past max_retry_after: a 429 is rate limiting, a 5xx not. */
function askedTooLong(
  providerName: string,
  error: TransientProviderError,
  maxRetryAfterMs: number,
): ProviderRateLimitedError | ProviderUnavailableError {
  const asked = error.retryAfterMs ?? 0;
  const options = { cause: error, header: error.waitHeader };
  return error.rateLimited
    ? new ProviderRateLimitedError(providerName, asked, maxRetryAfterMs, options)
    : new ProviderUnavailableError(providerName, asked, maxRetryAfterMs, {
        ...options,
        ...(error.status === undefined ? {} : { status: error.status }),
      });
}

/**
 * Aborts `ms` after it is started (and not stopped since). Unlike AbortSignal.timeout, whose
 * timer is unref'd, the timer holds the process open: a provider that hangs without a socket of
 * its own would otherwise let Node exit mid-run with nothing left to wait for. `stop` and `start`
 * leave out the wait for the budget of a provider that paces at send.
 */
function requestTimeout(ms: number): {
  signal: AbortSignal;
  start(): void;
  stop(): void;
  clear(): void;
} {
  const controller = new AbortController();
  let clear: (() => void) | undefined;
  const stop = (): void => {
    clear?.();
    clear = undefined;
  };
  return {
    signal: controller.signal,
    start: () => {
      stop();
      clear = setLongTimeout(
        () => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')),
        ms,
      );
    },
    stop,
    clear: stop,
  };
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

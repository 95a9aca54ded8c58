import type { RetryConfig } from '../../core/config/config-schema.js';
import { MdpError, TransientProviderError } from '../../core/errors.js';

/**
 * Delay before the try after failed attempt `attempt` (1-based):
 * `min(max_backoff, backoff * 2^(attempt-1))`, scaled by `random()` under full jitter.
 */
export function backoffDelayMs(attempt: number, retry: RetryConfig, random: () => number): number {
  // 2^1024 is Infinity, and 0 * Infinity is NaN: past 2^64 every delay is capped anyway.
  const growth = 2 ** Math.min(attempt - 1, 64);
  const ceiling = Math.min(retry.max_backoff_seconds, retry.backoff_seconds * growth) * 1000;
  return retry.jitter === 'full' ? random() * ceiling : ceiling;
}

/**
 * Only transient errors are retried. Our own errors say what they are (anything but
 * TransientProviderError is final: permanent, cancelled, exhausted, config); an untyped error from
 * below (a reset socket, a parser fault) counts as transient, except an abort.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof TransientProviderError) return true;
  if (error instanceof MdpError) return false;
  return !(error instanceof Error && error.name === 'AbortError');
}

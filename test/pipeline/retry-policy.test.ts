import { describe, expect, it } from 'vitest';
import type { RetryConfig } from '../../src/core/config/config-schema.js';
import {
  CancelledError,
  ConfigError,
  RetriesExhaustedError,
  StoreError,
  PermanentProviderError,
  TransientProviderError,
} from '../../src/core/errors.js';
import { backoffDelayMs, isRetryable } from '../../src/pipeline/policies/retry-policy.js';

const retry = (overrides: Partial<RetryConfig> = {}): RetryConfig => ({
  max_attempts: 10,
  backoff_seconds: 5,
  max_backoff_seconds: 300,
  jitter: 'none',
  ...overrides,
});

const never = (): number => {
  throw new Error('random() must not be called without jitter');
};

describe('backoffDelayMs', () => {
  it('doubles from backoff_seconds per attempt without jitter', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((attempt) => backoffDelayMs(attempt, retry(), never));
    expect(delays).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 160_000]);
  });

  it('is capped by max_backoff_seconds', () => {
    const config = retry({ max_backoff_seconds: 30 });
    const delays = [1, 2, 3, 4, 5, 50].map((attempt) => backoffDelayMs(attempt, config, never));
    expect(delays).toEqual([5_000, 10_000, 20_000, 30_000, 30_000, 30_000]);
    expect(backoffDelayMs(2_000, config, never)).toBe(30_000);
  });

  it('keeps fractional seconds', () => {
    expect(backoffDelayMs(3, retry({ backoff_seconds: 0.25 }), never)).toBe(1_000);
  });

  it('is zero when backoff_seconds is zero', () => {
    expect(backoffDelayMs(1, retry({ backoff_seconds: 0 }), never)).toBe(0);
    expect(backoffDelayMs(7, retry({ backoff_seconds: 0 }), never)).toBe(0);
    // 2^(attempt-1) overflows to Infinity past attempt 1024; 0 * Infinity must not become NaN.
    expect(backoffDelayMs(1_100, retry({ backoff_seconds: 0 }), never)).toBe(0);
  });

  it('full jitter scales the ceiling by random(): 0 gives 0, just under 1 gives just under it', () => {
    const config = retry({ jitter: 'full' });
    expect(backoffDelayMs(3, config, () => 0)).toBe(0);
    expect(backoffDelayMs(3, config, () => 0.5)).toBe(10_000);
    const high = backoffDelayMs(3, config, () => 0.999);
    expect(high).toBeCloseTo(19_980, 6);
    expect(high).toBeLessThan(20_000);
  });

  it('full jitter stays within [0, max_backoff) once capped', () => {
    const config = retry({ jitter: 'full', max_backoff_seconds: 60 });
    expect(backoffDelayMs(20, config, () => 0.999)).toBeCloseTo(59_940, 6);
    expect(backoffDelayMs(20, config, () => 0)).toBe(0);
  });
});

describe('isRetryable', () => {
  const abortError = new DOMException('aborted', 'AbortError');
  const namedAbort = Object.assign(new Error('aborted'), { name: 'AbortError' });
  const table: [string, unknown, boolean][] = [
    ['TransientProviderError', new TransientProviderError('p', '503'), true],
    [
      'rate-limited TransientProviderError',
      new TransientProviderError('p', '429', { rateLimited: true, retryAfterMs: 1_000 }),
      true,
    ],
    ['PermanentProviderError', new PermanentProviderError('p', '401 bad key'), false],
    [
      'CancelledError',
      new CancelledError('interrupted', { kind: 'signal', signal: 'SIGTERM' }),
      false,
    ],
    ['DOMException AbortError', abortError, false],
    ['Error named AbortError', namedAbort, false],
    ['plain Error (a reset socket)', new Error('ECONNRESET'), true],
    ['TypeError from fetch', new TypeError('fetch failed'), true],
    ['a thrown string', 'boom', true],
    [
      'RetriesExhaustedError (already retried)',
      new RetriesExhaustedError('p', 3, new Error('503')),
      false,
    ],
    ['ConfigError', new ConfigError('mdp.yaml', []), false],
    [
      'StoreError (the provider retry does not own storage)',
      new StoreError('MDP_STORE_WRITE', 'sqlite', 'disk'),
      false,
    ],
  ];

  it.each(table)('%s → %s', (_name, error, expected) => {
    expect(isRetryable(error)).toBe(expected);
  });
});

/**
 * Whatever a `pacing:` block says, consecutive 429s are never asked again back to back: the pause
 * after a 429 is at least MIN_COOLDOWN_MS (`cooldown_seconds: 0`, a `max_retry_after` of a few
 * milliseconds given programmatically: the config refuses one under 1s) and still doubles.
 */
import { describe, expect, it } from 'vitest';
import type { Bar } from '../../src/core/bar.js';
import type { PacingConfig, RetryConfig } from '../../src/core/config/config-schema.js';
import { TransientProviderError } from '../../src/core/errors.js';
import type { FetchRequest, Provider } from '../../src/core/provider.js';
import {
  callProvider,
  type ProviderCallOptions,
} from '../../src/pipeline/policies/provider-call.js';
import { PacingRegistry } from '../../src/pipeline/policies/pacing-registry.js';
import { MIN_COOLDOWN_MS } from '../../src/pipeline/policies/rate-limit-cooldown.js';
import { FakeTiming } from '../helpers/fake-timing.js';

const T0 = Date.parse('2024-01-02T00:00:00Z');
const request: FetchRequest = { symbol: 'AAA', interval: '1m', start: T0, end: T0 + 120_000 };
const RETRY: RetryConfig = {
  max_attempts: 3,
  backoff_seconds: 5,
  max_backoff_seconds: 300,
  jitter: 'none',
};

/** Answers 429 without Retry-After `limited` times, then succeeds; records when each call came. */
class RateLimitedThenOk implements Provider {
  readonly name = 'hostile';
  readonly maxBarsPerRequest = 1_000;
  readonly calls: number[] = [];
  constructor(
    private readonly timing: FakeTiming,
    private readonly limited: number,
  ) {}
  fetchBars(): Promise<Bar[]> {
    this.calls.push(this.timing.monotonic());
    if (this.calls.length > this.limited) return Promise.resolve([]);
    return Promise.reject(
      new TransientProviderError('hostile', '429 too many requests', { rateLimited: true }),
    );
  }
}

function options(timing: FakeTiming, pacing: PacingConfig): ProviderCallOptions {
  return {
    retry: RETRY,
    cooldown: new PacingRegistry(timing).cooldownFor('hostile', pacing),
    bucket: undefined,
    timeoutMs: 60_000,
    timing,
    random: () => 0.5,
    signal: new AbortController().signal,
  };
}

/** Gaps between consecutive calls, in milliseconds. */
const gaps = (calls: readonly number[]): number[] =>
  calls.slice(1).map((at, i) => at - (calls[i] as number));

describe('the pause after a 429 has a floor', () => {
  it('is a second', () => {
    expect(MIN_COOLDOWN_MS).toBe(1_000);
  });

  it('cooldown_seconds: 0 pauses 1 s, then doubles: 1 s, 2 s, 4 s, 8 s', async () => {
    const timing = new FakeTiming();
    const provider = new RateLimitedThenOk(timing, 4);
    const pacing = {
      burst: 1,
      cooldown_seconds: 0,
      max_retry_after: 15 * 60_000,
      scope: 'process' as const,
    };
    await timing.run(callProvider(provider, request, options(timing, pacing)));
    expect(gaps(provider.calls)).toEqual([1_000, 2_000, 4_000, 8_000]);
  });

  it('a max_retry_after of 10 ms (refused by the config) still pauses a second each time', async () => {
    const timing = new FakeTiming();
    const provider = new RateLimitedThenOk(timing, 2);
    const pacing = {
      burst: 1,
      cooldown_seconds: 60,
      max_retry_after: 10,
      scope: 'process' as const,
    };
    await timing.run(callProvider(provider, request, options(timing, pacing)));
    expect(gaps(provider.calls)).toEqual([1_000, 1_000]);
  });

  describe.each([
    [
      'cooldown_seconds: 0',
      { burst: 1, cooldown_seconds: 0, max_retry_after: 15 * 60_000, scope: 'process' as const },
    ],
    [
      'max_retry_after: 10ms',
      { burst: 1, cooldown_seconds: 60, max_retry_after: 10, scope: 'process' as const },
    ],
  ] satisfies [string, PacingConfig][])(
    'against a provider that answers 429 forever, with %s',
    (_label, pacing) => {
      it('never asks again within a second of a 429', async () => {
        const timing = new FakeTiming();
        const provider = new RateLimitedThenOk(timing, Infinity);
        await timing
          .run(callProvider(provider, request, options(timing, pacing)))
          .catch(() => undefined);
        expect(provider.calls.length).toBeGreaterThan(1);
        const between = gaps(provider.calls);
        for (const gap of between)
          expect(gap, `gaps ${between.join(', ')}`).toBeGreaterThanOrEqual(1_000);
      });
    },
  );
});

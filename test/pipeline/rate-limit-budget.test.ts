/**
 * 429s do not spend retry attempts, but they may not hold one request for ever: a provider that
 * answers 429 to every request (no Retry-After) fails the request once the next pause would take
 * it past twice its max_retry_after, with an error that counts the 429s and the time they took.
 */
import { describe, expect, it } from 'vitest';
import type { Bar } from '../../src/core/bar.js';
import type { PacingConfig, RetryConfig } from '../../src/core/config/config-schema.js';
import {
  RateLimitBudgetError,
  RetriesExhaustedError,
  TransientProviderError,
} from '../../src/core/errors.js';
import type { FetchRequest, Provider } from '../../src/core/provider.js';
import {
  callProvider,
  RATE_LIMIT_BUDGET_FACTOR,
  type ProviderCallOptions,
} from '../../src/pipeline/policies/provider-call.js';
import { PacingRegistry } from '../../src/pipeline/policies/pacing-registry.js';
import { FakeTiming } from '../helpers/fake-timing.js';

const T0 = Date.parse('2024-01-02T00:00:00Z');
const request: FetchRequest = { symbol: 'AAA', interval: '1m', start: T0, end: T0 + 120_000 };
const RETRY: RetryConfig = {
  max_attempts: 3,
  backoff_seconds: 5,
  max_backoff_seconds: 300,
  jitter: 'none',
};
const HOUR_MS = 3_600_000;

const tooMany = (): TransientProviderError =>
  new TransientProviderError('hostile', '429 too many requests', { rateLimited: true });
const unavailable = (): TransientProviderError =>
  new TransientProviderError('hostile', '503 service unavailable');

/** Answers each request with the next error of its script (the last one for ever); records when. */
class Scripted implements Provider {
  readonly name = 'hostile';
  readonly maxBarsPerRequest = 1_000;
  readonly calls: number[] = [];
  constructor(
    private readonly timing: FakeTiming,
    private readonly script: readonly (() => Error)[],
  ) {}
  fetchBars(): Promise<Bar[]> {
    this.calls.push(this.timing.monotonic());
    const next = this.script[Math.min(this.calls.length, this.script.length) - 1] as () => Error;
    return Promise.reject(next());
  }
}

function options(timing: FakeTiming, pacing: PacingConfig | undefined): ProviderCallOptions {
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

async function failure(timing: FakeTiming, provider: Provider, pacing?: PacingConfig) {
  return timing.run(callProvider(provider, request, options(timing, pacing))).then(
    () => {
      throw new Error('the request succeeded');
    },
    (error: unknown) => error as Error,
  );
}

describe('a provider that answers 429 for ever, without Retry-After', () => {
  it('is twice max_retry_after', () => {
    expect(RATE_LIMIT_BUDGET_FACTOR).toBe(2);
  });

  it('fails one request within an hour, not after ~10.8 hours of silent waiting', async () => {
    const timing = new FakeTiming();
    const provider = new Scripted(timing, [tooMany]);
    const error = await failure(timing, provider);
    expect(error).toBeInstanceOf(RateLimitBudgetError);
    expect(timing.monotonic() / HOUR_MS).toBeLessThan(1);
  });

  it('without pacing: 1 s, 2 s … 512 s of pauses (17m 3s), then the next (15m, the cap) would pass 30m', async () => {
    const timing = new FakeTiming();
    const provider = new Scripted(timing, [tooMany]);
    const error = await failure(timing, provider);
    expect(provider.calls).toHaveLength(11);
    expect(timing.monotonic()).toBe(1_023_000);
    expect((error as RateLimitBudgetError).code).toBe('MDP_PROVIDER_RATE_LIMITED');
    expect(error.message).toBe(
      'provider hostile answered 429 (rate limited) to 11 requests in a row over 17m 3s, and the ' +
        'next pause would hold the request past 30m (twice ' +
        "providers.hostile.pacing.max_retry_after); failed the request. Lower the provider's " +
        "pacing.requests_per_minute or check its plan's limits, then run again; last error: " +
        'provider hostile: 429 too many requests',
    );
    expect(error.cause).toBeInstanceOf(TransientProviderError);
  });

  it('with cooldown_seconds 60 and max_retry_after 15m: 60 s … 15m of pauses fill the 30m', async () => {
    const timing = new FakeTiming();
    const provider = new Scripted(timing, [tooMany]);
    const pacing = {
      burst: 1,
      cooldown_seconds: 60,
      max_retry_after: 15 * 60_000,
      scope: 'process' as const,
    };
    const error = await failure(timing, provider, pacing);
    const gaps = provider.calls.slice(1).map((at, i) => at - (provider.calls[i] as number));
    expect(gaps).toEqual([60_000, 120_000, 240_000, 480_000, 900_000]);
    expect(timing.monotonic()).toBe(30 * 60_000);
    expect(error.message).toContain('to 6 requests in a row over 30m');
  });

  it('max_retry_after moves the budget: 1h lets the pauses run to 2h', async () => {
    const timing = new FakeTiming();
    const provider = new Scripted(timing, [tooMany]);
    const pacing = {
      burst: 1,
      cooldown_seconds: 60,
      max_retry_after: HOUR_MS,
      scope: 'process' as const,
    };
    const error = await failure(timing, provider, pacing);
    // 1m, 2m, 4m … 32m (63m), then one of 60m would pass 2h.
    expect(timing.monotonic()).toBe(63 * 60_000);
    expect(error.message).toContain('past 2h (twice providers.hostile.pacing.max_retry_after)');
  });
});

describe('a request that fails otherwise after 429s', () => {
  it('counts every request it sent when the attempts run out', async () => {
    const timing = new FakeTiming();
    const provider = new Scripted(timing, [tooMany, tooMany, unavailable]);
    const error = await failure(timing, provider);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(provider.calls).toHaveLength(5);
    expect(error.message).toBe(
      'provider hostile: gave up after 3 attempts (5 requests, 2 of them answered 429); last ' +
        'error: provider hostile: 503 service unavailable',
    );
  });

  it('starts the count of consecutive 429s over after another failure', async () => {
    const timing = new FakeTiming();
    // 429s for 17m, a 503, then two more 429s of 15m each: a budget counted from the first 429
    // would have failed the request there; each run of 429s has its own.
    const script = [
      ...Array.from({ length: 10 }, () => tooMany),
      unavailable,
      tooMany,
      tooMany,
      unavailable,
    ];
    const provider = new Scripted(timing, script);
    const error = await failure(timing, provider);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(provider.calls).toHaveLength(15);
    expect(error.message).toContain(
      'gave up after 3 attempts (15 requests, 12 of them answered 429)',
    );
  });
});

import { describe, expect, it, vi } from 'vitest';
import type { Bar } from '../../src/core/bar.js';
import type { PacingConfig, RetryConfig } from '../../src/core/config/config-schema.js';
import {
  PermanentProviderError,
  ProviderRateLimitedError,
  ProviderUnavailableError,
  RetriesExhaustedError,
  TransientProviderError,
} from '../../src/core/errors.js';
import type { FetchRequest, Provider } from '../../src/core/provider.js';
import {
  callProvider,
  type ProviderCallOptions,
  type RequestOutcome,
} from '../../src/pipeline/policies/provider-call.js';
import { PacingRegistry } from '../../src/pipeline/policies/pacing-registry.js';
import { TokenBucket } from '../../src/pipeline/policies/token-bucket.js';
import { systemTiming } from '../../src/pipeline/timing.js';
import { FakeTiming, settle } from '../helpers/fake-timing.js';

const T0 = Date.parse('2024-01-02T00:00:00Z');
const request: FetchRequest = { symbol: 'AAA', interval: '1m', start: T0, end: T0 + 120_000 };

const bar = (ts: number): Bar => ({
  provider: 'fake_1',
  symbol: 'AAA',
  interval: '1m',
  ts,
  open: 10,
  high: 11,
  low: 9,
  close: 10.5,
  volume: 100,
  vwap: null,
  tradeCount: null,
});
const BARS = [bar(T0), bar(T0 + 60_000)];

/** What the scripted provider does on one call. */
type Step =
  | { bars: Bar[] }
  | { error: unknown }
  /** Never answers, but rejects with the signal's reason when aborted (a well-behaved client). */
  | 'hang'
  /** Never answers and ignores the signal (a client with no cancellation support). */
  | 'hang-deaf';

/** A provider that plays `steps` in order, recording when each call started. */
class ScriptedProvider implements Provider {
  readonly name = 'fake_1';
  readonly maxBarsPerRequest = 1_000;
  readonly calls: { at: number; signal: AbortSignal }[] = [];

  constructor(
    private readonly timing: FakeTiming,
    private readonly steps: Step[],
  ) {}

  fetchBars(_request: FetchRequest, signal: AbortSignal): Promise<Bar[]> {
    this.calls.push({ at: this.timing.monotonic(), signal });
    const step = this.steps[this.calls.length - 1];
    if (step === undefined) throw new Error(`unscripted call #${this.calls.length}`);
    if (step === 'hang-deaf') return new Promise<Bar[]>(() => undefined);
    if (step === 'hang') {
      return new Promise<Bar[]>((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      });
    }
    return 'bars' in step ? Promise.resolve(step.bars) : Promise.reject(step.error);
  }
}

const RETRY: RetryConfig = {
  max_attempts: 3,
  backoff_seconds: 5,
  max_backoff_seconds: 300,
  jitter: 'none',
};
const PACING: PacingConfig = {
  requests_per_minute: 60,
  burst: 2,
  cooldown_seconds: 30,
  max_retry_after: 15 * 60_000,
  scope: 'process',
};

/** `pacing` builds the cooldown a job would get from that `pacing:` block (none: the defaults). */
function setup(
  steps: Step[],
  { pacing, ...overrides }: Partial<ProviderCallOptions> & { pacing?: PacingConfig } = {},
): {
  timing: FakeTiming;
  provider: ScriptedProvider;
  outcomes: RequestOutcome[];
  retries: { attempt: number; delayMs: number; error: Error }[];
  options: ProviderCallOptions;
} {
  const timing = overrides.timing instanceof FakeTiming ? overrides.timing : new FakeTiming();
  const provider = new ScriptedProvider(timing, steps);
  const outcomes: RequestOutcome[] = [];
  const retries: { attempt: number; delayMs: number; error: Error }[] = [];
  const options: ProviderCallOptions = {
    retry: RETRY,
    cooldown: new PacingRegistry(timing).cooldownFor('fake_1', pacing),
    bucket: undefined,
    timeoutMs: 60_000,
    timing,
    random: () => 0.5,
    signal: new AbortController().signal,
    onRequest: (outcome) => outcomes.push(outcome),
    onRetry: (info) => retries.push(info),
    ...overrides,
  };
  return { timing, provider, outcomes, retries, options };
}

const transient = (message = '503 service unavailable'): TransientProviderError =>
  new TransientProviderError('fake_1', message);
const rateLimited = (retryAfterMs?: number): TransientProviderError =>
  new TransientProviderError('fake_1', '429 too many requests', {
    rateLimited: true,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });

describe('callProvider', () => {
  it('returns the bars of a first-try success, reporting one ok request', async () => {
    const { timing, provider, outcomes, retries, options } = setup([{ bars: BARS }]);
    expect(await timing.run(callProvider(provider, request, options))).toBe(BARS);
    expect(provider.calls).toHaveLength(1);
    expect(outcomes).toEqual([{ provider: 'fake_1', status: 'ok', durationMs: 0 }]);
    expect(retries).toEqual([]);
    expect(timing.sleeps).toEqual([]);
  });

  it('retries a transient error after the backoff delay and reports the retry', async () => {
    const error = transient();
    const { timing, provider, outcomes, retries, options } = setup([{ error }, { bars: BARS }]);
    expect(await timing.run(callProvider(provider, request, options))).toBe(BARS);
    expect(provider.calls.map((c) => c.at)).toEqual([0, 5_000]);
    expect(retries).toEqual([{ attempt: 1, delayMs: 5_000, error }]);
    expect(outcomes.map((o) => o.status)).toEqual(['error', 'ok']);
  });

  it('applies full jitter through the injected random()', async () => {
    const { timing, provider, retries, options } = setup(
      [{ error: transient() }, { error: transient() }, { bars: BARS }],
      { retry: { ...RETRY, jitter: 'full' }, random: () => 0.25 },
    );
    await timing.run(callProvider(provider, request, options));
    expect(retries.map((r) => r.delayMs)).toEqual([1_250, 2_500]);
    expect(provider.calls.map((c) => c.at)).toEqual([0, 1_250, 3_750]);
  });

  it('waits the server’s Retry-After instead of the computed backoff', async () => {
    const error = new TransientProviderError('fake_1', '503', { retryAfterMs: 42_000 });
    const { timing, provider, retries, options } = setup([{ error }, { bars: BARS }]);
    await timing.run(callProvider(provider, request, options));
    expect(retries.map((r) => r.delayMs)).toEqual([42_000]);
    expect(provider.calls.map((c) => c.at)).toEqual([0, 42_000]);
  });

  it('does not retry a permanent error', async () => {
    const error = new PermanentProviderError('fake_1', 'unknown symbol AAA');
    const { timing, provider, outcomes, retries, options } = setup([{ error }, { bars: BARS }]);
    await expect(timing.run(callProvider(provider, request, options))).rejects.toBe(error);
    expect(provider.calls).toHaveLength(1);
    expect(retries).toEqual([]);
    expect(outcomes.map((o) => o.status)).toEqual(['error']);
  });

  it('gives up after max_attempts with RetriesExhaustedError naming attempts and last cause', async () => {
    const last = transient('502 bad gateway');
    const { timing, provider, retries, options } = setup([
      { error: transient() },
      { error: new Error('ECONNRESET') },
      { error: last },
      { bars: BARS },
    ]);
    const failure = await timing.run(callProvider(provider, request, options)).catch((e) => e);
    expect(failure).toBeInstanceOf(RetriesExhaustedError);
    const exhausted = failure as RetriesExhaustedError;
    expect(exhausted.code).toBe('MDP_PROVIDER_RETRIES_EXHAUSTED');
    expect(exhausted.attempts).toBe(3);
    expect(exhausted.provider).toBe('fake_1');
    expect(exhausted.cause).toBe(last);
    expect(exhausted.message).toBe(
      'provider fake_1: gave up after 3 attempts; last error: provider fake_1: 502 bad gateway',
    );
    expect(provider.calls.map((c) => c.at)).toEqual([0, 5_000, 15_000]);
    expect(retries.map((r) => [r.attempt, r.delayMs])).toEqual([
      [1, 5_000],
      [2, 10_000],
    ]);
  });

  it('a non-Error thrown value is coerced and retried like an unknown error', async () => {
    const { timing, provider, retries, options } = setup([
      { error: 'socket hang up' },
      { bars: BARS },
    ]);
    expect(await timing.run(callProvider(provider, request, options))).toBe(BARS);
    expect(retries[0]?.error).toBeInstanceOf(Error);
    expect(retries[0]?.error.message).toBe('socket hang up');
  });

  it("reports the time a request waited for its provider's budget, and nothing when it did not wait", async () => {
    const timing = new FakeTiming();
    const bucket = new TokenBucket({ burst: 1, requestsPerMinute: 60, phaseMarginMs: 0 }, timing);
    const paced: number[] = [];
    const { provider, options } = setup([{ bars: BARS }, { bars: BARS }, { bars: BARS }], {
      timing,
      bucket,
      onPaced: ({ waitMs }) => paced.push(waitMs),
    });
    // One token at first, then one a second: the second and third requests wait for theirs.
    await timing.run(callProvider(provider, request, options));
    await timing.run(callProvider(provider, request, options));
    await timing.run(callProvider(provider, request, options));
    expect(provider.calls.map((c) => c.at)).toEqual([0, 1_000, 2_000]);
    expect(paced).toEqual([1_000, 1_000]);
  });

  describe('a provider that paces at send (SendGate)', () => {
    /** Opens its "connection" at once, then awaits the gate and sends: when each happened. */
    class PacedAtSend implements Provider {
      readonly name = 'fake_1';
      readonly maxBarsPerRequest = 1_000;
      readonly pacesAtSend = true;
      readonly opened: number[] = [];
      readonly sent: number[] = [];
      async fetchBars(
        _request: FetchRequest,
        _signal: AbortSignal,
        gate?: () => Promise<void>,
      ): Promise<Bar[]> {
        this.opened.push(performance.now());
        await gate?.();
        this.sent.push(performance.now());
        return BARS;
      }
    }

    it('is called before its take and given the gate; the request timeout waits out the take', async () => {
      // 600 a minute, burst 1: the second request waits ~100 ms for its token, twice the timeout.
      const bucket = new TokenBucket(
        { burst: 1, requestsPerMinute: 600, phaseMarginMs: 0 },
        systemTiming,
      );
      const provider = new PacedAtSend();
      const paced: number[] = [];
      const { outcomes, options } = setup([], {
        timing: systemTiming,
        bucket,
        timeoutMs: 50,
        retry: { ...RETRY, max_attempts: 1 },
        onPaced: ({ waitMs }) => paced.push(waitMs),
      });
      await callProvider(provider, request, options);
      await callProvider(provider, request, options);
      expect(provider.sent).toHaveLength(2);
      // The second was opened right after the first and sent only once its token came.
      const waited = (provider.sent[1] as number) - (provider.opened[1] as number);
      expect(waited).toBeGreaterThanOrEqual(90);
      expect(paced.at(-1)).toBeGreaterThanOrEqual(90);
      // Its duration counts from the take, not from the call.
      expect(outcomes.map((o) => o.status)).toEqual(['ok', 'ok']);
      expect(outcomes[1]?.durationMs).toBeLessThan(waited);
    });
  });

  describe('rate limits (429)', () => {
    it('pauses the bucket for the cooldown when it is longer than Retry-After', async () => {
      const timing = new FakeTiming();
      const bucket = new TokenBucket({ burst: 2, requestsPerMinute: 60, phaseMarginMs: 0 }, timing);
      const { provider, outcomes, options } = setup(
        [{ error: rateLimited(5_000) }, { bars: BARS }],
        {
          timing,
          bucket,
          pacing: PACING,
        },
      );
      await timing.run(callProvider(provider, request, options));
      // Paused 30 s (cooldown), then restarted empty: the next token lands one second later.
      expect(provider.calls.map((c) => c.at)).toEqual([0, 31_000]);
      expect(outcomes.map((o) => o.status)).toEqual(['rate_limited', 'ok']);
    });

    it('pauses the bucket for Retry-After when it is longer than the cooldown', async () => {
      const timing = new FakeTiming();
      const bucket = new TokenBucket({ burst: 2, requestsPerMinute: 60, phaseMarginMs: 0 }, timing);
      const { provider, options } = setup([{ error: rateLimited(90_000) }, { bars: BARS }], {
        timing,
        bucket,
        pacing: PACING,
      });
      await timing.run(callProvider(provider, request, options));
      expect(provider.calls.map((c) => c.at)).toEqual([0, 91_000]);
    });

    it('the pause holds every other request on the same bucket', async () => {
      const timing = new FakeTiming();
      const bucket = new TokenBucket({ burst: 5, requestsPerMinute: 60, phaseMarginMs: 0 }, timing);
      const { provider, options } = setup([{ error: rateLimited() }, { bars: BARS }], {
        timing,
        bucket,
        pacing: PACING,
      });
      const call = callProvider(provider, request, options);
      await settle();
      const others: number[] = [];
      const other = bucket.acquire().then(() => others.push(timing.monotonic()));
      await timing.run(Promise.all([call, other]));
      // The retry queued first; both wait out the 30 s cooldown and start one token apart.
      expect(provider.calls.map((c) => c.at)).toEqual([0, 31_000]);
      expect(others).toEqual([32_000]);
    });

    it('does not spend an attempt: max_attempts 1 still succeeds after 429s', async () => {
      const timing = new FakeTiming();
      const bucket = new TokenBucket({ burst: 1, requestsPerMinute: 60, phaseMarginMs: 0 }, timing);
      const { provider, retries, options } = setup(
        [{ error: rateLimited(1_000) }, { error: rateLimited(1_000) }, { bars: BARS }],
        {
          timing,
          bucket,
          pacing: { ...PACING, cooldown_seconds: 0 },
          retry: { ...RETRY, max_attempts: 1 },
        },
      );
      expect(await timing.run(callProvider(provider, request, options))).toBe(BARS);
      // Pauses of 1 s then 2 s (cooldown_seconds: 0 still pauses the 1 s floor, doubled), each
      // followed by the one-second refill of an emptied bucket.
      expect(provider.calls.map((c) => c.at)).toEqual([0, 2_000, 5_000]);
      expect(retries).toEqual([]);
    });

    it('without a bucket, sleeps the wait itself and does not spend an attempt', async () => {
      const { timing, provider, retries, options } = setup(
        [{ error: rateLimited(7_000) }, { bars: BARS }],
        { retry: { ...RETRY, max_attempts: 1 } },
      );
      expect(await timing.run(callProvider(provider, request, options))).toBe(BARS);
      expect(provider.calls.map((c) => c.at)).toEqual([0, 7_000]);
      expect(timing.sleeps).toEqual([7_000]);
      expect(retries).toEqual([]);
    });
  });

  describe('waits the server asks for (max_retry_after)', () => {
    /** `Retry-After: 9999999`, as a server once sent: 115 days. */
    const DAYS_MS = 9_999_999_000;

    it('a 429 asking longer than the default 15m fails at once, naming the wait and the key', async () => {
      const { timing, provider, outcomes, retries, options } = setup([
        { error: rateLimited(DAYS_MS) },
      ]);
      const failure = await timing.run(callProvider(provider, request, options)).catch((e) => e);
      expect(failure).toBeInstanceOf(ProviderRateLimitedError);
      expect((failure as ProviderRateLimitedError).code).toBe('MDP_PROVIDER_RATE_LIMITED');
      expect((failure as Error).message).toBe(
        'provider fake_1 asked to wait 115d 17h 46m 39s before the next request (Retry-After), ' +
          'longer than providers.fake_1.pacing.max_retry_after (15m); failed the request instead ' +
          'of waiting. Run again later, or raise providers.fake_1.pacing.max_retry_after to wait that long',
      );
      expect((failure as Error).cause).toBeInstanceOf(TransientProviderError);
      expect(provider.calls).toHaveLength(1);
      expect(timing.sleeps).toEqual([]);
      expect(timing.monotonic()).toBe(0);
      expect(outcomes.map((o) => o.status)).toEqual(['rate_limited']);
      expect(retries).toEqual([]);
    });

    it('a paced provider is refused the same way and its bucket is not paused', async () => {
      const timing = new FakeTiming();
      const bucket = new TokenBucket({ burst: 2, requestsPerMinute: 60, phaseMarginMs: 0 }, timing);
      const { provider, options } = setup([{ error: rateLimited(DAYS_MS) }], {
        timing,
        bucket,
        pacing: PACING,
      });
      const failure = await timing.run(callProvider(provider, request, options)).catch((e) => e);
      expect(failure).toBeInstanceOf(ProviderRateLimitedError);
      // The next request of another chunk starts at once: the refusal left no pause behind.
      await timing.run(bucket.acquire());
      expect(timing.monotonic()).toBe(0);
    });

    it('pacing.max_retry_after moves the bound: 90m is waited under 2h, 3h is refused', async () => {
      const pacing = { ...PACING, max_retry_after: 2 * 3_600_000 };
      const waited = setup([{ error: rateLimited(90 * 60_000) }, { bars: BARS }], { pacing });
      await waited.timing.run(callProvider(waited.provider, request, waited.options));
      expect(waited.provider.calls.map((c) => c.at)).toEqual([0, 90 * 60_000]);

      const refused = setup([{ error: rateLimited(3 * 3_600_000) }], { pacing });
      const failure = await refused.timing
        .run(callProvider(refused.provider, request, refused.options))
        .catch((e) => e);
      expect((failure as Error).message).toContain('asked to wait 3h before the next request');
      expect((failure as Error).message).toContain('max_retry_after (2h)');
    });

    it('a Retry-After too long to be a number (Infinity) is refused as forever', async () => {
      const { timing, provider, options } = setup([{ error: rateLimited(Infinity) }]);
      const failure = await timing.run(callProvider(provider, request, options)).catch((e) => e);
      expect((failure as Error).message).toContain('asked to wait forever');
      expect(timing.sleeps).toEqual([]);
    });

    it('a 503 whose Retry-After is over the bound fails at once too, as unavailable', async () => {
      const error = new TransientProviderError('fake_1', '503', {
        retryAfterMs: 20 * 60_000,
        status: 503,
      });
      const { timing, provider, retries, options } = setup([{ error }]);
      const failure = await timing.run(callProvider(provider, request, options)).catch((e) => e);
      expect(failure).toBeInstanceOf(ProviderUnavailableError);
      expect((failure as ProviderUnavailableError).code).toBe('MDP_PROVIDER_UNAVAILABLE');
      expect((failure as Error).message).toBe(
        'provider fake_1 is unavailable (503) and asked to wait 20m before the next request ' +
          '(Retry-After), longer than providers.fake_1.pacing.max_retry_after (15m); failed the ' +
          'request instead of waiting. Run again later, or raise ' +
          'providers.fake_1.pacing.max_retry_after to wait that long',
      );
      expect(provider.calls).toHaveLength(1);
      expect(retries).toEqual([]);
      expect(timing.sleeps).toEqual([]);
    });

    it('a request timeout past Node’s timer limit still waits in full', async () => {
      vi.useFakeTimers();
      try {
        const { provider, options } = setup(['hang'], {
          timeoutMs: DAYS_MS,
          retry: { ...RETRY, max_attempts: 1 },
        });
        let settled = false;
        const call = callProvider(provider, request, options).finally(() => (settled = true));
        call.catch(() => undefined);
        await vi.advanceTimersByTimeAsync(1_000);
        expect(settled).toBe(false);
        await vi.advanceTimersByTimeAsync(DAYS_MS);
        await expect(call).rejects.toBeInstanceOf(RetriesExhaustedError);
      } finally {
        vi.useRealTimers();
      }
    });
  });

  describe('backoff between consecutive 429s', () => {
    it('without a pacing block, 429s without Retry-After wait 1 s, 2 s, 4 s', async () => {
      const { timing, provider, options } = setup([
        { error: rateLimited() },
        { error: rateLimited() },
        { error: rateLimited() },
        { bars: BARS },
      ]);
      expect(await timing.run(callProvider(provider, request, options))).toBe(BARS);
      expect(provider.calls.map((c) => c.at)).toEqual([0, 1_000, 3_000, 7_000]);
    });

    it('with a pacing block, the bucket pause doubles from cooldown_seconds', async () => {
      const timing = new FakeTiming();
      const bucket = new TokenBucket({ burst: 2, requestsPerMinute: 60, phaseMarginMs: 0 }, timing);
      const { provider, options } = setup(
        [{ error: rateLimited() }, { error: rateLimited() }, { bars: BARS }],
        { timing, bucket, pacing: PACING },
      );
      await timing.run(callProvider(provider, request, options));
      // 30 s then 60 s of pause, each followed by the one-second refill of an emptied bucket.
      expect(provider.calls.map((c) => c.at)).toEqual([0, 31_000, 92_000]);
    });

    it('the doubling stops at max_retry_after', async () => {
      const pacing = { ...PACING, cooldown_seconds: 60, max_retry_after: 3 * 60_000 };
      const steps: Step[] = [
        ...Array.from({ length: 3 }, () => ({ error: rateLimited() })),
        { bars: BARS },
      ];
      const { timing, provider, options } = setup(steps, { pacing });
      await timing.run(callProvider(provider, request, options));
      const gaps = provider.calls.slice(1).map((c, i) => c.at - (provider.calls[i]?.at ?? 0));
      expect(gaps).toEqual([60_000, 120_000, 180_000]);
    });

    it('a success starts the doubling over', async () => {
      const { timing, provider, options } = setup([
        { error: rateLimited() },
        { error: rateLimited() },
        { bars: BARS },
        { error: rateLimited() },
        { bars: BARS },
      ]);
      await timing.run(callProvider(provider, request, options));
      await timing.run(callProvider(provider, request, options));
      expect(provider.calls.map((c) => c.at)).toEqual([0, 1_000, 3_000, 3_000, 4_000]);
    });

    it('429s to requests already in flight together double the pause once, and hold them all', async () => {
      const { timing, provider, options } = setup([
        { error: rateLimited() },
        { error: rateLimited() },
        { bars: BARS },
        { bars: BARS },
      ]);
      await timing.run(
        Promise.all([
          callProvider(provider, request, options),
          callProvider(provider, request, options),
        ]),
      );
      expect(provider.calls.map((c) => c.at)).toEqual([0, 0, 1_000, 1_000]);
    });

    it('a request of another chunk waits out the pause of an unpaced provider', async () => {
      const { timing, provider, options } = setup([
        { error: rateLimited() },
        { bars: BARS },
        { bars: BARS },
      ]);
      const first = callProvider(provider, request, options);
      await settle();
      const second = callProvider(provider, request, options);
      await timing.run(Promise.all([first, second]));
      expect(provider.calls.map((c) => c.at)).toEqual([0, 1_000, 1_000]);
    });
  });

  describe('timeouts and cancellation', () => {
    it('turns a request that outlives timeoutMs into a transient error', async () => {
      const { provider, outcomes, options } = setup(['hang'], {
        timeoutMs: 50,
        retry: { ...RETRY, max_attempts: 1 },
      });
      const failure = await callProvider(provider, request, options).catch((e) => e);
      expect(failure).toBeInstanceOf(RetriesExhaustedError);
      const cause = (failure as RetriesExhaustedError).cause;
      expect(cause).toBeInstanceOf(TransientProviderError);
      expect((cause as Error).message).toBe('provider fake_1: request timed out after 50 ms');
      expect(outcomes.map((o) => o.status)).toEqual(['timeout']);
      expect(provider.calls[0]?.signal.aborted).toBe(true);
    });

    it('retries after a timeout', async () => {
      const { provider, outcomes, options } = setup(['hang', { bars: BARS }], {
        timeoutMs: 50,
        retry: { ...RETRY, backoff_seconds: 0 },
      });
      expect(await callProvider(provider, request, options)).toBe(BARS);
      expect(outcomes.map((o) => o.status)).toEqual(['timeout', 'ok']);
    });

    it('times out even a provider that ignores its signal', { timeout: 2_000 }, async () => {
      const { provider, outcomes, options } = setup(['hang-deaf', { bars: BARS }], {
        timeoutMs: 50,
        retry: { ...RETRY, backoff_seconds: 0 },
      });
      expect(await callProvider(provider, request, options)).toBe(BARS);
      expect(outcomes.map((o) => o.status)).toEqual(['timeout', 'ok']);
    });

    it('rethrows the signal’s reason when cancelled mid-request, without retrying', async () => {
      const controller = new AbortController();
      const { provider, retries, options } = setup(['hang', { bars: BARS }], {
        signal: controller.signal,
      });
      const call = callProvider(provider, request, options);
      await settle();
      const reason = new Error('SIGINT');
      controller.abort(reason);
      await expect(call).rejects.toBe(reason);
      expect(provider.calls).toHaveLength(1);
      expect(retries).toEqual([]);
    });

    it('rethrows the signal’s reason when cancelled while the provider ignores its signal', async () => {
      const controller = new AbortController();
      const { provider, options } = setup(['hang-deaf'], { signal: controller.signal });
      const call = callProvider(provider, request, options);
      await settle();
      const reason = new Error('SIGTERM');
      controller.abort(reason);
      await expect(call).rejects.toBe(reason);
    });

    it('rethrows the signal’s reason even when the provider rejects with something else', async () => {
      const controller = new AbortController();
      const reason = new Error('SIGTERM');
      const timing = new FakeTiming();
      const provider: Provider = {
        name: 'fake_1',
        maxBarsPerRequest: 10,
        fetchBars: () => {
          controller.abort(reason);
          return Promise.reject(transient('connection reset'));
        },
      };
      const { options } = setup([], { timing, signal: controller.signal });
      await expect(timing.run(callProvider(provider, request, options))).rejects.toBe(reason);
    });

    it('cancellation during a backoff sleep stops retrying', async () => {
      const controller = new AbortController();
      const { timing, provider, options } = setup([{ error: transient() }, { bars: BARS }], {
        signal: controller.signal,
      });
      const call = callProvider(provider, request, options);
      const outcome = call.catch((e: unknown) => e);
      await timing.advance(4_000);
      expect(timing.pendingTimers).toBe(1);
      const reason = new Error('SIGINT');
      controller.abort(reason);
      expect(await outcome).toBe(reason);
      await timing.advance(60_000);
      expect(provider.calls).toHaveLength(1);
    });

    it('cancellation while waiting for a token stops before any request', async () => {
      const controller = new AbortController();
      const timing = new FakeTiming();
      const bucket = new TokenBucket({ burst: 1, requestsPerMinute: 1, phaseMarginMs: 0 }, timing);
      await bucket.acquire();
      const { provider, options } = setup([{ bars: BARS }], {
        timing,
        bucket,
        signal: controller.signal,
      });
      const outcome = callProvider(provider, request, options).catch((e: unknown) => e);
      await timing.advance(10_000);
      const reason = new Error('SIGINT');
      controller.abort(reason);
      expect(await outcome).toBe(reason);
      expect(provider.calls).toHaveLength(0);
    });
  });
});

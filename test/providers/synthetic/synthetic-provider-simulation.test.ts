import { describe, expect, it } from 'vitest';
import { syntheticProviderSchema } from '../../../src/core/config/config-schema.js';
import { PermanentProviderError, TransientProviderError } from '../../../src/core/errors.js';
import {
  SyntheticProvider,
  type SyntheticProviderOptions,
} from '../../../src/providers/synthetic/synthetic-provider.js';

const JAN_2024 = Date.UTC(2024, 0, 1);
const MINUTE = 60_000;

function provider(
  config: Record<string, unknown>,
  options: SyntheticProviderOptions = {},
): SyntheticProvider {
  const parsed = syntheticProviderSchema.parse({ type: 'synthetic', seed: 42, ...config });
  return new SyntheticProvider('synthetic_1', parsed, options);
}

/** A fake clock that starts in 2030, long after the windows fetched here. */
function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let now = Date.UTC(2030, 0, 1);
  return { now: () => now, advance: (ms) => (now += ms) };
}

/** Fetches ten 1m bars; resolves to 'ok' or the error thrown. */
async function call(target: SyntheticProvider, symbol = 'AAA'): Promise<'ok' | unknown> {
  try {
    const bars = await target.fetchBars(
      { symbol, interval: '1m', start: JAN_2024, end: JAN_2024 + 10 * MINUTE },
      new AbortController().signal,
    );
    expect(bars).toHaveLength(10);
    return 'ok';
  } catch (error: unknown) {
    return error;
  }
}

async function failurePattern(seed: number, rate: number, requests: number): Promise<boolean[]> {
  const target = provider({ seed, simulate: { failure_rate: rate } });
  const pattern: boolean[] = [];
  for (let i = 0; i < requests; i++) pattern.push((await call(target)) !== 'ok');
  return pattern;
}

describe('SyntheticProvider simulation', () => {
  it('fails about failure_rate of requests with transient errors', async () => {
    for (const rate of [0.05, 0.2, 0.5]) {
      const target = provider({ simulate: { failure_rate: rate } });
      let failed = 0;
      for (let i = 0; i < 4000; i++) {
        const outcome = await call(target);
        if (outcome === 'ok') continue;
        failed++;
        expect(outcome).toBeInstanceOf(TransientProviderError);
        expect((outcome as TransientProviderError).rateLimited).toBe(false);
        expect((outcome as TransientProviderError).retryAfterMs).toBeUndefined();
      }
      // ±4 binomial standard deviations; the draws are seeded, so this cannot flake.
      const sd = Math.sqrt(4000 * rate * (1 - rate));
      expect(Math.abs(failed - 4000 * rate)).toBeLessThan(4 * sd);
      expect(target.stats).toEqual({ requests: 4000, rateLimited: 0, failures: failed });
    }
  });

  it('fails the same requests for the same seed and different ones for another seed', async () => {
    const first = await failurePattern(42, 0.3, 500);
    expect(await failurePattern(42, 0.3, 500)).toEqual(first);
    expect(await failurePattern(43, 0.3, 500)).not.toEqual(first);
    expect((await failurePattern(42, 0, 200)).some(Boolean)).toBe(false);
    expect((await failurePattern(42, 1, 200)).every(Boolean)).toBe(true);
  });

  it('still reports an unknown symbol as permanent, not as a simulated failure', async () => {
    const target = provider({ simulate: { failure_rate: 1 } });
    expect(await call(target, 'NOT A SYMBOL')).toBeInstanceOf(PermanentProviderError);
    expect(target.stats.failures).toBe(0);
  });

  it('answers 429 with the wait until a token is free, and accepts again after it', async () => {
    const clock = fakeClock();
    const target = provider(
      { simulate: { server_limit: { requests_per_minute: 60, burst: 3 } } },
      { clock: clock.now },
    );
    expect([await call(target), await call(target), await call(target)]).toEqual([
      'ok',
      'ok',
      'ok',
    ]);
    const limited = await call(target);
    expect(limited).toBeInstanceOf(TransientProviderError);
    expect(limited).toMatchObject({ rateLimited: true, retryAfterMs: 1000 });
    expect((limited as Error).message).toMatch(/429 .*60 requests\/minute/);

    clock.advance(400);
    expect(await call(target)).toMatchObject({ rateLimited: true, retryAfterMs: 600 });
    clock.advance(599);
    expect(await call(target)).toMatchObject({ rateLimited: true, retryAfterMs: 1 });
    clock.advance(1);
    expect(await call(target)).toBe('ok');
    expect(await call(target)).toMatchObject({ rateLimited: true, retryAfterMs: 1000 });

    clock.advance(60_000); // refills to burst, not beyond
    expect([await call(target), await call(target), await call(target)]).toEqual([
      'ok',
      'ok',
      'ok',
    ]);
    expect(await call(target)).toMatchObject({ rateLimited: true, retryAfterMs: 1000 });
    expect(target.stats).toEqual({ requests: 12, rateLimited: 5, failures: 0 });
  });

  it('computes the wait for a fractional rate and honours a fixed retry_after_seconds', async () => {
    const clock = fakeClock();
    const slow = provider(
      { simulate: { server_limit: { requests_per_minute: 40 } } },
      { clock: clock.now },
    );
    expect(await call(slow)).toBe('ok');
    expect(await call(slow)).toMatchObject({ rateLimited: true, retryAfterMs: 1500 });
    clock.advance(1500);
    expect(await call(slow)).toBe('ok');

    const fixed = provider(
      { simulate: { server_limit: { requests_per_minute: 60, retry_after_seconds: 30 } } },
      { clock: clock.now },
    );
    expect(await call(fixed)).toBe('ok');
    expect(await call(fixed)).toMatchObject({ rateLimited: true, retryAfterMs: 30_000 });
  });

  it('admits a caller that keeps to the limit, and at most burst + rate × time of a fast one', async () => {
    const clock = fakeClock();
    const limit = { requests_per_minute: 120, burst: 5 };
    const paced = provider({ simulate: { server_limit: limit } }, { clock: clock.now });
    for (let i = 0; i < 100; i++) {
      expect(await call(paced)).toBe('ok');
      clock.advance(500);
    }

    const greedy = provider({ simulate: { server_limit: limit } }, { clock: clock.now });
    let admitted = 0;
    for (let i = 0; i < 1000; i++) {
      if ((await call(greedy)) === 'ok') admitted++;
      clock.advance(37);
    }
    // 37 s elapsed at 2 requests a second, on top of a full bucket of 5.
    expect(admitted).toBeLessThanOrEqual(5 + 74);
    expect(admitted).toBeGreaterThanOrEqual(74);
    expect(greedy.stats).toEqual({ requests: 1000, rateLimited: 1000 - admitted, failures: 0 });
  });

  it('waits latency_ms through the injected sleep, with the caller’s signal', async () => {
    const waits: Array<{ ms: number; signal: AbortSignal }> = [];
    const sleep = async (ms: number, signal: AbortSignal) => {
      waits.push({ ms, signal });
    };
    const target = provider(
      { simulate: { latency_ms: 250 } },
      { clock: () => Date.UTC(2030, 0, 1), sleep },
    );
    const controller = new AbortController();
    const bars = await target.fetchBars(
      { symbol: 'AAA', interval: '1m', start: JAN_2024, end: JAN_2024 + MINUTE },
      controller.signal,
    );
    expect(bars).toHaveLength(1);
    expect(waits).toEqual([{ ms: 250, signal: controller.signal }]);

    const noLatency = provider({}, { clock: () => Date.UTC(2030, 0, 1), sleep });
    expect(await call(noLatency)).toBe('ok');
    expect(waits).toHaveLength(1);
  });

  it('throws the abort reason after the latency even if the injected sleep ignores the signal', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled');
    const target = provider(
      { simulate: { latency_ms: 10 } },
      { clock: () => Date.UTC(2030, 0, 1), sleep: async () => controller.abort(reason) },
    );
    await expect(
      target.fetchBars(
        { symbol: 'AAA', interval: '1m', start: JAN_2024, end: JAN_2024 + MINUTE },
        controller.signal,
      ),
    ).rejects.toBe(reason);
  });
});

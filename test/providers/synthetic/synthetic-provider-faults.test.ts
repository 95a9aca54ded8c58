import { describe, expect, it } from 'vitest';
import {
  SIMULATED_BAD_BARS,
  syntheticProviderSchema,
} from '../../../src/core/config/config-schema.js';
import type { Bar } from '../../../src/core/bar.js';
import type { FetchRequest } from '../../../src/core/provider.js';
import { validateBars } from '../../../src/pipeline/bar-validator.js';
import { SyntheticProvider } from '../../../src/providers/synthetic/synthetic-provider.js';

const JAN_2024 = Date.UTC(2024, 0, 1);
const MINUTE = 60_000;
const DAY = 1440 * MINUTE;

function provider(simulate: Record<string, unknown>, seed = 42): SyntheticProvider {
  const parsed = syntheticProviderSchema.parse({ type: 'synthetic', seed, simulate });
  return new SyntheticProvider('synthetic_1', parsed);
}

const request = (start: number, end: number, symbol = 'AAA'): FetchRequest => ({
  symbol,
  interval: '1m',
  start,
  end,
});

async function fetch(target: SyntheticProvider, req: FetchRequest): Promise<Bar[]> {
  return (await target.fetchBars(req, new AbortController().signal)) as Bar[];
}

describe('SyntheticProvider bad bars (simulate.bad_bars)', () => {
  it('spoils the same bars whatever the chunking: a pure function of seed, symbol and ts', async () => {
    const target = provider({ bad_bars: { rate: 0.05 } });
    const whole = await fetch(target, request(JAN_2024, JAN_2024 + DAY));
    const pieces: Bar[] = [];
    for (let start = JAN_2024; start < JAN_2024 + DAY; start += 97 * MINUTE) {
      pieces.push(
        ...(await fetch(target, request(start, Math.min(start + 97 * MINUTE, JAN_2024 + DAY)))),
      );
    }
    expect(JSON.stringify(pieces)).toBe(JSON.stringify(whole));
    const other = await fetch(
      provider({ bad_bars: { rate: 0.05 } }, 43),
      request(JAN_2024, JAN_2024 + DAY),
    );
    expect(JSON.stringify(other)).not.toBe(JSON.stringify(whole));
  });

  it('sends every kind, each rejected by the validator for its reason, about rate of bars', async () => {
    const target = provider({ bad_bars: { rate: 0.05 } });
    const req = request(JAN_2024, JAN_2024 + DAY);
    const { valid, rejected } = validateBars(await fetch(target, req), req, 'synthetic_1');
    const reasons = new Map<string, number>();
    for (const bar of rejected) reasons.set(bar.reason, (reasons.get(bar.reason) ?? 0) + 1);
    expect([...reasons.keys()].sort()).toEqual([
      'duplicate_ts',
      'high_below_low',
      'negative_volume',
      'non_finite',
      'unaligned_ts',
      'wrong_series',
    ]);
    // 5% of 1440 is 72; ±4 binomial standard deviations (seeded, so this cannot flake).
    expect(rejected.length).toBeGreaterThan(72 - 4 * Math.sqrt(72 * 0.95));
    expect(rejected.length).toBeLessThan(72 + 4 * Math.sqrt(72 * 0.95));
    // Extra bars come beside good ones; value faults replace them: every minute is answered once.
    const answered = new Set([
      ...valid.map((bar) => bar.ts),
      ...rejected
        .filter((bar) => ['non_finite', 'high_below_low', 'negative_volume'].includes(bar.reason))
        .map((bar) => bar.ts),
    ]);
    expect(answered.size).toBe(1440);
  });

  it('sends only the kinds asked for; rate 0 sends the clean series', async () => {
    const req = request(JAN_2024, JAN_2024 + DAY);
    const only = provider({ bad_bars: { rate: 0.1, kinds: ['negative_volume'] } });
    const { rejected } = validateBars(await fetch(only, req), req, 'synthetic_1');
    expect(new Set(rejected.map((bar) => bar.reason))).toEqual(new Set(['negative_volume']));
    const none = await fetch(provider({ bad_bars: { rate: 0 } }), req);
    expect(none).toEqual(await fetch(provider({}), req));
    expect(SIMULATED_BAD_BARS).toHaveLength(7);
  });
});

describe('SyntheticProvider page faults (simulate.empty_pages, short_pages, hang_rate)', () => {
  it('answers empty or half pages at about their rates, the same way on every run', async () => {
    const pattern = async (): Promise<number[]> => {
      const target = provider({ empty_pages: 0.2, short_pages: 0.3 });
      const sizes: number[] = [];
      for (let i = 0; i < 500; i++) {
        const start = JAN_2024 + i * 100 * MINUTE;
        sizes.push((await fetch(target, request(start, start + 100 * MINUTE))).length);
      }
      return sizes;
    };
    const sizes = await pattern();
    expect(await pattern()).toEqual(sizes);
    expect(new Set(sizes)).toEqual(new Set([0, 50, 100]));
    const empty = sizes.filter((n) => n === 0).length;
    const short = sizes.filter((n) => n === 50).length;
    expect(Math.abs(empty - 100)).toBeLessThan(4 * Math.sqrt(500 * 0.2 * 0.8));
    expect(Math.abs(short - 150)).toBeLessThan(4 * Math.sqrt(500 * 0.3 * 0.7));
  });

  it('a window asked again may get a whole page: the draw counts the tries of that window', async () => {
    const target = provider({ short_pages: 0.5 });
    const req = request(JAN_2024, JAN_2024 + 100 * MINUTE);
    const sizes: number[] = [];
    for (let i = 0; i < 40; i++) sizes.push((await fetch(target, req)).length);
    expect(new Set(sizes)).toEqual(new Set([50, 100]));
  });

  it('a hanging request answers nothing until its signal aborts it', async () => {
    const target = provider({ hang_rate: 1 });
    const controller = new AbortController();
    const pending = target.fetchBars(request(JAN_2024, JAN_2024 + 10 * MINUTE), controller.signal);
    let settled = false;
    pending.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    controller.abort(new Error('request timed out'));
    await expect(pending).rejects.toThrow('request timed out');
  });

  it('refuses shares of the same requests that add up to more than 1', () => {
    const parsed = syntheticProviderSchema.safeParse({
      type: 'synthetic',
      simulate: { hang_rate: 0.5, empty_pages: 0.3, short_pages: 0.3 },
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/together at most 1/);
  });
});

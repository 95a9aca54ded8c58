import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Bar } from '../../../src/core/bar.js';
import { syntheticProviderSchema } from '../../../src/core/config/config-schema.js';
import { PermanentProviderError } from '../../../src/core/errors.js';
import type { Interval } from '../../../src/core/interval.js';
import type { FetchRequest } from '../../../src/core/provider.js';
import {
  SyntheticProvider,
  createSyntheticProvider,
  type SyntheticProviderOptions,
} from '../../../src/providers/synthetic/synthetic-provider.js';

const JAN_2024 = Date.UTC(2024, 0, 1);
const MINUTE = 60_000;
const HOUR = 3_600_000;
/** A fake "now" long after every window below, unless a test says otherwise. */
const LATER = Date.UTC(2030, 0, 1);

function provider(
  config: Record<string, unknown> = {},
  options: SyntheticProviderOptions = { clock: () => LATER },
): SyntheticProvider {
  const parsed = syntheticProviderSchema.parse({ type: 'synthetic', seed: 42, ...config });
  return new SyntheticProvider('synthetic_1', parsed, options);
}

function fetch(
  target: SyntheticProvider,
  request: Partial<FetchRequest>,
  signal = new AbortController().signal,
): Promise<Bar[]> {
  return target.fetchBars(
    { symbol: 'AAA', interval: '1m', start: JAN_2024, end: JAN_2024 + HOUR, ...request },
    signal,
  );
}

const times = (bars: Bar[]) => bars.map((bar) => bar.ts);

describe('SyntheticProvider', () => {
  it('takes its name and page size from the config', () => {
    const config = syntheticProviderSchema.parse({ type: 'synthetic', max_bars_per_request: 250 });
    const created = createSyntheticProvider('synthetic_2', config);
    expect(created).toBeInstanceOf(SyntheticProvider);
    expect(created.name).toBe('synthetic_2');
    expect(created.maxBarsPerRequest).toBe(250);
    const defaults = syntheticProviderSchema.parse({ type: 'synthetic' });
    expect(provider().maxBarsPerRequest).toBe(defaults.max_bars_per_request);
  });

  it('returns the bars of a half-open window, ascending, labelled with the provider', async () => {
    const bars = await fetch(provider(), { start: JAN_2024, end: JAN_2024 + 5 * MINUTE });
    expect(times(bars)).toEqual([0, 1, 2, 3, 4].map((i) => JAN_2024 + i * MINUTE));
    expect(bars.every((bar) => bar.provider === 'synthetic_1' && bar.symbol === 'AAA')).toBe(true);
    expect(bars.every((bar) => bar.interval === '1m')).toBe(true);
  });

  it('starts at the first aligned ts at or after an unaligned start and stops before end', async () => {
    const target = provider();
    const fiveMinutes = (start: number, end: number) =>
      fetch(target, { interval: '5m', start, end }).then(times);
    const t = (minutes: number) => JAN_2024 + minutes * MINUTE;
    expect(await fiveMinutes(t(1), t(16))).toEqual([t(5), t(10), t(15)]);
    expect(await fiveMinutes(t(0) + 1, t(15))).toEqual([t(5), t(10)]);
    expect(await fiveMinutes(t(0), t(15) + 1)).toEqual([t(0), t(5), t(10), t(15)]);
    expect(await fiveMinutes(t(0) - 1, t(5) - 1)).toEqual([t(0)]);
    expect(await fiveMinutes(t(1), t(5))).toEqual([]);
    expect(await fiveMinutes(t(1), t(4))).toEqual([]);
  });

  it('returns nothing for an empty or inverted window', async () => {
    const target = provider();
    expect(await fetch(target, { start: JAN_2024, end: JAN_2024 })).toEqual([]);
    expect(await fetch(target, { start: JAN_2024 + HOUR, end: JAN_2024 })).toEqual([]);
  });

  it('never returns a bar whose interval has not closed at the clock’s now', async () => {
    let now = JAN_2024 + 10 * MINUTE + 30_000;
    const target = provider({}, { clock: () => now });
    const window = { start: JAN_2024, end: JAN_2024 + HOUR };
    const closed = await fetch(target, window);
    expect(closed).toHaveLength(10);
    expect(closed.at(-1)?.ts).toBe(JAN_2024 + 9 * MINUTE);

    now = JAN_2024 + 11 * MINUTE - 1;
    expect(await fetch(target, window)).toHaveLength(10);
    now = JAN_2024 + 11 * MINUTE;
    expect(await fetch(target, window)).toHaveLength(11);

    now = JAN_2024 + 3 * HOUR + 1;
    const hours = await fetch(target, {
      interval: '1h',
      start: JAN_2024,
      end: JAN_2024 + 5 * HOUR,
    });
    expect(times(hours)).toEqual([JAN_2024, JAN_2024 + HOUR, JAN_2024 + 2 * HOUR]);
    expect(await fetch(target, { start: now, end: now + HOUR })).toEqual([]);
  });

  it('by default never returns bars beyond the real current time', async () => {
    const target = provider({}, {});
    const start = Date.now() - 30 * MINUTE;
    const bars = await fetch(target, { start, end: start + 2 * HOUR });
    expect(bars.length).toBeGreaterThanOrEqual(28);
    expect(bars.length).toBeLessThanOrEqual(30);
    expect((bars.at(-1)?.ts ?? 0) + MINUTE).toBeLessThanOrEqual(Date.now());
  });

  it('caps a response at maxBarsPerRequest, returning the first bars of the window', async () => {
    const capped = provider({ max_bars_per_request: 100 });
    const window = { start: JAN_2024 + 1, end: JAN_2024 + 1000 * MINUTE };
    const first = await fetch(capped, window);
    expect(first).toHaveLength(100);
    expect(first[0]?.ts).toBe(JAN_2024 + MINUTE);
    expect(first.at(-1)?.ts).toBe(JAN_2024 + 100 * MINUTE);

    const pages = [...first];
    while (pages.length < 999) {
      const next = (pages.at(-1)?.ts ?? 0) + MINUTE;
      pages.push(...(await fetch(capped, { ...window, start: next })));
    }
    expect(pages).toEqual(await fetch(provider(), window));
  });

  it('yields identical bars however a window is chunked, and across instances', async () => {
    const whole = provider();
    const intervals: Interval[] = ['1m', '5m', '1h', '1d'];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...intervals),
        fc.integer({ min: 0, max: 365 * 24 * 60 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 2000 * MINUTE - 1 }), { maxLength: 8 }),
        async (interval, startMinute, cuts) => {
          const start = JAN_2024 + startMinute * MINUTE + 7;
          const end = start + 2000 * MINUTE;
          const expected = await fetch(whole, { interval, start, end });
          const edges = [start, ...cuts.map((cut) => start + cut).sort((a, b) => a - b), end];
          const chunked = provider();
          const parts: Bar[] = [];
          for (let i = 0; i + 1 < edges.length; i++) {
            parts.push(
              ...(await fetch(chunked, {
                interval,
                start: edges[i] as number,
                end: edges[i + 1] as number,
              })),
            );
          }
          expect(JSON.stringify(parts)).toBe(JSON.stringify(expected));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('gives different bars for different seeds', async () => {
    const a = await fetch(provider({ seed: 1 }), {});
    const b = await fetch(provider({ seed: 2 }), {});
    expect(a).toHaveLength(60);
    expect(b.map((bar) => bar.close)).not.toEqual(a.map((bar) => bar.close));
  });

  it('throws the abort reason when the signal is already aborted, without sending', async () => {
    const target = provider();
    const controller = new AbortController();
    const reason = new Error('shutting down');
    controller.abort(reason);
    await expect(fetch(target, {}, controller.signal)).rejects.toBe(reason);
    expect(target.stats.requests).toBe(0);
  });

  it('throws the abort reason when aborted during simulated latency', async () => {
    const target = provider({ simulate: { latency_ms: 60_000 } }, { clock: () => LATER });
    const controller = new AbortController();
    const pending = fetch(target, {}, controller.signal);
    const reason = new Error('timed out');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(target.stats.requests).toBe(1);
  });

  it('rejects an unknown symbol with a PermanentProviderError', async () => {
    const target = provider();
    for (const symbol of ['', 'A'.repeat(21), 'AA PL', 'BTC/USD', 'ÄPFEL', 'X;DROP']) {
      const error = await fetch(target, { symbol }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermanentProviderError);
      expect((error as PermanentProviderError).code).toBe('MDP_PROVIDER_PERMANENT');
      expect((error as Error).message).toContain('unknown symbol');
      expect((error as Error).message).toContain('synthetic_1');
    }
    for (const symbol of ['brk.b', 'BRK-B', 'X_1', 'A'.repeat(20)]) {
      expect(await fetch(target, { symbol, end: JAN_2024 + MINUTE })).toHaveLength(1);
    }
  });

  it('rejects an unsupported interval or a non-finite window as permanent', async () => {
    const target = provider();
    await expect(fetch(target, { interval: '2m' as Interval })).rejects.toThrow(
      /unsupported interval "2m"/,
    );
    await expect(fetch(target, { end: Number.NaN })).rejects.toBeInstanceOf(PermanentProviderError);
  });
});

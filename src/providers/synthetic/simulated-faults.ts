import type { Bar } from '../../core/bar.js';
import type { SIMULATED_BAD_BARS } from '../../core/config/config-schema.js';
import { intervalMs } from '../../core/interval.js';
import type { FetchRequest } from '../../core/provider.js';
import { hashString32, mix32, seedKey, toUnit } from './hash32.js';

/** A kind of bad bar the synthetic provider sends when told to. */
export type SimulatedBadBar = (typeof SIMULATED_BAD_BARS)[number];

/** What goes wrong with one request, if anything. */
export type PageFault = 'hang' | 'empty' | 'short';

/** The `simulate` settings this class acts on. */
export interface SimulatedFaultsConfig {
  readonly hangRate: number;
  readonly emptyPages: number;
  readonly shortPages: number;
  readonly badBars?: { readonly rate: number; readonly kinds: readonly SimulatedBadBar[] };
}

const GOLDEN = 0x9e3779b1 | 0;
const MINUTE_MS = 60_000;

/**
 * The synthetic provider's misbehaviour, seeded so tests can rely on it.
 *
 * Bad bars are a pure function of (seed, symbol, interval, ts), like the bars themselves: any
 * chunking of a window spoils the same bars, and a refetch cannot repair them. Value faults (NaN,
 * Infinity, high < low, negative volume) replace the bar; the others (an unaligned or repeated ts,
 * a bar of another symbol) come beside it, so the page still answers for every open time.
 *
 * Page faults (hang, empty, short) depend on how often the same window was asked for before, so a
 * retry of the window may get a good page while the whole sequence stays reproducible whatever
 * the concurrency.
 */
export class SimulatedFaults {
  private readonly badKey: number;
  private readonly pageKey: number;
  /** Tries per window; it grows with the windows asked for, which only a simulation pays. */
  private readonly asked = new Map<string, number>();

  constructor(
    seed: number,
    private readonly config: SimulatedFaultsConfig,
  ) {
    this.badKey = mix32(seedKey(seed) ^ 0x27d4eb2f);
    this.pageKey = mix32(seedKey(seed) ^ 0x165667b1);
  }

  /** True when some request may hang, come back empty or stop short. */
  get pageFaults(): boolean {
    return this.config.hangRate + this.config.emptyPages + this.config.shortPages > 0;
  }

  /** Decides the fate of this request (and counts it against its window). */
  pageFault(request: FetchRequest): PageFault | undefined {
    if (!this.pageFaults) return undefined;
    const window = `${request.symbol}|${request.interval}|${request.start}|${request.end}`;
    const nth = this.asked.get(window) ?? 0;
    this.asked.set(window, nth + 1);
    const u = toUnit(mix32(hashString32(window, this.pageKey) ^ Math.imul(nth + 1, GOLDEN)));
    const { hangRate, emptyPages, shortPages } = this.config;
    if (u < hangRate) return 'hang';
    if (u < hangRate + emptyPages) return 'empty';
    if (u < hangRate + emptyPages + shortPages) return 'short';
    return undefined;
  }

  /** The page as the misbehaving server sends it: some bars spoiled, some bad ones added. */
  spoil(bars: Bar[]): Bar[] {
    const bad = this.config.badBars;
    if (bad === undefined || bad.rate <= 0 || bars.length === 0) return bars;
    const first = bars[0] as Bar;
    const seriesKey = hashString32(`${first.symbol}|${first.interval}`, this.badKey);
    const step = intervalMs(first.interval);
    const out: Bar[] = [];
    for (const bar of bars) {
      const h = mix32(Math.imul((bar.ts / MINUTE_MS) | 0, GOLDEN) ^ seriesKey);
      if (toUnit(h) >= bad.rate) {
        out.push(bar);
        continue;
      }
      const kind = bad.kinds[(mix32(h) >>> 0) % bad.kinds.length] as SimulatedBadBar;
      switch (kind) {
        case 'nan':
          out.push({ ...bar, close: Number.NaN });
          break;
        case 'infinity':
          out.push({ ...bar, high: Number.POSITIVE_INFINITY });
          break;
        case 'high_below_low':
          out.push({ ...bar, high: bar.low - 1 });
          break;
        case 'negative_volume':
          out.push({ ...bar, volume: -1 - (bar.volume ?? 0) });
          break;
        case 'unaligned_ts':
          out.push(bar, { ...bar, ts: bar.ts + step / 2 });
          break;
        case 'duplicate_ts':
          out.push(bar, { ...bar });
          break;
        case 'wrong_symbol':
          out.push(bar, { ...bar, symbol: `${bar.symbol}.WRONG` });
          break;
      }
    }
    return out;
  }
}

import type { Bar } from '../../core/bar.js';
import { intervalMs, type Interval } from '../../core/interval.js';
import { hashString32, mix32, seedKey, toUnit } from './hash32.js';

/*
 * The price path is fractal value noise over a lattice of whole minutes: octave k has a lattice
 * point every 4^k minutes with a hashed value in [-1, 1), linearly interpolated between points, and
 * an amplitude of MINUTE_VOLATILITY * 2^k. Amplitude growing with the square root of the period
 * makes the increment variance grow linearly with the lag, so the path looks like a random walk,
 * yet the log price at any minute is a pure function of (seed, symbol, minute): no bar depends on
 * an earlier one. Above the largest octave (~2 years) the path is anchored to the symbol's base
 * price, and the whole sum is bounded, so prices stay within [0.29, 3.4] × base.
 */

const MINUTE_MS = 60_000;
/** Lattice periods 4^0 .. 4^10 minutes: one minute to about two years. */
const OCTAVES = 11;
/** Standard deviation of one minute's log return, roughly; about 35% a year annualised. */
const MINUTE_VOLATILITY = 0.0006;
const GOLDEN = 0x9e3779b1 | 0;
const INT32_UNIT = 1 / 2 ** 31;

/**
 * The deterministic bars of one (seed, symbol, interval) series. The bar at `ts` is a pure
 * function of (seed, symbol, interval, ts): `bars()` and `barAt()` agree bar for bar, whatever
 * the chunking. Open and close come from one price path shared by all intervals, so a bar's close
 * is the next bar's open and a 1h bar opens where its first 1m bar does; high, low, volume, vwap
 * and trade count are hashed per interval, so a 1h high is not the max of its 1m highs.
 * Minutes must fit an int32 (years ~1970 ± 4000); beyond that the lattice wraps.
 */
export class SyntheticSeries {
  /** Length of one bar in milliseconds. */
  readonly stepMs: number;
  private readonly stepMinutes: number;
  private readonly octaveKeys: Int32Array;
  private readonly barKey: number;
  private readonly basePrice: number;
  private readonly volumePerMinute: number;
  private readonly tradeSize: number;
  private readonly wickScale: number;
  /** Per octave, the lattice cell last used and its hashed end values (NaN: none yet). */
  private readonly cachedCells = new Float64Array(OCTAVES).fill(Number.NaN);
  private readonly cellStarts = new Int32Array(OCTAVES);
  private readonly cellEnds = new Int32Array(OCTAVES);

  constructor(
    seed: number,
    readonly symbol: string,
    readonly interval: Interval,
  ) {
    this.stepMs = intervalMs(interval);
    this.stepMinutes = this.stepMs / MINUTE_MS;
    const symbolKey = hashString32(symbol, seedKey(seed));
    this.octaveKeys = new Int32Array(OCTAVES);
    for (let k = 0; k < OCTAVES; k++) this.octaveKeys[k] = mix32(symbolKey + Math.imul(k, GOLDEN));
    this.barKey = mix32(symbolKey ^ mix32(this.stepMinutes));
    const u1 = toUnit(mix32(symbolKey ^ 0x1b873593));
    const u2 = toUnit(mix32(symbolKey ^ 0x2545f491));
    const u3 = toUnit(mix32(symbolKey ^ 0x7feb352d));
    this.basePrice = 20 * Math.exp(u1 * Math.log(20)); // 20 .. 400
    this.volumePerMinute = 1_000 * Math.exp(u2 * Math.log(100)); // 1k .. 100k
    this.tradeSize = 20 + 180 * u3;
    this.wickScale = MINUTE_VOLATILITY * Math.sqrt(this.stepMinutes);
  }

  /** The bar opening at `ts`, which must be aligned to the interval. */
  barAt(provider: string, ts: number): Bar {
    this.assertAligned(ts);
    const minute = ts / MINUTE_MS;
    return this.makeBar(
      provider,
      ts,
      minute,
      this.price(minute),
      this.price(minute + this.stepMinutes),
    );
  }

  /** `count` consecutive bars from the aligned `firstTs`, ascending. */
  bars(provider: string, firstTs: number, count: number): Bar[] {
    this.assertAligned(firstTs);
    const out: Bar[] = [];
    let minute = firstTs / MINUTE_MS;
    let open = this.price(minute);
    for (let i = 0; i < count; i++) {
      // The path is pure, so carrying the close over as the next open is the same as recomputing it.
      const close = this.price(minute + this.stepMinutes);
      out.push(this.makeBar(provider, firstTs + i * this.stepMs, minute, open, close));
      open = close;
      minute += this.stepMinutes;
    }
    return out;
  }

  private assertAligned(ts: number): void {
    if (!Number.isSafeInteger(ts) || ts % this.stepMs !== 0) {
      throw new RangeError(`ts ${ts} is not aligned to the ${this.interval} interval`);
    }
  }

  /** The price, rounded to cents, at a whole minute. */
  private price(minute: number): number {
    const m = minute | 0;
    const keys = this.octaveKeys;
    const cells = this.cachedCells;
    let level = MINUTE_VOLATILITY * INT32_UNIT * mix32(Math.imul(m, GOLDEN) ^ (keys[0] as number));
    let amplitude = MINUTE_VOLATILITY * INT32_UNIT;
    for (let k = 1; k < OCTAVES; k++) {
      amplitude *= 2;
      const shift = 2 * k;
      const cell = m >> shift;
      // A memo of a pure function: consecutive bars mostly share the coarse lattice cells.
      if (cell !== cells[k]) {
        const key = keys[k] as number;
        cells[k] = cell;
        this.cellStarts[k] = mix32(Math.imul(cell, GOLDEN) ^ key);
        this.cellEnds[k] = mix32(Math.imul(cell + 1, GOLDEN) ^ key);
      }
      const v0 = this.cellStarts[k] as number;
      const v1 = this.cellEnds[k] as number;
      const fraction = (m & ((1 << shift) - 1)) / (1 << shift);
      level += amplitude * (v0 + (v1 - v0) * fraction);
    }
    return cents(this.basePrice * Math.exp(level));
  }

  private makeBar(provider: string, ts: number, minute: number, open: number, close: number): Bar {
    const h1 = mix32(Math.imul(minute | 0, GOLDEN) ^ this.barKey);
    const h2 = mix32(h1 + 0x6d2b79f5);
    const h3 = mix32(h2 + 0x6d2b79f5);
    const h4 = mix32(h3 + 0x6d2b79f5);
    const h5 = mix32(h4 + 0x6d2b79f5);
    const top = open > close ? open : close;
    const bottom = open > close ? close : open;
    // Squared uniforms: mostly short wicks, now and then a long one.
    const up = toUnit(h1);
    const down = toUnit(h2);
    const rawHigh = cents(top * (1 + 3 * this.wickScale * up * up));
    const rawLow = cents(bottom * (1 - 3 * this.wickScale * down * down));
    const high = rawHigh > top ? rawHigh : top;
    const low = rawLow < bottom ? rawLow : bottom;
    const move = (top - bottom) / bottom;
    const volume = Math.round(
      this.volumePerMinute * this.stepMinutes * (0.4 + 1.2 * toUnit(h3)) * (1 + 25 * move),
    );
    const tradeCount = Math.max(
      1,
      Math.round(volume / (this.tradeSize * (0.7 + 0.6 * toUnit(h4)))),
    );
    const typical = (high + low + open + close) / 4;
    const tilted =
      Math.round((typical + (toUnit(h5) - 0.5) * 0.25 * (high - low)) * 10_000) / 10_000;
    const vwap = tilted > high ? high : tilted < low ? low : tilted;
    return {
      provider,
      symbol: this.symbol,
      interval: this.interval,
      ts,
      open,
      high,
      low,
      close,
      volume,
      vwap,
      tradeCount,
    };
  }
}

function cents(price: number): number {
  return Math.round(price * 100) / 100;
}

/** The bar intervals mdp knows, from the config's `interval:` key. */
export const INTERVALS = ['1m', '5m', '15m', '30m', '1h', '4h', '1d'] as const;

export type Interval = (typeof INTERVALS)[number];

const MINUTE = 60_000;

const INTERVAL_MS: Readonly<Record<Interval, number>> = {
  '1m': MINUTE,
  '5m': 5 * MINUTE,
  '15m': 15 * MINUTE,
  '30m': 30 * MINUTE,
  '1h': 60 * MINUTE,
  '4h': 240 * MINUTE,
  '1d': 1440 * MINUTE,
};

export function isInterval(value: unknown): value is Interval {
  return typeof value === 'string' && (INTERVALS as readonly string[]).includes(value);
}

/** Length of one bar in milliseconds. */
export function intervalMs(interval: Interval): number {
  return INTERVAL_MS[interval];
}

/** The first bar open time at or after `ts` (bars align to the UTC epoch). */
export function alignUp(ts: number, interval: Interval): number {
  const step = INTERVAL_MS[interval];
  return Math.ceil(ts / step) * step;
}

/** The open time of the bar that contains `ts`. */
export function alignDown(ts: number, interval: Interval): number {
  const step = INTERVAL_MS[interval];
  return Math.floor(ts / step) * step;
}

/**
 * Deterministic US-equities bars for fake provider APIs: one per minute of the regular session
 * (14:30–21:00 UTC, the winter hours of 09:30–16:00 New York) on weekdays, or one per weekday for
 * daily bars, stamped the way the APIs stamp them (daily bars at New York midnight, 05:00Z).
 */
export interface SessionBar {
  /** The API's open time: epoch ms (daily: New York midnight). */
  readonly t: number;
  readonly o: number;
  readonly h: number;
  readonly l: number;
  readonly c: number;
  readonly v: number;
  readonly vw: number;
  readonly n: number;
}

const MINUTE = 60_000;
const DAY = 86_400_000;
const OPEN = (14 * 60 + 30) * MINUTE;
const CLOSE = 21 * 60 * MINUTE;
const NEW_YORK_MIDNIGHT = 5 * 3_600_000;

/** Session bars of `symbol` whose API time lies in [from, to] (inclusive, as the APIs filter). */
export function sessionBars(
  symbol: string,
  timespan: 'minute' | 'day',
  from: number,
  to: number,
): SessionBar[] {
  const base = 50 + ([...symbol].reduce((sum, char) => sum + char.charCodeAt(0), 0) % 400);
  const out: SessionBar[] = [];
  for (let day = Math.floor(from / DAY) * DAY; day <= to; day += DAY) {
    const weekday = new Date(day).getUTCDay();
    if (weekday === 0 || weekday === 6) continue;
    const times =
      timespan === 'day'
        ? [day + NEW_YORK_MIDNIGHT]
        : Array.from({ length: (CLOSE - OPEN) / MINUTE }, (_, i) => day + OPEN + i * MINUTE);
    for (const t of times) {
      if (t < from || t > to) continue;
      const k = Math.floor(t / MINUTE) % 997;
      const o = Math.round((base + k / 10) * 100) / 100;
      const c = Math.round((o + ((k % 7) - 3) / 10) * 100) / 100;
      const h = Math.max(o, c) + 0.25;
      const l = Math.min(o, c) - 0.25;
      out.push({
        t,
        o,
        h,
        l,
        c,
        v: 1000 + k,
        vw: Math.round(((h + l) / 2) * 1e4) / 1e4,
        n: 10 + (k % 50),
      });
    }
  }
  return out;
}

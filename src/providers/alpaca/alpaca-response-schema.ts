import { z } from 'zod';

/*
 * The multi-symbol historical bars response of Alpaca's Market Data API v2 (GET /v2/stocks/bars),
 * as documented: bars keyed by symbol, sorted by symbol then time, and a `next_page_token` that is
 * null on the last page. Objects are not strict: a field Alpaca adds is not a breaking change.
 */

/** An RFC-3339 time such as 2022-02-28T05:00:00Z, read as epoch ms. */
const rfc3339 = z
  .string()
  .refine((text) => /^\d{4}-\d{2}-\d{2}T/.test(text) && !Number.isNaN(Date.parse(text)), {
    message: 'expected an RFC-3339 time such as 2022-02-28T05:00:00Z',
  })
  .transform((text) => Date.parse(text));

/** One bar: `t` is its open time; `n` (trades) and `vw` (VWAP) may be missing. */
export const alpacaBarSchema = z.object({
  t: rfc3339,
  o: z.number(),
  h: z.number(),
  l: z.number(),
  c: z.number(),
  v: z.number(),
  n: z.number().optional(),
  vw: z.number().optional(),
});

/** A page of bars: `bars` is `{}` (or null) when no symbol had any. */
export const alpacaBarsSchema = z.object({
  bars: z.record(z.string(), z.array(alpacaBarSchema)).nullable(),
  next_page_token: z.string().nullable().optional(),
});

export type AlpacaBar = z.output<typeof alpacaBarSchema>;

/** Alpaca's explanation in an error body: `{"code": 42210000, "message": "invalid timeframe"}`. */
export function alpacaErrorMessage(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const { code, message } = body as Record<string, unknown>;
  if (typeof message !== 'string') return undefined;
  return typeof code === 'number' || typeof code === 'string'
    ? `${message} (code ${code})`
    : message;
}

/**
 * A 429's wait from Alpaca's rate-limit headers: X-RateLimit-Reset is the epoch second at which the
 * minute's budget refills (Alpaca does not always send Retry-After). `now` is the server's clock
 * when it answered (its Date header) where known: an absolute time read against this host's clock
 * would carry the host's skew into the wait.
 */
export const alpacaRateLimitWait = {
  header: 'X-RateLimit-Reset',
  waitMs(headers: Headers, now: number): number | undefined {
    const reset = Number(headers.get('x-ratelimit-reset'));
    if (!Number.isFinite(reset) || reset <= 0) return undefined;
    return Math.max(0, reset * 1000 - now);
  },
} as const;

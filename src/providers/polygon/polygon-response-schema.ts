import { z } from 'zod';

/*
 * The aggregates (bars) response of Polygon's REST API, as documented for
 * GET /v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}. Objects are not strict:
 * a field Polygon adds is not a breaking change, a field it drops or retypes is.
 */

/** One aggregate: `t` is the bar's open time in epoch ms; `vw` and `n` may be missing. */
export const polygonAggregateSchema = z.object({
  t: z.number().int(),
  o: z.number(),
  h: z.number(),
  l: z.number(),
  c: z.number(),
  v: z.number(),
  vw: z.number().optional(),
  n: z.number().optional(),
});

/**
 * One aggregate of an index (`I:SPX`, `I:NDX`): Polygon derives it from the index's values, not
 * from trades, so it has no volume, vwap or trade count (`v`, `vw`, `n` are not sent).
 */
export const polygonIndexAggregateSchema = polygonAggregateSchema.extend({
  v: z.number().optional(),
});

/**
 * A page of aggregates. `results` is omitted (not empty) when there are none; `next_url` is present
 * only when more pages follow, and never carries the API key.
 */
export const polygonAggregatesSchema = z.object({
  status: z.string(),
  ticker: z.string().optional(),
  adjusted: z.boolean().optional(),
  queryCount: z.number().int().nonnegative().optional(),
  resultsCount: z.number().int().nonnegative().optional(),
  request_id: z.string().optional(),
  results: z.array(polygonAggregateSchema).optional(),
  next_url: z.string().optional(),
});

/** A page of an index's aggregates: as any page, with results that may lack `v`. */
export const polygonIndexAggregatesSchema = polygonAggregatesSchema.extend({
  results: z.array(polygonIndexAggregateSchema).optional(),
});

/** An aggregate of either kind; `v` is undefined only for an index. */
export type PolygonAggregate = z.output<typeof polygonIndexAggregateSchema>;
export type PolygonAggregates = z.output<typeof polygonIndexAggregatesSchema>;

/** Polygon's index tickers carry the `I:` prefix (stocks none; forex C:, crypto X:, options O:). */
export function isPolygonIndexTicker(ticker: string): boolean {
  return ticker.startsWith('I:');
}

/** Statuses of a successful page: DELAYED is the free plan's 15-minute-delayed data. */
export const POLYGON_OK_STATUSES: readonly string[] = ['OK', 'DELAYED'];

/** Polygon's explanation in an error body: `error` (ERROR) or `message` (NOT_AUTHORIZED...). */
export function polygonErrorMessage(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const { status, error, message, request_id } = body as Record<string, unknown>;
  const text = typeof error === 'string' ? error : typeof message === 'string' ? message : '';
  if (!text) return undefined;
  const tag = typeof status === 'string' ? `${status}: ` : '';
  const id = typeof request_id === 'string' ? ` (request_id ${request_id})` : '';
  return `${tag}${text}${id}`;
}

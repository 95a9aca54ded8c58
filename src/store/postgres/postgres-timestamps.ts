/*
 * `ts` and every other time column is `timestamptz` on PostgreSQL while the protocol carries epoch
 * milliseconds. These conversions are exact and independent of the session's TimeZone: they add
 * or read a whole number of microseconds from the epoch, never parse or format a local time.
 */

/** The PostgreSQL epoch (2000-01-01T00:00:00Z) in Unix milliseconds; binary COPY counts from it. */
export const POSTGRES_EPOCH_MS = 946_684_800_000;

/**
 * SQL for the timestamptz of a whole-millisecond parameter such as `$3`. A fractional or NaN value
 * fails the statement (bigint refuses it), as SQLite's STRICT integer columns do.
 */
export function timestamptzFromMs(parameter: string): string {
  return `('epoch'::timestamptz + ${parameter}::bigint * interval '1 millisecond')`;
}

/** SQL for epoch milliseconds (float8, so sub-millisecond values survive) of a timestamptz. */
export function msFromTimestamptz(expression: string): string {
  return `(extract(epoch from ${expression}) * 1000)::float8`;
}

/**
 * SQL for the time that stamps and judges runs: the database's own clock (to the millisecond),
 * one clock for every host, unless parameter `$n` holds a stand-in (epoch ms) from a test.
 */
export function databaseNow(parameter: string): string {
  return `COALESCE(${timestamptzFromMs(parameter)}, date_trunc('milliseconds', clock_timestamp()))`;
}

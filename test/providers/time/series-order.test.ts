import { describe, expect, it } from 'vitest';
import {
  repeatedInstant,
  SERIES_START,
  SeriesOrder,
  type SeriesPosition,
  type TimeDirection,
} from '../../../src/providers/time/series-order.js';

/** The two instants of New York's repeated 01:00 on 2024-11-03 (EDT, then EST). */
const FIRST = Date.parse('2024-11-03T05:00:00Z');
const SECOND = Date.parse('2024-11-03T06:00:00Z');
const MINUTE = 60_000;

const at = (previous: number, direction: TimeDirection): SeriesPosition => ({
  previous,
  direction,
});

describe('repeatedInstant', () => {
  it('before any row: the earlier instant', () => {
    expect(repeatedInstant(FIRST, SECOND, SERIES_START)).toBe(FIRST);
  });

  it('ascending: the earliest instant after the row before, else the earlier', () => {
    expect(repeatedInstant(FIRST, SECOND, at(FIRST - 30 * MINUTE, 'ascending'))).toBe(FIRST);
    expect(repeatedInstant(FIRST, SECOND, at(FIRST, 'ascending'))).toBe(SECOND);
    expect(repeatedInstant(FIRST, SECOND, at(FIRST + 30 * MINUTE, 'ascending'))).toBe(SECOND);
    expect(repeatedInstant(FIRST, SECOND, at(SECOND, 'ascending'))).toBe(FIRST);
    expect(repeatedInstant(FIRST, SECOND, at(SECOND + 30 * MINUTE, 'ascending'))).toBe(FIRST);
  });

  it('descending: the latest instant before the row before, else the later', () => {
    expect(repeatedInstant(FIRST, SECOND, at(SECOND + 30 * MINUTE, 'descending'))).toBe(SECOND);
    expect(repeatedInstant(FIRST, SECOND, at(SECOND, 'descending'))).toBe(FIRST);
    expect(repeatedInstant(FIRST, SECOND, at(FIRST + 30 * MINUTE, 'descending'))).toBe(FIRST);
    expect(repeatedInstant(FIRST, SECOND, at(FIRST, 'descending'))).toBe(SECOND);
    expect(repeatedInstant(FIRST, SECOND, at(FIRST - 30 * MINUTE, 'descending'))).toBe(SECOND);
  });

  it('direction unknown: the instant nearer the row before, a tie to the earlier', () => {
    expect(repeatedInstant(FIRST, SECOND, at(FIRST + 10 * MINUTE, 'unknown'))).toBe(FIRST);
    expect(repeatedInstant(FIRST, SECOND, at(FIRST + 50 * MINUTE, 'unknown'))).toBe(SECOND);
    expect(repeatedInstant(FIRST, SECOND, at(FIRST + 30 * MINUTE, 'unknown'))).toBe(FIRST);
    expect(repeatedInstant(FIRST, SECOND, at(SECOND + 5 * MINUTE, 'unknown'))).toBe(SECOND);
  });
});

describe('SeriesOrder', () => {
  it('knows a direction from the second row that moves, and keeps it over a repeated instant', () => {
    const order = new SeriesOrder();
    order.advance(FIRST);
    expect(order.position()).toEqual(at(FIRST, 'unknown'));
    order.advance(FIRST);
    expect(order.position()).toEqual(at(FIRST, 'unknown'));
    order.advance(SECOND);
    expect(order.position()).toEqual(at(SECOND, 'ascending'));
    order.advance(SECOND);
    expect(order.position()).toEqual(at(SECOND, 'ascending'));
    order.advance(FIRST);
    expect(order.position()).toEqual(at(FIRST, 'descending'));
    expect(new SeriesOrder(at(FIRST, 'descending')).position()).toEqual(at(FIRST, 'descending'));
  });
});

import { describe, expect, it } from 'vitest';
import {
  publicationEdge,
  splitAtPublicationEdge,
} from '../../src/pipeline/runner/publication-edge.js';

const MIN = 60_000;
const T = Date.parse('2024-03-05T14:00:00Z');

describe('publicationEdge', () => {
  it('is the open time of the first bar not yet published: closed less than the delay ago', () => {
    // At 14:00:30 with a 15m delay, the 13:44 bar (closed 13:45) is out, the 13:45 one is not.
    expect(publicationEdge(T + 30_000, 15 * MIN, '1m')).toBe(T - 15 * MIN);
    expect(publicationEdge(T, 15 * MIN, '1m')).toBe(T - 15 * MIN);
    expect(publicationEdge(T - 1, 15 * MIN, '1m')).toBe(T - 16 * MIN);
  });

  it('without a delay is the last bar close, the end of every backfill window', () => {
    expect(publicationEdge(T + 59_999, 0, '1m')).toBe(T);
    expect(publicationEdge(T + 10 * MIN, 0, '1h')).toBe(T);
  });

  it('aligns to the interval: a 15m delay holds back the whole hour bar closing within it', () => {
    expect(publicationEdge(T + 10 * MIN, 15 * MIN, '1h')).toBe(T - 60 * MIN);
    expect(publicationEdge(T + 15 * MIN, 15 * MIN, '1h')).toBe(T);
  });
});

describe('splitAtPublicationEdge', () => {
  const chunk = { symbol: 'AAA', start: T - 60 * MIN, end: T };

  it('leaves a chunk that ends at or before the edge final', () => {
    expect(splitAtPublicationEdge(chunk, T)).toEqual([chunk]);
    expect(splitAtPublicationEdge(chunk, T + MIN)).toEqual([chunk]);
  });

  it('marks a chunk that starts at or after the edge provisional, whole', () => {
    expect(splitAtPublicationEdge(chunk, chunk.start)).toEqual([{ ...chunk, provisional: true }]);
    expect(splitAtPublicationEdge(chunk, chunk.start - MIN)).toEqual([
      { ...chunk, provisional: true },
    ]);
  });

  it('cuts a chunk the edge falls in: a final head and a provisional tail, nothing lost', () => {
    expect(splitAtPublicationEdge(chunk, T - 15 * MIN)).toEqual([
      { symbol: 'AAA', start: T - 60 * MIN, end: T - 15 * MIN },
      { symbol: 'AAA', start: T - 15 * MIN, end: T, provisional: true },
    ]);
  });
});

import { alignDown, type Interval } from '../../core/interval.js';
import type { Chunk } from './backfill-plan.js';

/**
 * The open time before which every bar of `interval` is published at `now`: a provider publishes
 * a bar `delayMs` (its `publication_delay`) after the bar closes. Bars from the edge on may still
 * be missing from its answers without the answer saying so.
 */
export function publicationEdge(now: number, delayMs: number, interval: Interval): number {
  return alignDown(now - delayMs, interval);
}

/**
 * A chunk cut at the publication edge: the part before it may be checkpointed for good, the part
 * from it on is provisional (fetched again by the next run). Only the tail of a window that reaches
 * the recent edge is ever provisional, so the cut costs one extra request per symbol at most.
 */
export function splitAtPublicationEdge(chunk: Chunk, edge: number): Chunk[] {
  if (chunk.end <= edge) return [chunk];
  if (chunk.start >= edge) return [{ ...chunk, provisional: true }];
  return [
    { ...chunk, end: edge },
    { ...chunk, start: edge, provisional: true },
  ];
}

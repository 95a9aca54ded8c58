import {
  JobSupersededError,
  PermanentProviderError,
  ProviderAskedToWaitError,
  StoreError,
  UsageError,
} from '../../core/errors.js';
import { describeDuration } from '../../core/duration.js';
import { alignUp, intervalMs } from '../../core/interval.js';
import type { JobRun } from '../../store/store.js';
import type { JobContext } from './job-context.js';
import { publicationEdge } from './publication-edge.js';
import { runPool } from './run-pool.js';
import { symbolsPerBatch } from './symbol-batches.js';

/** One series' part of a live cycle: bars with open time in `[start, end)`. */
export interface LiveSeriesPlan {
  readonly symbol: string;
  readonly start: number;
  readonly end: number;
  readonly bars: number;
}

/** What the first (or only) live cycle will fetch. */
export interface LivePlanSummary {
  readonly kind: 'live';
  readonly series: readonly LiveSeriesPlan[];
  readonly requests: number;
  readonly pacingMs: number;
  /** Cycles run (more than one with --follow). */
  cycles: number;
}

/** After a bar closes, wait a little before asking for it: providers publish with a delay. */
const SETTLE_MS = 500;

/**
 * Live: per symbol, fetch from the last stored bar (or `now - lookback`) to the last published bar
 * (closed at least the provider's `publication_delay` ago) and write; with `follow`, repeat each
 * time another bar is published, until cancelled. A provider asking a follower to wait past its
 * max_retry_after (a maintenance 503, a long 429) is paused until the asked time, not given up on.
 */
export async function runLive(
  context: JobContext,
  run: JobRun,
  options: { follow: boolean; concurrency: number },
  signal: AbortSignal,
): Promise<LivePlanSummary> {
  if (!options.follow || context.dryRun)
    return liveCycle(context, run, options.concurrency, signal);
  let summary: LivePlanSummary | undefined;
  for (;;) {
    try {
      const cycle = await liveCycle(context, run, options.concurrency, signal);
      if (summary === undefined) summary = cycle;
      else summary.cycles += 1;
    } catch (error: unknown) {
      if (signal.aborted) throw error;
      if (error instanceof ProviderAskedToWaitError) {
        await pauseAsAsked(context, error, signal);
        continue;
      }
      // A first cycle that fails is a setup problem worth a stop; later ones may heal.
      if (summary === undefined || !healsByItself(error)) throw error;
      context.logger.error({ err: error }, 'live cycle failed; retrying at the next bar close');
    }
    const step = intervalMs(context.dataset.interval);
    const delay = context.providerConfig.publication_delay;
    const now = context.timing.now();
    const nextPublished = publicationEdge(now, delay, context.dataset.interval) + step + delay;
    await context.timing.sleep(nextPublished - now + SETTLE_MS, signal);
  }
}

/**
 * Waits out the wait a provider asked for, logged once with when it ends: the next cycle starts
 * from the last stored bar, so nothing is skipped. The sleep honours any length (chained timers)
 * and ends at once on SIGINT or SIGTERM.
 */
async function pauseAsAsked(
  context: JobContext,
  error: ProviderAskedToWaitError,
  signal: AbortSignal,
): Promise<void> {
  const until = context.timing.now() + error.retryAfterMs;
  const resumeAt = Number.isFinite(until) ? new Date(until).toISOString() : 'never';
  context.logger.error(
    { err: error, provider: error.provider, resumeAt },
    `provider ${error.provider} asked to wait ${describeDuration(error.retryAfterMs)}; ` +
      `following pauses it until ${resumeAt}`,
  );
  await context.timing.sleep(error.retryAfterMs, signal);
}

/**
 * Whether a failed cycle is worth trying again at the next bar close: the next cycle starts from
 * the last stored bar, so nothing is skipped. Permanent provider errors, a run superseded by
 * another, usage errors and storage errors the store does not call transient (a full disk or
 * spool, a read-only, corrupt or forbidden database) need a person: following on would only log
 * them at every bar close. (A provider asking to wait past max_retry_after is paused by runLive.)
 */
export function healsByItself(error: unknown): boolean {
  if (
    error instanceof PermanentProviderError ||
    error instanceof UsageError ||
    // A run that lost its job stops at its first refused batch, not at its next heartbeat.
    error instanceof JobSupersededError
  )
    return false;
  return !(error instanceof StoreError) || error.transient;
}

async function liveCycle(
  context: JobContext,
  run: JobRun,
  concurrency: number,
  signal: AbortSignal,
): Promise<LivePlanSummary> {
  const { dataset, store, providerName, provider, timing } = context;
  const interval = dataset.interval;
  const step = intervalMs(interval);
  const sink = context.dryRun ? undefined : context.sink(run.runId);
  // Bars spooled during an outage reach the primary before the cycle reads where it stands.
  await sink?.drainSpool();
  // What the spool still holds (the primary not taking writes) is not fetched again: otherwise
  // every cycle of an outage would spool the whole window since the last stored bar once more.
  const spooled = (await sink?.spooledNewest(interval)) ?? new Map<string, number>();
  const now = timing.now();
  // Never past the publication edge: a bar stored beyond a late one would start the next cycle
  // after it, and the late bar would never be asked for again.
  const end = publicationEdge(now, context.providerConfig.publication_delay, interval);
  const series: LiveSeriesPlan[] = [];
  for (const symbol of dataset.symbols) {
    const last = latest(
      await store.lastBarTs(providerName, symbol, interval, signal),
      spooled.get(symbol),
    );
    const horizon = alignUp(now - context.job.live.max_catchup, interval);
    let start =
      last === undefined ? alignUp(now - context.job.live.lookback, interval) : last + step;
    if (start < horizon) {
      context.logger.warn(
        {
          symbol,
          lastBar: new Date(start - step).toISOString(),
          horizon: new Date(horizon).toISOString(),
        },
        'gap older than live.max_catchup left for a backfill',
      );
      start = horizon;
    }
    series.push({ symbol, start, end, bars: Math.max(0, (end - start) / step) });
  }
  const requests = [
    ...liveBatches(
      context,
      series.filter((s) => s.bars > 0),
      end,
    ),
  ].reduce(
    (sum, batch) => sum + Math.max(1, Math.ceil(batch.bars / provider.maxBarsPerRequest)),
    0,
  );
  const summary: LivePlanSummary = {
    kind: 'live',
    series,
    requests,
    pacingMs: context.bucket?.estimateMs(requests) ?? 0,
    cycles: 1,
  };
  if (sink === undefined) return summary;

  const failed = new AbortController();
  const workSignal = AbortSignal.any([signal, failed.signal]);
  let pending = series.filter((s) => s.bars > 0);
  while (pending.length > 0) {
    // A symbol whose answer filled a whole page, or came from an answer the provider flagged
    // incomplete (a batch cut at its page size without a token), may have more: it goes round
    // again from its last bar. Providers that page with a continuation token never leave one.
    const more: LiveSeriesPlan[] = [];
    await runPool(
      liveBatches(context, pending, end),
      concurrency,
      async ({ symbols, start }) => {
        try {
          const { windows, foreign } = await context.fetchBatch(
            { symbols, interval, start, end },
            workSignal,
          );
          if (foreign.length > 0) await sink.write([], foreign);
          const again: LiveSeriesPlan[] = [];
          for (const [symbol, { valid, rejected, complete }] of windows) {
            await sink.write(valid, rejected);
            const full = valid.length + rejected.length >= provider.maxBarsPerRequest;
            if (complete && !full) continue;
            const from = (valid.at(-1)?.ts ?? start - step) + step;
            if (from < end) again.push({ symbol, start: from, end, bars: (end - from) / step });
          }
          // Another round only while it gets somewhere: an answer that stays cut short at the
          // same bar is left to the next cycle, which starts from the last stored bar.
          if (again.some((series) => series.start > start)) more.push(...again);
          else if (again.length > 0) {
            context.logger.warn(
              {
                symbols: again.map((series) => series.symbol),
                from: new Date(start).toISOString(),
              },
              'provider answer stays short of the cycle without progress; the next cycle asks again',
            );
          }
        } catch (error: unknown) {
          if (!signal.aborted) failed.abort(error);
          throw error;
        }
      },
      workSignal,
    );
    pending = more;
  }
  return summary;
}

/** The later of two open times, either possibly unknown. */
function latest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined ? a : Math.max(a, b);
}

/** Symbols of one live request: they start at the same bar. */
interface LiveBatch {
  readonly symbols: readonly string[];
  readonly start: number;
  /** Open times in the window, summed over the symbols. */
  readonly bars: number;
}

/**
 * The live cycle's requests: series that start at the same bar (the usual case, every symbol
 * caught up to the last close) share one request, up to what the provider takes; the others go
 * on their own.
 */
function* liveBatches(
  context: JobContext,
  series: readonly LiveSeriesPlan[],
  end: number,
): Generator<LiveBatch> {
  const byStart = new Map<number, string[]>();
  for (const { symbol, start } of series) {
    const symbols = byStart.get(start);
    if (symbols) symbols.push(symbol);
    else byStart.set(start, [symbol]);
  }
  const step = intervalMs(context.dataset.interval);
  for (const [start, symbols] of byStart) {
    const barsEach = (end - start) / step;
    const size = symbolsPerBatch(context.provider, barsEach);
    for (let i = 0; i < symbols.length; i += size) {
      const batch = symbols.slice(i, i + size);
      yield { symbols: batch, start, bars: batch.length * barsEach };
    }
  }
}

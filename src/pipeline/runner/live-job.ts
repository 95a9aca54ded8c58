import { PermanentProviderError, UsageError } from '../../core/errors.js';
import { alignDown, alignUp, intervalMs } from '../../core/interval.js';
import type { JobRun } from '../../store/store.js';
import type { JobContext } from './job-context.js';
import { runPool } from './run-pool.js';

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
 * Live: per symbol, fetch from the last stored bar (or `now - lookback`) to the last closed bar
 * and write; with `follow`, repeat at every bar close until cancelled.
 */
export async function runLive(
  context: JobContext,
  run: JobRun,
  options: { follow: boolean; concurrency: number },
  signal: AbortSignal,
): Promise<LivePlanSummary> {
  const first = await liveCycle(context, run, options.concurrency, signal);
  if (!options.follow || context.dryRun) return first;
  const step = intervalMs(context.dataset.interval);
  for (;;) {
    const now = context.timing.now();
    const nextClose = alignDown(now, context.dataset.interval) + step;
    await context.timing.sleep(nextClose - now + SETTLE_MS, signal);
    try {
      await liveCycle(context, run, options.concurrency, signal);
      first.cycles += 1;
    } catch (error: unknown) {
      // Transient trouble in one cycle is no reason to stop following: the next cycle starts from
      // the last stored bar, so nothing is skipped. Permanent errors need a person.
      if (signal.aborted || error instanceof PermanentProviderError || error instanceof UsageError)
        throw error;
      context.logger.error({ err: error }, 'live cycle failed; retrying at the next bar close');
    }
  }
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
  const now = timing.now();
  const end = alignDown(now, interval);
  const series: LiveSeriesPlan[] = [];
  for (const symbol of dataset.symbols) {
    const last = await store.lastBarTs(providerName, symbol, interval);
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
  const requests = series.reduce(
    (sum, s) => sum + Math.ceil(s.bars / provider.maxBarsPerRequest),
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
  await runPool(
    series.filter((s) => s.bars > 0),
    concurrency,
    async ({ symbol, start }) => {
      try {
        let from = start;
        while (from < end) {
          const { valid, rejected } = await context.fetch(
            { symbol, interval, start: from, end },
            workSignal,
          );
          await sink.write(valid, rejected);
          const lastBar = valid.at(-1);
          if (valid.length + rejected.length < provider.maxBarsPerRequest || !lastBar) break;
          from = lastBar.ts + step;
        }
      } catch (error: unknown) {
        if (!signal.aborted) failed.abort(error);
        throw error;
      }
    },
    workSignal,
  );
  return summary;
}

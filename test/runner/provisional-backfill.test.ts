import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/core/config/load-config.js';
import { ProviderRegistry } from '../../src/core/provider-registry.js';
import { PacingRegistry } from '../../src/pipeline/policies/pacing-registry.js';
import { RunEvents } from '../../src/pipeline/run-events.js';
import { JobRunner } from '../../src/pipeline/runner/job-runner.js';
import { SyntheticProvider } from '../../src/providers/synthetic/synthetic-provider.js';
import { FakeTiming } from '../helpers/fake-timing.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { testConfig } from '../helpers/test-config.js';
import { openTestStore, STORAGE_KINDS } from '../helpers/test-storage.js';

const tempDir = useTempDir();
const MIN = 60_000;
const DELAY = 15 * MIN;
/** The wall clock of the first run: 30 s into a minute. */
const T = Date.parse('2024-03-05T14:00:00Z');

describe.each(STORAGE_KINDS)('a backfill reaching the publication edge, into %s', (kind) => {
  it('records the tail provisional, refetches it, and makes it final once published', async () => {
    const dir = tempDir();
    const raw = testConfig(dir, {
      storage: kind,
      start: new Date(T - 2 * 60 * MIN).toISOString(),
      end: new Date(T).toISOString(),
    });
    const synth = (raw.providers as Record<string, Record<string, unknown>>).synth;
    if (synth) synth.publication_delay = '15m';
    const config = parseConfig(stringify(raw), { file: join(dir, 'mdp.yaml'), cwd: dir, env: {} });
    const timing = new FakeTiming({ wallStart: T + 30_000 });
    const asked: { symbol: string; start: number; end: number }[] = [];
    // The synthetic series, published 15 minutes after each bar closes.
    const providers = new ProviderRegistry().register('synthetic', (name, cfg) => {
      const inner = new SyntheticProvider(name, cfg, { clock: () => timing.now() - DELAY });
      return {
        name: inner.name,
        maxBarsPerRequest: inner.maxBarsPerRequest,
        gapless: inner.gapless,
        fetchBars: (request, signal) => {
          asked.push({ symbol: request.symbol, start: request.start, end: request.end });
          return inner.fetchBars(request, signal);
        },
      };
    });
    const store = await openTestStore(kind, dir);
    const runner = new JobRunner({
      config,
      store,
      providers,
      pacing: new PacingRegistry(timing),
      events: new RunEvents(),
      logger: pino({ level: 'silent' }),
      host: 'test-host',
      pid: process.pid,
      timing,
    });
    const backfill = () =>
      runner.run({
        jobName: 'backfill_job',
        mode: 'backfill',
        signal: new AbortController().signal,
      });
    try {
      const first = await backfill();
      expect(first.end.totals).toMatchObject({
        rowsWritten: 2 * 105,
        provisionalChunks: 2,
        incompleteChunks: 0,
      });
      // The withheld tail is no short page of a gapless series: asked once, never retried.
      expect(asked.filter((a) => a.start === T - DELAY)).toHaveLength(2);
      expect(timing.sleeps).toEqual([]);
      const summary = await store.jobSummary('backfill_job');
      expect(summary.incompleteChunks).toEqual([]);
      expect(
        summary.provisionalChunks.map((c) => [c.symbol, c.windowStart, c.windowEnd, c.rows]),
      ).toEqual([
        ['AAA', T - DELAY, T, 0],
        ['BBB', T - DELAY, T, 0],
      ]);

      // Ten minutes on, five more bars are out: the tail is fetched again, still provisional.
      await timing.advance(10 * MIN);
      asked.length = 0;
      const second = await backfill();
      expect(second.end.totals).toMatchObject({ rowsWritten: 2 * 10, provisionalChunks: 2 });
      // Only the tail, cut at the new edge: its head is final now.
      const bySymbol = (
        x: { symbol: string; start: number },
        y: { symbol: string; start: number },
      ) => x.symbol.localeCompare(y.symbol) || x.start - y.start;
      expect(asked.sort(bySymbol).map((a) => [a.symbol, a.start, a.end])).toEqual([
        ['AAA', T - DELAY, T - 5 * MIN],
        ['AAA', T - 5 * MIN, T],
        ['BBB', T - DELAY, T - 5 * MIN],
        ['BBB', T - 5 * MIN, T],
      ]);
      expect(
        (await store.jobSummary('backfill_job')).provisionalChunks.map((c) => [
          c.symbol,
          c.windowStart,
          c.rows,
        ]),
      ).toEqual([
        ['AAA', T - 5 * MIN, 0],
        ['BBB', T - 5 * MIN, 0],
      ]);

      // Past the delay the whole window is published: final, and a last rerun fetches nothing.
      await timing.advance(10 * MIN);
      const third = await backfill();
      expect(third.end.totals).toMatchObject({ rowsWritten: 2 * 5, provisionalChunks: 0 });
      expect((await store.jobSummary('backfill_job')).provisionalChunks).toEqual([]);
      asked.length = 0;
      const fourth = await backfill();
      expect(fourth.end.totals.rowsWritten).toBe(0);
      expect(asked).toEqual([]);
      for (const symbol of ['AAA', 'BBB']) {
        const bars = await store.readBars({ provider: 'synth', symbol, interval: '1m' });
        expect(bars.map((bar) => bar.ts)).toEqual(
          Array.from({ length: 120 }, (_, i) => T - 2 * 60 * MIN + i * MIN),
        );
      }
    } finally {
      await store.close();
    }
  });
});

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
import { FakeTiming, settle } from '../helpers/fake-timing.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { testConfig } from '../helpers/test-config.js';
import { openTestStore } from '../helpers/test-storage.js';

const tempDir = useTempDir();
const MIN = 60_000;
/** Not a whole number of bars, so the edge's alignment shows. */
const DELAY = 90_000;
const T = Date.parse('2024-03-05T14:00:00Z');

describe('a live run under a publication delay', () => {
  it('asks only for published bars, and follows each time another one is published', async () => {
    const dir = tempDir();
    const raw = testConfig(dir, { symbols: ['AAA'] });
    const synth = (raw.providers as Record<string, Record<string, unknown>>).synth;
    if (synth) synth.publication_delay = '90s';
    const config = parseConfig(stringify(raw), { file: join(dir, 'mdp.yaml'), cwd: dir, env: {} });
    const timing = new FakeTiming({ wallStart: T + 30_000 });
    const ends: number[] = [];
    // The synthetic series, each bar published 90 s after it closes.
    const providers = new ProviderRegistry().register('synthetic', (name, cfg) => {
      const inner = new SyntheticProvider(name, cfg, { clock: () => timing.now() - DELAY });
      return {
        name: inner.name,
        maxBarsPerRequest: inner.maxBarsPerRequest,
        gapless: inner.gapless,
        fetchBars: (request, signal) => {
          ends.push(request.end);
          return inner.fetchBars(request, signal);
        },
      };
    });
    const store = await openTestStore('sqlite', dir);
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
      heartbeatIntervalMs: 3_600_000,
    });
    const stop = new AbortController();
    const run = runner.run({
      jobName: 'live_job',
      mode: 'live',
      follow: true,
      signal: stop.signal,
    });
    run.catch(() => undefined);
    const lastBar = async () => {
      for (let i = 0; i < 50; i++) await settle();
      return store.lastBarTs('synth', 'AAA', '1m');
    };
    try {
      // 14:00:30: the 13:58 bar closed at 13:59 and is out since 14:00:30; 13:59 is not yet.
      expect(await lastBar()).toBe(T - 2 * MIN);
      expect(ends).toEqual([T - MIN]);
      // The next bar (13:59) is published at 14:01:30: the follow wakes then, not at 14:01.
      expect(timing.sleeps.at(-1)).toBe(60_000 + 500);
      for (let k = 1; k <= 3; k++) {
        await timing.advance(k === 1 ? 61_000 : 60_000);
        // Each cycle wakes half a second after a bar is published, for the next one's.
        expect(timing.sleeps.at(-1)).toBe(60_000);
        expect(await lastBar()).toBe(T + (k - 2) * MIN);
        expect(ends.at(-1)).toBe(T + (k - 1) * MIN);
      }
      const stored = await store.readBars({ provider: 'synth', symbol: 'AAA', interval: '1m' });
      const times = stored.map((bar) => bar.ts);
      expect(times).toEqual(times.map((_, i) => (times[0] as number) + i * MIN));
    } finally {
      stop.abort();
      await run.catch(() => undefined);
      await store.close();
    }
  });
});

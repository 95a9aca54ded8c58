/**
 * Checkpoints recorded complete before the provider's publication_delay was known (written by an
 * mdp before migration 4, or under a config whose delay was 0s) may cover a tail that was not
 * published yet: once the delay is known, those recorded within it of their window's end are
 * fetched again, so the gap does not stay.
 */
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

describe.each(STORAGE_KINDS)(
  'a publication_delay set after a run checkpointed the tail, on %s',
  (kind) => {
    it('the tail that run found unpublished is fetched again (no permanent gap)', async () => {
      const dir = tempDir();
      const timing = new FakeTiming({ wallStart: T + 30_000 });
      // Polygon-like: not gapless, and the answer does not mark the withheld last 15 minutes.
      const providers = new ProviderRegistry().register('synthetic', (name, cfg) => {
        const inner = new SyntheticProvider(name, cfg, { clock: () => timing.now() - DELAY });
        return {
          name: inner.name,
          maxBarsPerRequest: inner.maxBarsPerRequest,
          gapless: false,
          fetchBars: (request, signal) => inner.fetchBars(request, signal),
        };
      });
      // The store stamps checkpoints with the same clock as the runner, as in production.
      const store = await openTestStore(kind, dir, { clock: () => timing.now() });
      const backfill = (delay: string) => {
        const raw = testConfig(dir, {
          storage: kind,
          start: new Date(T - 2 * 60 * MIN).toISOString(),
          end: new Date(T).toISOString(),
        });
        const synth = (raw.providers as Record<string, Record<string, unknown>>).synth;
        if (synth) synth.publication_delay = delay;
        const config = parseConfig(stringify(raw), {
          file: join(dir, 'mdp.yaml'),
          cwd: dir,
          env: {},
        });
        return new JobRunner({
          config,
          store,
          providers,
          pacing: new PacingRegistry(timing),
          events: new RunEvents(),
          logger: pino({ level: 'silent' }),
          host: 'test-host',
          pid: process.pid,
          timing,
        }).run({ jobName: 'backfill_job', mode: 'backfill', signal: new AbortController().signal });
      };
      try {
        // Before the operator learnt of the delay (or before the upgrade): the tail is checkpointed
        // complete with 105 of 120 bars.
        const first = await backfill('0s');
        expect(first.end.totals.rowsWritten).toBe(2 * 105);
        // Delay configured, and the whole window is long published: the rerun must fill the tail.
        await timing.advance(30 * MIN);
        await backfill('15m');
        for (const symbol of ['AAA', 'BBB']) {
          const bars = await store.readBars({ provider: 'synth', symbol, interval: '1m' });
          expect(bars).toHaveLength(120);
        }
      } finally {
        await store.close();
      }
    });
  },
);

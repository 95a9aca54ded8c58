import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { BURST_ONE_MARGIN_SHARE } from '../../src/core/bucket-level.js';
import { parseConfig, type MdpConfig } from '../../src/core/config/load-config.js';
import type { ProviderConfig } from '../../src/core/config/config-schema.js';
import type { Provider } from '../../src/core/provider.js';
import { ProviderRegistry } from '../../src/core/provider-registry.js';
import { PacingRegistry } from '../../src/pipeline/policies/pacing-registry.js';
import { DEFAULT_PHASE_MARGIN_MS } from '../../src/pipeline/policies/token-bucket.js';
import { RunEvents } from '../../src/pipeline/run-events.js';
import { systemTiming, type Timing } from '../../src/pipeline/timing.js';
import { SyntheticProvider } from '../../src/providers/synthetic/synthetic-provider.js';
import { ProcessRuntime } from '../../src/service/process-runtime.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { FakeTiming } from '../helpers/fake-timing.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { testConfig, type TestConfigOptions } from '../helpers/test-config.js';

const tempDir = useTempDir();
const silent = pino({ level: 'silent' });
const pacing = { requests_per_minute: 60, burst: 1 };

function configIn(dir: string, options: TestConfigOptions = {}): MdpConfig {
  return parseConfig(
    stringify(testConfig(dir, { end: '2024-01-01T06:00:00Z', pacing, ...options })),
    { file: join(dir, 'mdp.yaml'), cwd: dir, env: {} },
  );
}

function runtimeOver(config: MdpConfig, timing: Timing = new FakeTiming()) {
  const built: Provider[] = [];
  const providers = new ProviderRegistry().register('synthetic', (name, cfg) => {
    const provider = new SyntheticProvider(name, cfg);
    built.push(provider);
    return provider;
  });
  const pacingRegistry = new PacingRegistry(timing);
  const runtime = new ProcessRuntime(config, {
    providers,
    pacing: pacingRegistry,
    createSpool: () => undefined,
    logger: silent,
    host: 'test-host',
    pid: process.pid,
  });
  return { runtime, providers, pacing: pacingRegistry, built, timing };
}

/** The provider instance the runtime's registry holds for `synth` under the current config. */
function synth(h: ReturnType<typeof runtimeOver>): Provider {
  return h.providers.get('synth', h.runtime.config.providers.synth as ProviderConfig);
}

/** When each of `count` takes from the provider's current bucket starts, on the fake clock. */
async function takeTimes(h: ReturnType<typeof runtimeOver>, count: number): Promise<number[]> {
  const timing = h.timing as FakeTiming;
  const bucket = h.pacing.bucketFor('synth', h.runtime.config.providers.synth?.pacing);
  const starts: number[] = [];
  const takes = Array.from({ length: count }, () =>
    bucket?.acquire().then(() => starts.push(timing.monotonic())),
  );
  await timing.run(Promise.all(takes));
  return starts;
}

describe('ProcessRuntime', () => {
  it('runs of two jobs in one process share one provider instance and one bucket', async () => {
    const dir = tempDir();
    const config = configIn(dir, { pacing: { requests_per_minute: 600, burst: 2 } });
    const h = runtimeOver(config, systemTiming);
    const store = new SqliteStore({ path: join(dir, 'data', 'test.db') });
    await store.open();
    try {
      const signal = new AbortController().signal;
      const bucketBefore = h.pacing.bucketFor('synth', config.providers.synth?.pacing);
      for (const jobName of ['backfill_job', 'live_job']) {
        const mode = jobName === 'live_job' ? 'live' : 'backfill';
        const events = new RunEvents();
        const summary = await h.runtime.runner({ store, events }).run({ jobName, mode, signal });
        expect(summary.end.status).toBe('success');
      }
      // createRunner built both per runner: each job had a provider and a bucket of its own.
      expect(h.built).toHaveLength(1);
      expect(h.pacing.bucketFor('synth', config.providers.synth?.pacing)).toBe(bucketBefore);
    } finally {
      await store.close();
    }
  });

  it('reconfigure with the same config keeps the bucket with its tokens spent', async () => {
    const dir = tempDir();
    const h = runtimeOver(configIn(dir));
    expect(await takeTimes(h, 1)).toEqual([0]);
    expect(h.runtime.reconfigure(configIn(dir))).toEqual([]);
    expect(h.runtime.generation).toBe(2);
    // The token taken before the reload is still gone: the next take waits for the refill.
    const now = (h.timing as FakeTiming).monotonic();
    expect((await takeTimes(h, 1)).map((at) => at - now)).toEqual([
      1_000 + DEFAULT_PHASE_MARGIN_MS,
    ]);
  });

  it('a changed pacing reconfigures the bucket in place (the token taken stays taken) and keeps the provider', async () => {
    const dir = tempDir();
    const h = runtimeOver(configIn(dir));
    const provider = synth(h);
    await takeTimes(h, 1);
    const changed = h.runtime.reconfigure(
      configIn(dir, { pacing: { requests_per_minute: 120, burst: 1 } }),
    );
    expect(changed).toEqual(['synth']);
    const now = (h.timing as FakeTiming).monotonic();
    // The same bucket at the new rate: the token taken before the reload is still gone (burst 1
    // allows no second request at once), so the takes wait 60000/120 ms each, after the margin,
    // and the second also the margin a bucket of one pays at each take (3% of 500 ms).
    expect((await takeTimes(h, 2)).map((at) => at - now)).toEqual([
      500 + DEFAULT_PHASE_MARGIN_MS,
      1_000 + DEFAULT_PHASE_MARGIN_MS + BURST_ONE_MARGIN_SHARE * 500,
    ]);
    expect(synth(h)).toBe(provider);
  });

  it('a changed provider is rebuilt at the next use and keeps its bucket', async () => {
    const dir = tempDir();
    const h = runtimeOver(configIn(dir));
    const provider = synth(h);
    await takeTimes(h, 1);
    expect(h.runtime.reconfigure(configIn(dir, { maxBarsPerRequest: 100 }))).toEqual(['synth']);
    const rebuilt = synth(h);
    expect(rebuilt).not.toBe(provider);
    expect(h.built).toHaveLength(2);
    const now = (h.timing as FakeTiming).monotonic();
    expect((await takeTimes(h, 1)).map((at) => at - now)).toEqual([
      1_000 + DEFAULT_PHASE_MARGIN_MS,
    ]);
  });

  it('runners of a new generation run with the new config', async () => {
    const dir = tempDir();
    const h = runtimeOver(configIn(dir), systemTiming);
    const store = new SqliteStore({ path: join(dir, 'data', 'test.db') });
    await store.open();
    try {
      h.runtime.reconfigure(configIn(dir, { end: '2024-01-01T03:00:00Z', pacing: undefined }));
      const summary = await h.runtime
        .runner({ store, events: new RunEvents() })
        .run({ jobName: 'backfill_job', mode: 'backfill', signal: new AbortController().signal });
      expect(summary.run.params).toMatchObject({ to: '2024-01-01T03:00:00.000Z' });
    } finally {
      await store.close();
    }
  });
});

import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { PacingConfig } from '../../src/core/config/config-schema.js';
import { parseConfig, type MdpConfig } from '../../src/core/config/load-config.js';
import { ProviderRegistry } from '../../src/core/provider-registry.js';
import { PacingRegistry } from '../../src/pipeline/policies/pacing-registry.js';
import { SyntheticProvider } from '../../src/providers/synthetic/synthetic-provider.js';
import { ProcessRuntime } from '../../src/service/process-runtime.js';
import { FakeTiming } from '../helpers/fake-timing.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { testConfig, type TestConfigOptions } from '../helpers/test-config.js';

/**
 * ProcessRuntime.reconfigure (found in review of issue 13): a reload that changes a provider's
 * `pacing:` dropped its bucket and cooldown, so state that describes the provider's server, not
 * our config, was lost: a Retry-After the server asked for, and the requests just sent. Both now
 * survive the reload, and every holder moves to the new rate at once.
 */
const tempDir = useTempDir();
const silent = pino({ level: 'silent' });

function configIn(dir: string, options: TestConfigOptions): MdpConfig {
  return parseConfig(stringify(testConfig(dir, { end: '2024-01-01T06:00:00Z', ...options })), {
    file: join(dir, 'mdp.yaml'),
    cwd: dir,
    env: {},
  });
}

function harness(config: MdpConfig) {
  const timing = new FakeTiming();
  const pacing = new PacingRegistry(timing);
  const runtime = new ProcessRuntime(config, {
    providers: new ProviderRegistry().register(
      'synthetic',
      (name, cfg) => new SyntheticProvider(name, cfg),
    ),
    pacing,
    createSpool: () => undefined,
    logger: silent,
    host: 'test-host',
    pid: process.pid,
  });
  const current = (): PacingConfig | undefined => runtime.config.providers.synth?.pacing;
  /** What provider-call does before each request: the bucket's turn, else the cooldown. */
  const gate = async (): Promise<void> => {
    const bucket = pacing.bucketFor('synth', current());
    if (bucket) await bucket.acquire();
    else await pacing.cooldownFor('synth', current()).wait();
  };
  /** When a request of a run started now may go, relative to now, on the fake clock. */
  const nextStart = async (): Promise<number> => {
    const before = timing.monotonic();
    await timing.run(gate());
    return timing.monotonic() - before;
  };
  /** What provider-call does on a 429 with Retry-After: pause the cooldown and the bucket. */
  const answer429 = (retryAfterMs: number): void => {
    const waitMs = pacing
      .cooldownFor('synth', current())
      .rateLimited(timing.monotonic(), retryAfterMs);
    pacing.bucketFor('synth', current())?.pause(waitMs);
  };
  return { runtime, timing, pacing, current, nextStart, answer429 };
}

describe('review: reconfigure keeps what the provider told us', () => {
  it('a 429 with Retry-After 60 s still holds a run started after a reload that changed pacing', async () => {
    const dir = tempDir();
    const h = harness(configIn(dir, { pacing: { requests_per_minute: 60, burst: 1 } }));
    expect(await h.nextStart()).toBe(0);
    // The provider refuses: wait 60 s. The operator reacts by lowering the rate and reloading.
    h.answer429(60_000);
    expect(
      h.runtime.reconfigure(configIn(dir, { pacing: { requests_per_minute: 30, burst: 1 } })),
    ).toEqual(['synth']);
    // The server's pause is not config: the next request must still wait for it.
    expect(await h.nextStart()).toBeGreaterThanOrEqual(60_000);
  });

  it('a request sent just before a reload that lowers the rate still counts against the budget', async () => {
    const dir = tempDir();
    const h = harness(configIn(dir, { pacing: { requests_per_minute: 60, burst: 1 } }));
    expect(await h.nextStart()).toBe(0);
    h.runtime.reconfigure(configIn(dir, { pacing: { requests_per_minute: 30, burst: 1 } }));
    // burst 1 at either rate: two requests at the same instant break the provider's limit. The
    // fresh bucket starts full and lets the next one go at once.
    expect(await h.nextStart()).toBeGreaterThanOrEqual(1_000);
  });

  it('a run that started before the reload and one started after share one budget for the provider', async () => {
    const dir = tempDir();
    const h = harness(configIn(dir, { pacing: { requests_per_minute: 60, burst: 1 } }));
    // A followed live job holds the bucket of its start for as long as it runs.
    const held = h.pacing.bucketFor('synth', h.current());
    h.runtime.reconfigure(configIn(dir, { pacing: { requests_per_minute: 30, burst: 1 } }));
    const fresh = h.pacing.bucketFor('synth', h.current());
    const starts: number[] = [];
    const origin = h.timing.monotonic();
    const worker = async (bucket: typeof held): Promise<void> => {
      for (;;) {
        await bucket?.acquire();
        const at = h.timing.monotonic() - origin;
        if (at >= 60_000) return;
        starts.push(at);
      }
    };
    await h.timing.run(Promise.all([worker(held), worker(fresh)]));
    // One provider, one budget: in a minute at most burst + a minute's rate of the larger of the
    // two settings (61), whichever the old and new runs draw from.
    expect(starts.length).toBeLessThanOrEqual(61);
  });
});

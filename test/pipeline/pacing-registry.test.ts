import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_RETRY_AFTER_MS,
  type PacingConfig,
} from '../../src/core/config/config-schema.js';
import { PacingRegistry } from '../../src/pipeline/policies/pacing-registry.js';
import { DEFAULT_COOLDOWN_MS } from '../../src/pipeline/policies/rate-limit-cooldown.js';
import { DEFAULT_PHASE_MARGIN_MS } from '../../src/pipeline/policies/token-bucket.js';
import { FakeTiming } from '../helpers/fake-timing.js';

const pacing: PacingConfig = {
  requests_per_minute: 60,
  burst: 2,
  cooldown_seconds: 30,
  max_retry_after: 15 * 60_000,
  scope: 'process',
};

describe('PacingRegistry', () => {
  it('has an unpaced bucket (only the cooldown holds it) for a provider without pacing', () => {
    expect(new PacingRegistry(new FakeTiming()).bucketFor('csv_1', undefined).kind).toBe('unpaced');
  });

  it('shares one bucket per provider across callers', async () => {
    const timing = new FakeTiming();
    const registry = new PacingRegistry(timing);
    const first = registry.bucketFor('synthetic_1', pacing);
    const second = registry.bucketFor('synthetic_1', pacing);
    expect(second).toBe(first);
    // Two jobs drawing from the same provider share its budget: the third start waits.
    const starts: number[] = [];
    const record = (): number => starts.push(timing.monotonic());
    await timing.run(
      Promise.all([
        first?.acquire().then(record),
        second?.acquire().then(record),
        second?.acquire().then(record),
      ]),
    );
    expect(starts).toEqual([0, 0, 1_000 + DEFAULT_PHASE_MARGIN_MS]);
  });

  it('gives each provider its own bucket with its own settings', async () => {
    const timing = new FakeTiming();
    const registry = new PacingRegistry(timing);
    const slow = registry.bucketFor('slow', {
      requests_per_minute: 6,
      burst: 1,
      cooldown_seconds: 0,
      max_retry_after: 15 * 60_000,
      scope: 'process',
    });
    const fast = registry.bucketFor('fast', pacing);
    expect(slow).not.toBe(fast);
    expect(slow?.estimateMs(3)).toBe(20_000);
    expect(fast?.estimateMs(3)).toBe(1_000);
    // A 429 pause on one provider leaves the others alone.
    slow?.pause(60_000);
    await timing.run(fast?.acquire() ?? Promise.reject(new Error('no bucket')));
    expect(timing.monotonic()).toBe(0);
  });

  it('a pacing block without a rate has an unpaced bucket', () => {
    const { requests_per_minute: _rate, ...noRate } = pacing;
    expect(new PacingRegistry(new FakeTiming()).bucketFor('csv_1', noRate).kind).toBe('unpaced');
  });

  it('gives every provider a 429 cooldown: the defaults without pacing, its settings with', () => {
    const registry = new PacingRegistry(new FakeTiming());
    expect(registry.cooldownFor('csv_1', undefined).options).toEqual({
      cooldownMs: DEFAULT_COOLDOWN_MS,
      maxRetryAfterMs: DEFAULT_MAX_RETRY_AFTER_MS,
    });
    expect(DEFAULT_COOLDOWN_MS).toBe(1_000);
    expect(DEFAULT_MAX_RETRY_AFTER_MS).toBe(15 * 60_000);
    const paced = registry.cooldownFor('synthetic_1', { ...pacing, max_retry_after: 3_600_000 });
    expect(paced.options).toEqual({ cooldownMs: 30_000, maxRetryAfterMs: 3_600_000 });
    // Shared like the bucket: every job of the process sees the same pause.
    expect(registry.cooldownFor('synthetic_1', pacing)).toBe(paced);
  });

  it('a provider removed by a reload and added back with another pacing still waits out its pause', async () => {
    const timing = new FakeTiming();
    const registry = new PacingRegistry(timing);
    const cooldown = registry.cooldownFor('synthetic_1', pacing);
    registry.bucketFor('synthetic_1', pacing).pause(cooldown.rateLimited(0, 60_000));
    // Gone from the config, then back at another rate: the registry kept the server's pause.
    const back = { ...pacing, requests_per_minute: 600, cooldown_seconds: 5 };
    await timing.run(registry.bucketFor('synthetic_1', back).acquire());
    expect(timing.monotonic()).toBeGreaterThanOrEqual(60_000);
    expect(registry.cooldownFor('synthetic_1', back)).toBe(cooldown);
    expect(cooldown.options.cooldownMs).toBe(5_000);
  });

  it('a reload that lowers the burst caps the tokens left at once', async () => {
    const timing = new FakeTiming();
    const registry = new PacingRegistry(timing);
    const bucket = registry.bucketFor('synthetic_1', { ...pacing, burst: 5 });
    registry.reconfigure('synthetic_1', { ...pacing, burst: 1 });
    const starts: number[] = [];
    const record = (): number => starts.push(timing.monotonic());
    await timing.run(Promise.all([bucket.acquire().then(record), bucket.acquire().then(record)]));
    expect(starts).toEqual([0, 1_000 + DEFAULT_PHASE_MARGIN_MS]);
  });
});

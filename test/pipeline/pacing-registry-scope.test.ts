import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PacingConfig } from '../../src/core/config/config-schema.js';
import { PacingRegistry } from '../../src/pipeline/policies/pacing-registry.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { FakeTiming } from '../helpers/fake-timing.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tempDir = useTempDir();
const opened: SqliteStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

async function openStore(): Promise<SqliteStore> {
  const store = new SqliteStore({ path: join(tempDir(), 'budgets.db') });
  opened.push(store);
  await store.open();
  return store;
}

const pacing = (scope: 'store' | 'process', perMinute?: number): PacingConfig => ({
  ...(perMinute === undefined ? {} : { requests_per_minute: perMinute }),
  burst: 2,
  cooldown_seconds: 1,
  max_retry_after: 60_000,
  scope,
});

describe('PacingRegistry picks the bucket by pacing.scope', () => {
  it('store (the default): the store budget, for a provider with or without a rate', async () => {
    const store = await openStore();
    const registry = new PacingRegistry(new FakeTiming(), { budgets: store.budgets });
    expect(registry.bucketFor('paced', pacing('store', 60)).kind).toBe('store');
    expect(registry.bucketFor('unpaced', pacing('store')).kind).toBe('store');
    expect(registry.bucketFor('no_block', undefined).kind).toBe('store');
    // One bucket per provider, whoever asks.
    expect(registry.bucketFor('paced', pacing('store', 60))).toBe(
      registry.bucketFor('paced', pacing('store', 60)),
    );
    // A scope change swaps what is behind the same object, for every holder at once.
    const held = registry.bucketFor('paced', pacing('store', 60));
    registry.reconfigure('paced', pacing('process', 60));
    expect(held.kind).toBe('process');
    expect(registry.bucketFor('paced', pacing('process', 60))).toBe(held);
  });

  it('process: the in-process bucket, none without a rate, as before shared budgets', async () => {
    const store = await openStore();
    const registry = new PacingRegistry(new FakeTiming(), { budgets: store.budgets });
    expect(registry.bucketFor('paced', pacing('process', 60)).kind).toBe('process');
    expect(registry.bucketFor('unpaced', pacing('process')).kind).toBe('unpaced');
  });

  it('a registry given no store budgets keeps every bucket in the process', () => {
    const registry = new PacingRegistry(new FakeTiming());
    expect(registry.bucketFor('paced', pacing('store', 60)).kind).toBe('process');
    expect(registry.bucketFor('unpaced', pacing('store')).kind).toBe('unpaced');
  });
});

import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { MdpConfig } from '../core/config/load-config.js';
import { StoreError } from '../core/errors.js';
import { ProviderRegistry } from '../core/provider-registry.js';
import { PacingRegistry } from '../pipeline/policies/pacing-registry.js';
import { RunEvents } from '../pipeline/run-events.js';
import { JobRunner } from '../pipeline/runner/job-runner.js';
import { systemTiming } from '../pipeline/timing.js';
import { SyntheticProvider } from '../providers/synthetic/synthetic-provider.js';
import { SqliteStore, sqlitePathFromUri } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';

/** The composition root: the one place that picks concrete providers and storage. */
export function createProviderRegistry(): ProviderRegistry {
  return new ProviderRegistry().register(
    'synthetic',
    (name, config) => new SyntheticProvider(name, config),
  );
}

/** The configured primary storage, not yet opened. */
export function createStore(config: MdpConfig): Store {
  const storage = config.storage.primary;
  if (storage.type === 'sqlite') {
    return new SqliteStore({
      path: sqlitePathFromUri(storage.uri),
      upsertKeys: storage.write.upsert_keys,
    });
  }
  throw new StoreError(
    'MDP_STORE_UNSUPPORTED',
    storage.type,
    `storage type ${storage.type} is not available in this build yet; use type: sqlite (see configs/sample.yaml)`,
  );
}

/** A store opened for the duration of `body`, closed whatever happens. */
export async function withStore<T>(
  config: MdpConfig,
  body: (store: Store) => Promise<T>,
): Promise<T> {
  const store = createStore(config);
  await store.open();
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

/** A runner wired to real providers, pacing and the given store. */
export function createRunner(
  config: MdpConfig,
  store: Store,
  logger: Logger,
  events: RunEvents,
): JobRunner {
  return new JobRunner({
    config,
    store,
    providers: createProviderRegistry(),
    pacing: new PacingRegistry(systemTiming),
    events,
    logger,
    host: hostname(),
    pid: process.pid,
  });
}

export { RunEvents };

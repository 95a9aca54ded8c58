import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { MdpConfig } from '../core/config/load-config.js';
import { HELD_RATE_MS } from '../core/bucket-level.js';
import { StoreError } from '../core/errors.js';
import { ProviderRegistry } from '../core/provider-registry.js';
import { PacingRegistry } from '../pipeline/policies/pacing-registry.js';
import { pacingText } from '../pipeline/policies/store-token-bucket.js';
import { RunEvents } from '../pipeline/run-events.js';
import { systemTiming } from '../pipeline/timing.js';
import { ProcessRuntime } from '../service/process-runtime.js';
import { createAlpacaProvider } from '../providers/alpaca/alpaca-provider.js';
import { createCsvProvider } from '../providers/csv/csv-provider.js';
import { createPolygonProvider } from '../providers/polygon/polygon-provider.js';
import { SyntheticProvider } from '../providers/synthetic/synthetic-provider.js';
import { probePostgres, type PostgresProbe } from '../store/postgres/postgres-probe.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import { currentProcessIdentity } from '../store/process-identity.js';
import { SqliteSpool } from '../store/sqlite/sqlite-spool.js';
import { SqliteStore, sqlitePathFromUri } from '../store/sqlite/sqlite-store.js';
import type { Spool } from '../store/spool.js';
import type { Store } from '../store/store.js';
import { createLogger } from './logger.js';

/** The composition root: the one place that picks concrete providers and storage. */
export function createProviderRegistry(): ProviderRegistry {
  return new ProviderRegistry()
    .register('synthetic', (name, config) => new SyntheticProvider(name, config))
    .register('csv', createCsvProvider)
    .register('polygon', createPolygonProvider)
    .register('alpaca', createAlpacaProvider);
}

/** What the CLI wants to hear from a store besides its results. */
export interface StoreHooks {
  /** Something works, but not as configured (e.g. no TimescaleDB: a plain table). */
  readonly onWarning?: (message: string) => void;
}

/** The configured primary storage, not yet opened. */
export function createStore(config: MdpConfig, hooks: StoreHooks = {}): Store {
  const storage = config.storage.primary;
  if (storage.type === 'sqlite') {
    return new SqliteStore({
      path: sqlitePathFromUri(storage.uri),
      upsertKeys: storage.write.upsert_keys,
      maxBytes: storage.max_size,
      onWarning: hooks.onWarning,
    });
  }
  if (storage.type === 'postgres' || storage.type === 'timescaledb') {
    return new PostgresStore({
      uri: storage.uri,
      schema: storage.schema,
      upsertKeys: storage.write.upsert_keys,
      timeouts: {
        statementMs: storage.statement_timeout,
        lockMs: storage.lock_timeout,
        idleInTransactionMs: storage.idle_in_transaction_timeout,
      },
      timescale:
        storage.type === 'timescaledb'
          ? { chunkIntervalMs: storage.timescale.chunk_interval }
          : undefined,
      onWarning: hooks.onWarning,
    });
  }
  throw new StoreError(
    'MDP_STORE_UNSUPPORTED',
    String(storage.type),
    `storage type ${String(storage.type)} is not available in this build; use sqlite, postgres or timescaledb`,
  );
}

/** A store opened for the duration of `body`, closed whatever happens; warnings are logged. */
export async function withStore<T>(
  config: MdpConfig,
  body: (store: Store) => Promise<T>,
): Promise<T> {
  const store = createStore(config, {
    onWarning: (message) =>
      createLogger(config.telemetry.log_level, config.redactor).warn(
        { storage: config.storage.primary.type },
        message,
      ),
  });
  await store.open();
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

/**
 * For `mdp validate`: what a PostgreSQL server says about the configured storage, read without
 * changing anything; undefined for SQLite, which has no server to reach. Throws a StoreError when
 * the server cannot be reached.
 */
export async function probeStorage(
  config: MdpConfig,
  timeoutMs: number,
): Promise<PostgresProbe | undefined> {
  const storage = config.storage.primary;
  if (storage.type === 'sqlite') return undefined;
  return probePostgres({ uri: storage.uri, schema: storage.schema, timeoutMs });
}

/** The local spool of `storage.spool` (an SQLite file, created when first needed), if enabled. */
export function createSpool(config: MdpConfig): Spool | undefined {
  const spool = config.storage.spool;
  if (!spool.enabled || spool.path === undefined) return undefined;
  return new SqliteSpool({ path: spool.path, maxBars: spool.max_bars });
}

/**
 * The process's runtime over the real providers and pacing: one provider instance, one bucket
 * and one cooldown per configured provider for every run of the process.
 */
export function createProcessRuntime(
  config: MdpConfig,
  logger: Logger,
  store: Store,
): ProcessRuntime {
  return new ProcessRuntime(config, {
    providers: createProviderRegistry(),
    pacing: new PacingRegistry(systemTiming, {
      budgets: store.budgets,
      onStoreUnavailable: (provider, error) =>
        logger.warn(
          { provider, err: error.message },
          'the store cannot answer for the provider budget; pacing this process alone until it can',
        ),
      onHeldToStricter: (provider, own, held) =>
        logger.warn(
          { provider, configured: pacingText(own), heldTo: pacingText(held) },
          `provider ${provider}: its budget on the store holds every process to ` +
            `${pacingText(held)}, the strictest a process on the store asked for in the last ` +
            `${HELD_RATE_MS / 60_000} minutes (another process, or this one before a reload), ` +
            `not this process's ${pacingText(own)}. Make providers.${provider}.pacing agree in ` +
            `every config on the store (then restart or SIGHUP them all)`,
        ),
    }),
    createSpool,
    logger,
    host: hostname(),
    pid: process.pid,
    identity: currentProcessIdentity(),
  });
}

export { RunEvents };

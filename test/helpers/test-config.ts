import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { storagePrimary, type StorageKind } from './test-storage.js';

/** Knobs for a test config around one synthetic provider, one dataset and two jobs. */
export interface TestConfigOptions {
  /** Where the data goes: `dir/data/test.db` (default), or the test PostgreSQL server. */
  readonly storage?: StorageKind;
  readonly symbols?: string[];
  readonly interval?: string;
  readonly start?: string;
  readonly end?: string;
  readonly maxBarsPerRequest?: number;
  readonly batchSize?: number;
  readonly concurrency?: number;
  /** execution.heartbeat_interval of both jobs, as a duration: `1s` (the shortest the config takes). */
  readonly heartbeatInterval?: string;
  readonly latencyMs?: number;
  readonly failureRate?: number;
  readonly maxAttempts?: number;
  readonly writeEnabled?: boolean;
  readonly pacing?: { requests_per_minute: number; burst: number; cooldown_seconds?: number };
  readonly serverLimit?: {
    requests_per_minute: number;
    burst: number;
    retry_after_seconds?: number;
  };
  /** simulate.hang_rate, empty_pages, short_pages and bad_bars of the synthetic provider. */
  readonly hangRate?: number;
  readonly emptyPages?: number;
  readonly shortPages?: number;
  readonly badBars?: { rate: number; kinds?: string[] };
  /** The provider's request_timeout, as a duration: `200ms`, `5s`. */
  readonly requestTimeout?: string;
  /** storage.primary.write.retry; default the config's own. */
  readonly storageRetry?: {
    max_attempts: number;
    backoff_seconds: number;
    max_backoff_seconds?: number;
    jitter?: 'full' | 'none';
  };
  /** storage.spool; default the config's own (enabled, beside the data). */
  readonly spool?: { enabled?: boolean; path?: string; max_bars?: number };
  /** storage.primary.max_size (SQLite), e.g. `200KB`. */
  readonly maxSize?: string;
  /** storage.primary.lock_timeout, statement_timeout, idle_in_transaction_timeout (PostgreSQL). */
  readonly lockTimeout?: string;
  readonly statementTimeout?: string;
  readonly idleInTransactionTimeout?: string;
  /** A PostgreSQL server other than the run's test server (`storage: 'postgres'` only). */
  readonly postgresUrl?: string;
  /** telemetry.log_level; default warn. */
  readonly logLevel?: string;
  /** telemetry.metrics; off unless given (tests must not fight over a fixed port). */
  readonly metrics?: { enabled?: boolean; port?: number; pushgatewayUrl?: string };
}

/** The config as a plain object (YAML-ready), storing into `dir/data/test.db` or its PG schema. */
export function testConfig(dir: string, options: TestConfigOptions = {}): Record<string, unknown> {
  const simulate = {
    ...(options.latencyMs ? { latency_ms: options.latencyMs } : {}),
    ...(options.failureRate ? { failure_rate: options.failureRate } : {}),
    ...(options.serverLimit ? { server_limit: options.serverLimit } : {}),
    ...(options.hangRate ? { hang_rate: options.hangRate } : {}),
    ...(options.emptyPages ? { empty_pages: options.emptyPages } : {}),
    ...(options.shortPages ? { short_pages: options.shortPages } : {}),
    ...(options.badBars ? { bad_bars: options.badBars } : {}),
  };
  const execution = {
    concurrency: options.concurrency ?? 2,
    ...(options.heartbeatInterval ? { heartbeat_interval: options.heartbeatInterval } : {}),
    retry: {
      max_attempts: options.maxAttempts ?? 3,
      backoff_seconds: 0.01,
      max_backoff_seconds: 0.05,
    },
  };
  return {
    version: 2,
    providers: {
      synth: {
        type: 'synthetic',
        seed: 7,
        max_bars_per_request: options.maxBarsPerRequest ?? 2000,
        ...(options.requestTimeout ? { request_timeout: options.requestTimeout } : {}),
        ...(options.pacing ? { pacing: options.pacing } : {}),
        ...(Object.keys(simulate).length ? { simulate } : {}),
      },
    },
    storage: {
      primary: {
        ...storagePrimary(options.storage ?? 'sqlite', dir, options.postgresUrl),
        ...(options.maxSize ? { max_size: options.maxSize } : {}),
        ...(options.lockTimeout ? { lock_timeout: options.lockTimeout } : {}),
        ...(options.statementTimeout ? { statement_timeout: options.statementTimeout } : {}),
        ...(options.idleInTransactionTimeout
          ? { idle_in_transaction_timeout: options.idleInTransactionTimeout }
          : {}),
        write: {
          batch_size: options.batchSize ?? 500,
          ...(options.storageRetry ? { retry: options.storageRetry } : {}),
        },
      },
      ...(options.spool ? { spool: options.spool } : {}),
    },
    datasets: {
      ds: {
        provider: 'synth',
        symbols: options.symbols ?? ['AAA', 'BBB'],
        interval: options.interval ?? '1m',
      },
    },
    jobs: {
      live_job: { dataset: 'ds', mode: 'live', live: { lookback: '2h' }, execution },
      backfill_job: {
        dataset: 'ds',
        mode: 'backfill',
        backfill: {
          start: options.start ?? '2024-01-01T00:00:00Z',
          end: options.end ?? '2024-01-03T00:00:00Z',
        },
        execution,
      },
    },
    features: { write_enabled: options.writeEnabled ?? true },
    telemetry: {
      log_level: options.logLevel ?? 'warn',
      metrics: options.metrics
        ? {
            enabled: options.metrics.enabled ?? true,
            host: '127.0.0.1',
            port: options.metrics.port ?? 0,
            ...(options.metrics.pushgatewayUrl
              ? { pushgateway_url: options.metrics.pushgatewayUrl }
              : {}),
          }
        : { enabled: false },
    },
  };
}

/** Writes the test config to `dir/mdp.yaml` and returns its path. */
export function writeTestConfig(dir: string, options: TestConfigOptions = {}): string {
  const file = join(dir, 'mdp.yaml');
  writeFileSync(file, stringify(testConfig(dir, options)));
  return file;
}

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** Knobs for a test config around one synthetic provider, one dataset and two jobs. */
export interface TestConfigOptions {
  readonly symbols?: string[];
  readonly interval?: string;
  readonly start?: string;
  readonly end?: string;
  readonly maxBarsPerRequest?: number;
  readonly batchSize?: number;
  readonly concurrency?: number;
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
}

/** The config as a plain object (YAML-ready), storing into `dir/data/test.db`. */
export function testConfig(dir: string, options: TestConfigOptions = {}): Record<string, unknown> {
  const simulate = {
    ...(options.latencyMs ? { latency_ms: options.latencyMs } : {}),
    ...(options.failureRate ? { failure_rate: options.failureRate } : {}),
    ...(options.serverLimit ? { server_limit: options.serverLimit } : {}),
  };
  const execution = {
    concurrency: options.concurrency ?? 2,
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
        ...(options.pacing ? { pacing: options.pacing } : {}),
        ...(Object.keys(simulate).length ? { simulate } : {}),
      },
    },
    storage: {
      primary: {
        type: 'sqlite',
        uri: `sqlite:${join(dir, 'data', 'test.db')}`,
        write: { batch_size: options.batchSize ?? 500 },
      },
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
    telemetry: { log_level: 'warn', metrics: { enabled: false } },
  };
}

/** Writes the test config to `dir/mdp.yaml` and returns its path. */
export function writeTestConfig(dir: string, options: TestConfigOptions = {}): string {
  const file = join(dir, 'mdp.yaml');
  writeFileSync(file, stringify(testConfig(dir, options)));
  return file;
}

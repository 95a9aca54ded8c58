import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { storagePrimary, type StorageKind } from './test-storage.js';

/** A backfill job of a test config: a dataset of the one provider and a window. */
export interface TestBackfillJob {
  readonly symbols: readonly string[];
  readonly interval: string;
  readonly start: string;
  readonly end: string;
}

/**
 * Writes `dir/mdp.yaml`: one provider entry as given, a dataset and a backfill job per entry of
 * `jobs`, storing into `dir`'s SQLite file or PostgreSQL schema; metrics off, log level warn.
 */
export function writeProviderTestConfig(
  dir: string,
  storage: StorageKind,
  provider: Record<string, unknown>,
  jobs: Readonly<Record<string, TestBackfillJob>>,
): string {
  const datasets: Record<string, unknown> = {};
  const jobEntries: Record<string, unknown> = {};
  for (const [name, job] of Object.entries(jobs)) {
    datasets[`${name}_data`] = { provider: 'source', symbols: job.symbols, interval: job.interval };
    jobEntries[name] = {
      dataset: `${name}_data`,
      mode: 'backfill',
      backfill: { start: job.start, end: job.end },
      execution: {
        concurrency: 2,
        retry: { max_attempts: 3, backoff_seconds: 0.01, max_backoff_seconds: 0.05 },
      },
    };
  }
  const config = {
    version: 2,
    providers: { source: provider },
    storage: { primary: { ...storagePrimary(storage, dir), write: { batch_size: 500 } } },
    datasets,
    jobs: jobEntries,
    telemetry: { log_level: 'warn', metrics: { enabled: false } },
  };
  const file = join(dir, 'mdp.yaml');
  writeFileSync(file, stringify(config));
  return file;
}

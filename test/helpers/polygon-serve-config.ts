import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { POLYGON_TEST_KEY } from './concurrent-backfills.js';
import { storagePrimary, type StorageKind } from './test-storage.js';

/** A dataset of 1m bars of the one polygon provider, and its job (mode, schedule, follow...). */
export interface PolygonTestJob {
  readonly symbols: readonly string[];
  readonly job: Record<string, unknown>;
}

/**
 * Writes `dir/NAME.yaml` for `mdp serve` (or `mdp backfill`): one polygon provider `source` at
 * `baseUrl` (pages of 200 bars, `pacing` if given) and, per entry of `jobs`, a dataset of its
 * symbols' 1m bars and the job; the store in `dir` (SQLite file or PostgreSQL schema), log level
 * info, /metrics on `port` when given. Returns the file's path.
 */
export function writePolygonServeConfig(
  dir: string,
  name: string,
  options: {
    readonly storage: StorageKind;
    readonly baseUrl: string;
    readonly jobs: Readonly<Record<string, PolygonTestJob>>;
    readonly pacing?: Readonly<Record<string, unknown>>;
    readonly port?: number;
  },
): string {
  const datasets: Record<string, unknown> = {};
  const jobs: Record<string, unknown> = {};
  for (const [jobName, { symbols, job }] of Object.entries(options.jobs)) {
    datasets[`${jobName}_data`] = { provider: 'source', symbols, interval: '1m' };
    jobs[jobName] = { dataset: `${jobName}_data`, ...job };
  }
  const config = {
    version: 2,
    providers: {
      source: {
        type: 'polygon',
        api_key: POLYGON_TEST_KEY,
        base_url: options.baseUrl,
        limit: 200,
        ...(options.pacing ? { pacing: options.pacing } : {}),
      },
    },
    storage: { primary: storagePrimary(options.storage, dir) },
    datasets,
    jobs,
    telemetry: {
      log_level: 'info',
      metrics:
        options.port === undefined
          ? { enabled: false }
          : { enabled: true, host: '127.0.0.1', port: options.port },
    },
  };
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(config));
  return file;
}

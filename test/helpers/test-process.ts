import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { afterEach } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig, type MdpConfig } from '../../src/core/config/load-config.js';
import type { RunMode } from '../../src/store/store.js';
import { RunEvents } from '../../src/pipeline/run-events.js';
import type { RunSummary } from '../../src/pipeline/runner/job-runner.js';
import type { ProcessRuntime } from '../../src/service/process-runtime.js';
import { ProcessTelemetry } from '../../src/service/process-telemetry.js';
import { runJob } from '../../src/service/run-job.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { syntheticRuntime } from './synthetic-runtime.js';
import { testConfig, type TestConfigOptions } from './test-config.js';

/** What a long-running process keeps across runs, as the service composes it, on SQLite. */
export interface TestProcess {
  readonly runtime: ProcessRuntime;
  readonly telemetry: ProcessTelemetry;
  /** Open until `close()`. */
  readonly store: SqliteStore;
  /** The URL of the process's /metrics. */
  readonly url: string;
  /** Runs a job of the runtime's current config, as the service does. */
  run(jobName: string, mode: RunMode): Promise<RunSummary>;
  /** The process's /metrics page. */
  scrape(): Promise<string>;
  /** Closes the telemetry and the store, once: a second call waits for the first. */
  close(): Promise<void>;
}

/** A process of `config` (with `metrics.port: 0`) serving /metrics, its store in `dir`. */
export async function startTestProcess(
  dir: string,
  config: MdpConfig,
  logger: Logger,
): Promise<TestProcess> {
  const runtime = syntheticRuntime(config, logger);
  const store = new SqliteStore({ path: join(dir, 'data', 'test.db') });
  await store.open();
  const telemetry = new ProcessTelemetry({ config, logger, storages: [store.kind] });
  const url = await telemetry.serve();
  if (url === undefined) throw new Error('the test process serves no /metrics');
  let closing: Promise<void> | undefined;
  return {
    runtime,
    telemetry,
    store,
    url,
    run: (jobName, mode) =>
      runJob(
        { runtime, store, telemetry, events: new RunEvents() },
        { jobName, mode },
        new AbortController().signal,
      ),
    scrape: async () => (await fetch(url)).text(),
    close: () =>
      (closing ??= (async () => {
        await telemetry.close();
        await store.close();
      })()),
  };
}

/**
 * For a test file: starts test processes with a silent logger, each closed after its test unless
 * the test closed it (a restart). Call after `useTempDir()`: after-hooks run in reverse order, so
 * the processes close before their folders go.
 */
export function useTestProcesses(): (dir: string, config: MdpConfig) => Promise<TestProcess> {
  const started: TestProcess[] = [];
  afterEach(async () => {
    for (const proc of started.splice(0)) await proc.close();
  });
  return async (dir, config) => {
    const proc = await startTestProcess(dir, config, pino({ level: 'silent' }));
    started.push(proc);
    return proc;
  };
}

/** The plain shape of testConfig's result, as far as a reload test edits it. */
export type PlainTestConfig = {
  providers: Record<string, unknown>;
  datasets: Record<string, Record<string, unknown>>;
  jobs: Record<string, Record<string, unknown>>;
};

/** Adds `new_job` (a copy of backfill_job) on dataset `ds2` of a new provider `synth2`. */
export function withNewJobOnNewProvider(plain: PlainTestConfig): PlainTestConfig {
  plain.providers.synth2 = plain.providers.synth;
  plain.datasets.ds2 = { ...plain.datasets.ds, provider: 'synth2' };
  plain.jobs.new_job = { ...plain.jobs.backfill_job, dataset: 'ds2' };
  return plain;
}

/**
 * testConfig's config in `dir` (two hours of bars, /metrics on a free port), parsed as a process
 * loads it, after `edit` (e.g. what a reload adds or removes).
 */
export function testProcessConfig(
  dir: string,
  options: TestConfigOptions = {},
  edit: (plain: PlainTestConfig) => PlainTestConfig = (plain) => plain,
): MdpConfig {
  const plain = testConfig(dir, { end: '2024-01-01T02:00:00Z', metrics: { port: 0 }, ...options });
  return parseConfig(stringify(edit(plain as PlainTestConfig)), {
    file: join(dir, 'mdp.yaml'),
    cwd: dir,
    env: {},
  });
}

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ChildProcess } from 'node:child_process';
import type { TickRecord } from '../../src/store/tick-claims.js';
import { collect, spawnCli, type CliResult } from './run-cli.js';
import { waitFor } from './wait-for.js';
import { testConfig, type TestConfigOptions } from './test-config.js';
import { openTestStore, type StorageKind } from './test-storage.js';

/** Keys added to the test config's jobs (`live_job`, `backfill_job`); null removes a job. */
export type JobExtras = Record<string, Record<string, unknown> | null>;

/** The test config of `dir` with `jobs` merged into its jobs, as YAML text. */
export function serveConfigText(
  dir: string,
  jobs: JobExtras,
  options: TestConfigOptions = {},
): string {
  const config = testConfig(dir, { logLevel: 'info', ...options }) as {
    jobs: Record<string, Record<string, unknown>>;
  };
  for (const [name, extra] of Object.entries(jobs)) {
    if (extra === null) delete config.jobs[name];
    else config.jobs[name] = { ...config.jobs[name], ...extra };
  }
  return stringify(config);
}

/** Writes the serve config to `dir/mdp.yaml` and returns its path. */
export function writeServeConfig(
  dir: string,
  jobs: JobExtras,
  options: TestConfigOptions = {},
): string {
  const file = join(dir, 'mdp.yaml');
  writeFileSync(file, serveConfigText(dir, jobs, options));
  return file;
}

/** A six-field cron expression firing once (a year) at `ms`, UTC. */
export function onceAt(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} ${d.getUTCDate()} ${d.getUTCMonth() + 1} *`;
}

/** The job's claimed ticks, oldest first, read through the store's TickClaims port. */
export async function claimedTicks(
  kind: StorageKind,
  dir: string,
  jobName: string,
): Promise<TickRecord[]> {
  const store = await openTestStore(kind, dir);
  try {
    return (await store.ticks.list(jobName)).reverse();
  } finally {
    await store.close();
  }
}

/** JSON log lines of a child's stderr, parsed (non-JSON lines left out). */
export function logLines(stderr: string): { msg: string; [key: string]: unknown }[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg: string });
}

/** A running `mdp serve`, its stderr so far, and its end. */
export interface Served {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly exited: Promise<CliResult>;
}

/** Starts `mdp serve --config FILE`; it is killed (and `exited` rejects) after `timeoutMs`. */
export function serve(file: string, extra: string[] = [], timeoutMs = 120_000): Served {
  const child = spawnCli(['serve', '--config', file, ...extra]);
  const exited = collect(child, timeoutMs);
  let stderr = '';
  child.stderr?.on('data', (chunk: string) => (stderr += chunk));
  return { child, stderr: () => stderr, exited };
}

/** Waits until the job has at least `n` ticks with an outcome; returns them all. */
export async function ticksDone(kind: StorageKind, dir: string, job: string, n: number) {
  return waitFor(
    `${n} finished ticks of ${job}`,
    async () => {
      const ticks = await claimedTicks(kind, dir, job);
      return ticks.filter((tick) => tick.outcome !== null).length >= n ? ticks : undefined;
    },
    90_000,
    200,
  );
}

/** Writes `text` over the service's config, sends SIGHUP and returns the applied reload's log line. */
export async function reloadServe(service: Served, file: string, text: string) {
  writeFileSync(file, text);
  service.child.kill('SIGHUP');
  return waitFor('the applied reload in the log', () =>
    logLines(service.stderr()).find((line) => line.msg.startsWith('config reloaded')),
  );
}

/** A running `mdp serve` on a test config of its own, which the test can reload and stop. */
export interface ServedConfig extends Served {
  /** `dir/mdp.yaml`, the config the service reads (at its start and at each SIGHUP). */
  readonly file: string;
  /** The service's first config with `jobs` and `options` merged over it, as YAML text. */
  readonly text: (jobs?: JobExtras, options?: TestConfigOptions) => string;
  /** Writes `text(jobs, options)` over the config, sends SIGHUP and returns the reload's log line. */
  readonly reload: (
    jobs?: JobExtras,
    options?: TestConfigOptions,
  ) => ReturnType<typeof reloadServe>;
  /** SIGTERM, and the service's end. */
  readonly stop: () => Promise<CliResult>;
}

/**
 * Writes the test config of `dir` with `jobs` merged into its jobs and starts `mdp serve` on it:
 * the setup every serve test shares. Stop it (`stop()`) in a `finally`.
 */
export function startServe(
  dir: string,
  jobs: JobExtras,
  options: TestConfigOptions = {},
  extra: string[] = [],
): ServedConfig {
  const file = writeServeConfig(dir, jobs, options);
  const service = serve(file, extra);
  const text = (more: JobExtras = {}, moreOptions: TestConfigOptions = {}): string =>
    serveConfigText(dir, { ...jobs, ...more }, { ...options, ...moreOptions });
  return {
    ...service,
    file,
    text,
    reload: (more, moreOptions) => reloadServe(service, file, text(more, moreOptions)),
    stop: () => {
      service.child.kill('SIGTERM');
      return service.exited;
    },
  };
}

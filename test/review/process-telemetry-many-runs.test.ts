import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig, type MdpConfig } from '../../src/core/config/load-config.js';
import { ProviderRegistry } from '../../src/core/provider-registry.js';
import { PacingRegistry } from '../../src/pipeline/policies/pacing-registry.js';
import { RunEvents } from '../../src/pipeline/run-events.js';
import { systemTiming } from '../../src/pipeline/timing.js';
import { SyntheticProvider } from '../../src/providers/synthetic/synthetic-provider.js';
import { ProcessRuntime } from '../../src/service/process-runtime.js';
import { ProcessTelemetry } from '../../src/service/process-telemetry.js';
import { runJob } from '../../src/service/run-job.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { PROMTOOL_INSTALLED, promtool } from '../helpers/promtool.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { testConfig, type TestConfigOptions } from '../helpers/test-config.js';

/**
 * Review of issue 13 (ProcessTelemetry: one registry for every run of a process). The shipped
 * alert MdpJobFailed reads "pipeline_job_runs_total{status="failure"} > 0" as "the latest run
 * failed", which held while a process ran one run. A process that runs a job again (runJob twice,
 * the service) keeps the failure counted after a later success, so the alert never clears.
 */
const tempDir = useTempDir();
const silent = pino({ level: 'silent' });
const ALERTS = fileURLToPath(new URL('../../monitoring/prometheus/alerts.yml', import.meta.url));

function configIn(dir: string, options: TestConfigOptions): MdpConfig {
  return parseConfig(
    stringify(testConfig(dir, { end: '2024-01-01T02:00:00Z', metrics: { port: 0 }, ...options })),
    { file: join(dir, 'mdp.yaml'), cwd: dir, env: {} },
  );
}

describe('review: one telemetry for several runs of a job', () => {
  it.skipIf(!PROMTOOL_INSTALLED)(
    'MdpJobFailed clears on the process /metrics once the job runs again and succeeds',
    async () => {
      const dir = tempDir();
      const failing = configIn(dir, { failureRate: 1, maxAttempts: 1 });
      const runtime = new ProcessRuntime(failing, {
        providers: new ProviderRegistry().register(
          'synthetic',
          (name, cfg) => new SyntheticProvider(name, cfg),
        ),
        pacing: new PacingRegistry(systemTiming),
        createSpool: () => undefined,
        logger: silent,
        host: 'test-host',
        pid: process.pid,
      });
      const store = new SqliteStore({ path: join(dir, 'data', 'test.db') });
      await store.open();
      const telemetry = new ProcessTelemetry({
        config: failing,
        logger: silent,
        storages: ['sqlite'],
      });
      try {
        const url = await telemetry.serve();
        const run = () =>
          runJob(
            { runtime, store, telemetry, events: new RunEvents() },
            { jobName: 'backfill_job', mode: 'backfill' },
            new AbortController().signal,
          );
        await expect(run()).rejects.toThrow();
        // The provider recovers (a reload, as the service will do): the job's next run succeeds.
        runtime.reconfigure(configIn(dir, {}));
        expect((await run()).end.status).toBe('success');

        const scrape = await (await fetch(url ?? '')).text();
        const series = scrape
          .split('\n')
          .filter((line) => line.startsWith('pipeline_job_runs_total{job_name="backfill_job"'))
          .map((line) => {
            const [name, value] = line.split(/\s+/);
            return {
              series: (name ?? '').replace('{', '{job="mdp",instance="127.0.0.1:9090",'),
              values: `${value}x10`,
            };
          });
        expect(series.map((s) => s.series)).toContain(
          'pipeline_job_runs_total{job="mdp",instance="127.0.0.1:9090",job_name="backfill_job",status="success"}',
        );
        const file = join(dir, 'alert.test.yml');
        writeFileSync(
          file,
          stringify({
            rule_files: [ALERTS],
            evaluation_interval: '1m',
            tests: [
              {
                name: 'the latest run of backfill_job succeeded',
                interval: '1m',
                input_series: series,
                alert_rule_test: [{ eval_time: '5m', alertname: 'MdpJobFailed', exp_alerts: [] }],
              },
            ],
          }),
        );
        const result = promtool(['test', 'rules', file]);
        expect(result.output).not.toContain('FAILED');
        expect(result.status).toBe(0);
      } finally {
        await telemetry.close();
        await store.close();
      }
    },
  );

  it('a provider and a job added by a reload have their series at 0 on /metrics once the new job has run', async () => {
    const dir = tempDir();
    const before = configIn(dir, {});
    const plain = testConfig(dir, { end: '2024-01-01T02:00:00Z', metrics: { port: 0 } }) as {
      providers: Record<string, unknown>;
      datasets: Record<string, Record<string, unknown>>;
      jobs: Record<string, Record<string, unknown>>;
    };
    plain.providers.synth2 = plain.providers.synth;
    plain.datasets.ds2 = { ...plain.datasets.ds, provider: 'synth2' };
    plain.jobs.new_job = { ...plain.jobs.backfill_job, dataset: 'ds2' };
    const after = parseConfig(stringify(plain), {
      file: join(dir, 'mdp.yaml'),
      cwd: dir,
      env: {},
    });
    const runtime = new ProcessRuntime(before, {
      providers: new ProviderRegistry().register(
        'synthetic',
        (name, cfg) => new SyntheticProvider(name, cfg),
      ),
      pacing: new PacingRegistry(systemTiming),
      createSpool: () => undefined,
      logger: silent,
      host: 'test-host',
      pid: process.pid,
    });
    const store = new SqliteStore({ path: join(dir, 'data', 'test.db') });
    await store.open();
    const telemetry = new ProcessTelemetry({
      config: before,
      logger: silent,
      storages: ['sqlite'],
    });
    try {
      const url = await telemetry.serve();
      runtime.reconfigure(after);
      const summary = await runJob(
        { runtime, store, telemetry, events: new RunEvents() },
        { jobName: 'new_job', mode: 'backfill' },
        new AbortController().signal,
      );
      expect(summary.end.status).toBe('success');
      const scrape = await (await fetch(url ?? '')).text();
      // increase() misses a counter's first step from "absent": the shipped rate-limit and
      // failure alerts rely on these series existing at 0 (README: "from the first scrape").
      expect(scrape).toContain(
        'pipeline_provider_rate_limit_violations_total{provider="synth2"} 0',
      );
      expect(scrape).toContain('pipeline_job_runs_total{job_name="new_job",status="failure"} 0');
    } finally {
      await telemetry.close();
      await store.close();
    }
  });
});

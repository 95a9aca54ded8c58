import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RunEvents } from '../../src/pipeline/run-events.js';
import { stringify } from 'yaml';
import { PROMTOOL_INSTALLED, promtool } from '../helpers/promtool.js';
import { useTempDir } from '../helpers/temp-dir.js';
import {
  testProcessConfig,
  useTestProcesses,
  withNewJobOnNewProvider,
} from '../helpers/test-process.js';

/**
 * Found in review of issue 13 (ProcessTelemetry: one registry for every run of a process). The shipped
 * alert MdpJobFailed reads "pipeline_job_runs_total{status="failure"} > 0" as "the latest run
 * failed", which held while a process ran one run. A process that runs a job again (runJob twice,
 * the service) keeps the failure counted after a later success, so the alert never clears.
 */
const tempDir = useTempDir();
const startProcess = useTestProcesses();
/** The series of a job that MdpJobFailed may read. */
const JOB_SERIES = ['pipeline_job_runs_total', 'pipeline_job_last_run_failed'];
const ALERTS = fileURLToPath(new URL('../../monitoring/prometheus/alerts.yml', import.meta.url));

describe('review: one telemetry for several runs of a job', () => {
  it.skipIf(!PROMTOOL_INSTALLED)(
    'MdpJobFailed clears on the process /metrics once the job runs again and succeeds',
    async () => {
      const dir = tempDir();
      const failing = testProcessConfig(dir, { failureRate: 1, maxAttempts: 1 });
      const proc = await startProcess(dir, failing);
      const run = () => proc.run('backfill_job', 'backfill');
      const scrapeJob = async (): Promise<Map<string, string>> => {
        const text = await proc.scrape();
        const samples = new Map<string, string>();
        for (const line of text.split('\n')) {
          if (!JOB_SERIES.some((name) => line.startsWith(`${name}{job_name="backfill_job"`))) {
            continue;
          }
          const [name, value] = line.split(/\s+/);
          samples.set(
            (name ?? '').replace('{', '{job="mdp",instance="127.0.0.1:9090",'),
            value ?? '',
          );
        }
        return samples;
      };
      await expect(run()).rejects.toThrow();
      const afterFailure = await scrapeJob();
      // The provider recovers (a reload, as the service will do): the job's next run succeeds.
      proc.runtime.reconfigure(testProcessConfig(dir, {}));
      expect((await run()).end.status).toBe('success');
      const afterSuccess = await scrapeJob();

      // Prometheus scrapes the process after the failure (0-4m), then after the success (5-9m).
      const series = [...new Set([...afterFailure.keys(), ...afterSuccess.keys()])].map((name) => ({
        series: name,
        values: `${afterFailure.get(name) ?? '_'}x4 ${afterSuccess.get(name) ?? '_'}x4`,
      }));
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
              alert_rule_test: [
                {
                  eval_time: '3m',
                  alertname: 'MdpJobFailed',
                  exp_alerts: [
                    {
                      exp_labels: { severity: 'critical', job_name: 'backfill_job' },
                      exp_annotations: {
                        summary: 'mdp job backfill_job failed',
                        description:
                          'The latest run of backfill_job ended in failure. `mdp status --job backfill_job` shows its error; a rerun of a backfill resumes from its checkpoints.',
                      },
                    },
                  ],
                },
                { eval_time: '8m', alertname: 'MdpJobFailed', exp_alerts: [] },
              ],
            },
          ],
        }),
      );
      const result = promtool(['test', 'rules', file]);
      expect(result.output).not.toContain('FAILED');
      expect(result.status).toBe(0);
    },
  );

  it('a provider and a job added by a reload have their series at 0 on /metrics once the new job has run', async () => {
    const dir = tempDir();
    const before = testProcessConfig(dir, {});
    const after = testProcessConfig(dir, {}, withNewJobOnNewProvider);
    const proc = await startProcess(dir, before);
    proc.runtime.reconfigure(after);
    const summary = await proc.run('new_job', 'backfill');
    expect(summary.end.status).toBe('success');
    const scrape = await proc.scrape();
    // increase() misses a counter's first step from "absent": the shipped rate-limit and
    // failure alerts rely on these series existing at 0 (README: "from the first scrape").
    expect(scrape).toContain('pipeline_provider_rate_limit_violations_total{provider="synth2"} 0');
    expect(scrape).toContain('pipeline_job_runs_total{job_name="new_job",status="failure"} 0');
  });

  it('a failure recorded before a restart shows in the next process once the job is attached again', async () => {
    const dir = tempDir();
    const failing = testProcessConfig(dir, { failureRate: 1, maxAttempts: 1 });
    const first = await startProcess(dir, failing);
    await expect(first.run('backfill_job', 'backfill')).rejects.toThrow();
    await first.close();
    const second = await startProcess(dir, failing);
    expect(await second.scrape()).toContain(
      'pipeline_job_last_run_failed{job_name="backfill_job"} 0',
    );
    // The next run's attach reads job_runs before the run starts: MdpJobFailed holds through it.
    const detach = await second.telemetry.attachRun({
      events: new RunEvents(),
      store: second.store,
      jobName: 'backfill_job',
      config: failing,
    });
    expect(await second.scrape()).toContain(
      'pipeline_job_last_run_failed{job_name="backfill_job"} 1',
    );
    detach();
  });
});

import { describe, expect, it } from 'vitest';
import { RunEvents } from '../../src/pipeline/run-events.js';
import { useTempDir } from '../helpers/temp-dir.js';
import {
  testProcessConfig,
  useTestProcesses,
  withNewJobOnNewProvider,
} from '../helpers/test-process.js';

const tempDir = useTempDir();
const startProcess = useTestProcesses();

describe('ProcessTelemetry.reconfigure', () => {
  it('pre-sets the series of added jobs and providers at 0, drops a removed job, keeps what was counted', async () => {
    const dir = tempDir();
    const before = testProcessConfig(dir);
    // The reload removes backfill_job and adds new_job on a new provider.
    const after = testProcessConfig(dir, {}, (plain) => {
      delete withNewJobOnNewProvider(plain).jobs.backfill_job;
      return plain;
    });

    const proc = await startProcess(dir, before);
    expect((await proc.run('backfill_job', 'backfill')).end.status).toBe('success');
    expect((await proc.run('live_job', 'live')).end.status).toBe('success');
    expect(await proc.scrape()).toMatch(
      /^pipeline_job_last_success_timestamp_seconds\{job_name="backfill_job"\} \d/m,
    );

    proc.telemetry.reconfigure(after);
    const page = await proc.scrape();
    // Before new_job ever runs: increase() sees its first failure, the alerts their first 429.
    expect(page).toContain('pipeline_job_runs_total{job_name="new_job",status="failure"} 0');
    expect(page).toContain('pipeline_provider_rate_limit_violations_total{provider="synth2"} 0');
    // No series of backfill_job is left, its last success included: MdpJobNoRecentSuccess
    // would otherwise fire a day later for a job that no longer exists.
    expect(page).not.toContain('job_name="backfill_job"');
    // live_job stays as counted, not reset to 0.
    expect(page).toContain('pipeline_job_runs_total{job_name="live_job",status="success"} 1');
    expect(page).toContain(
      'pipeline_job_duration_seconds_count{job_name="live_job",mode="live"} 1',
    );
    expect(page).toContain('pipeline_job_last_run_failed{job_name="live_job"} 0');
  });

  it("keeps a removed job's series while its run is in progress, and drops them when it detaches", async () => {
    const dir = tempDir();
    const proc = await startProcess(dir, testProcessConfig(dir));
    const detach = await proc.telemetry.attachRun({
      events: new RunEvents(),
      store: proc.store,
      jobName: 'backfill_job',
      config: proc.runtime.config,
    });
    proc.telemetry.reconfigure(
      testProcessConfig(dir, {}, (plain) => {
        delete plain.jobs.backfill_job;
        return plain;
      }),
    );
    // Its end still moves them: removed now, they would come back in part (active at -1).
    expect(await proc.scrape()).toContain('pipeline_active_jobs{job_name="backfill_job"} 0');
    detach();
    expect(await proc.scrape()).not.toContain('job_name="backfill_job"');
  });
});

import { register } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { REJECT_REASONS } from '../../../src/pipeline/bar-validator.js';
import { PipelineMetrics } from '../../../src/pipeline/telemetry/pipeline-metrics.js';
import { parseExposition, samplesOf, valueOf } from '../../helpers/exposition.js';
import { REQUIRED_SERIES } from '../../helpers/required-series.js';

const JOBS = [
  { name: 'live_job', mode: 'live' as const, provider: 'synth' },
  { name: 'backfill_job', mode: 'backfill' as const, provider: 'synth' },
];

async function page(metrics: PipelineMetrics) {
  return parseExposition(await metrics.render());
}

describe('PipelineMetrics', () => {
  it('declares every series of the Telemetry table with its type, and only its labels', async () => {
    const metrics = new PipelineMetrics({ jobs: JOBS, providers: ['synth'], storages: ['sqlite'] });
    metrics.storageErrors.inc({ storage: 'sqlite', kind: 'busy' });
    metrics.seedLastSuccess('live_job', 1_700_000_000_000);
    metrics.heartbeat.set({ job_name: 'live_job' }, 1_700_000_000);
    const text = await page(metrics);
    for (const [name, { type, labels }] of Object.entries(REQUIRED_SERIES)) {
      expect(text.types.get(name), name).toBe(type);
      const samples = text.samples.filter(
        (s) => s.name.replace(/_(bucket|sum|count)$/, '') === name,
      );
      expect(samples.length, name).toBeGreaterThan(0);
      for (const sample of samples) {
        const names = Object.keys(sample.labels).filter((label) => label !== 'le');
        expect(names.sort(), `${name} labels`).toEqual([...labels].sort());
      }
    }
  });

  it('pre-sets the counters of every configured job and provider at 0, so rates work at once', async () => {
    const metrics = new PipelineMetrics({ jobs: JOBS, providers: ['synth'], storages: ['sqlite'] });
    const text = await page(metrics);
    for (const job of ['live_job', 'backfill_job']) {
      for (const status of ['success', 'failure', 'cancelled']) {
        expect(valueOf(text, 'pipeline_job_runs_total', { job_name: job, status })).toBe(0);
      }
      const written = { job_name: job, provider: 'synth' };
      expect(valueOf(text, 'pipeline_rows_written_total', written)).toBe(0);
      expect(valueOf(text, 'pipeline_batches_total', written)).toBe(0);
      expect(valueOf(text, 'pipeline_active_jobs', { job_name: job })).toBe(0);
    }
    expect(
      valueOf(text, 'pipeline_job_duration_seconds_count', { job_name: 'live_job', mode: 'live' }),
    ).toBe(0);
    // Only a backfill job has chunks to record incomplete.
    expect(
      samplesOf(text, 'pipeline_backfill_incomplete_chunks_total').map((s) => s.labels),
    ).toEqual([{ job_name: 'backfill_job', provider: 'synth' }]);
    expect(
      valueOf(text, 'pipeline_backfill_incomplete_chunks_total', {
        job_name: 'backfill_job',
        provider: 'synth',
      }),
    ).toBe(0);
    for (const status of ['ok', 'error', 'rate_limited', 'timeout']) {
      expect(valueOf(text, 'pipeline_provider_requests_total', { provider: 'synth', status })).toBe(
        0,
      );
    }
    expect(
      valueOf(text, 'pipeline_provider_rate_limit_violations_total', { provider: 'synth' }),
    ).toBe(0);
    expect(samplesOf(text, 'pipeline_bars_rejected_total').map((s) => s.labels.reason)).toEqual([
      ...REJECT_REASONS,
    ]);
    expect(
      valueOf(text, 'pipeline_batch_write_duration_seconds_count', { storage: 'sqlite' }),
    ).toBe(0);
    expect(
      valueOf(text, 'pipeline_provider_request_duration_seconds_count', { provider: 'synth' }),
    ).toBe(0);
  });

  it('leaves the timestamp gauges absent until known: a 0 would read as 1970', async () => {
    const metrics = new PipelineMetrics({ jobs: JOBS, providers: ['synth'] });
    let text = await page(metrics);
    expect(samplesOf(text, 'pipeline_job_last_success_timestamp_seconds')).toEqual([]);
    expect(samplesOf(text, 'pipeline_job_heartbeat_timestamp_seconds')).toEqual([]);

    metrics.seedLastSuccess('backfill_job', Date.parse('2024-01-02T00:00:00Z'));
    text = await page(metrics);
    expect(
      valueOf(text, 'pipeline_job_last_success_timestamp_seconds', { job_name: 'backfill_job' }),
    ).toBe(Date.parse('2024-01-02T00:00:00Z') / 1000);
  });

  it("uses a registry of its own, with Node's process metrics, never prom-client's global one", async () => {
    const first = new PipelineMetrics({ jobs: JOBS, providers: ['synth'] });
    // A second instance in the same process would throw "already registered" on a shared registry.
    const second = new PipelineMetrics({ jobs: JOBS, providers: ['synth'], processMetrics: false });
    expect(first.registry).not.toBe(second.registry);
    expect(first.registry).not.toBe(register);
    const globalNames = (await register.getMetricsAsJSON()).map((m) => m.name);
    expect(globalNames.filter((name) => name.startsWith('pipeline_'))).toEqual([]);

    const text = await page(first);
    expect(text.types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(text.types.get('process_resident_memory_bytes')).toBe('gauge');
    expect(text.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
    expect((await page(second)).types.has('process_cpu_user_seconds_total')).toBe(false);
    expect(first.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });
});

import { describe, expect, it } from 'vitest';
import { RunEvents } from '../../../src/pipeline/run-events.js';
import { PipelineMetrics } from '../../../src/pipeline/telemetry/pipeline-metrics.js';
import { recordRunEvents } from '../../../src/pipeline/telemetry/record-run-events.js';
import type { JobRun } from '../../../src/store/store.js';
import { parseExposition, samplesOf, valueOf } from '../../helpers/exposition.js';

const STARTED = Date.parse('2024-03-01T12:00:00Z');
const NOW = Date.parse('2024-03-01T12:05:00Z');

function jobRun(overrides: Partial<JobRun> = {}): JobRun {
  return {
    runId: 1,
    jobName: 'backfill_job',
    mode: 'backfill',
    profile: null,
    dryRun: false,
    status: 'running',
    startedAt: STARTED,
    heartbeatAt: STARTED,
    completedAt: null,
    rowsWritten: 0,
    batches: 0,
    error: null,
    host: 'test-host',
    pid: 1234,
    configHash: 'hash',
    params: {},
    heartbeatIntervalMs: 5_000,
    identity: { bootId: null, pidNamespace: null, processStart: null },
    ...overrides,
  };
}

const TOTALS = {
  rowsWritten: 0,
  batches: 0,
  rejected: 0,
  incompleteChunks: 0,
  provisionalChunks: 0,
};

function setup() {
  const events = new RunEvents();
  const metrics = new PipelineMetrics({
    jobs: [
      { name: 'backfill_job', mode: 'backfill', provider: 'synth' },
      { name: 'live_job', mode: 'live', provider: 'synth' },
    ],
    providers: ['synth'],
    storages: ['sqlite'],
    processMetrics: false,
  });
  const stop = recordRunEvents(events, metrics, () => NOW);
  const scrape = async () => parseExposition(await metrics.render());
  return { events, metrics, stop, scrape };
}

/** The `le` → cumulative count of one histogram series. */
function buckets(
  page: ReturnType<typeof parseExposition>,
  name: string,
  labels: Record<string, string>,
) {
  return Object.fromEntries(
    samplesOf(page, `${name}_bucket`, labels).map((s) => [s.labels.le, s.value]),
  );
}

describe('recordRunEvents', () => {
  it('a run: active while in progress, heartbeat from the row, then counted with its duration', async () => {
    const { events, scrape } = setup();
    const run = jobRun();
    events.emit('run:start', { run });
    let page = await scrape();
    expect(valueOf(page, 'pipeline_active_jobs', { job_name: 'backfill_job' })).toBe(1);
    expect(
      valueOf(page, 'pipeline_job_heartbeat_timestamp_seconds', { job_name: 'backfill_job' }),
    ).toBe(STARTED / 1000);

    events.emit('run:heartbeat', { run, at: STARTED + 5_000 });
    page = await scrape();
    expect(
      valueOf(page, 'pipeline_job_heartbeat_timestamp_seconds', { job_name: 'backfill_job' }),
    ).toBe(STARTED / 1000 + 5);

    events.emit('run:end', { run, status: 'success', totals: TOTALS, durationMs: 42_500 });
    page = await scrape();
    expect(valueOf(page, 'pipeline_active_jobs', { job_name: 'backfill_job' })).toBe(0);
    expect(
      valueOf(page, 'pipeline_job_runs_total', { job_name: 'backfill_job', status: 'success' }),
    ).toBe(1);
    expect(
      valueOf(page, 'pipeline_job_runs_total', { job_name: 'backfill_job', status: 'failure' }),
    ).toBe(0);
    const series = { job_name: 'backfill_job', mode: 'backfill' };
    expect(valueOf(page, 'pipeline_job_duration_seconds_count', series)).toBe(1);
    expect(valueOf(page, 'pipeline_job_duration_seconds_sum', series)).toBe(42.5);
    const jobBuckets = buckets(page, 'pipeline_job_duration_seconds', series);
    expect(jobBuckets['30']).toBe(0);
    expect(jobBuckets['60']).toBe(1);
    expect(jobBuckets['+Inf']).toBe(1);
    expect(
      valueOf(page, 'pipeline_job_last_success_timestamp_seconds', { job_name: 'backfill_job' }),
    ).toBe(NOW / 1000);
  });

  it('failed and cancelled runs count under their status and leave the last success alone', async () => {
    const { events, metrics, scrape } = setup();
    metrics.seedLastSuccess('live_job', STARTED - 60_000);
    const run = jobRun({ jobName: 'live_job', mode: 'live' });
    for (const status of ['failure', 'cancelled', 'failure'] as const) {
      events.emit('run:start', { run });
      events.emit('run:end', { run, status, totals: TOTALS, durationMs: 10 });
    }
    const page = await scrape();
    const count = (status: string) =>
      valueOf(page, 'pipeline_job_runs_total', { job_name: 'live_job', status });
    expect([count('success'), count('failure'), count('cancelled')]).toEqual([0, 2, 1]);
    expect(valueOf(page, 'pipeline_active_jobs', { job_name: 'live_job' })).toBe(0);
    expect(
      valueOf(page, 'pipeline_job_last_success_timestamp_seconds', { job_name: 'live_job' }),
    ).toBe((STARTED - 60_000) / 1000);
    expect(
      valueOf(page, 'pipeline_job_duration_seconds_count', { job_name: 'live_job', mode: 'live' }),
    ).toBe(3);
  });

  it('a successful dry run is a run, but not a success that holds off the staleness alert', async () => {
    const { events, scrape } = setup();
    const run = jobRun({ dryRun: true });
    events.emit('run:start', { run });
    events.emit('run:end', { run, status: 'success', totals: TOTALS, durationMs: 5 });
    const page = await scrape();
    expect(
      valueOf(page, 'pipeline_job_runs_total', { job_name: 'backfill_job', status: 'success' }),
    ).toBe(1);
    expect(samplesOf(page, 'pipeline_job_last_success_timestamp_seconds')).toEqual([]);
  });

  it('batches: rows and batches per job and provider, write latency per storage', async () => {
    const { events, scrape } = setup();
    const batch = { jobName: 'backfill_job', provider: 'synth', storage: 'sqlite' as const };
    events.emit('batch:written', { ...batch, rows: 500, durationMs: 3 });
    events.emit('batch:written', { ...batch, rows: 250, durationMs: 40 });
    // A write holding only rejects or a checkpoint: a write, but not a batch of bars.
    events.emit('batch:written', { ...batch, rows: 0, durationMs: 0.5 });
    const page = await scrape();
    const written = { job_name: 'backfill_job', provider: 'synth' };
    expect(valueOf(page, 'pipeline_rows_written_total', written)).toBe(750);
    expect(valueOf(page, 'pipeline_batches_total', written)).toBe(2);
    const storage = { storage: 'sqlite' };
    expect(valueOf(page, 'pipeline_batch_write_duration_seconds_count', storage)).toBe(3);
    expect(valueOf(page, 'pipeline_batch_write_duration_seconds_sum', storage)).toBeCloseTo(0.0435);
    const writeBuckets = buckets(page, 'pipeline_batch_write_duration_seconds', storage);
    expect(writeBuckets['0.001']).toBe(1);
    expect(writeBuckets['0.005']).toBe(2);
    expect(writeBuckets['0.05']).toBe(3);
  });

  it('provider requests: counted by status, latency observed, 429s counted as violations', async () => {
    const { events, scrape } = setup();
    const outcomes = [
      ['ok', 120],
      ['ok', 80],
      ['rate_limited', 5],
      ['rate_limited', 6],
      ['error', 30],
      ['timeout', 30_000],
    ] as const;
    for (const [status, durationMs] of outcomes) {
      events.emit('provider:request', { provider: 'synth', status, durationMs });
    }
    const page = await scrape();
    const count = (status: string) =>
      valueOf(page, 'pipeline_provider_requests_total', { provider: 'synth', status });
    expect([count('ok'), count('rate_limited'), count('error'), count('timeout')]).toEqual([
      2, 2, 1, 1,
    ]);
    expect(
      valueOf(page, 'pipeline_provider_rate_limit_violations_total', { provider: 'synth' }),
    ).toBe(2);
    const latency = { provider: 'synth' };
    expect(valueOf(page, 'pipeline_provider_request_duration_seconds_count', latency)).toBe(6);
    expect(valueOf(page, 'pipeline_provider_request_duration_seconds_sum', latency)).toBeCloseTo(
      30.241,
    );
    const latencyBuckets = buckets(page, 'pipeline_provider_request_duration_seconds', latency);
    expect(latencyBuckets['0.01']).toBe(2);
    expect(latencyBuckets['0.1']).toBe(4);
    expect(latencyBuckets['0.25']).toBe(5);
    expect(latencyBuckets['30']).toBe(6);
  });

  it("budget waits: the seconds requests waited for their provider's pacing, from 0", async () => {
    const { events, scrape } = setup();
    const waited = async () =>
      valueOf(await scrape(), 'pipeline_provider_pacing_wait_seconds_total', { provider: 'synth' });
    expect(await waited()).toBe(0);
    events.emit('provider:paced', { provider: 'synth', waitMs: 1_500 });
    events.emit('provider:paced', { provider: 'synth', waitMs: 250 });
    expect(await waited()).toBeCloseTo(1.75);
  });

  it('rejected bars by reason, and storage errors by kind, with labels kept bounded', async () => {
    const { events, scrape } = setup();
    events.emit('bars:rejected', { provider: 'synth', reason: 'high_below_low', count: 3 });
    events.emit('bars:rejected', { provider: 'synth', reason: 'duplicate_ts', count: 1 });
    events.emit('bars:rejected', {
      provider: 'synth',
      reason: 'bar AAA at 2024-01-01 bad',
      count: 2,
    });
    const error = new Error('boom');
    events.emit('storage:error', { storage: 'sqlite', kind: 'busy', error, willRetry: true });
    events.emit('storage:error', { storage: 'sqlite', kind: 'busy', error, willRetry: false });
    events.emit('storage:error', {
      storage: 'postgres',
      kind: 'connection refused on 10.0.0.5:5432',
      error,
      willRetry: true,
    });
    const page = await scrape();
    const rejected = (reason: string) =>
      valueOf(page, 'pipeline_bars_rejected_total', { provider: 'synth', reason });
    expect([rejected('high_below_low'), rejected('duplicate_ts'), rejected('other')]).toEqual([
      3, 1, 2,
    ]);
    expect(
      valueOf(page, 'pipeline_storage_errors_total', { storage: 'sqlite', kind: 'busy' }),
    ).toBe(2);
    expect(
      valueOf(page, 'pipeline_storage_errors_total', { storage: 'postgres', kind: 'other' }),
    ).toBe(1);
  });

  it('spool depth: the bars a job holds in the spool, as reported', async () => {
    const { events, scrape } = setup();
    expect(samplesOf(await scrape(), 'pipeline_spool_bars')).toEqual([]);
    events.emit('spool:depth', { jobName: 'live_job', bars: 1500 });
    expect(valueOf(await scrape(), 'pipeline_spool_bars', { job_name: 'live_job' })).toBe(1500);
    events.emit('spool:depth', { jobName: 'live_job', bars: 0 });
    const page = await scrape();
    expect(valueOf(page, 'pipeline_spool_bars', { job_name: 'live_job' })).toBe(0);
    expect(page.types.get('pipeline_spool_bars')).toBe('gauge');
  });

  it('incomplete chunks: counted per job and provider, one per chunk recorded short', async () => {
    const { events, scrape } = setup();
    const series = { job_name: 'backfill_job', provider: 'synth' };
    expect(valueOf(await scrape(), 'pipeline_backfill_incomplete_chunks_total', series)).toBe(0);
    const chunk = { jobName: 'backfill_job', provider: 'synth' };
    events.emit('chunk:incomplete', { ...chunk, symbol: 'AAA' });
    events.emit('chunk:incomplete', { ...chunk, symbol: 'BBB' });
    events.emit('chunk:incomplete', { ...chunk, symbol: 'AAA' });
    const page = await scrape();
    expect(valueOf(page, 'pipeline_backfill_incomplete_chunks_total', series)).toBe(3);
    expect(page.types.get('pipeline_backfill_incomplete_chunks_total')).toBe('counter');
    // The symbol is not a label: a series per symbol would grow with the dataset.
    for (const sample of samplesOf(page, 'pipeline_backfill_incomplete_chunks_total')) {
      expect(Object.keys(sample.labels).sort()).toEqual(['job_name', 'provider']);
    }
  });

  it('stops recording once unsubscribed', async () => {
    const { events, stop, scrape } = setup();
    stop();
    events.emit('run:start', { run: jobRun() });
    events.emit('provider:request', { provider: 'synth', status: 'ok', durationMs: 1 });
    const page = await scrape();
    expect(valueOf(page, 'pipeline_active_jobs', { job_name: 'backfill_job' })).toBe(0);
    expect(
      valueOf(page, 'pipeline_provider_requests_total', { provider: 'synth', status: 'ok' }),
    ).toBe(0);
    expect(events.listenerCount('run:start')).toBe(0);
  });
});

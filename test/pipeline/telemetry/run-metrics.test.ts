import { request } from 'node:http';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../../src/core/config/load-config.js';
import { ProviderRegistry } from '../../../src/core/provider-registry.js';
import { PacingRegistry } from '../../../src/pipeline/policies/pacing-registry.js';
import { RunEvents } from '../../../src/pipeline/run-events.js';
import { JobRunner } from '../../../src/pipeline/runner/job-runner.js';
import { MetricsServer } from '../../../src/pipeline/telemetry/metrics-server.js';
import { PipelineMetrics } from '../../../src/pipeline/telemetry/pipeline-metrics.js';
import { recordRunEvents } from '../../../src/pipeline/telemetry/record-run-events.js';
import { systemTiming } from '../../../src/pipeline/timing.js';
import { SyntheticProvider } from '../../../src/providers/synthetic/synthetic-provider.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { parseExposition, valueOf } from '../../helpers/exposition.js';
import { useTempDir } from '../../helpers/temp-dir.js';
import { testConfig, type TestConfigOptions } from '../../helpers/test-config.js';

const tempDir = useTempDir();

/** A real runner on a real SQLite file, with telemetry subscribed to its events. */
async function harness(options: TestConfigOptions) {
  const dir = tempDir();
  const config = parseConfig(stringify(testConfig(dir, options)), {
    file: join(dir, 'mdp.yaml'),
    cwd: dir,
    env: {},
  });
  const store = new SqliteStore({ path: join(dir, 'data', 'test.db') });
  await store.open();
  const events = new RunEvents();
  const metrics = new PipelineMetrics({
    jobs: [{ name: 'backfill_job', mode: 'backfill', provider: 'synth' }],
    providers: ['synth'],
    storages: [store.kind],
    processMetrics: false,
  });
  recordRunEvents(events, metrics);
  const runner = new JobRunner({
    config,
    store,
    providers: new ProviderRegistry().register(
      'synthetic',
      (name, cfg) => new SyntheticProvider(name, cfg),
    ),
    pacing: new PacingRegistry(systemTiming),
    events,
    logger: pino({ level: 'silent' }),
    host: 'test-host',
    pid: process.pid,
    heartbeatIntervalMs: 20,
  });
  const run = () =>
    runner.run({ jobName: 'backfill_job', mode: 'backfill', signal: new AbortController().signal });
  return { store, events, metrics, run };
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('metrics of a real run', () => {
  it('agree with its job_runs row, and the heartbeat gauge follows the heartbeats', async () => {
    const h = await harness({ latencyMs: 40, maxBarsPerRequest: 480, concurrency: 2 });
    const heartbeats: number[] = [];
    h.events.on('run:heartbeat', ({ at }) => heartbeats.push(at));
    const summary = await h.run();
    const row = await h.store.getRun(summary.run.runId);
    const page = parseExposition(await h.metrics.render());
    const written = { job_name: 'backfill_job', provider: 'synth' };
    expect(row?.status).toBe('success');
    expect(valueOf(page, 'pipeline_rows_written_total', written)).toBe(row?.rowsWritten);
    expect(valueOf(page, 'pipeline_batches_total', written)).toBe(row?.batches);
    expect(
      valueOf(page, 'pipeline_job_runs_total', { job_name: 'backfill_job', status: 'success' }),
    ).toBe(1);
    expect(valueOf(page, 'pipeline_active_jobs', { job_name: 'backfill_job' })).toBe(0);
    // 2 symbols × 2 days of 1m bars in pages of 480: 12 requests, all answered.
    expect(
      valueOf(page, 'pipeline_provider_requests_total', { provider: 'synth', status: 'ok' }),
    ).toBe(12);
    const duration = { job_name: 'backfill_job', mode: 'backfill' };
    expect(valueOf(page, 'pipeline_job_duration_seconds_count', duration)).toBe(1);
    expect(valueOf(page, 'pipeline_job_duration_seconds_sum', duration)).toBeCloseTo(
      summary.end.durationMs / 1000,
    );

    expect(heartbeats.length).toBeGreaterThan(0);
    const beat = valueOf(page, 'pipeline_job_heartbeat_timestamp_seconds', {
      job_name: 'backfill_job',
    });
    expect(beat).toBe((heartbeats.at(-1) as number) / 1000);
    // The store's clock and the runner's agree to well within a heartbeat interval.
    expect(Math.abs(beat * 1000 - (row?.heartbeatAt ?? 0))).toBeLessThan(1_000);
    expect(beat * 1000).toBeGreaterThan(row?.startedAt ?? Infinity);
  });

  it('/metrics stays up and the failed run is counted when the database goes away mid-run', async () => {
    const h = await harness({ latencyMs: 40, maxBarsPerRequest: 240, concurrency: 1 });
    const server = new MetricsServer({ source: h.metrics, host: '127.0.0.1', port: 0 });
    const url = await server.start();
    try {
      h.events.once('batch:written', () => void h.store.close());
      await expect(h.run()).rejects.toThrow();
      const reply = await get(url);
      expect(reply.status).toBe(200);
      const page = parseExposition(reply.body);
      expect(
        valueOf(page, 'pipeline_job_runs_total', { job_name: 'backfill_job', status: 'failure' }),
      ).toBe(1);
      expect(valueOf(page, 'pipeline_active_jobs', { job_name: 'backfill_job' })).toBe(0);
      expect(
        valueOf(page, 'pipeline_storage_errors_total', { storage: 'sqlite', kind: 'closed' }),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      await server.stop();
    }
  });
});

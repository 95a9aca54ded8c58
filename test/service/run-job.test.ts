import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/core/config/load-config.js';
import { RunEvents } from '../../src/pipeline/run-events.js';
import { ProcessTelemetry } from '../../src/service/process-telemetry.js';
import { runJob } from '../../src/service/run-job.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { syntheticRuntime } from '../helpers/synthetic-runtime.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { testConfig } from '../helpers/test-config.js';

const tempDir = useTempDir();
const silent = pino({ level: 'silent' });

describe('runJob', () => {
  it('runs of two jobs in one process move one registry, served for the whole process', async () => {
    const dir = tempDir();
    const config = parseConfig(
      stringify(testConfig(dir, { end: '2024-01-01T06:00:00Z', metrics: { port: 0 } })),
      { file: join(dir, 'mdp.yaml'), cwd: dir, env: {} },
    );
    const runtime = syntheticRuntime(config, silent);
    const store = new SqliteStore({ path: join(dir, 'data', 'test.db') });
    await store.open();
    const telemetry = new ProcessTelemetry({ config, logger: silent, storages: [store.kind] });
    try {
      const url = await telemetry.serve();
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      telemetry.liveness.register('alive', () => ({ ok: true, detail: 'last beat now' }));
      const signal = new AbortController().signal;
      const backfill = await runJob(
        { runtime, store, telemetry, events: new RunEvents() },
        { jobName: 'backfill_job', mode: 'backfill' },
        signal,
      );
      const live = await runJob(
        { runtime, store, telemetry, events: new RunEvents() },
        { jobName: 'live_job', mode: 'live' },
        signal,
      );
      expect([backfill.end.status, live.end.status]).toEqual(['success', 'success']);
      const body = await (await fetch(url ?? '')).text();
      expect(body).toContain('pipeline_job_runs_total{job_name="backfill_job",status="success"} 1');
      expect(body).toContain('pipeline_job_runs_total{job_name="live_job",status="success"} 1');
      const health = await fetch((url ?? '').replace(/metrics$/, 'healthz'));
      expect([health.status, await health.text()]).toEqual([
        200,
        'ok\nalive: ok (last beat now)\n',
      ]);
    } finally {
      await telemetry.close();
      await store.close();
    }
  });
});

import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { parseConfig, type MdpConfig } from '../../src/core/config/load-config.js';
import {
  CancelledError,
  PermanentProviderError,
  TransientProviderError,
} from '../../src/core/errors.js';
import type { Provider } from '../../src/core/provider.js';
import { ProviderRegistry } from '../../src/core/provider-registry.js';
import { PacingRegistry } from '../../src/pipeline/policies/pacing-registry.js';
import { RunEvents } from '../../src/pipeline/run-events.js';
import { JobRunner } from '../../src/pipeline/runner/job-runner.js';
import { systemTiming, type Timing } from '../../src/pipeline/timing.js';
import { SyntheticProvider } from '../../src/providers/synthetic/synthetic-provider.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { FakeTiming } from '../helpers/fake-timing.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { testConfig } from '../helpers/test-config.js';
import { stringify } from 'yaml';

const tempDir = useTempDir();
const silent = pino({ level: 'silent' });

interface Harness {
  config: MdpConfig;
  store: SqliteStore;
  events: RunEvents;
  seen: string[];
  runner: JobRunner;
}

async function harness(
  provider?: (name: string) => Provider,
  heartbeatIntervalMs = 5_000,
  timing: Timing = systemTiming,
): Promise<Harness> {
  const dir = tempDir();
  const config = parseConfig(stringify(testConfig(dir, { latencyMs: 5 })), {
    file: join(dir, 'mdp.yaml'),
    cwd: dir,
    env: {},
  });
  const store = new SqliteStore({
    path: join(dir, 'data', 'test.db'),
    hostname: 'test-host',
    isPidAlive: (pid) => pid !== 999_999,
  });
  await store.open();
  const events = new RunEvents();
  const seen: string[] = [];
  events.on('run:start', ({ run }) => seen.push(`start ${run.runId}`));
  events.on('run:progress', () => seen.push('progress'));
  events.on('run:end', (end) => seen.push(`end ${end.run.runId} ${end.status}`));
  const providers = new ProviderRegistry().register('synthetic', (name, cfg) =>
    provider ? provider(name) : new SyntheticProvider(name, cfg),
  );
  const runner = new JobRunner({
    config,
    store,
    providers,
    pacing: new PacingRegistry(timing),
    timing,
    events,
    logger: silent,
    host: 'test-host',
    pid: process.pid,
    heartbeatIntervalMs,
  });
  return { config, store, events, seen, runner };
}

describe('JobRunner lifecycle', () => {
  it('success: start, then end with the totals recorded in job_runs', async () => {
    const h = await harness();
    const summary = await h.runner.run({
      jobName: 'backfill_job',
      mode: 'backfill',
      signal: new AbortController().signal,
    });
    expect(summary.end.status).toBe('success');
    expect(summary.end.totals.rowsWritten).toBe(2 * 2 * 1440);
    expect(h.seen.filter((e) => e !== 'progress')).toEqual(['start 1', 'end 1 success']);
    const run = await h.store.getRun(1);
    expect(run).toMatchObject({
      status: 'success',
      rowsWritten: 5760,
      jobName: 'backfill_job',
      mode: 'backfill',
      host: 'test-host',
    });
    expect(run?.completedAt).not.toBeNull();
    expect(run?.configHash).toBe(h.config.source.hash);
    expect(run?.params).toMatchObject({
      from: '2024-01-01T00:00:00.000Z',
      to: '2024-01-03T00:00:00.000Z',
      force: false,
    });
    await h.store.close();
  });

  it('failure: the error is recorded on the run, then rethrown', async () => {
    const failing = (name: string): Provider => ({
      name,
      maxBarsPerRequest: 1000,
      fetchBars: () =>
        Promise.reject(new PermanentProviderError(name, 'bad credentials: check api_key')),
    });
    const h = await harness(failing);
    await expect(
      h.runner.run({
        jobName: 'backfill_job',
        mode: 'backfill',
        signal: new AbortController().signal,
      }),
    ).rejects.toThrow('provider synth: bad credentials: check api_key');
    expect(await h.store.getRun(1)).toMatchObject({
      status: 'failure',
      error: 'provider synth: bad credentials: check api_key',
    });
    expect(h.seen).toEqual(['start 1', 'end 1 failure']);
    await h.store.close();
  });

  it('live --follow: a provider asking to wait past max_retry_after is paused until then, neither asked at every bar close nor given up on', async () => {
    const controller = new AbortController();
    const timing = new FakeTiming({ wallStart: Date.parse('2024-01-02T15:00:10Z') });
    // Down for maintenance from the second cycle until 15:21, asking (20m) past the 15m bound.
    const backAt = Date.parse('2024-01-02T15:21:00Z');
    const asked: number[] = [];
    const maintenance = (name: string): Provider => ({
      name,
      maxBarsPerRequest: 1000,
      fetchBars: (request) => {
        if (request.end <= Date.parse('2024-01-02T15:00:00Z')) return Promise.resolve([]);
        const now = timing.now();
        asked.push(now);
        if (now < backAt) {
          return Promise.reject(
            new TransientProviderError(name, '503 Service Unavailable', {
              status: 503,
              retryAfterMs: backAt - now,
            }),
          );
        }
        // Two cycles after it came back (both symbols each), the operator stops the follower.
        if (asked.filter((at) => at >= backAt).length === 4)
          controller.abort(
            new CancelledError('interrupted by SIGINT', { kind: 'signal', signal: 'SIGINT' }),
          );
        return Promise.resolve([]);
      },
    });
    const h = await harness(maintenance, 5_000, timing);
    const run = h.runner.run({
      jobName: 'live_job',
      mode: 'live',
      follow: true,
      signal: controller.signal,
    });
    const failure = await timing.run(run, 10_000).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(CancelledError);
    const refused = asked.filter((at) => at < backAt);
    // Refused in the second cycle only (no request between it and 15:21), then followed again.
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(Math.max(...refused)).toBeLessThan(Date.parse('2024-01-02T15:02:00Z'));
    expect(asked.filter((at) => at >= backAt)).toHaveLength(4);
    expect(await h.store.getRun(1)).toMatchObject({ status: 'cancelled' });
    await h.store.close();
  });

  it('cancelled: an abort mid-run records the run cancelled and rethrows the abort reason', async () => {
    const controller = new AbortController();
    let calls = 0;
    const hanging = (name: string): Provider => ({
      name,
      maxBarsPerRequest: 1000,
      fetchBars: (_request, signal) => {
        if (++calls === 2)
          controller.abort(
            new CancelledError('interrupted by SIGTERM', { kind: 'signal', signal: 'SIGTERM' }),
          );
        return new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error)),
        );
      },
    });
    const h = await harness(hanging);
    const outcome = h.runner.run({
      jobName: 'backfill_job',
      mode: 'backfill',
      signal: controller.signal,
    });
    await expect(outcome).rejects.toBeInstanceOf(CancelledError);
    await expect(outcome).rejects.toMatchObject({ reason: { kind: 'signal', signal: 'SIGTERM' } });
    expect(await h.store.getRun(1)).toMatchObject({
      status: 'cancelled',
      error: 'interrupted by SIGTERM',
    });
    expect(h.seen).toEqual(['start 1', 'end 1 cancelled']);
    await h.store.close();
  });

  it('abandoned: a run left running by a dead process is marked abandoned by the next run of the job', async () => {
    const h = await harness();
    const crashed = await h.store.startRun({
      jobName: 'backfill_job',
      mode: 'backfill',
      profile: null,
      dryRun: false,
      host: 'test-host',
      pid: 999_999,
      configHash: 'x',
      params: {},
      heartbeatIntervalMs: 5_000,
    });
    // Another host's process could still be alive, so only this host's dead pids are judged at once.
    const summary = await h.runner.run({
      jobName: 'backfill_job',
      mode: 'backfill',
      signal: new AbortController().signal,
    });
    expect(summary.end.status).toBe('success');
    const old = await h.store.getRun(crashed.runId);
    expect(old?.status).toBe('abandoned');
    expect(old?.error).toContain('999999');
    await h.store.close();
  });

  it('heartbeats update job_runs and emit progress while the run works', async () => {
    const slow = (name: string): Provider => {
      const inner = new SyntheticProvider(name, {
        type: 'synthetic',
        enabled: true,
        seed: 1,
        max_bars_per_request: 500,
        request_timeout: 30_000,
        publication_delay: 0,
      });
      return {
        name,
        maxBarsPerRequest: 500,
        fetchBars: async (request, signal) => {
          await new Promise((resolve) => setTimeout(resolve, 15));
          return inner.fetchBars(request, signal);
        },
      };
    };
    const h = await harness(slow, 20);
    await h.runner.run({
      jobName: 'backfill_job',
      mode: 'backfill',
      signal: new AbortController().signal,
    });
    expect(h.seen.filter((e) => e === 'progress').length).toBeGreaterThan(0);
    const run = await h.store.getRun(1);
    expect(run!.heartbeatAt).toBeGreaterThan(run!.startedAt);
    await h.store.close();
  });
});

import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/core/config/load-config.js';
import { ProviderRegistry } from '../../src/core/provider-registry.js';
import { PacingRegistry } from '../../src/pipeline/policies/pacing-registry.js';
import { RunEvents } from '../../src/pipeline/run-events.js';
import type { RunOptions } from '../../src/pipeline/runner/job-runner.js';
import { RunRequestError } from '../../src/pipeline/runner/run-request-error.js';
import { systemTiming } from '../../src/pipeline/timing.js';
import { SyntheticProvider } from '../../src/providers/synthetic/synthetic-provider.js';
import { ProcessRuntime } from '../../src/service/process-runtime.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { reportError } from '../../src/cli/error-report.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { testConfig } from '../helpers/test-config.js';

const tempDir = useTempDir();

async function refusal(
  request: Omit<RunOptions, 'signal'>,
  edit: (config: Record<string, unknown>) => void = () => {},
): Promise<RunRequestError> {
  const dir = tempDir();
  const raw = testConfig(dir);
  edit(raw);
  const config = parseConfig(stringify(raw), { file: join(dir, 'mdp.yaml'), cwd: dir, env: {} });
  const store = new SqliteStore({ path: join(dir, 'data', 'test.db') });
  await store.open();
  try {
    const registry = new ProviderRegistry();
    registry.register('synthetic', (name, cfg) => new SyntheticProvider(name, cfg));
    const runner = new ProcessRuntime(config, {
      providers: registry,
      pacing: new PacingRegistry(systemTiming),
      createSpool: () => undefined,
      logger: pino({ level: 'silent' }),
      host: 'test-host',
      pid: process.pid,
    }).runner({ store, events: new RunEvents() });
    const error = await runner.run({ ...request, signal: new AbortController().signal }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(RunRequestError);
    // Refused before anything is recorded.
    expect(await store.listRuns()).toEqual([]);
    return error as RunRequestError;
  } finally {
    await store.close();
  }
}

describe('RunRequestError', () => {
  it('names the problem in fields; the runner words it for any caller, cli for the command line', async () => {
    // The config schema requires backfill.start; the runner still refuses a run without one.
    const noStart = new RunRequestError({ kind: 'no_backfill_start', jobName: 'backfill_job' });
    expect(noStart.code).toBe('MDP_USAGE');
    expect(noStart.message).not.toContain('--from');
    expect(reportError(noStart, { verbose: false })).toEqual({
      exitCode: 2,
      text: 'error [MDP_USAGE]: job "backfill_job" has no backfill.start: set it in the config or pass --from',
    });

    const wrongMode = await refusal({ jobName: 'live_job', mode: 'backfill' });
    expect(wrongMode.problem).toEqual({
      kind: 'wrong_mode',
      jobName: 'live_job',
      jobMode: 'live',
      requested: 'backfill',
    });
    expect(wrongMode.message).toBe('job "live_job" is a live job, not a backfill job');

    const follow = await refusal({ jobName: 'backfill_job', mode: 'backfill', follow: true });
    expect(follow.problem).toEqual({ kind: 'follow_needs_live', jobName: 'backfill_job' });
    expect(reportError(follow, { verbose: false }).text).toBe(
      'error [MDP_USAGE]: --follow applies to live jobs only',
    );

    const unknown = await refusal({ jobName: 'backfil_job', mode: 'backfill' });
    expect(unknown.problem).toMatchObject({
      kind: 'unknown_job',
      jobName: 'backfil_job',
      known: ['live_job', 'backfill_job'],
    });

    const empty = await refusal({
      jobName: 'backfill_job',
      mode: 'backfill',
      from: Date.parse('2024-01-02T00:00:00Z'),
      to: Date.parse('2024-01-01T00:00:00Z'),
    });
    expect(empty.problem).toEqual({
      kind: 'empty_window',
      jobName: 'backfill_job',
      start: Date.parse('2024-01-02T00:00:00Z'),
      end: Date.parse('2024-01-01T00:00:00Z'),
    });
  });
});

import { join } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load-config.js';
import { StoreError } from '../../src/core/errors.js';
import { ProviderRegistry } from '../../src/core/provider-registry.js';
import { PacingRegistry } from '../../src/pipeline/policies/pacing-registry.js';
import { RunEvents } from '../../src/pipeline/run-events.js';
import { JobRunner } from '../../src/pipeline/runner/job-runner.js';
import { systemTiming } from '../../src/pipeline/timing.js';
import { SyntheticProvider } from '../../src/providers/synthetic/synthetic-provider.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { WriteBatch, WriteResult } from '../../src/store/store.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { testConfig } from '../helpers/test-config.js';

const tempDir = useTempDir();

/**
 * A real SQLite store whose writeBatch fails on chosen calls before it touches the database (the
 * rollback of a batch that fails inside its transaction is covered by the store's own tests).
 */
class FaultyStore extends SqliteStore {
  calls = 0;
  constructor(
    path: string,
    private readonly failOn: (call: number) => StoreError | undefined,
  ) {
    super({ path });
  }
  override async writeBatch(batch: WriteBatch): Promise<WriteResult> {
    const fault = this.failOn(++this.calls);
    if (fault) throw fault;
    return super.writeBatch(batch);
  }
}

async function runWith(failOn: (call: number) => StoreError | undefined, maxAttempts = 5) {
  const dir = tempDir();
  // One chunk at a time, so the order of writes (and of faults) is deterministic.
  const raw = testConfig(dir, { concurrency: 1 });
  (raw.storage as { primary: { write: Record<string, unknown> } }).primary.write.retry = {
    max_attempts: maxAttempts,
    backoff_seconds: 0.001,
    max_backoff_seconds: 0.002,
  };
  const config = parseConfig(stringify(raw), { file: join(dir, 'mdp.yaml'), cwd: dir, env: {} });
  const store = new FaultyStore(join(dir, 'data', 'test.db'), failOn);
  await store.open();
  const events = new RunEvents();
  const errors: { kind: string; willRetry: boolean }[] = [];
  events.on('storage:error', ({ kind, willRetry }) => errors.push({ kind, willRetry }));
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
    host: 'h',
    pid: process.pid,
  });
  const outcome = runner.run({
    jobName: 'backfill_job',
    mode: 'backfill',
    signal: new AbortController().signal,
  });
  return { store, errors, outcome };
}

const busy = (): StoreError =>
  new StoreError('MDP_STORE_BUSY', 'sqlite', 'database is locked', { transient: true });

describe('storage write retry', () => {
  it('a transiently failing batch is rolled back and retried: every bar once, the run succeeds', async () => {
    const { store, errors, outcome } = await runWith((call) =>
      call === 2 || call === 3 || call === 7 ? busy() : undefined,
    );
    const summary = await outcome;
    expect(summary.end.status).toBe('success');
    expect(summary.end.totals.rowsWritten).toBe(5760);
    expect(await store.countBars()).toBe(5760);
    expect(errors).toEqual([
      { kind: 'busy', willRetry: true },
      { kind: 'busy', willRetry: true },
      { kind: 'busy', willRetry: true },
    ]);
    await store.close();
  });

  it('a permanent storage error fails the run at once, without retry', async () => {
    const { store, errors, outcome } = await runWith((call) =>
      call === 2 ? new StoreError('MDP_STORE_FULL', 'sqlite', 'disk full') : undefined,
    );
    await expect(outcome).rejects.toThrow('storage sqlite: disk full');
    expect(errors).toEqual([{ kind: 'full', willRetry: false }]);
    expect((await store.getRun(1))?.status).toBe('failure');
    await store.close();
  });

  it('a storage error that outlasts the retry budget fails the run naming the storage', async () => {
    const { store, errors, outcome } = await runWith((call) => (call >= 2 ? busy() : undefined), 3);
    const message =
      /^storage sqlite: gave up on a batch after 3 attempts in [\d.]+ s \(storage\.primary\.write\.retry\); last error: database is locked$/;
    const error = await outcome.catch((thrown: unknown) => thrown as StoreError);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('MDP_STORE_BUSY');
    expect((error as StoreError).message).toMatch(message);
    expect(errors.map((e) => e.willRetry)).toEqual([true, true, false]);
    expect(await store.getRun(1)).toMatchObject({ status: 'failure' });
    expect((await store.getRun(1))?.error).toMatch(message);
    // The first batch (call 1) is stored; the failed one left nothing behind.
    expect(await store.countBars()).toBe(500);
    await store.close();
  });
});

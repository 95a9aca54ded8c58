import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { JobRun } from '../../src/store/store.js';
import { Reaper } from '../../src/service/reaper.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { FakeTiming, settle } from '../helpers/fake-timing.js';
import { foreignRunStart } from '../helpers/foreign-run-start.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tempDir = useTempDir();

describe('Reaper', () => {
  it('marks stale runs abandoned at once and then every interval, until its signal aborts', async () => {
    let now = 1_000_000;
    const store = new SqliteStore({
      path: join(tempDir(), 'runs.db'),
      clock: () => now,
      hostname: 'this-host',
    });
    await store.open();
    const timing = new FakeTiming();
    const heard: number[][] = [];
    const reaper = new Reaper({
      store,
      intervalMs: 30_000,
      logger: pino({ level: 'silent' }),
      timing,
      onReaped: (runs: readonly JobRun[]) => heard.push(runs.map((run) => run.runId)),
    });
    try {
      const first = await store.startRun(foreignRunStart('job_a'));
      now += 10_000;
      const stop = new AbortController();
      const running = reaper.run(stop.signal);
      await settle();
      expect((await store.getRun(first.runId))?.status).toBe('abandoned');

      const second = await store.startRun(foreignRunStart('job_b'));
      now += 10_000;
      // Nothing reaps between passes: listing is a pure read.
      expect((await store.listRuns({ jobName: 'job_b' }))[0]?.status).toBe('running');
      await timing.advance(30_000);
      await settle();
      expect((await store.getRun(second.runId))?.status).toBe('abandoned');
      expect(heard).toEqual([[first.runId], [second.runId]]);

      stop.abort();
      await running;
    } finally {
      await store.close();
    }
  });

  it('a pass on a closed store is logged, and the loop goes on', async () => {
    const store = new SqliteStore({ path: join(tempDir(), 'runs.db') });
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const reaper = new Reaper({ store, intervalMs: 1000, logger, timing: new FakeTiming() });
    expect(await reaper.reapOnce()).toEqual([]);
    expect(lines.join('')).toContain('abandoned runs are looked for again at the next pass');
  });
});

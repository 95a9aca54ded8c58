/**
 * Review (issue 13): a tick whose claim fails on a store error (the SQLite file write-locked by
 * another process past busy_timeout, a PostgreSQL blip). Scheduler.claim() turns the error into
 * "not won": the tick is not run, no schedule_ticks row is written, and none of the tick counters
 * (pipeline_schedule_ticks_total, status) moves; as the job's later ticks are claimed, no restart
 * ever catches it up. A tick must not vanish without trace: run it once the store answers again,
 * or at least count it (missed/failed).
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CronSchedule } from '../../src/core/cron-schedule.js';
import { Scheduler } from '../../src/service/scheduler.js';
import type { Tick } from '../../src/service/scheduler-events.js';
import type { Store } from '../../src/store/store.js';
import { FakeTiming, settle } from '../helpers/fake-timing.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { openTestStore } from '../helpers/test-storage.js';

const tempDir = useTempDir();
const opened: Store[] = [];
const schedulers: Scheduler[] = [];
afterEach(async () => {
  for (const scheduler of schedulers.splice(0)) {
    scheduler.abortRuns(new Error('test over'));
    await scheduler.stop();
  }
  for (const store of opened.splice(0)) await store.close();
});

describe('a tick whose claim hits a store error', () => {
  it('is run when the store answers again, or counted, never lost without trace', async () => {
    const dir = tempDir();
    const store = await openTestStore('sqlite', dir);
    opened.push(store);
    const timing = new FakeTiming({ wallStart: Date.parse('2026-03-10T12:00:30Z') });
    const seen: Tick[] = [];
    const storeErrors: string[] = [];
    const scheduler = new Scheduler({
      jobs: [
        {
          name: 'minutely',
          schedule: new CronSchedule('* * * * *', 'UTC'),
          catchup: 'latest',
          catchupLimit: 10,
          overlap: 'skip',
        },
      ],
      ticks: store.ticks,
      claimant: 'host:1',
      runTick: (tick) => {
        seen.push(tick);
        return Promise.resolve({ runId: seen.length });
      },
      timing,
      beatMs: 10_000,
    });
    schedulers.push(scheduler);
    scheduler.events.on('store:error', (event) => storeErrors.push(event.action));
    scheduler.start();
    for (let i = 0; i < 10; i += 1) await settle();

    // Another process (a backup, an operator's sqlite3 shell) holds the write lock at 12:01.
    const other = new Database(join(dir, 'data', 'test.db'));
    other.exec('BEGIN IMMEDIATE');
    await timing.advance(30_000);
    for (let i = 0; i < 10; i += 1) await settle();
    other.exec('ROLLBACK');
    other.close();
    expect(storeErrors).toContain('claim');

    // The store is writable again; the service runs on to 12:01:50 (before the next tick).
    await timing.advance(50_000);
    for (let i = 0; i < 10; i += 1) await settle();
    const lost = Date.parse('2026-03-10T12:01:00Z');
    const counts = scheduler.status()[0]?.counts;
    const accounted =
      seen.some((tick) => tick.tickAt === lost) ||
      (counts !== undefined && counts.missed + counts.failed > 0);
    // Seen: not run, no schedule_ticks row, every counter at 0: only an error line in the log.
    const rows = await store.ticks.list('minutely');
    expect(accounted, `ticks stored: ${JSON.stringify(rows)}`).toBe(true);
  });
});

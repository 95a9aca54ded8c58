/**
 * Review (issue 13): a tick whose claim fails on a store error (the SQLite file write-locked by
 * another process past busy_timeout, a PostgreSQL blip). Scheduler.claim() turns the error into
 * "not won": the tick is not run, no schedule_ticks row is written, and none of the tick counters
 * (pipeline_schedule_ticks_total, status) moves; as the job's later ticks are claimed, no restart
 * ever catches it up. A tick must not vanish without trace: its claim is retried until the store
 * answers again (then it runs, late); given up (the retries ran out, the service stopped), it is
 * counted missed with the error and written missed once the store answers.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/service/scheduler.js';
import { SqliteDatabase as Database } from '../../src/store/sqlite/sqlite-driver.js';
import type { Tick } from '../../src/service/scheduler-events.js';
import type { Store } from '../../src/store/store.js';
import { FakeTiming, settle } from '../helpers/fake-timing.js';
import { scheduledJob } from '../helpers/scheduled-job.js';
import { useSchedulerCleanup } from '../helpers/scheduler-cleanup.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { openTestStore } from '../helpers/test-storage.js';

const tempDir = useTempDir();
const { schedulers, opened } = useSchedulerCleanup();

/** A service whose one job ticks every minute, started at 12:00:30 on `store`. */
function startMinutely(store: Store): { scheduler: Scheduler; timing: FakeTiming; seen: Tick[] } {
  const timing = new FakeTiming({ wallStart: Date.parse('2026-03-10T12:00:30Z') });
  const seen: Tick[] = [];
  const scheduler = new Scheduler({
    jobs: [scheduledJob('minutely', '* * * * *')],
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
  return { scheduler, timing, seen };
}

/**
 * Another process (a backup, an operator's sqlite3 shell) holds the write lock while the service
 * reaches its 12:01 tick and tries to claim it; the lock is gone afterwards.
 */
async function lockedThroughTick(dir: string, timing: FakeTiming): Promise<void> {
  const other = new Database(join(dir, 'data', 'test.db'));
  other.exec('BEGIN IMMEDIATE');
  await timing.advance(30_000);
  for (let i = 0; i < 10; i += 1) await settle();
  other.exec('ROLLBACK');
  other.close();
}

describe('a tick whose claim hits a store error', () => {
  it('is run when the store answers again, or counted, never lost without trace', async () => {
    const dir = tempDir();
    const store = await openTestStore('sqlite', dir);
    opened.push(store);
    const { scheduler, timing, seen } = startMinutely(store);
    const storeErrors: string[] = [];
    scheduler.events.on('store:error', (event) => storeErrors.push(event.action));
    scheduler.start();
    for (let i = 0; i < 10; i += 1) await settle();

    await lockedThroughTick(dir, timing);
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
    // The claim was retried once the lock was gone: the tick ran, late, and is recorded so.
    expect(seen.map((tick) => tick.tickAt)).toEqual([lost]);
    expect(rows).toMatchObject([{ tickAt: lost, outcome: 'ran', claimant: 'host:1' }]);
  });

  it('is counted and written missed with the error when the store refuses it until the service stops', async () => {
    const dir = tempDir();
    const store = await openTestStore('sqlite', dir);
    opened.push(store);
    const { scheduler, timing, seen } = startMinutely(store);
    const missed: (string | undefined)[] = [];
    scheduler.events.on('tick:missed', (event) => missed.push(event.detail));
    scheduler.start();
    for (let i = 0; i < 10; i += 1) await settle();

    await lockedThroughTick(dir, timing);
    // The service stops while the claim waits to be tried again: the tick is given up.
    await scheduler.stop();

    const lost = Date.parse('2026-03-10T12:01:00Z');
    expect(seen).toEqual([]);
    expect(scheduler.status()[0]?.counts.missed).toBe(1);
    expect(missed).toHaveLength(1);
    expect(missed[0]).toMatch(/tick 2026-03-10T12:01:00.000Z: its claim failed on a store error/);
    const rows = await store.ticks.list('minutely');
    expect(rows).toMatchObject([{ tickAt: lost, outcome: 'missed', claimant: 'host:1' }]);
    expect(rows[0]?.detail).toMatch(/database is locked/);
  });
});

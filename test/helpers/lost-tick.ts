import type { ScheduledJob } from '../../src/service/scheduled-job.js';
import type { Store } from '../../src/store/store.js';
import type { TickRecord } from '../../src/store/tick-claims.js';
import { scheduledJob } from './scheduled-job.js';
import { waitFor } from './wait-for.js';

/** The 18:30 New York tick a dead service claimed, then was SIGKILLed before its run began. */
export const LOST_TICK = Date.parse('2026-03-10T22:30:00Z');
/** The dead service, as a claimant. */
export const DEAD = 'dead-host:4242:2026-03-10';

/** A daily SPY backfill on weekdays at 18:30 New York time, with `catchup`. */
export function spyDaily(catchup: ScheduledJob['catchup']): ScheduledJob {
  return scheduledJob('spy_daily', '30 18 * * 1-5', { catchup }, 'America/New_York');
}

/** The job's newest tick once it has an outcome (store replies take real I/O turns). */
export function finishedTick(store: Store): Promise<TickRecord> {
  return waitFor('the lost tick to get an outcome', async () => {
    const [last] = await store.ticks.list('spy_daily', { limit: 1 });
    return last?.outcome === null ? undefined : last;
  });
}

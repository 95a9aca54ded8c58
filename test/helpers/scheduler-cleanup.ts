import { afterEach } from 'vitest';
import type { Scheduler } from '../../src/service/scheduler.js';
import type { Store } from '../../src/store/store.js';

/**
 * Lists a test file fills with its schedulers and stores: after each test the schedulers' runs
 * are cancelled and the schedulers stopped before the stores close under them.
 */
export function useSchedulerCleanup(): { schedulers: Scheduler[]; opened: Store[] } {
  const schedulers: Scheduler[] = [];
  const opened: Store[] = [];
  afterEach(async () => {
    for (const scheduler of schedulers.splice(0)) {
      scheduler.abortRuns(new Error('test over'));
      await scheduler.stop();
    }
    for (const store of opened.splice(0)) await store.close();
  });
  return { schedulers, opened };
}

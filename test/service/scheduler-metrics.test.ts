import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/service/scheduler.js';
import { SchedulerMetrics } from '../../src/service/scheduler-metrics.js';
import { FakeTiming } from '../helpers/fake-timing.js';
import { scheduledJob } from '../helpers/scheduled-job.js';
import { useSchedulerCleanup } from '../helpers/scheduler-cleanup.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { openTestStore } from '../helpers/test-storage.js';

const tempDir = useTempDir();
const { opened } = useSchedulerCleanup();

/** The sample lines of `name` in the registry's exposition, label sets as written. */
async function samples(registry: Registry, name: string): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((line) => line.startsWith(`${name}{`));
}

describe('SchedulerMetrics', () => {
  it('exposes each job’s next and last tick and its ticks by outcome', async () => {
    const store = await openTestStore('sqlite', tempDir());
    opened.push(store);
    // Ticks missed before the start: 00:58 and 00:59, of which catchup: latest runs 00:59.
    await store.ticks.claim('minutely', Date.parse('2024-01-01T00:57:00Z'), 'earlier');
    // Finished: a claim without an outcome would be a dead service's, to be taken over.
    await store.ticks.record('minutely', Date.parse('2024-01-01T00:57:00Z'), 'earlier', {
      outcome: 'ran',
    });
    const timing = new FakeTiming({ wallStart: Date.parse('2024-01-01T00:59:30Z') });
    const registry = new Registry();
    const metrics = new SchedulerMetrics(registry, ['minutely', 'idle']);
    const scheduler = new Scheduler({
      jobs: [scheduledJob('minutely', '* * * * *')],
      ticks: store.ticks,
      claimant: 'test',
      timing,
      // Each run takes 90 s. The catch-up of 00:59 runs to 01:01, so 01:00 is missed (catchup:
      // latest) and 01:01 runs; 01:02 and 01:04 find the job running.
      runTick: async (_tick, signal) => {
        await timing.sleep(90_000, signal);
        return { runId: 1 };
      },
    });
    const stopObserving = metrics.observe(scheduler.events);
    scheduler.start();
    await timing.advance(4 * 60_000 + 45_000);
    await timing.run(scheduler.stop());
    stopObserving();
    expect(await samples(registry, 'pipeline_schedule_ticks_total')).toEqual([
      'pipeline_schedule_ticks_total{job_name="minutely",outcome="ran"} 3',
      'pipeline_schedule_ticks_total{job_name="minutely",outcome="skipped"} 2',
      'pipeline_schedule_ticks_total{job_name="minutely",outcome="missed"} 2',
      'pipeline_schedule_ticks_total{job_name="minutely",outcome="failed"} 0',
      'pipeline_schedule_ticks_total{job_name="minutely",outcome="taken"} 0',
      'pipeline_schedule_ticks_total{job_name="minutely",outcome="cancelled"} 0',
      'pipeline_schedule_ticks_total{job_name="idle",outcome="ran"} 0',
      'pipeline_schedule_ticks_total{job_name="idle",outcome="skipped"} 0',
      'pipeline_schedule_ticks_total{job_name="idle",outcome="missed"} 0',
      'pipeline_schedule_ticks_total{job_name="idle",outcome="failed"} 0',
      'pipeline_schedule_ticks_total{job_name="idle",outcome="taken"} 0',
      'pipeline_schedule_ticks_total{job_name="idle",outcome="cancelled"} 0',
    ]);
    expect(await samples(registry, 'pipeline_schedule_next_tick_timestamp_seconds')).toEqual([
      `pipeline_schedule_next_tick_timestamp_seconds{job_name="minutely"} ${Date.parse('2024-01-01T01:05:00Z') / 1000}`,
    ]);
    expect(await samples(registry, 'pipeline_schedule_last_tick_timestamp_seconds')).toEqual([
      `pipeline_schedule_last_tick_timestamp_seconds{job_name="minutely"} ${Date.parse('2024-01-01T01:03:00Z') / 1000}`,
    ]);
  });
});

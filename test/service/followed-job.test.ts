/**
 * A followed job's run never returns (it follows until cancelled), so its failure count cannot
 * be reset by a success: it must be reset by a run that stayed up. Before, every failure over the
 * service's life doubled the pause, so after a few outages days apart each new outage cost the
 * 15-minute cap.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { FollowedJob } from '../../src/service/followed-job.js';
import { FakeTiming, settle } from '../helpers/fake-timing.js';

const silent = pino({ level: 'silent' });

/** A follow that runs until the test makes it fail (or the job is cancelled). */
function followOnDemand() {
  let reject: ((error: Error) => void) | undefined;
  let started = 0;
  return {
    get started() {
      return started;
    },
    run: (signal: AbortSignal) =>
      new Promise<void>((_resolve, fail) => {
        started += 1;
        reject = fail;
        signal.addEventListener('abort', () => fail(signal.reason as Error), { once: true });
      }),
    async fail(): Promise<void> {
      reject?.(new Error('provider down'));
      await settle();
    },
  };
}

describe('FollowedJob', () => {
  it('backs off exponentially within an outage and starts again from the base after a healthy run', async () => {
    const timing = new FakeTiming();
    const follow = followOnDemand();
    const service = new AbortController();
    const job = new FollowedJob('live_job', service.signal, {
      run: follow.run,
      logger: silent,
      timing,
      failureBackoff: { baseMs: 10_000, maxMs: 15 * 60_000 },
    });
    job.start();
    await settle();
    const pauses: number[] = [];
    const failAndRestart = async (): Promise<void> => {
      const before = follow.started;
      await follow.fail();
      const pause = timing.sleeps.at(-1) ?? 0;
      pauses.push(pause);
      await timing.advance(pause);
      expect(follow.started).toBe(before + 1);
    };

    // An outage: each start fails at once, the pause doubles.
    await failAndRestart();
    await failAndRestart();
    await failAndRestart();
    // Then the provider is back and the follow runs for an hour before the next outage.
    await timing.advance(60 * 60_000);
    await failAndRestart();
    // A start that fails within its pause (5 s after a 10 s pause) is still the same outage.
    await timing.advance(5_000);
    await failAndRestart();

    // Before: [10, 20, 40, 80, 160] s, the healthy hour forgotten.
    expect(pauses).toEqual([10_000, 20_000, 40_000, 10_000, 20_000]);
    service.abort(new Error('stop'));
    await job.done;
  });
});

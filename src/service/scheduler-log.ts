import type { Logger } from 'pino';
import { errorCode } from '../core/errors.js';
import { subscribe, type SchedulerEvents, type SchedulerListeners } from './scheduler-events.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** Store actions whose words are not "<action> a tick". */
const STORE_ACTIONS: Readonly<Record<string, string>> = {
  lastTick: 'read the last tick',
  beat: 'beat in the store (its claims look dead to other services after a minute)',
  adopt: 'look for the unfinished ticks of dead services (tried again in 15 s)',
  leave: 'remove its beat at its stop (other services will look for its claims once, in a minute)',
};

/** Says in the log what becomes of each tick; returns a function that stops listening. */
export function logSchedulerEvents(events: SchedulerEvents, logger: Logger): () => void {
  const listeners: SchedulerListeners = {
    'tick:start': (tick: { jobName: string; tickAt: number; catchup: boolean }) =>
      logger.info(
        { job: tick.jobName, tick: iso(tick.tickAt), catchup: tick.catchup },
        tick.catchup ? 'catching up a missed tick' : 'tick',
      ),
    'tick:ran': (event: { jobName: string; tickAt: number; runId: number | undefined }) =>
      logger.info({ job: event.jobName, tick: iso(event.tickAt), run_id: event.runId }, 'tick ran'),
    'tick:skipped': (event: { jobName: string; tickAt: number; reason: string; detail: string }) =>
      logger.warn(
        { job: event.jobName, tick: iso(event.tickAt), reason: event.reason },
        `tick skipped: ${event.detail}`,
      ),
    'tick:waiting': (tick: { jobName: string; tickAt: number }) =>
      logger.info(
        { job: tick.jobName, tick: iso(tick.tickAt) },
        'tick waits for the running one (overlap: wait)',
      ),
    'tick:missed': (event: { jobName: string; count: number; capped: boolean; detail?: string }) =>
      logger.warn(
        { job: event.jobName, missed: event.count },
        `${event.capped ? 'at least ' : ''}${event.count} tick${event.count === 1 ? '' : 's'} missed, not run (${event.detail ?? 'catchup policy'})`,
      ),
    'tick:orphaned': (event: { jobName: string; tickAt: number; from: string }) =>
      logger.warn(
        { job: event.jobName, tick: iso(event.tickAt), claimant: event.from },
        'tick adopted: its claimant stopped beating (dead for a minute) before recording it',
      ),
    'tick:taken': (tick: { jobName: string; tickAt: number }) =>
      logger.debug(
        { job: tick.jobName, tick: iso(tick.tickAt) },
        'tick claimed by another service first',
      ),
    'tick:lost': (event: {
      jobName: string;
      tickAt: number;
      unrecorded?: { outcome: string; detail?: string };
    }) =>
      logger.warn(
        { job: event.jobName, tick: iso(event.tickAt), unrecorded: event.unrecorded?.outcome },
        event.unrecorded === undefined
          ? 'tick taken over by another service, which judged this one dead (no beat for a minute: frozen, paused or cut off): not run here'
          : `tick taken over by another service, which judged this one dead (no beat for a minute: frozen, paused or cut off) while its run went on here: its outcome here (${event.unrecorded.outcome}${event.unrecorded.detail === undefined ? '' : `: ${event.unrecorded.detail}`}) is not recorded, the other service's record stands`,
      ),
    'beat:lapsed': (event: { silentMs: number }) =>
      logger.warn(
        { silent_ms: event.silentMs },
        `this service was judged dead: its previous beat in the store was ${Math.round(event.silentMs / 1000)} s ago, past the one-minute lease (the process frozen, paused or cut off from the store); other services may have taken over its claimed ticks, which it then neither runs nor records`,
      ),
    'tick:failed': (event: {
      jobName: string;
      tickAt: number;
      error: Error;
      failures: number;
      backoffUntil: number;
    }) =>
      logger.error(
        {
          job: event.jobName,
          tick: iso(event.tickAt),
          code: errorCode(event.error),
          failures: event.failures,
          backoff_until: iso(event.backoffUntil),
        },
        `tick failed: ${event.error.message}`,
      ),
    'tick:cancelled': (event: { jobName: string; tickAt: number; error: Error }) =>
      logger.warn({ job: event.jobName, tick: iso(event.tickAt) }, event.error.message),
    'store:error': (event: { jobName: string; action: string; error: Error }) =>
      logger.error(
        {
          job: event.jobName,
          code: errorCode(event.error),
        },
        `the scheduler could not ${STORE_ACTIONS[event.action] ?? `${event.action} a tick`}: ${event.error.message}`,
      ),
  };
  return subscribe(events, listeners);
}

import { JobLockedError } from '../core/errors.js';
import { formatSeconds, MISSED_HEARTBEATS } from './abandonment-reason.js';
import type { JobRun } from './store.js';

/** Names the active run and says what the user can do about it; the same text in every backend. */
export function jobLockedError(active: JobRun, now: number): JobLockedError {
  const limit = MISSED_HEARTBEATS * active.heartbeatIntervalMs;
  const abandonAt = active.heartbeatAt + limit;
  return new JobLockedError(
    `job ${active.jobName} is already running: run ${active.runId} (pid ${active.pid} on ` +
      `${active.host}, started ${new Date(active.startedAt).toISOString()}, last heartbeat ` +
      `${new Date(active.heartbeatAt).toISOString()}). Wait for it to finish, or stop that ` +
      `process. If the process is gone, the run is marked abandoned once it misses ` +
      `${MISSED_HEARTBEATS} heartbeats (${formatSeconds(limit)} without one; in about ` +
      `${formatSeconds(Math.max(0, abandonAt - now))}), or at once when checked from ` +
      `${active.host}; then the job can start again.`,
  );
}

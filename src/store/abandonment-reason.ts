import type { JobRun } from './store.js';

/** A running run is abandoned once this many heartbeat intervals pass without one (DESIGN.md). */
export const MISSED_HEARTBEATS = 3;

/** What the abandonment rule needs to know about the process doing the checking. */
export interface LivenessProbe {
  readonly now: number;
  readonly hostname: string;
  readonly isPidAlive: (pid: number) => boolean;
}

/** `90s`, `1.5s`: durations in messages. */
export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))}s`;
}

/**
 * Why a `running` run should be marked abandoned, or undefined when it may still be alive:
 * its process is gone (only knowable on its own host), or it missed three heartbeats.
 */
export function abandonmentReason(
  run: Pick<JobRun, 'host' | 'pid' | 'heartbeatAt' | 'heartbeatIntervalMs'>,
  probe: LivenessProbe,
): string | undefined {
  if (run.host === probe.hostname && !probe.isPidAlive(run.pid)) {
    return `process ${run.pid} on ${run.host} is gone`;
  }
  const silentFor = probe.now - run.heartbeatAt;
  if (silentFor > MISSED_HEARTBEATS * run.heartbeatIntervalMs) {
    return (
      `no heartbeat for ${formatSeconds(silentFor)} ` +
      `(expected every ${formatSeconds(run.heartbeatIntervalMs)})`
    );
  }
  return undefined;
}

import type { JobRun } from './store.js';

/** A running run is abandoned once this many heartbeat intervals pass without one (DESIGN.md). */
export const MISSED_HEARTBEATS = 3;

/** What the abandonment rule needs to know about the process doing the checking. */
export interface LivenessProbe {
  readonly now: number;
  readonly hostname: string;
  readonly isPidAlive: (pid: number) => boolean;
  readonly bootId: string | null;
  readonly pidNamespace: string | null;
  readonly processStart: (pid: number) => string | null;
}

/** `90s`, `1.5s`: durations in messages. */
export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))}s`;
}

/** Two values tell processes apart only when both sides know them. */
function differ(a: string | null, b: string | null): boolean {
  return a !== null && b !== null && a !== b;
}

/**
 * Whether the run's pid names a process in the checker's own pid table: the same host name, and
 * neither another boot nor another pid namespace (containers may share a host name, not pids).
 */
function samePidTable(run: Pick<JobRun, 'host' | 'identity'>, probe: LivenessProbe): boolean {
  return (
    run.host === probe.hostname &&
    !differ(run.identity.bootId, probe.bootId) &&
    !differ(run.identity.pidNamespace, probe.pidNamespace)
  );
}

/**
 * Why a `running` run should be marked abandoned, or undefined when it may still be alive:
 * its process is gone (only knowable from its own pid table: its pid is free, or taken by a
 * process started later), or it missed three heartbeats.
 */
export function abandonmentReason(
  run: Pick<JobRun, 'host' | 'pid' | 'heartbeatAt' | 'heartbeatIntervalMs' | 'identity'>,
  probe: LivenessProbe,
): string | undefined {
  if (samePidTable(run, probe)) {
    if (!probe.isPidAlive(run.pid)) return `process ${run.pid} on ${run.host} is gone`;
    const started = run.identity.processStart;
    if (started !== null && differ(probe.processStart(run.pid), started)) {
      return (
        `process ${run.pid} on ${run.host} is gone ` +
        `(pid ${run.pid} now belongs to a process started later)`
      );
    }
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

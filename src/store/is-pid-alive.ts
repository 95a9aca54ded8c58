/**
 * Signal 0 probes a pid without touching it: ESRCH means no such process, EPERM means it exists
 * under another user. Anything unexpected counts as alive, since a wrongly reaped run would let
 * a second writer start beside a live one; the heartbeat rule still catches it later.
 */
export function isPidAlive(pid: number): boolean {
  // pid 0 and negatives address process groups, not a process.
  if (!Number.isInteger(pid) || pid <= 0) return true;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

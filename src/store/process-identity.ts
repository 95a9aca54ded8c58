import { readFileSync, readlinkSync } from 'node:fs';
import type { ProcessIdentity } from './store.js';

/** Reads one line of /proc, or null where there is no /proc (macOS, Windows) or no such entry. */
function readProc(read: () => string): string | null {
  try {
    const text = read().trim();
    return text === '' ? null : text;
  } catch {
    return null;
  }
}

/** This kernel's boot id: every process on it, containers included, shares it until a reboot. */
export function currentBootId(): string | null {
  return readProc(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));
}

/** This process's pid namespace, e.g. `pid:[4026531836]`: pids are only comparable within it. */
export function currentPidNamespace(): string | null {
  return readProc(() => readlinkSync('/proc/self/ns/pid'));
}

/**
 * When `pid` started, in clock ticks after boot (field 22 of /proc/PID/stat), or null when there
 * is no such process or no /proc. A pid reused by a later process has a later start time.
 */
export function processStartTime(pid: number): string | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const stat = readProc(() => readFileSync(`/proc/${pid}/stat`, 'utf8'));
  if (stat === null) return null;
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 is fields[19].
  return fields[19] ?? null;
}

/** This process, as a run started by it records itself. */
export function currentProcessIdentity(): ProcessIdentity {
  return {
    bootId: currentBootId(),
    pidNamespace: currentPidNamespace(),
    processStart: processStartTime(process.pid),
  };
}

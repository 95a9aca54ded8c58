import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  currentBootId,
  currentPidNamespace,
  currentProcessIdentity,
  processStartTime,
} from '../../src/store/process-identity.js';
import { useTempDir } from '../helpers/temp-dir.js';

const HAS_PROC = existsSync('/proc/self/stat');
const tempDir = useTempDir();

/** A child process that lives until killed. */
function sleeper() {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
}

describe.runIf(HAS_PROC)('process identity from /proc', () => {
  it("reads this kernel's boot id and this process's pid namespace", () => {
    expect(currentBootId()).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(currentPidNamespace()).toMatch(/^pid:\[\d+\]$/);
    expect(currentProcessIdentity()).toEqual({
      bootId: currentBootId(),
      pidNamespace: currentPidNamespace(),
      processStart: processStartTime(process.pid),
    });
  });

  it('tells two processes apart by start time, and knows none for an exited pid', async () => {
    const first = sleeper();
    await new Promise((resolve) => setTimeout(resolve, 60));
    const second = sleeper();
    try {
      const [a, b] = [processStartTime(first.pid ?? 0), processStartTime(second.pid ?? 0)];
      expect(a).toMatch(/^\d+$/);
      expect(b).toMatch(/^\d+$/);
      expect(Number(b)).toBeGreaterThan(Number(a));
      // Stable for one process: what a run records is what a later check reads.
      expect(processStartTime(first.pid ?? 0)).toBe(a);
    } finally {
      first.kill();
      second.kill();
    }
    const exited = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], {
      encoding: 'utf8',
    });
    expect(processStartTime(Number(exited.stdout.trim()))).toBeNull();
  });

  it('reads field 22 after a command name holding spaces and parentheses', async () => {
    // The kernel names a process after the file it executes: here "x) 1 (2", which would shift
    // the fields of a parser that split the whole line on spaces. `sleep`, not node: Node 24
    // renames its main thread ("MainThread"), which would hide the name under test.
    const link = join(tempDir(), 'x) 1 (2');
    symlinkSync('/bin/sleep', link);
    const child = spawn(link, ['30'], { stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    try {
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      expect(stat).toContain('(x) 1 (2)');
      const field22 = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
      expect(processStartTime(child.pid ?? 0)).toBe(field22);
    } finally {
      child.kill();
    }
  });
});

describe('process identity without /proc', () => {
  it('knows nothing rather than guessing for pids that cannot be a process', () => {
    expect(processStartTime(0)).toBeNull();
    expect(processStartTime(-5)).toBeNull();
    expect(processStartTime(1.5)).toBeNull();
  });
});

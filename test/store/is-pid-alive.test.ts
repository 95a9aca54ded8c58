import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isPidAlive } from '../../src/store/is-pid-alive.js';

/** The pid of a process that has already exited (pids are not reused this quickly). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], {
    encoding: 'utf8',
  });
  return Number(child.stdout.trim());
}

describe('isPidAlive', () => {
  it('knows this process and its parent are alive', () => {
    expect(isPidAlive(process.pid)).toBe(true);
    expect(isPidAlive(process.ppid)).toBe(true);
  });

  it('knows an exited process is gone', () => {
    const pid = deadPid();
    expect(pid).toBeGreaterThan(0);
    expect(isPidAlive(pid)).toBe(false);
  });

  it('counts pids that address process groups as alive rather than guessing', () => {
    expect(isPidAlive(0)).toBe(true);
    expect(isPidAlive(-1)).toBe(true);
  });
});

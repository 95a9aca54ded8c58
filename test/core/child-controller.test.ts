import { describe, expect, it } from 'vitest';
import { childController } from '../../src/core/child-controller.js';
import { CancelledError } from '../../src/core/errors.js';

describe('childController', () => {
  it('a parent cancelled by a signal cancels every child with that same reason', () => {
    const process = childController();
    const service = childController(process.signal);
    const runs = [childController(service.signal), childController(service.signal)];
    process.cancel({ kind: 'signal', signal: 'SIGTERM' });
    for (const node of [service, ...runs]) {
      expect(node.signal.aborted).toBe(true);
      expect(node.signal.reason).toBeInstanceOf(CancelledError);
      expect(node.signal.reason).toMatchObject({
        code: 'MDP_CANCELLED',
        message: 'interrupted by SIGTERM',
        reason: { kind: 'signal', signal: 'SIGTERM' },
      });
    }
  });

  it('cancelling a run for a reload leaves its parent and its siblings running', () => {
    const service = childController();
    const reloaded = childController(service.signal);
    const other = childController(service.signal);
    reloaded.cancel({ kind: 'reload' });
    expect(reloaded.signal.reason).toMatchObject({
      reason: { kind: 'reload' },
      message: "cancelled: the job's config changed and it restarts with the new one",
    });
    expect([service.signal.aborted, other.signal.aborted]).toEqual([false, false]);
    // The first reason stands: a later shutdown does not rewrite why the run stopped.
    reloaded.cancel({ kind: 'shutdown' });
    expect(reloaded.signal.reason).toMatchObject({ reason: { kind: 'reload' } });
  });

  it('a child of an aborted parent starts aborted; a disposed child no longer follows', () => {
    const parent = childController();
    const early = childController(parent.signal);
    const disposed = childController(early.signal);
    disposed.dispose();
    early.cancel({ kind: 'operator', by: 'ops@example' });
    expect(early.signal.reason).toMatchObject({ message: 'cancelled by ops@example' });
    expect(disposed.signal.aborted).toBe(false);
    parent.cancel({ kind: 'lease_lost' });
    expect(childController(parent.signal).signal.reason).toMatchObject({
      reason: { kind: 'lease_lost' },
    });
  });
});

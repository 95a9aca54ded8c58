import { describe, expect, it } from 'vitest';
import { childController } from '../../src/core/child-controller.js';
import { CancelledError, type CancelReason } from '../../src/index.js';

/** The error a cancelled controller aborts with, as a caller of the public API receives it. */
function cancelledFor(reason: CancelReason): CancelledError {
  const controller = childController();
  controller.cancel(reason);
  const error: unknown = controller.signal.reason;
  if (!(error instanceof CancelledError)) throw new Error('expected a CancelledError');
  return error;
}

describe('CancelledError.signal (deprecated)', () => {
  it('names the signal for a signal reason, as it did before reasons existed', () => {
    expect(cancelledFor({ kind: 'signal', signal: 'SIGTERM' }).signal).toBe('SIGTERM');
    expect(cancelledFor({ kind: 'signal', signal: 'SIGINT' }).signal).toBe('SIGINT');
  });

  it('is undefined for a reason that is not a signal', () => {
    const reasons: CancelReason[] = [
      { kind: 'shutdown' },
      { kind: 'reload' },
      { kind: 'operator', by: 'ops' },
      { kind: 'lease_lost' },
    ];
    for (const reason of reasons) {
      const error = cancelledFor(reason);
      expect(error.reason).toEqual(reason);
      expect(error.signal).toBeUndefined();
    }
  });
});

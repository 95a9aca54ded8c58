import { childController } from '../core/child-controller.js';

/**
 * Turns the first SIGINT/SIGTERM into an abort of the run (which then finishes its in-flight
 * batch and records itself cancelled); a second signal ends the process at once.
 */
export function abortOnSignals(onSecond: (signal: NodeJS.Signals) => void): {
  signal: AbortSignal;
  dispose(): void;
} {
  // The root of the cancellation tree: the commands' runs (and the service's) hang below it.
  const root = childController();
  const handler = (signal: NodeJS.Signals): void => {
    if (root.signal.aborted) {
      onSecond(signal);
      return;
    }
    const name = signal === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
    root.cancel({ kind: 'signal', signal: name });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: root.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

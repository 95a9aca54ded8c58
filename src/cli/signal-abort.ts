import { CancelledError } from '../core/errors.js';

/**
 * Turns the first SIGINT/SIGTERM into an abort of the run (which then finishes its in-flight
 * batch and records itself cancelled); a second signal ends the process at once.
 */
export function abortOnSignals(onSecond: (signal: NodeJS.Signals) => void): {
  signal: AbortSignal;
  dispose(): void;
} {
  const controller = new AbortController();
  const handler = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      onSecond(signal);
      return;
    }
    const name = signal === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
    controller.abort(new CancelledError(`interrupted by ${name}`, name));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

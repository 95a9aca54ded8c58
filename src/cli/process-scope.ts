import type { Logger } from 'pino';
import type { MdpConfig } from '../core/config/load-config.js';
import { ProcessTelemetry } from '../service/process-telemetry.js';
import type { ProcessRuntime } from '../service/process-runtime.js';
import type { Store } from '../store/store.js';
import type { CommandContext } from './command-context.js';
import { ExitCode } from './exit-code.js';
import { createLogger } from './logger.js';
import { createProcessRuntime, withStore } from './runtime.js';
import { abortOnSignals } from './signal-abort.js';

/** What a command that runs jobs holds for its whole process. */
export interface ProcessScope {
  readonly logger: Logger;
  readonly runtime: ProcessRuntime;
  /** Open for the scope; closed after it. */
  readonly store: Store;
  readonly telemetry: ProcessTelemetry;
  /** Aborted by the first SIGINT/SIGTERM (a CancelledError with the signal as its reason). */
  readonly signal: AbortSignal;
}

/**
 * The parts `mdp run`, `mdp backfill` and `mdp serve` share, built once in this order: the
 * logger, the signal handlers (a second signal ends the process at once), the open store, the
 * runtime over it and the process's telemetry; the handlers are removed and the store closed after `body`.
 */
export async function withProcessScope<T>(
  config: MdpConfig,
  context: CommandContext,
  options: { readonly metricsPort?: number },
  body: (scope: ProcessScope) => Promise<T>,
): Promise<T> {
  const logger = createLogger(config.telemetry.log_level, config.redactor, {
    verbose: context.verbose(),
  });
  const abort = abortOnSignals((signal) =>
    context.exit(signal === 'SIGTERM' ? ExitCode.Sigterm : ExitCode.Sigint),
  );
  try {
    return await withStore(config, async (store) => {
      // The store holds the providers' shared budgets (pacing.scope: store).
      const runtime = createProcessRuntime(config, logger, store);
      const telemetry = new ProcessTelemetry({
        config,
        logger,
        storages: [store.kind],
        metricsPort: options.metricsPort,
      });
      return body({ logger, runtime, store, telemetry, signal: abort.signal });
    });
  } finally {
    abort.dispose();
  }
}

import type { Logger } from 'pino';
import { MdpError, toError } from '../core/errors.js';
import { systemTiming, type Timing } from '../pipeline/timing.js';
import type { JobRun, Store } from '../store/store.js';

export interface ReaperOptions {
  /** Open; `reapAbandoned` marks the runs whose process is gone or whose heartbeat went stale. */
  readonly store: Store;
  /** Time between two passes; a pass runs at once when started. */
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly timing?: Timing;
  /** Hears the runs each pass marked abandoned (e.g. to count them). */
  readonly onReaped?: (runs: readonly JobRun[]) => void;
}

/**
 * Marks abandoned runs on a timer, so reads stay pure: `listRuns`, the status read model and a
 * dashboard polling them never take SQLite's write lock. A failed pass (the store away) is logged
 * and the next pass tries again; the reaper stops only when its signal aborts.
 */
export class Reaper {
  private readonly timing: Timing;

  constructor(private readonly options: ReaperOptions) {
    this.timing = options.timing ?? systemTiming;
  }

  /** Reaps now and every `intervalMs` until `signal` aborts; then resolves. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.reapOnce();
      await this.timing.sleep(this.options.intervalMs, signal).catch(() => undefined);
    }
  }

  /** One pass: the runs it marked abandoned, or none when the store failed (logged). */
  async reapOnce(): Promise<JobRun[]> {
    const { logger } = this.options;
    try {
      const reaped = await this.options.store.reapAbandoned();
      for (const run of reaped) {
        logger.warn(
          { run_id: run.runId, job: run.jobName, reason: run.error },
          'marked a run abandoned',
        );
      }
      if (reaped.length > 0) this.options.onReaped?.(reaped);
      return reaped;
    } catch (thrown: unknown) {
      const error = toError(thrown);
      logger.warn(
        { code: error instanceof MdpError ? error.code : undefined },
        `${error.message}; abandoned runs are looked for again at the next pass`,
      );
      return [];
    }
  }
}

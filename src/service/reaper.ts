import type { Logger } from 'pino';
import { errorCode, toError } from '../core/errors.js';
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

  /**
   * Reaps now and every `intervalMs` until `signal` aborts; then resolves. The pass in flight gets
   * the signal too: one waiting on another session's lock would otherwise hold a shutdown for up to
   * the store's lock_timeout.
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.reapOnce(signal);
      await this.timing.sleep(this.options.intervalMs, signal).catch(() => undefined);
    }
  }

  /**
   * One pass: the runs it marked abandoned, or none when the store failed (logged) or `signal`
   * aborted it (not logged: stopping is no failure).
   */
  async reapOnce(signal?: AbortSignal): Promise<JobRun[]> {
    let reaped: JobRun[];
    try {
      reaped = await this.options.store.reapAbandoned(undefined, signal);
    } catch (thrown: unknown) {
      if (signal?.aborted) return [];
      const error = toError(thrown);
      this.options.logger.warn(
        { code: errorCode(error) },
        `${error.message}; abandoned runs are looked for again at the next pass`,
      );
      return [];
    }
    this.report(reaped);
    return reaped;
  }

  /**
   * Logs and hands on what the store marked. Apart from the store call: the runs are marked
   * whatever a listener does, and no later pass finds them again, so a listener that throws is
   * logged as its own failure and the pass still returns them.
   */
  private report(reaped: readonly JobRun[]): void {
    const { logger, onReaped } = this.options;
    for (const run of reaped) {
      logger.warn(
        { run_id: run.runId, job: run.jobName, reason: run.error },
        'marked a run abandoned',
      );
    }
    if (reaped.length === 0 || onReaped === undefined) return;
    try {
      onReaped(reaped);
    } catch (thrown: unknown) {
      const error = toError(thrown);
      logger.warn(
        { code: errorCode(error) },
        `the listener of reaped runs failed: ${error.message}; the runs stay marked abandoned`,
      );
    }
  }
}

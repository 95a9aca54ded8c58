import type { Logger } from 'pino';
import { childController, type ChildController } from '../core/child-controller.js';
import { CancelledError, errorCode, toError } from '../core/errors.js';
import type { Timing } from '../pipeline/timing.js';
import { DEFAULT_FAILURE_BACKOFF, type FailureBackoff } from './scheduler.js';

/** What a followed job needs: how to run it once (until cancelled or failed), and the log. */
export interface FollowedJobDeps {
  readonly run: (signal: AbortSignal) => Promise<void>;
  readonly logger: Logger;
  readonly timing: Timing;
  readonly failureBackoff?: FailureBackoff;
}

/**
 * One `follow: true` job: `run --follow` until the service stops or a reload cancels it; a run
 * that fails (provider down past its retries, the job held elsewhere) is started again after an
 * exponential, capped pause (`DEFAULT_FAILURE_BACKOFF`). A follow never returns, so the count of
 * failures in a row cannot be reset by a success: a run that lasted longer than the pause before
 * it was healthy for a while, and its failure counts as the first of a new series. Otherwise
 * every outage over the service's life would double the pause until it sat at the cap.
 */
export class FollowedJob {
  private readonly controller: ChildController;
  private resolveDone!: () => void;
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));

  constructor(
    readonly name: string,
    parent: AbortSignal,
    private readonly deps: FollowedJobDeps,
  ) {
    this.controller = childController(parent);
  }

  start(after?: Promise<void>): void {
    void (async () => {
      await after;
      await this.loop();
    })().finally(() => {
      this.controller.dispose();
      this.resolveDone();
    });
  }

  cancel(reason: Parameters<ChildController['cancel']>[0]): void {
    this.controller.cancel(reason);
  }

  private async loop(): Promise<void> {
    const { logger, timing } = this.deps;
    const { baseMs, maxMs } = this.deps.failureBackoff ?? DEFAULT_FAILURE_BACKOFF;
    const { signal } = this.controller;
    let failures = 0;
    let pauseMs = 0;
    while (!signal.aborted) {
      const startedAt = timing.monotonic();
      try {
        await this.deps.run(signal);
        failures = 0;
      } catch (thrown: unknown) {
        if (signal.aborted || thrown instanceof CancelledError) break;
        const ranMs = timing.monotonic() - startedAt;
        if (failures > 0 && ranMs > pauseMs) failures = 0;
        failures += 1;
        pauseMs = Math.min(baseMs * 2 ** (failures - 1), maxMs);
        const error = toError(thrown);
        logger.error(
          {
            job: this.name,
            code: errorCode(error),
            failures,
            ran_ms: Math.round(ranMs),
            restart_in_ms: pauseMs,
          },
          `followed job stopped: ${error.message}; starting it again`,
        );
        await timing.sleep(pauseMs, signal).catch(() => undefined);
      }
    }
  }
}

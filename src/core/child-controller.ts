import { CancelledError, type CancelReason } from './errors.js';

/** A node of the cancellation tree (process → service → run). */
export interface ChildController {
  /** Aborted by `cancel`, or with the parent's own reason when the parent aborts. */
  readonly signal: AbortSignal;
  /** Aborts this node and its children (not the parent) with a CancelledError for `reason`. */
  cancel(reason: CancelReason, message?: string): void;
  /** Detaches from the parent: a finished child must not stay listening on a long-lived one. */
  dispose(): void;
}

/**
 * A controller under `parent` (none for the root): cancelling the parent cancels it with the
 * parent's reason, so a run stopped by SIGTERM sees the signal, not a generic abort; cancelling
 * it leaves the parent and its siblings running (a reload restarts one job, not the service).
 */
export function childController(parent?: AbortSignal): ChildController {
  const controller = new AbortController();
  const onParentAbort = (): void => controller.abort(parent?.reason);
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    cancel(reason, message) {
      if (controller.signal.aborted) return;
      controller.abort(new CancelledError(message ?? describeCancelReason(reason), reason));
    },
    dispose() {
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}

/** The reason in words, for a run's recorded error. */
export function describeCancelReason(reason: CancelReason): string {
  switch (reason.kind) {
    case 'signal':
      return `interrupted by ${reason.signal}`;
    case 'shutdown':
      return 'cancelled: the service is shutting down';
    case 'reload':
      return "cancelled: the job's config changed and it restarts with the new one";
    case 'operator':
      return `cancelled by ${reason.by ?? 'an operator'}`;
    case 'lease_lost':
      return 'cancelled: another process took over the run (its lease was lost)';
  }
}

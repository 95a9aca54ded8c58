import { describeDuration } from './duration.js';

/**
 * Every error mdp raises on purpose is an MdpError with a stable `code`; the README lists the codes.
 * Messages say what is wrong, where, and how to fix it.
 */
export abstract class MdpError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One problem found in a config file, located by YAML path and (when known) line and column. */
export interface ConfigIssue {
  /** Dotted YAML path, e.g. `jobs.synthetic_live.dataset`; empty for the whole file. */
  readonly path: string;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

/** The config cannot be used; carries every issue found, not just the first. */
export class ConfigError extends MdpError {
  readonly code = 'MDP_CONFIG_INVALID';

  constructor(
    readonly file: string,
    readonly issues: readonly ConfigIssue[],
    options?: { cause?: unknown },
  ) {
    super(
      `${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n` +
        issues.map((issue) => `  ${formatConfigIssue(file, issue)}`).join('\n'),
      options,
    );
  }
}

/** `file:line:col path: message`, the form editors and terminals make clickable. */
export function formatConfigIssue(file: string, issue: ConfigIssue): string {
  const where =
    issue.line === undefined
      ? file
      : `${file}:${issue.line}${issue.column === undefined ? '' : `:${issue.column}`}`;
  return issue.path ? `${where} ${issue.path}: ${issue.message}` : `${where} ${issue.message}`;
}

/** The config file cannot be found or read at all. */
export class ConfigFileError extends MdpError {
  readonly code = 'MDP_CONFIG_FILE';
}

/** The command line asks for something that does not exist (a job, a profile) or cannot be combined. */
export class UsageError extends MdpError {
  readonly code = 'MDP_USAGE';
}

/** A provider call failed in a way worth retrying: timeout, reset connection, 5xx, 429. */
export class TransientProviderError extends MdpError {
  readonly code = 'MDP_PROVIDER_TRANSIENT';
  /** Server-requested wait before the next try, in milliseconds. */
  readonly retryAfterMs: number | undefined;
  /** The header the wait was read from (`Retry-After`, or an API's own such as `X-RateLimit-Reset`). */
  readonly waitHeader: string;
  /** True when the provider said we are calling too fast (HTTP 429 or its own signal). */
  readonly rateLimited: boolean;
  /** The HTTP status of the answer, when there was one. */
  readonly status: number | undefined;

  constructor(
    readonly provider: string,
    message: string,
    options: {
      cause?: unknown;
      retryAfterMs?: number;
      waitHeader?: string;
      rateLimited?: boolean;
      status?: number;
    } = {},
  ) {
    super(`provider ${provider}: ${message}`, { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
    this.waitHeader = options.waitHeader ?? 'Retry-After';
    this.rateLimited = options.rateLimited ?? false;
    this.status = options.status;
  }
}

/** A provider call failed in a way a retry cannot fix: bad credentials, unknown symbol, 4xx. */
export class PermanentProviderError extends MdpError {
  readonly code = 'MDP_PROVIDER_PERMANENT';

  constructor(
    readonly provider: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`provider ${provider}: ${message}`, options);
  }
}

/**
 * The provider asked to wait longer than its `pacing.max_retry_after`: the request fails at once
 * rather than waiting that long or asking again sooner than the server allows. A follower pauses
 * the provider until `retryAfterMs` has passed (see live-job).
 */
export abstract class ProviderAskedToWaitError extends MdpError {
  constructor(
    readonly provider: string,
    /** The wait the server asked for, in milliseconds. */
    readonly retryAfterMs: number,
    readonly maxRetryAfterMs: number,
    /** What the provider said: `answered 429 and asked`, `is unavailable (503) and asked`. */
    said: string,
    /** The header the wait was read from. */
    readonly header: string,
    options?: { cause?: unknown },
  ) {
    const key = `providers.${provider}.pacing.max_retry_after`;
    super(
      `provider ${provider} ${said} to wait ${describeDuration(retryAfterMs)} before the next ` +
        `request (${header}), longer than ${key} (${describeDuration(maxRetryAfterMs)}); failed ` +
        `the request instead of waiting. Run again later, or raise ${key} to wait that long`,
      options,
    );
  }
}

/** A 429 asking to wait past `pacing.max_retry_after`. */
export class ProviderRateLimitedError extends ProviderAskedToWaitError {
  readonly code = 'MDP_PROVIDER_RATE_LIMITED';

  constructor(
    provider: string,
    retryAfterMs: number,
    maxRetryAfterMs: number,
    options?: { cause?: unknown; header?: string },
  ) {
    super(
      provider,
      retryAfterMs,
      maxRetryAfterMs,
      'asked',
      options?.header ?? 'Retry-After',
      options,
    );
  }
}

/** A 5xx (maintenance, overload) or 408 asking to wait past `pacing.max_retry_after`. */
export class ProviderUnavailableError extends ProviderAskedToWaitError {
  readonly code = 'MDP_PROVIDER_UNAVAILABLE';

  constructor(
    provider: string,
    retryAfterMs: number,
    maxRetryAfterMs: number,
    options?: { cause?: unknown; header?: string; status?: number },
  ) {
    const status = options?.status === undefined ? '' : ` (${options.status})`;
    super(
      provider,
      retryAfterMs,
      maxRetryAfterMs,
      `is unavailable${status} and asked`,
      options?.header ?? 'Retry-After',
      options,
    );
  }
}

/** Storage could not be opened, read or written. `kind` is a bounded label for metrics. */
export class StoreError extends MdpError {
  readonly code: string;
  /**
   * True when the same write may succeed if tried again after a rollback: a lock held too long, a
   * lost connection, a serialization failure or deadlock. The storage retry policy reads it.
   */
  readonly transient: boolean;

  constructor(
    code: `MDP_STORE_${string}`,
    readonly storage: string,
    message: string,
    options?: { cause?: unknown; transient?: boolean },
  ) {
    super(`storage ${storage}: ${message}`, { cause: options?.cause });
    this.code = code;
    this.transient = options?.transient ?? false;
  }
}

/** Another run of the same job is active; names it so the user can find it. */
export class JobLockedError extends MdpError {
  readonly code = 'MDP_JOB_LOCKED';
}

/** The run that took a job over from a run judged abandoned. */
export interface SuccessorRun {
  readonly runId: number;
  readonly host: string;
  readonly pid: number;
}

/**
 * The run was judged abandoned (it missed three heartbeats, frozen or cut off) and another run
 * may hold its job now: none of its batches commits any more, and the run stops. Never retried.
 */
export class JobSupersededError extends MdpError {
  readonly code = 'MDP_JOB_SUPERSEDED';

  constructor(
    readonly runId: number,
    /** The first run of the job started after this one, if any has started. */
    readonly successor: SuccessorRun | undefined,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Why work was cancelled: a process signal (one-shot commands), the service shutting down or
 * reloading its config, an operator's request, or the run's lease lost to another process.
 * What each means to the process (an exit code) is decided by cli.
 */
export type CancelReason =
  | { readonly kind: 'signal'; readonly signal: 'SIGINT' | 'SIGTERM' }
  | { readonly kind: 'shutdown' }
  | { readonly kind: 'reload' }
  | { readonly kind: 'operator'; readonly by?: string }
  | { readonly kind: 'lease_lost' };

/** Work was stopped before it finished, for `reason`. */
export class CancelledError extends MdpError {
  readonly code = 'MDP_CANCELLED';

  constructor(
    message: string,
    readonly reason: CancelReason,
  ) {
    super(message);
  }

  /**
   * The signal that stopped the work, undefined for any other reason. Kept because it was public
   * (exported) before cancellations had reasons beyond signals, so callers that read it still work.
   *
   * @deprecated Read `reason` (`reason.kind === 'signal'` then `reason.signal`).
   */
  get signal(): 'SIGINT' | 'SIGTERM' | undefined {
    return this.reason.kind === 'signal' ? this.reason.signal : undefined;
  }
}

/** The stable code of an mdp error, for a log line's `code` field; undefined for any other. */
export function errorCode(error: unknown): string | undefined {
  return error instanceof MdpError ? error.code : undefined;
}

/** Coerces anything thrown into an Error, for `catch (e: unknown)` at a boundary. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown));
}

/** A provider call kept failing with transient errors until the retry budget ran out. */
export class RetriesExhaustedError extends MdpError {
  readonly code = 'MDP_PROVIDER_RETRIES_EXHAUSTED';

  constructor(
    readonly provider: string,
    readonly attempts: number,
    lastError: Error,
    /** Requests sent in all: the attempts, and the 429s that did not spend one. */
    readonly requests: number = attempts,
  ) {
    const rateLimited = requests - attempts;
    const tally =
      rateLimited > 0
        ? `${attempts} attempts (${requests} requests, ${rateLimited} of them answered 429)`
        : `${attempts} attempts`;
    super(`provider ${provider}: gave up after ${tally}; last error: ${lastError.message}`, {
      cause: lastError,
    });
  }
}

/**
 * Consecutive 429s held one request past its budget (twice its provider's
 * `pacing.max_retry_after`): the request fails rather than wait on a provider that never lets it
 * through. The provider's cooldown still holds its other requests.
 */
export class RateLimitBudgetError extends MdpError {
  readonly code = 'MDP_PROVIDER_RATE_LIMITED';

  constructor(
    readonly provider: string,
    /** Consecutive 429s to the request. */
    readonly rateLimited: number,
    /** From the first of them to the failure, in milliseconds. */
    readonly heldMs: number,
    readonly budgetMs: number,
    lastError: Error,
  ) {
    const key = `providers.${provider}.pacing.max_retry_after`;
    super(
      `provider ${provider} answered 429 (rate limited) to ${rateLimited} requests in a row over ` +
        `${describeDuration(heldMs)}, and the next pause would hold the request past ` +
        `${describeDuration(budgetMs)} (twice ${key}); failed the request. Lower the provider's ` +
        `pacing.requests_per_minute or check its plan's limits, then run again; last error: ` +
        lastError.message,
      { cause: lastError },
    );
  }
}

import {
  CancelledError,
  ConfigError,
  ConfigFileError,
  MdpError,
  UsageError,
  toError,
} from '../core/errors.js';
import { redactUri } from '../core/redact.js';
import { RunRequestError } from '../pipeline/runner/run-request-error.js';
import { cancelExitCode, ExitCode } from './exit-code.js';
import { runRequestMessage } from './run-request-message.js';

/** What the CLI prints and returns for an error that ended a command. */
export interface ErrorReport {
  readonly exitCode: ExitCode;
  readonly text: string;
}

/**
 * Maps an error to its exit code and a message for stderr: no stack trace unless `verbose`, and
 * secrets masked by `redact` (the config's redactor when the config was loaded).
 */
export function reportError(
  thrown: unknown,
  options: { verbose: boolean; redact?: (text: string) => string },
): ErrorReport {
  const error = toError(thrown);
  const redact = options.redact ?? redactUri;
  const usage =
    error instanceof ConfigError || error instanceof ConfigFileError || error instanceof UsageError;
  const exitCode = usage
    ? ExitCode.Usage
    : error instanceof CancelledError
      ? cancelExitCode(error.reason)
      : ExitCode.JobFailed;
  const label = error instanceof MdpError ? `error [${error.code}]` : 'error';
  // The runner words its refusals for any caller; the command line names its own flags.
  const message =
    error instanceof RunRequestError
      ? runRequestMessage(error.problem, error.message)
      : error.message;
  let text = `${label}: ${message}`;
  if (options.verbose) text += `\n${error.stack ?? ''}${causeChain(error)}`;
  else if (!(error instanceof MdpError)) text += '\n(run with --verbose for the stack trace)';
  return { exitCode, text: redact(text) };
}

function causeChain(error: Error): string {
  let out = '';
  let cause = error.cause;
  while (cause !== undefined) {
    const next = toError(cause);
    out += `\ncaused by: ${next.stack ?? next.message}`;
    cause = next.cause;
  }
  return out;
}

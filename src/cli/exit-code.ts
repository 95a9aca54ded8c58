import type { CancelReason } from '../core/errors.js';

/** Process exit codes of DESIGN.md's CLI contract. */
export const ExitCode = {
  Success: 0,
  JobFailed: 1,
  Usage: 2,
  Sigint: 130,
  Sigterm: 143,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * The exit code of a process whose work was cancelled: a signal's conventional 128 + number
 * (SIGTERM 143, SIGINT 130); a shutdown the process was asked for ends as SIGTERM does; being
 * cancelled by a reload, an operator or a lost lease is the job failing (1).
 */
export function cancelExitCode(reason: CancelReason): ExitCode {
  switch (reason.kind) {
    case 'signal':
      return reason.signal === 'SIGTERM' ? ExitCode.Sigterm : ExitCode.Sigint;
    case 'shutdown':
      return ExitCode.Sigterm;
    case 'reload':
    case 'operator':
    case 'lease_lost':
      return ExitCode.JobFailed;
  }
}

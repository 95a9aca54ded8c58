/** Process exit codes of DESIGN.md's CLI contract. */
export const ExitCode = {
  Success: 0,
  JobFailed: 1,
  Usage: 2,
  Sigint: 130,
  Sigterm: 143,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import type { MdpConfig } from '../core/config/load-config.js';
import { createCommandContext } from './command-context.js';
import { registerBackfillCommand } from './commands/backfill-command.js';
import { registerRunCommand } from './commands/run-command.js';
import { registerServeCommand } from './commands/serve-command.js';
import { registerStatusCommand } from './commands/status-command.js';
import { registerValidateCommand } from './commands/validate-command.js';
import { reportError } from './error-report.js';
import { ExitCode } from './exit-code.js';
import { releaseHangups } from './hangup-latch.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Builds the `mdp` program; commands are registered here and nowhere else. */
export function buildProgram(state: { config?: MdpConfig }): Command {
  const program = new Command('mdp')
    .description(
      'market-data pipeline: live and backfill jobs into SQLite or PostgreSQL, audited and paced',
    )
    .version(packageVersion(), '-V, --version', 'print the mdp version')
    .option('--verbose', 'print stack traces with errors and in log lines')
    .showHelpAfterError('(run mdp help COMMAND for its options)')
    .exitOverride();
  const context = createCommandContext(state, () =>
    Boolean(program.opts<{ verbose?: boolean }>().verbose),
  );
  registerValidateCommand(program, context);
  registerRunCommand(program, context);
  registerBackfillCommand(program, context);
  registerStatusCommand(program, context);
  registerServeCommand(program, context);
  for (const command of program.commands) command.exitOverride();
  // Only `mdp serve` reloads on SIGHUP; for the others it ends the process, as by default.
  program.hook('preAction', (_program, command) => {
    if (command.name() !== 'serve') releaseHangups();
  });
  return program;
}

/** Runs the CLI and returns the exit code; the only place that ends the process. */
export async function main(argv: readonly string[]): Promise<number> {
  const state: { config?: MdpConfig } = {};
  const program = buildProgram(state);
  try {
    await program.parseAsync(argv as string[]);
    return ExitCode.Success;
  } catch (thrown: unknown) {
    if (thrown instanceof CommanderError) {
      // Commander has already printed help, the version, or the usage error.
      return thrown.exitCode === 0 ? ExitCode.Success : ExitCode.Usage;
    }
    const verbose = Boolean(program.opts<{ verbose?: boolean }>().verbose);
    const report = reportError(thrown, {
      verbose,
      redact: state.config ? (text) => state.config!.redactor.redact(text) : undefined,
    });
    process.stderr.write(`${report.text}\n`);
    return report.exitCode;
  }
}

process.exitCode = await main(process.argv);

import type { Command } from 'commander';
import type { CommandContext } from '../command-context.js';
import { runJobCommand, type JobCommandOptions } from './job-command.js';

/** `mdp run`: one live cycle of a job (or `--follow`: one per bar close until interrupted). */
export function registerRunCommand(program: Command, context: CommandContext): void {
  program
    .command('run')
    .description(
      'run a live job: fetch the bars closed since the last stored bar, write them, exit',
    )
    .requiredOption('-j, --job <name>', 'job to run (a mode: live job of the config)')
    .option('-c, --config <file>', 'config file (default: $MDP_CONFIG, else ./mdp.yaml)')
    .option(
      '-p, --profile <name>',
      "profile to apply (default: $MDP_PROFILE, else the file's profile:)",
    )
    .option('--dry-run', 'print what would be fetched; write no bars')
    .option('--follow', 'keep running a cycle at every bar close until SIGINT/SIGTERM')
    .option(
      '--metrics-port <port>',
      'serve /metrics on this port while the job runs (overrides telemetry.metrics.port)',
    )
    .action((options: JobCommandOptions) => runJobCommand('live', options, context));
}

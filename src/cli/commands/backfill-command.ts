import type { Command } from 'commander';
import type { CommandContext } from '../command-context.js';
import { runJobCommand, type JobCommandOptions } from './job-command.js';

/** `mdp backfill`: a historical window in checkpointed chunks; a rerun resumes. */
export function registerBackfillCommand(program: Command, context: CommandContext): void {
  program
    .command('backfill')
    .description(
      'run a backfill job: fetch [start, end) in chunks, checkpoint each, resume on rerun',
    )
    .requiredOption('-j, --job <name>', 'job to run (a mode: backfill job of the config)')
    .option('-c, --config <file>', 'config file (default: $MDP_CONFIG, else ./mdp.yaml)')
    .option(
      '-p, --profile <name>',
      "profile to apply (default: $MDP_PROFILE, else the file's profile:)",
    )
    .option('--dry-run', 'print the plan (chunks, requests, bars, pacing time); write nothing')
    .option('--from <time>', 'window start, UTC (overrides backfill.start)')
    .option('--to <time>', 'window end, UTC, exclusive (overrides backfill.end)')
    .option('--force', 'refetch chunks that are already checkpointed')
    .option(
      '--metrics-port <port>',
      'serve /metrics on this port while the job runs (overrides telemetry.metrics.port)',
    )
    .action((options: JobCommandOptions) => runJobCommand('backfill', options, context));
}

import { hostname } from 'node:os';
import type { Command } from 'commander';
import { CancelledError, UsageError, errorCode, toError } from '../../core/errors.js';
import { JobService } from '../../service/job-service.js';
import type { CommandContext } from '../command-context.js';
import { cancelExitCode } from '../exit-code.js';
import { takeHangups } from '../hangup-latch.js';
import { withProcessScope } from '../process-scope.js';
import { portOption } from './job-command.js';

interface ServeOptions {
  readonly config?: string;
  readonly profile?: string;
  readonly metricsPort?: string;
}

/**
 * `mdp serve`: runs every scheduled job at its ticks and every followed job continuously, until
 * SIGTERM/SIGINT (exit 143/130 once the runs have committed their in-flight batch and recorded
 * themselves cancelled). SIGHUP re-reads the config: a valid one is applied, a broken one is
 * logged and the running config kept.
 */
export function registerServeCommand(program: Command, context: CommandContext): void {
  program
    .command('serve')
    .description(
      'run the scheduled (schedule:) and followed (follow: true) jobs of the config until SIGTERM; SIGHUP reloads the config',
    )
    .option('-c, --config <file>', 'config file (default: $MDP_CONFIG, else ./mdp.yaml)')
    .option(
      '-p, --profile <name>',
      "profile to apply (default: $MDP_PROFILE, else the file's profile:)",
    )
    .option(
      '--metrics-port <port>',
      'serve /metrics and /healthz on this port (overrides telemetry.metrics.port)',
    )
    .action((options: ServeOptions) => serve(options, context));
}

async function serve(options: ServeOptions, context: CommandContext): Promise<void> {
  // SIGHUP is taken first, before the config is read and the store opened (a second or two):
  // one that comes before the service exists is remembered and applied once it does.
  let reload: (() => void) | undefined;
  let reloadWaiting = false;
  const stopTakingHangups = takeHangups(() => {
    if (reload) reload();
    else reloadWaiting = true;
  });
  try {
    await serveWith(options, context, (apply) => {
      reload = apply;
      if (reloadWaiting) apply();
    });
  } finally {
    stopTakingHangups();
  }
}

/** Runs the service; `onReady` gets the reload that SIGHUP applies, once it can be applied. */
async function serveWith(
  options: ServeOptions,
  context: CommandContext,
  onReady: (reload: () => void) => void,
): Promise<void> {
  const metricsPort = portOption('--metrics-port', options.metricsPort);
  const config = context.loadConfig(options);
  const { scheduled, followed } = JobService.jobsOf(config);
  if (scheduled.length + followed.length === 0) {
    throw new UsageError(
      `no job of ${config.source.file} has a schedule: or follow: true, so mdp serve has nothing to run; give a job schedule: "30 18 * * 1-5" (a cron expression) or, for a live job, follow: true`,
    );
  }
  let stopped: unknown;
  await withProcessScope(config, context, { metricsPort }, async (scope) => {
    const { logger, runtime, store, telemetry } = scope;
    const service = new JobService(
      {
        runtime,
        store,
        telemetry,
        logger,
        claimant: `${hostname()}:${process.pid}:${new Date().toISOString()}`,
      },
      scope.signal,
    );
    const onHangup = (): void => {
      try {
        const next = context.loadConfig(options);
        const summary = service.reload(next);
        logger.info({ ...summary }, `config reloaded from ${next.source.file}`);
        if (summary.needRestart.length > 0) {
          logger.warn(
            { keys: summary.needRestart },
            `${summary.needRestart.join(' and ')} changed: the running service keeps the old setting until mdp serve is restarted`,
          );
        }
      } catch (thrown: unknown) {
        const error = toError(thrown);
        logger.error(
          { code: errorCode(error) },
          `config reload refused, the running config stays: ${error.message}`,
        );
      }
    };
    onReady(onHangup);
    try {
      await service.run();
    } finally {
      await telemetry.close();
    }
    const reason: unknown = scope.signal.reason;
    if (reason instanceof CancelledError) {
      logger.info({ exit_code: cancelExitCode(reason.reason) }, 'stopped');
      stopped = reason;
    }
  });
  // SIGTERM/SIGINT: the cancellation is the command's outcome (exit 143/130).
  if (stopped !== undefined) throw stopped;
}

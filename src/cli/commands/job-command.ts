import { instantProblem, parseInstant } from '../../core/config/config-schema.js';
import { UsageError } from '../../core/errors.js';
import type { RunMode } from '../../store/store.js';
import type { CommandContext } from '../command-context.js';
import { formatNotes, formatPlan, formatRunEnd } from '../run-report.js';
import { withProcessScope } from '../process-scope.js';
import { RunEvents } from '../runtime.js';
import { runJob } from '../../service/run-job.js';

/** Options shared by `mdp run` and `mdp backfill`. */
export interface JobCommandOptions {
  readonly config?: string;
  readonly profile?: string;
  readonly job: string;
  readonly dryRun?: boolean;
  readonly follow?: boolean;
  readonly from?: string;
  readonly to?: string;
  readonly force?: boolean;
  /** Overrides `telemetry.metrics.port`. */
  readonly metricsPort?: string;
}

function instantOption(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseInstant(text);
  if (ms === undefined) {
    throw new UsageError(`${flag} "${text}" ${instantProblem(text)}`);
  }
  return ms;
}

export function portOption(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port <= 65535)) {
    throw new UsageError(
      `${flag} "${text}" is not a port: write a number from 1 to 65535 (0 picks a free one)`,
    );
  }
  return port;
}

/** Runs one job as a tracked run and prints its plan and summary line; errors propagate. */
export async function runJobCommand(
  mode: RunMode,
  options: JobCommandOptions,
  context: CommandContext,
): Promise<void> {
  const from = instantOption('--from', options.from);
  const to = instantOption('--to', options.to);
  const metricsPort = portOption('--metrics-port', options.metricsPort);
  if (from !== undefined && to !== undefined && to <= from) {
    throw new UsageError(`--to (${options.to}) must be after --from (${options.from})`);
  }
  const config = context.loadConfig(options);
  const events = new RunEvents();
  // The summary line comes last, after the plan, whatever the outcome.
  let endLine: string | undefined;
  events.on('run:end', (end) => (endLine = formatRunEnd(end)));
  try {
    await withProcessScope(config, context, { metricsPort }, async (scope) => {
      const { runtime, store, telemetry } = scope;
      try {
        const summary = await runJob(
          { runtime, store, telemetry, events, serveOnStart: true },
          {
            jobName: options.job,
            mode,
            dryRun: options.dryRun,
            follow: options.follow,
            from,
            to,
            force: options.force,
          },
          scope.signal,
        );
        if (summary.plan && summary.dryRun) context.print(formatPlan(summary.plan));
        for (const note of formatNotes(summary)) context.print(note);
      } finally {
        // Served from the run's start; the final values are pushed under the job's name.
        await telemetry.close({ pushAs: options.job });
      }
    });
  } finally {
    if (endLine) context.print(endLine);
  }
}

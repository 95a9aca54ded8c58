import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { MdpConfig } from '../../core/config/load-config.js';
import { CronSchedule } from '../../core/cron-schedule.js';
import type { JobRun, JobSummary, Store } from '../../store/store.js';
import type { CommandContext } from '../command-context.js';
import {
  isoSeconds,
  statusJson,
  type JobServing,
  type JobStatus,
} from '../../store/status-json.js';
import { formatJobStatuses, formatServing } from '../job-status-view.js';
import { formatElapsed } from '../run-report.js';
import { createSpool, withStore } from '../runtime.js';
import { formatTable } from '../text-table.js';

interface StatusOptions {
  readonly config?: string;
  readonly profile?: string;
  readonly job?: string;
  readonly limit: number;
  readonly json?: boolean;
}

function positiveInt(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0)
    throw new InvalidArgumentError('expected a positive whole number');
  return value;
}

/**
 * `mdp status`: recent runs from `job_runs` (abandoned ones marked as such first), then where
 * each job stands: last run, last success, the active run, incomplete chunks, rejects, spool.
 */
export function registerStatusCommand(program: Command, context: CommandContext): void {
  program
    .command('status')
    .description(
      'show recent runs, and per job: last run and success, heartbeat, incomplete chunks, rejects',
    )
    .option('-c, --config <file>', 'config file (default: $MDP_CONFIG, else ./mdp.yaml)')
    .option(
      '-p, --profile <name>',
      "profile to apply (default: $MDP_PROFILE, else the file's profile:)",
    )
    .option('-j, --job <name>', 'only this job')
    .option('-n, --limit <n>', 'how many runs', positiveInt, 20)
    .option('--json', 'print { runs, jobs } as JSON')
    .action(async (options: StatusOptions) => {
      const config = context.loadConfig(options);
      const { runs, jobs, now } = await withStore(config, async (store) => {
        // Reaping first, so the listing and the summaries see abandoned runs as such.
        await store.reapAbandoned(options.job);
        const recent = await store.listRuns({ jobName: options.job, limit: options.limit });
        // Heartbeats are stamped by the store's clock (the database's on PostgreSQL): their age
        // is measured against it, so a host whose clock is off shows no live run as stale.
        const now = await store.runClock();
        const summaries: (JobSummary & { serving?: JobServing })[] = [];
        for (const name of jobNames(config, options.job, recent)) {
          const serving = await jobServing(config, store, name, now);
          summaries.push({ ...(await store.jobSummary(name)), ...(serving ? { serving } : {}) });
        }
        return { runs: recent, jobs: summaries, now };
      }).catch(async (error: unknown) => {
        // The primary is away: what this machine holds for it in the spool matters all the more.
        if (!options.json) {
          for (const line of await spoolLines(config, jobNames(config, options.job, []))) {
            context.print(line);
          }
        }
        throw error;
      });
      const statuses = await withSpoolDepths(config, jobs);
      if (options.json) {
        context.print(JSON.stringify(statusJson(runs, statuses, now), null, 2));
      } else if (runs.length === 0 && statuses.every((job) => job.spoolBars === 0)) {
        context.print(formatRunTable(runs, now));
      } else {
        context.print(`${formatRunTable(runs, now)}\n\n${formatJobStatuses(statuses, now)}`);
      }
      const serving = formatServing(statuses);
      if (!options.json && serving !== undefined) context.print(`\n${serving}`);
    });
}

/** The jobs to summarise: the one asked for, else the config's and any others with recent runs. */
function jobNames(config: MdpConfig, job: string | undefined, runs: readonly JobRun[]): string[] {
  if (job !== undefined) return [job];
  return [...new Set([...Object.keys(config.jobs), ...runs.map((run) => run.jobName)])];
}

/** How `mdp serve` runs the job by `config`: its schedule with next and last tick, or follow. */
async function jobServing(
  config: MdpConfig,
  store: Store,
  name: string,
  now: number,
): Promise<JobServing | undefined> {
  const job = config.jobs[name];
  if (job?.follow) return { kind: 'follow' };
  if (job?.schedule === undefined) return undefined;
  return {
    kind: 'schedule',
    expression: job.schedule,
    timeZone: job.timezone,
    nextTickAt: new CronSchedule(job.schedule, job.timezone).nextTick(now),
    lastTick: await store.ticks.lastTick(name),
  };
}

/** Adds each job's bars in the local spool; a spool never written reads as empty. */
async function withSpoolDepths(
  config: MdpConfig,
  jobs: readonly (JobSummary & { serving?: JobServing })[],
): Promise<JobStatus[]> {
  const spool = createSpool(config);
  try {
    const statuses: JobStatus[] = [];
    for (const job of jobs) {
      statuses.push({ ...job, spoolBars: (await spool?.depth(job.jobName)) ?? 0 });
    }
    return statuses;
  } finally {
    await spool?.close();
  }
}

/** `spooled for JOB: N bars in PATH` per job with bars in the spool. */
async function spoolLines(config: MdpConfig, jobs: readonly string[]): Promise<string[]> {
  const spool = createSpool(config);
  try {
    const lines: string[] = [];
    for (const job of jobs) {
      const bars = (await spool?.depth(job)) ?? 0;
      if (bars > 0) {
        lines.push(
          `spooled for ${job}: ${bars.toLocaleString('en-US')} bars in ${spool?.path ?? ''}, waiting for the primary`,
        );
      }
    }
    return lines;
  } catch {
    // The spool is a courtesy here; the primary's error is what the command reports.
    return [];
  } finally {
    await spool?.close();
  }
}

/** The runs as an aligned text table, newest first. */
export function formatRunTable(runs: readonly JobRun[], now: number): string {
  if (runs.length === 0) return 'no runs recorded yet';
  const header = [
    'RUN',
    'JOB',
    'MODE',
    'STATUS',
    'STARTED',
    'DURATION',
    'ROWS',
    'HEARTBEAT',
    'ERROR',
  ];
  const rows = runs.map((run) => [
    String(run.runId),
    run.jobName,
    run.dryRun ? `${run.mode} (dry)` : run.mode,
    run.status,
    isoSeconds(run.startedAt),
    formatElapsed((run.completedAt ?? now) - run.startedAt),
    run.rowsWritten.toLocaleString('en-US'),
    run.status === 'running' ? `${formatElapsed(Math.max(0, now - run.heartbeatAt))} ago` : '-',
    (run.error ?? '').replace(/\s+/g, ' ').slice(0, 80),
  ]);
  return formatTable([header, ...rows]);
}

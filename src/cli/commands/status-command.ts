import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { JobRun } from '../../store/store.js';
import type { CommandContext } from '../command-context.js';
import { formatElapsed } from '../run-report.js';
import { withStore } from '../runtime.js';

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

/** `mdp status`: recent runs from `job_runs`, abandoned ones marked as such first. */
export function registerStatusCommand(program: Command, context: CommandContext): void {
  program
    .command('status')
    .description('show recent runs: status, duration, rows, heartbeat age, error')
    .option('-c, --config <file>', 'config file (default: $MDP_CONFIG, else ./mdp.yaml)')
    .option(
      '-p, --profile <name>',
      "profile to apply (default: $MDP_PROFILE, else the file's profile:)",
    )
    .option('-j, --job <name>', 'only this job')
    .option('-n, --limit <n>', 'how many runs', positiveInt, 20)
    .option('--json', 'print the runs as JSON')
    .action(async (options: StatusOptions) => {
      const config = context.loadConfig(options);
      const runs = await withStore(config, (store) =>
        store.listRuns({ jobName: options.job, limit: options.limit }),
      );
      const now = Date.now();
      context.print(
        options.json ? JSON.stringify(runs.map(jsonView), null, 2) : formatRunTable(runs, now),
      );
    });
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function jsonView(run: JobRun): Record<string, unknown> {
  return {
    run_id: run.runId,
    job_name: run.jobName,
    mode: run.mode,
    profile: run.profile,
    dry_run: run.dryRun,
    status: run.status,
    started_at: iso(run.startedAt),
    heartbeat_at: iso(run.heartbeatAt),
    completed_at: run.completedAt === null ? null : iso(run.completedAt),
    rows_written: run.rowsWritten,
    batches: run.batches,
    error: run.error,
    host: run.host,
    pid: run.pid,
    config_hash: run.configHash,
    params: run.params,
  };
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
    iso(run.startedAt),
    formatElapsed((run.completedAt ?? now) - run.startedAt),
    run.rowsWritten.toLocaleString('en-US'),
    run.status === 'running' ? `${formatElapsed(Math.max(0, now - run.heartbeatAt))} ago` : '-',
    (run.error ?? '').replace(/\s+/g, ' ').slice(0, 80),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] as string).length)),
  );
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] as number))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

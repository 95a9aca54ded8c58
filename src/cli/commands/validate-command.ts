import type { Command } from 'commander';
import { DEFAULT_MAX_RETRY_AFTER_MS, type PacingConfig } from '../../core/config/config-schema.js';
import type { MdpConfig } from '../../core/config/load-config.js';
import { CronSchedule } from '../../core/cron-schedule.js';
import { formatDuration } from '../../core/duration.js';
import { MdpError, toError } from '../../core/errors.js';
import { MIN_COOLDOWN_MS } from '../../pipeline/policies/rate-limit-cooldown.js';
import type { PostgresProbe } from '../../store/postgres/postgres-probe.js';
import type { CommandContext } from '../command-context.js';
import { probeStorage } from '../runtime.js';

/** How long validate waits for a storage server: long enough for a LAN, short for a typo. */
const PROBE_TIMEOUT_MS = 3000;

/** `mdp validate`: loads the config, prints what it resolves to, or every problem in it. */
export function registerValidateCommand(program: Command, context: CommandContext): void {
  program
    .command('validate')
    .description('check a config file and print what it resolves to')
    .option('-c, --config <file>', 'config file (default: $MDP_CONFIG, else ./mdp.yaml)')
    .option(
      '-p, --profile <name>',
      "profile to apply (default: $MDP_PROFILE, else the file's profile:)",
    )
    .option('--json', 'print the resolved config as JSON (secrets masked)')
    .option('--no-connect', 'do not try to reach a PostgreSQL storage server')
    .action(
      async (options: { config?: string; profile?: string; json?: boolean; connect: boolean }) => {
        const config = context.loadConfig(options);
        if (options.json) {
          context.print(JSON.stringify(resolvedView(config), null, 2));
          return;
        }
        const reachability = options.connect ? await storageReachability(config) : undefined;
        context.print(describeConfig(config, reachability));
      },
    );
}

/**
 * One line on whether the storage server answers and how `bars_ohlcv` is (or will be) stored; an
 * unreachable server is a warning, not an invalid config. Undefined for SQLite.
 */
async function storageReachability(config: MdpConfig): Promise<string | undefined> {
  let probe: PostgresProbe | undefined;
  try {
    probe = await probeStorage(config, PROBE_TIMEOUT_MS);
  } catch (thrown: unknown) {
    const error = toError(thrown);
    const code = error instanceof MdpError ? ` [${error.code}]` : '';
    return `  primary unreachable (warning; the config itself is valid): ${error.message}${code}`;
  }
  if (probe === undefined) return undefined;
  return `  primary reachable: PostgreSQL ${probe.serverVersion}; ${describeLayout(config, probe)}`;
}

/** How `bars_ohlcv` is stored, in the terms of the configured type. */
function describeLayout(config: MdpConfig, probe: PostgresProbe): string {
  const table = probe.barsTable === 'missing' ? 'bars_ohlcv will be' : 'bars_ohlcv is';
  if (config.storage.primary.type !== 'timescaledb') {
    return probe.barsTable === 'missing'
      ? 'bars_ohlcv will be created on first use'
      : 'bars_ohlcv is a plain table';
  }
  if (probe.barsTable === 'hypertable') {
    return `timescaledb ${probe.timescaleInstalled ?? ''}: bars_ohlcv is a hypertable`;
  }
  if (probe.timescaleInstalled !== undefined) {
    return probe.barsTable === 'missing'
      ? `timescaledb ${probe.timescaleInstalled}: bars_ohlcv will be a hypertable`
      : `timescaledb ${probe.timescaleInstalled}, but bars_ohlcv is a plain table holding ` +
          'rows (mdp run says how to convert it)';
  }
  if (probe.timescaleAvailable !== undefined) {
    return (
      `timescaledb ${probe.timescaleAvailable} available but not enabled in this database: ` +
      `${table} a hypertable if mdp may CREATE EXTENSION timescaledb, else a plain table`
    );
  }
  return `timescaledb not installed: ${table} a plain table`;
}

/** The resolved config with secrets masked, for `--json`. */
function resolvedView(config: MdpConfig): unknown {
  const { redactor, ...rest } = config;
  return redactor.redactValue(rest);
}

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/** A short human summary of the resolved config, with the storage check if any; secrets masked. */
export function describeConfig(config: MdpConfig, reachability?: string, now = Date.now()): string {
  const { source } = config;
  const profile =
    source.profile === undefined
      ? 'no profile'
      : `profile ${source.profile} (from ${source.profileFrom}${source.profileHasOverrides ? '' : ', no overrides'})`;
  const lines: string[] = [`config ok: ${source.file}, ${profile}`];

  const providers = Object.entries(config.providers);
  lines.push('', `providers (${providers.length}):`);
  for (const [name, provider] of providers) {
    const pacing = provider.pacing ? describePacing(provider.pacing) : 'no pacing';
    const batching =
      provider.type === 'alpaca' && provider.symbols_per_request > 1
        ? `  up to ${provider.symbols_per_request} symbols a request`
        : '';
    lines.push(
      `  ${name}  ${provider.type}  ${provider.enabled ? 'enabled' : 'disabled'}  ${pacing}${batching}`,
    );
  }

  const storage = config.storage.primary;
  const postgres = storage.type === 'sqlite' ? '' : `  schema ${storage.schema}`;
  const chunks =
    storage.type === 'timescaledb'
      ? `  chunk ${formatDuration(storage.timescale.chunk_interval)}`
      : '';
  const timeouts =
    storage.type === 'sqlite'
      ? ''
      : `  statement timeout ${formatTimeout(storage.statement_timeout)}` +
        `  lock timeout ${formatTimeout(storage.lock_timeout)}` +
        `  idle in transaction timeout ${formatTimeout(storage.idle_in_transaction_timeout)}`;
  lines.push(
    '',
    'storage:',
    `  primary  ${storage.type}  ${storage.uri}  batch ${storage.write.batch_size}  upsert keys [${storage.write.upsert_keys.join(', ')}]${postgres}${chunks}${timeouts}${storage.max_size === undefined ? '' : `  max size ${storage.max_size.toLocaleString('en-US')} bytes`}`,
  );
  if (reachability !== undefined) lines.push(reachability);
  const spool = config.storage.spool;
  lines.push(
    spool.enabled
      ? `  spool  ${spool.path ?? ''}  max ${spool.max_bars.toLocaleString('en-US')} bars (run --follow keeps batches here while the primary is down)`
      : '  spool  disabled',
  );

  const datasets = Object.entries(config.datasets);
  lines.push('', `datasets (${datasets.length}):`);
  for (const [name, dataset] of datasets) {
    lines.push(
      `  ${name}  ${dataset.provider}  ${dataset.interval}  ${dataset.symbols.length} symbols: ${dataset.symbols.join(', ')}`,
    );
  }

  const jobs = Object.entries(config.jobs);
  lines.push('', `jobs (${jobs.length}):`);
  for (const [name, job] of jobs) {
    const window =
      job.mode === 'live'
        ? `lookback ${formatDuration(job.live.lookback)}`
        : job.backfill
          ? `${iso(job.backfill.start)} → ${job.backfill.end === undefined ? 'now' : iso(job.backfill.end)}`
          : '';
    lines.push(
      `  ${name}  ${job.mode}  ${job.dataset}  ${window}  concurrency ${job.execution.concurrency}`,
    );
    const service = describeJobService(job, now);
    if (service !== undefined) lines.push(`    ${service}`);
  }

  const { features, telemetry } = config;
  lines.push(
    '',
    `features: write_enabled=${features.write_enabled} export_enabled=${features.export_enabled}`,
    `telemetry: log_level ${telemetry.log_level}, metrics ${telemetry.metrics.enabled ? `on ${telemetry.metrics.host}:${telemetry.metrics.port}` : 'off'}`,
  );
  return config.redactor.redact(lines.join('\n'));
}

/** How many upcoming ticks validate lists per scheduled job. */
const NEXT_TICKS_SHOWN = 2;

/** What `mdp serve` does with a job: its schedule and next ticks, or that it follows it. */
function describeJobService(job: MdpConfig['jobs'][string], now: number): string | undefined {
  if (job.follow) return 'follow: mdp serve runs it continuously';
  if (job.schedule === undefined) return undefined;
  const ticks = new CronSchedule(job.schedule, job.timezone).nextTicks(NEXT_TICKS_SHOWN, now);
  const catchup =
    job.catchup === 'all' ? `catchup all (up to ${job.catchup_limit})` : `catchup ${job.catchup}`;
  return `schedule "${job.schedule}" ${job.timezone}  next ${ticks.map(iso).join(', ')}  ${catchup}  overlap ${job.overlap}`;
}

/**
 * `pacing 5/min burst 1 cooldown 60s scope store`, naming max_retry_after only when it is not the
 * default. The scope always: it decides whether processes on one store together keep to the rate.
 */
function describePacing(pacing: PacingConfig): string {
  const rate =
    pacing.requests_per_minute === undefined
      ? 'pacing no rate'
      : `pacing ${pacing.requests_per_minute}/min burst ${pacing.burst}`;
  const maxWait =
    pacing.max_retry_after === DEFAULT_MAX_RETRY_AFTER_MS
      ? ''
      : ` max_retry_after ${formatDuration(pacing.max_retry_after)}`;
  // What the run pauses, not a 0 it never waits: see MIN_COOLDOWN_MS.
  const cooldown =
    pacing.cooldown_seconds * 1000 < MIN_COOLDOWN_MS
      ? `${MIN_COOLDOWN_MS / 1000}s (cooldown_seconds ${pacing.cooldown_seconds} raised to the floor)`
      : `${pacing.cooldown_seconds}s`;
  return `${rate} cooldown ${cooldown}${maxWait} scope ${pacing.scope}`;
}

/** A PostgreSQL timeout as configured: 0 is PostgreSQL's "no limit". */
function formatTimeout(ms: number): string {
  return ms === 0 ? 'none' : formatDuration(ms);
}

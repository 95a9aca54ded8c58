import type { Command } from 'commander';
import type { MdpConfig } from '../../core/config/load-config.js';
import { formatDuration } from '../../core/duration.js';
import type { CommandContext } from '../command-context.js';

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
    .action((options: { config?: string; profile?: string; json?: boolean }) => {
      const config = context.loadConfig(options);
      context.print(
        options.json ? JSON.stringify(resolvedView(config), null, 2) : describeConfig(config),
      );
    });
}

/** The resolved config with secrets masked, for `--json`. */
function resolvedView(config: MdpConfig): unknown {
  const { redactor, ...rest } = config;
  return redactor.redactValue(rest);
}

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/** A short human summary of the resolved config; secrets masked. */
export function describeConfig(config: MdpConfig): string {
  const { source } = config;
  const profile =
    source.profile === undefined
      ? 'no profile'
      : `profile ${source.profile} (from ${source.profileFrom}${source.profileHasOverrides ? '' : ', no overrides'})`;
  const lines: string[] = [`config ok: ${source.file}, ${profile}`];

  const providers = Object.entries(config.providers);
  lines.push('', `providers (${providers.length}):`);
  for (const [name, provider] of providers) {
    const pacing = provider.pacing
      ? `pacing ${provider.pacing.requests_per_minute}/min burst ${provider.pacing.burst} cooldown ${provider.pacing.cooldown_seconds}s`
      : 'no pacing';
    lines.push(
      `  ${name}  ${provider.type}  ${provider.enabled ? 'enabled' : 'disabled'}  ${pacing}`,
    );
  }

  const storage = config.storage.primary;
  lines.push(
    '',
    'storage:',
    `  primary  ${storage.type}  ${storage.uri}  batch ${storage.write.batch_size}  upsert keys [${storage.write.upsert_keys.join(', ')}]`,
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
  }

  const { features, telemetry } = config;
  lines.push(
    '',
    `features: write_enabled=${features.write_enabled} export_enabled=${features.export_enabled}`,
    `telemetry: log_level ${telemetry.log_level}, metrics ${telemetry.metrics.enabled ? `on ${telemetry.metrics.host}:${telemetry.metrics.port}` : 'off'}`,
  );
  return config.redactor.redact(lines.join('\n'));
}

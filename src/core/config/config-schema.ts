import { z } from 'zod';
import { parseDuration } from '../duration.js';
import { INTERVALS } from '../interval.js';
import { BAR_COLUMNS } from '../bar.js';

/*
 * The config schema: the single source of both the types and the rules. Input types describe what
 * a user writes; output types (after defaults and transforms) are what the program uses.
 */

/** `${VAR}` interpolation yields strings, so numbers and booleans also accept their text form. */
function numeric<T extends z.ZodType>(schema: T) {
  return z.preprocess(
    (value) =>
      typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value,
    schema,
  );
}

function boolean() {
  return z.preprocess(
    (value) => (value === 'true' ? true : value === 'false' ? false : value),
    z.boolean(),
  );
}

const positiveNumber = numeric(z.number().positive());
const positiveInt = numeric(z.number().int().positive());

/** A duration such as `90s`, `15m`, `2h`, `7d`, resolved to milliseconds. */
const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is not a duration: write a positive number and a unit, like 90s, 15m, 2h or 7d`,
    });
    return z.NEVER;
  }
  return ms;
});

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/;

/** A UTC instant written as `2024-01-01` or `2024-01-01T00:00:00Z`, resolved to epoch ms. */
export function parseInstant(text: string): number | undefined {
  if (!ISO_INSTANT.test(text)) return undefined;
  const ms = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
  return Number.isNaN(ms) ? undefined : ms;
}

const instant = z.string().transform((text, ctx) => {
  const ms = parseInstant(text);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is not a UTC time: write 2024-01-31 or 2024-01-31T00:00:00Z (an offset like +02:00 also works)`,
    });
    return z.NEVER;
  }
  return ms;
});

export const pacingSchema = z.strictObject({
  requests_per_minute: positiveNumber,
  burst: positiveInt.default(1),
  cooldown_seconds: numeric(z.number().nonnegative()).default(60),
});

export const retrySchema = z.strictObject({
  max_attempts: positiveInt.default(3),
  backoff_seconds: numeric(z.number().nonnegative()).default(5),
  max_backoff_seconds: positiveNumber.default(300),
  jitter: z.enum(['full', 'none']).default('full'),
});

const providerCommon = {
  enabled: boolean().default(true),
  pacing: pacingSchema.optional(),
  retry: retrySchema.optional(),
  request_timeout: duration.prefault('30s'),
};

export const syntheticProviderSchema = z.strictObject({
  type: z.literal('synthetic'),
  ...providerCommon,
  seed: numeric(z.number().int()).default(0),
  max_bars_per_request: positiveInt.default(50_000),
  simulate: z
    .strictObject({
      latency_ms: numeric(z.number().nonnegative()).default(0),
      failure_rate: numeric(z.number().min(0).max(1)).default(0),
      server_limit: z
        .strictObject({
          requests_per_minute: positiveNumber,
          burst: positiveInt.default(1),
          retry_after_seconds: numeric(z.number().nonnegative()).optional(),
        })
        .optional(),
    })
    .optional(),
});

export const PROVIDER_TYPES = ['synthetic'] as const;

export const providerSchema = z.discriminatedUnion('type', [syntheticProviderSchema]);

export const STORAGE_TYPES = ['sqlite', 'postgres', 'timescaledb'] as const;

/** PostgreSQL folds unquoted names to lower case; allowing only these keeps psql and mdp agreeing. */
const POSTGRES_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export const storageSchema = z.strictObject({
  type: z.enum(STORAGE_TYPES),
  uri: z.string().min(1),
  /** postgres/timescaledb: the schema holding mdp's tables, created on first use. */
  schema: z
    .string()
    .regex(
      POSTGRES_IDENTIFIER,
      'a schema name is 1 to 63 lower-case letters, digits and _, not starting with a digit, e.g. marketdata',
    )
    .default('public'),
  /** timescaledb: how `bars_ohlcv` is partitioned when it becomes a hypertable. */
  timescale: z
    .strictObject({
      chunk_interval: duration.prefault('7d'),
    })
    .prefault({}),
  write: z
    .strictObject({
      batch_size: positiveInt.default(1000),
      upsert_keys: z
        .array(z.enum(BAR_COLUMNS))
        .min(1)
        .default(['provider', 'symbol', 'interval', 'ts']),
      /** Retries of a batch whose write failed transiently (lock, lost connection, deadlock). */
      retry: retrySchema.prefault({ max_attempts: 5, backoff_seconds: 1, max_backoff_seconds: 30 }),
    })
    .prefault({}),
});

export const datasetSchema = z.strictObject({
  provider: z.string().min(1),
  symbols: z.array(z.string().trim().min(1)).min(1),
  interval: z.enum(INTERVALS),
});

export const jobSchema = z.strictObject({
  dataset: z.string().min(1),
  mode: z.enum(['live', 'backfill']),
  description: z.string().optional(),
  live: z
    .strictObject({
      lookback: duration.prefault('2h'),
      /** A live cycle never reaches further back than this; older gaps are backfill's job. */
      max_catchup: duration.prefault('1d'),
    })
    .prefault({}),
  backfill: z
    .strictObject({
      start: instant,
      end: instant.optional(),
      chunk: duration.optional(),
    })
    .optional(),
  execution: z
    .strictObject({
      concurrency: positiveInt.default(1),
      retry: retrySchema.prefault({}),
    })
    .prefault({}),
});

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/**
 * An http(s) URL; empty means unset, so `${PUSHGATEWAY_URL:-}` can leave it out. The value is never
 * echoed in the message, as it may carry a password.
 */
const pushgatewayUrl = z
  .string()
  .refine(
    (text) => {
      if (text === '') return true;
      try {
        return ['http:', 'https:'].includes(new URL(text).protocol);
      } catch {
        return false;
      }
    },
    { message: 'must be an http:// or https:// URL, e.g. http://127.0.0.1:9091' },
  )
  .transform((text) => text || undefined);

export const telemetrySchema = z
  .strictObject({
    log_level: z
      .string()
      .transform((level) => (level.toLowerCase() === 'warning' ? 'warn' : level.toLowerCase()))
      .pipe(z.enum(LOG_LEVELS))
      .default('info'),
    metrics: z
      .strictObject({
        enabled: boolean().default(true),
        host: z.string().min(1).default('127.0.0.1'),
        port: numeric(z.number().int().min(0).max(65535)).default(9090),
        /** A Prometheus Pushgateway that receives each run's final metrics (for short runs). */
        pushgateway_url: pushgatewayUrl.optional(),
      })
      .prefault({}),
  })
  .prefault({});

export const featuresSchema = z
  .strictObject({
    write_enabled: boolean().default(true),
    export_enabled: boolean().default(false),
  })
  .prefault({});

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const name = z
  .string()
  .regex(NAME, 'names start with a letter or _ and hold only letters, digits, _ . -');

/** The whole file after the selected profile is merged in (the `profiles` section is gone by then). */
export const configSchema = z.strictObject({
  version: z.literal(2),
  profile: z.string().optional(),
  providers: z.record(name, providerSchema),
  storage: z.strictObject({ primary: storageSchema }),
  datasets: z.record(name, datasetSchema),
  jobs: z.record(name, jobSchema),
  features: featuresSchema,
  telemetry: telemetrySchema,
});

/** What a user writes (after interpolation and profile merge). */
export type ConfigInput = z.input<typeof configSchema>;
/** The validated config with defaults applied and durations/instants in milliseconds. */
export type ConfigData = z.output<typeof configSchema>;
export type ProviderConfig = ConfigData['providers'][string];
export type SyntheticProviderConfig = z.output<typeof syntheticProviderSchema>;
export type StorageConfig = ConfigData['storage']['primary'];
export type DatasetConfig = ConfigData['datasets'][string];
export type JobConfig = ConfigData['jobs'][string];
export type RetryConfig = z.output<typeof retrySchema>;
export type PacingConfig = z.output<typeof pacingSchema>;

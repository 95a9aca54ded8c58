import { z } from 'zod';
import { describeDuration, parseDuration } from '../duration.js';
import { INTERVALS } from '../interval.js';
import { BAR_COLUMNS } from '../bar.js';
import { cronProblem } from '../cron-schedule.js';

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

/**
 * A duration such as `90s`, `15m`, `2h`, `7d` of at least `minMs` (any positive one without),
 * resolved to milliseconds.
 */
function durationOf(minMs?: { ms: number; text: string; why: string }) {
  return z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    // Hundreds of digits parse to Infinity: no wait or window is meant to be endless.
    if (ms === undefined || ms <= 0 || !Number.isFinite(ms)) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" is not a duration: write a positive number and a unit, like 90s, 15m, 2h or 7d`,
      });
      return z.NEVER;
    }
    if (minMs !== undefined && ms < minMs.ms) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" is shorter than ${minMs.text}: ${minMs.why}`,
      });
      return z.NEVER;
    }
    return ms;
  });
}

const duration = durationOf();

/** Bounds of `execution.heartbeat_interval`. */
export const HEARTBEAT_INTERVAL_MS = { min: 1_000, max: 10 * 60_000 } as const;

/**
 * How often a run records its heartbeat. Bounded: below a second the heartbeats are load on
 * job_runs for nothing; above ten minutes a dead run holds its job for half an hour (three missed
 * heartbeats), and an interval past Node's timer limit (about 24.8 days) would beat every
 * millisecond.
 */
const heartbeatInterval = duration.superRefine((ms, ctx) => {
  const { min, max } = HEARTBEAT_INTERVAL_MS;
  if (ms >= min && ms <= max) return;
  ctx.addIssue({
    code: 'custom',
    message:
      `${describeDuration(ms)} is out of range: a heartbeat interval is between ` +
      `${describeDuration(min)} and ${describeDuration(max)} (a run counts as abandoned after ` +
      `three missed heartbeats), e.g. 5s`,
  });
});

/**
 * A duration that may be zero, resolved to milliseconds: `0s` (or a bare 0) where a provider has
 * no delay at all.
 */
const delay = z.preprocess(
  (value) => (value === 0 || value === '0' ? '0s' : value),
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" is not a duration: write a number and a unit, like 0s, 90s or 15m`,
      });
      return z.NEVER;
    }
    return ms;
  }),
);

/** The largest timeout PostgreSQL takes (its settings are int4 milliseconds): about 24.8 days. */
export const POSTGRES_MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * A PostgreSQL timeout setting, resolved to milliseconds: whole milliseconds up to
 * POSTGRES_MAX_TIMEOUT_MS, where `0s` (or a bare 0) is PostgreSQL's own "no limit". Checked here
 * because the server refuses anything else only at connect, in a message naming no config key.
 */
const postgresTimeout = delay.superRefine((ms, ctx) => {
  if (!Number.isInteger(ms)) {
    ctx.addIssue({
      code: 'custom',
      message: `${ms}ms is not a whole number of milliseconds; PostgreSQL would round it (below 1ms to "no limit"): write at least 1ms, or 0s for no limit`,
    });
  } else if (ms > POSTGRES_MAX_TIMEOUT_MS) {
    ctx.addIssue({
      code: 'custom',
      message: `${describeDuration(ms)} is more than PostgreSQL takes (${describeDuration(POSTGRES_MAX_TIMEOUT_MS)}, 2147483647ms): write less, or 0s for no limit`,
    });
  }
});

const BYTE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
};

/** A size such as `512MB` or `2GB` (units of 1024), resolved to bytes. */
const byteSize = z.string().transform((text, ctx) => {
  const match = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)$/i.exec(text.trim());
  const bytes = match
    ? Number(match[1]) * (BYTE_UNITS[(match[2] as string).toUpperCase()] ?? 0)
    : 0;
  if (!(bytes >= 1)) {
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is not a size: write a number and a unit, like 512MB or 2GB`,
    });
    return z.NEVER;
  }
  return Math.floor(bytes);
});

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/;

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/**
 * Why the `YYYY-MM-DD` a time starts with names no calendar day (`February 2024 has 29 days`), or
 * undefined when it names one. Date.parse rolls such a day over into the next month
 * (2024-02-30 becomes 1 March) instead of refusing it.
 */
export function missingDate(text: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!match) return undefined;
  const [year, month, day] = match.slice(1).map(Number) as [number, number, number];
  if (month < 1 || month > 12) return `there is no month ${month}`;
  // Day 0 of the next month is this month's last; setUTCFullYear, unlike Date.UTC, does not
  // take years 0 to 99 for 1900 to 1999 (year 0 is a leap year, 1900 is not).
  const last = new Date(0);
  last.setUTCFullYear(year, month, 0);
  const days = last.getUTCDate();
  if (day < 1 || day > days) return `${MONTHS[month - 1]} ${match[1]} has ${days} days`;
  return undefined;
}

/**
 * Why the clock of an ISO_INSTANT (hour, minute, second, UTC offset) names no time of day
 * (`there is no hour 25 …`), or undefined when it names one; 24:00 is the end of a day, as
 * Date.parse reads it.
 */
function missingTime(text: string): string | undefined {
  const match = /T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-](\d{2}):?(\d{2}))$/.exec(text);
  if (!match) return undefined;
  const [hours, minutes, seconds] = [match[1], match[2], match[3] ?? '00'].map(Number) as [
    number,
    number,
    number,
  ];
  if (hours === 24 && (minutes > 0 || seconds > 0 || /[1-9]/.test(match[4] ?? ''))) {
    return `there is no 24:${match[2]} (hours run from 00 to 23; 24:00 ends a day)`;
  }
  if (hours > 24) return `there is no hour ${hours} (hours run from 00 to 23)`;
  if (minutes > 59) return `there is no minute ${minutes} (minutes run from 00 to 59)`;
  if (seconds > 59) return `there is no second ${seconds} (seconds run from 00 to 59)`;
  if (match[6] !== undefined && (Number(match[6]) > 23 || Number(match[7]) > 59)) {
    return `there is no UTC offset ${match[5]} (offsets run up to ±23:59)`;
  }
  return undefined;
}

/** A UTC instant written as `2024-01-01` or `2024-01-01T00:00:00Z`, resolved to epoch ms. */
export function parseInstant(text: string): number | undefined {
  if (!ISO_INSTANT.test(text) || instantMissing(text) !== undefined) return undefined;
  const ms = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Why an ISO_INSTANT names no real moment, as `is not a date: …` or `is not a time: …`. */
function instantMissing(text: string): string | undefined {
  const date = missingDate(text);
  if (date !== undefined) return `is not a date: ${date}`;
  const time = missingTime(text);
  return time === undefined ? undefined : `is not a time: ${time}`;
}

/** Why `text` is not an instant parseInstant reads, in words for a message after the value. */
export function instantProblem(text: string): string {
  return (
    (ISO_INSTANT.test(text) ? instantMissing(text) : undefined) ??
    'is not a UTC time: write 2024-01-31 or 2024-01-31T00:00:00Z (an offset like +02:00 also works)'
  );
}

const instant = z.string().transform((text, ctx) => {
  const ms = parseInstant(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${text}" ${instantProblem(text)}` });
    return z.NEVER;
  }
  return ms;
});

/** Longest Retry-After a provider may ask for when its `pacing:` does not say (15m). */
export const DEFAULT_MAX_RETRY_AFTER_MS = 15 * 60_000;

/**
 * The smallest `max_retry_after`: below a second, the cap on the doubled cooldown would have the
 * next request follow a 429 at once (the cooldown never pauses less than a second anyway).
 */
export const MIN_MAX_RETRY_AFTER_MS = 1_000;

const maxRetryAfter = durationOf({
  ms: MIN_MAX_RETRY_AFTER_MS,
  text: '1s',
  why: 'write 1s or more (mdp never pauses less than a second after a 429)',
});

export const pacingSchema = z.strictObject({
  /** Without it the provider has no token bucket; the 429 settings below still apply. */
  requests_per_minute: positiveNumber.optional(),
  burst: positiveInt.default(1),
  /** Below a second (e.g. 0) the first pause is still a second: see MIN_COOLDOWN_MS. */
  cooldown_seconds: numeric(z.number().nonnegative()).default(60),
  /** Longest Retry-After mdp waits; a server asking for longer fails the request. */
  max_retry_after: maxRetryAfter.default(DEFAULT_MAX_RETRY_AFTER_MS),
  /**
   * Whose budget the rate and a 429's pause are: `store` shares them with every process on the
   * same store (the provider's limit holds across processes), `process` keeps them in-process.
   */
  scope: z.enum(['store', 'process']).default('store'),
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
  /**
   * How long after a bar closes the provider publishes it. A backfill window ending within it is
   * checkpointed provisional (fetched again by the next run); a live cycle asks only for bars
   * older than it. Each provider type sets its own default.
   */
  publication_delay: delay.prefault('0s'),
};

/** Polygon's free plan, like its stock plans below real time, serves aggregates 15 minutes late. */
const POLYGON_DELAYED_PLAN = '15m';

/**
 * Alpaca's free plan may not ask for SIP bars of the last 15 minutes; its IEX feed is real time.
 */
const ALPACA_RECENT_SIP_MS = 15 * 60_000;

/** Kinds of bad bar the synthetic provider can be told to send (`simulate.bad_bars.kinds`). */
export const SIMULATED_BAD_BARS = [
  'nan',
  'infinity',
  'high_below_low',
  'negative_volume',
  'unaligned_ts',
  'duplicate_ts',
  'wrong_symbol',
] as const;

const rate = numeric(z.number().min(0).max(1));

export const syntheticProviderSchema = z.strictObject({
  type: z.literal('synthetic'),
  ...providerCommon,
  seed: numeric(z.number().int()).default(0),
  max_bars_per_request: positiveInt.default(50_000),
  simulate: z
    .strictObject({
      latency_ms: numeric(z.number().nonnegative()).default(0),
      failure_rate: rate.default(0),
      server_limit: z
        .strictObject({
          requests_per_minute: positiveNumber,
          burst: positiveInt.default(1),
          retry_after_seconds: numeric(z.number().nonnegative()).optional(),
        })
        .optional(),
      /** Share of requests that never answer (until the request timeout aborts them). */
      hang_rate: rate.default(0),
      /** Share of pages answered with no bars at all. */
      empty_pages: rate.default(0),
      /** Share of pages that stop half way through their window. */
      short_pages: rate.default(0),
      /** Share of bars sent bad, and how (a pure function of the seed, symbol and ts). */
      bad_bars: z
        .strictObject({
          rate,
          kinds: z
            .array(z.enum(SIMULATED_BAD_BARS))
            .min(1)
            .default([...SIMULATED_BAD_BARS]),
        })
        .optional(),
    })
    .superRefine((simulate, ctx) => {
      if (simulate.hang_rate + simulate.empty_pages + simulate.short_pages > 1) {
        ctx.addIssue({
          code: 'custom',
          message:
            'hang_rate, empty_pages and short_pages are shares of the same requests: together at most 1',
        });
      }
    })
    .optional(),
});

/** An http(s) URL without a trailing slash, so paths can be appended to it. */
const baseUrl = (fallback: string) =>
  z
    .string()
    .refine(
      (text) => {
        try {
          return ['http:', 'https:'].includes(new URL(text).protocol);
        } catch {
          return false;
        }
      },
      { message: `must be an http:// or https:// URL, e.g. ${fallback}` },
    )
    .transform((text) => text.replace(/\/+$/, ''))
    .default(fallback);

/** A secret such as an API key; `${VAR}` is the way to write it, so the file holds no secret. */
const credential = z.string().min(1, 'must not be empty: write it as ${ENV_VAR}, not in the file');

/** A CSV column: its header name, or its 0-based position (the only way without a header). */
const csvColumn = z.union([numeric(z.number().int().nonnegative()), z.string().min(1)]);

/** An IANA time zone the runtime's Intl knows, e.g. America/New_York. */
const timeZone = z.string().refine(
  (zone) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  },
  {
    message:
      'is not a time zone this Node.js knows: use an IANA name such as America/New_York or UTC',
  },
);

/** A regular expression over file names with a named group `symbol`. */
const symbolPattern = z.string().refine(
  (source) => {
    try {
      return new RegExp(source).source.includes('(?<symbol>');
    } catch {
      return false;
    }
  },
  {
    message:
      'must be a regular expression with a named group symbol, e.g. ^(?<symbol>[A-Z.]+)_1m\\.csv$',
  },
);

export const CSV_TIMESTAMP_FORMATS = [
  'iso',
  'epoch_s',
  'epoch_ms',
  'epoch_us',
  'epoch_ns',
] as const;

export const csvProviderSchema = z
  .strictObject({
    type: z.literal('csv'),
    ...providerCommon,
    // A scan of a large gzip file takes longer than an HTTP request.
    request_timeout: duration.prefault('10m'),
    /** A directory (its *.csv and *.csv.gz files) or a glob in the file name: data/*_1m.csv.gz. */
    path: z
      .string()
      .min(1)
      .refine((path) => !/[*?]/.test(path.replace(/[^/\\]*$/, '')), {
        message:
          'wildcards (* ?) work in the file name only, e.g. data/bars/*_1m.csv.gz; name the directory itself',
      }),
    header: boolean().default(true),
    delimiter: z.string().length(1, 'must be one character, e.g. "," or ";"').default(','),
    compression: z.enum(['auto', 'gzip', 'none']).default('auto'),
    /** The column holding the symbol; without it, each file holds one symbol named by its file. */
    symbol_column: csvColumn.optional(),
    /** How a file name gives its symbol (without symbol_column); default: the name up to the first dot. */
    file_pattern: symbolPattern.default('^(?<symbol>[^.]+)'),
    columns: z
      .strictObject({
        ts: csvColumn.default('timestamp'),
        open: csvColumn.default('open'),
        high: csvColumn.default('high'),
        low: csvColumn.default('low'),
        close: csvColumn.default('close'),
        volume: csvColumn.default('volume'),
        vwap: csvColumn.optional(),
        trade_count: csvColumn.optional(),
      })
      .prefault({}),
    timestamp: z
      .strictObject({
        format: z.enum(CSV_TIMESTAMP_FORMATS).default('iso'),
        /** The zone of ISO timestamps written without Z or an offset. */
        time_zone: timeZone.default('UTC'),
      })
      .prefault({}),
    max_bars_per_request: positiveInt.default(100_000),
  })
  .superRefine((config, ctx) => {
    if (config.header) return;
    const named = Object.entries({ ...config.columns, symbol_column: config.symbol_column })
      .filter(([, column]) => typeof column === 'string')
      .map(([key]) => key);
    for (const key of named) {
      ctx.addIssue({
        code: 'custom',
        path: key === 'symbol_column' ? [key] : ['columns', key],
        message:
          'names a column, but header is false: give its 0-based position instead, e.g. 0 for the first column',
      });
    }
  });

export const polygonProviderSchema = z.strictObject({
  type: z.literal('polygon'),
  ...providerCommon,
  publication_delay: delay.prefault(POLYGON_DELAYED_PLAN),
  api_key: credential,
  base_url: baseUrl('https://api.polygon.io'),
  /** Split-adjusted prices (Polygon's own default). */
  adjusted: boolean().default(true),
  /** Base aggregates per page (Polygon's maximum, 50000): also the backfill chunk in bars. */
  limit: numeric(z.number().int().min(1).max(50_000)).default(50_000),
});

export const alpacaProviderSchema = z
  .strictObject({
    type: z.literal('alpaca'),
    ...providerCommon,
    /** Unset: 15m on the sip feed (the free plan's restriction), 0 on iex. */
    publication_delay: delay.optional(),
    key_id: credential,
    secret_key: credential,
    base_url: baseUrl('https://data.alpaca.markets'),
    /** iex is the free plan's feed; sip (all US exchanges) needs a paid plan for recent data. */
    feed: z.enum(['iex', 'sip']).default('iex'),
    adjustment: z.enum(['raw', 'split', 'dividend', 'all']).default('raw'),
    /** Bars per page (Alpaca's maximum, 10000): also the backfill chunk in bars. */
    limit: numeric(z.number().int().min(1).max(10_000)).default(10_000),
    /**
     * Symbols asked for in one request when their windows coincide (live cycles, backfill chunks);
     * `limit` then counts bars across them. 1 asks symbol by symbol.
     */
    symbols_per_request: numeric(z.number().int().min(1).max(1_000)).default(100),
  })
  .transform((config) => ({
    ...config,
    publication_delay:
      config.publication_delay ?? (config.feed === 'sip' ? ALPACA_RECENT_SIP_MS : 0),
  }));

export const PROVIDER_TYPES = ['synthetic', 'csv', 'polygon', 'alpaca'] as const;

export const providerSchema = z.discriminatedUnion('type', [
  syntheticProviderSchema,
  csvProviderSchema,
  polygonProviderSchema,
  alpacaProviderSchema,
]);

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
  /**
   * sqlite: the most the database file may grow to, e.g. 20GB. A write past it fails and rolls
   * back like one on a full disk, which keeps room on a volume shared with other services.
   */
  max_size: byteSize.optional(),
  /**
   * postgres/timescaledb: the longest any one statement may run (PostgreSQL's statement_timeout
   * on every connection; migrations are exempt). A statement past it fails and is retried.
   * `0s`: no limit.
   */
  statement_timeout: postgresTimeout.prefault('5m'),
  /**
   * postgres/timescaledb: the longest a statement waits for a lock another session holds
   * (PostgreSQL's lock_timeout). A write past it is rolled back and retried per `write.retry`.
   * `0s`: no limit.
   */
  lock_timeout: postgresTimeout.prefault('30s'),
  /**
   * postgres/timescaledb: how long a session may sit in an open transaction without sending a
   * statement before the server ends it (PostgreSQL's idle_in_transaction_session_timeout). mdp
   * never waits between the statements of a transaction, so only a frozen or cut-off process
   * does: ending its session frees the locks its successor needs. `0s`: no limit.
   */
  idle_in_transaction_timeout: postgresTimeout.prefault('1m'),
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

/** `storage.spool`: where a live `--follow` run keeps batches while the primary is unreachable. */
export const spoolSchema = z
  .strictObject({
    enabled: boolean().default(true),
    /** An SQLite file; default: beside the SQLite primary, or data/mdp-spool.db for PostgreSQL. */
    path: z.string().min(1).optional(),
    /** The most bars the spool holds; past it a batch fails rather than fill the disk. */
    max_bars: positiveInt.default(1_000_000),
  })
  .prefault({});

/** Symbols of a dataset: a repeat would be fetched, written and counted once per listing. */
const symbolList = z
  .array(z.string().trim().min(1))
  .min(1)
  .superRefine((symbols, ctx) => {
    const first = new Map<string, number>();
    symbols.forEach((symbol, index) => {
      const earlier = first.get(symbol);
      if (earlier === undefined) {
        first.set(symbol, index);
        return;
      }
      ctx.addIssue({
        code: 'custom',
        path: [index],
        message: `"${symbol}" is listed twice (also at symbols[${earlier}]): remove the repeat; it would fetch and count the symbol twice`,
      });
    });
  });

export const datasetSchema = z.strictObject({
  provider: z.string().min(1),
  symbols: symbolList,
  interval: z.enum(INTERVALS),
});

/** What a service does with the ticks it missed while it was down: see `catchup`. */
export const CATCHUP_POLICIES = ['latest', 'all', 'none'] as const;

/** What a tick does when its job is still running: see `overlap`. */
export const OVERLAP_POLICIES = ['skip', 'wait'] as const;

/** The most missed ticks a job may catch up at one start. */
export const MAX_CATCHUP_LIMIT = 1_000;

/** A cron expression croner reads and that fires at least once. */
const cronExpression = z
  .string()
  .trim()
  .superRefine((expression, ctx) => {
    const problem = cronProblem(expression);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

export const jobSchema = z.strictObject({
  dataset: z.string().min(1),
  mode: z.enum(['live', 'backfill']),
  description: z.string().optional(),
  /** `mdp serve` runs the job at every tick of this cron expression (in `timezone`). */
  schedule: cronExpression.optional(),
  /** The IANA time zone `schedule` is read in. */
  timezone: timeZone.default('UTC'),
  /** Live jobs only: `mdp serve` follows the job continuously (as `mdp run --follow`). */
  follow: boolean().default(false),
  /** Ticks missed while no service ran: run the newest (`latest`), each (`all`) or none. */
  catchup: z.enum(CATCHUP_POLICIES).default('latest'),
  /** The most missed ticks `catchup: all` runs at one start (the newest ones). */
  catchup_limit: numeric(z.number().int().positive().max(MAX_CATCHUP_LIMIT)).default(10),
  /** A tick that finds its job still running is skipped, or waits for the run to end. */
  overlap: z.enum(OVERLAP_POLICIES).default('skip'),
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
      /** How often a run records its heartbeat; three missed ones and it counts as abandoned. */
      heartbeat_interval: heartbeatInterval.prefault('5s'),
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
  storage: z.strictObject({ primary: storageSchema, spool: spoolSchema }),
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
export type CsvProviderConfig = z.output<typeof csvProviderSchema>;
export type PolygonProviderConfig = z.output<typeof polygonProviderSchema>;
export type AlpacaProviderConfig = z.output<typeof alpacaProviderSchema>;
export type StorageConfig = ConfigData['storage']['primary'];
export type SpoolConfig = ConfigData['storage']['spool'];
export type DatasetConfig = ConfigData['datasets'][string];
export type JobConfig = ConfigData['jobs'][string];
export type RetryConfig = z.output<typeof retrySchema>;
export type PacingConfig = z.output<typeof pacingSchema>;

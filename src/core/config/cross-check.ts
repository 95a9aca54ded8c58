import { didYouMean } from './did-you-mean.js';
import { isPlainObject } from './deep-merge.js';
import { parseInstant } from './config-schema.js';
import { scheduleIssues } from './schedule-check.js';

/** A rule that spans sections, found on the merged config before schema defaults. */
export interface CrossIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

const entries = (value: unknown): [string, Record<string, unknown>][] =>
  isPlainObject(value)
    ? Object.entries(value).filter((entry): entry is [string, Record<string, unknown>] =>
        isPlainObject(entry[1]),
      )
    : [];

/** Names for a "use one of" hint, cut short so a config with thousands of names stays readable. */
function oneOf(names: readonly string[], max = 10): string {
  if (names.length === 0) return '(none defined)';
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown}, … (${names.length - max} more)` : shown;
}

/**
 * The rules a per-field schema cannot see: references between sections, windows, and the
 * storage URI matching its type. Tolerant of malformed input (the schema reports that).
 */
export function crossCheck(config: Record<string, unknown>): CrossIssue[] {
  const issues: CrossIssue[] = [];
  const providers = new Map(entries(config.providers));
  const datasets = new Map(entries(config.datasets));

  for (const [name, dataset] of datasets) {
    const provider = dataset.provider;
    if (typeof provider !== 'string') continue;
    const found = providers.get(provider);
    if (!found) {
      issues.push({
        path: ['datasets', name, 'provider'],
        message: `unknown provider "${provider}"${didYouMean(provider, [...providers.keys()])}; define it under providers: or use one of: ${oneOf([...providers.keys()])}`,
      });
    } else if (found.enabled === false || found.enabled === 'false') {
      issues.push({
        path: ['datasets', name, 'provider'],
        message: `provider "${provider}" is disabled (enabled: false); enable it or point this dataset at another provider`,
      });
    }
  }

  issues.push(...symbolCaseIssues(datasets, providers));

  for (const [name, job] of entries(config.jobs)) {
    const dataset = job.dataset;
    if (typeof dataset === 'string' && !datasets.has(dataset)) {
      issues.push({
        path: ['jobs', name, 'dataset'],
        message: `unknown dataset "${dataset}"${didYouMean(dataset, [...datasets.keys()])}; define it under datasets: or use one of: ${oneOf([...datasets.keys()])}`,
      });
    }
    issues.push(...scheduleIssues(name, job));
    if (job.mode === 'live' && job.backfill !== undefined) {
      issues.push({
        path: ['jobs', name, 'backfill'],
        message: 'a live job does not use backfill settings; remove them or set mode: backfill',
      });
    }
    if (job.mode === 'backfill') {
      const window = job.backfill;
      if (!isPlainObject(window) || window.start === undefined) {
        issues.push({
          path: ['jobs', name, ...(isPlainObject(window) ? ['backfill'] : [])],
          message:
            'a backfill job needs backfill.start (and usually backfill.end), e.g. backfill: { start: "2024-01-01T00:00:00Z", end: "2024-02-01T00:00:00Z" }',
        });
      } else if (typeof window.start === 'string' && typeof window.end === 'string') {
        const start = parseInstant(window.start);
        const end = parseInstant(window.end);
        if (start !== undefined && end !== undefined && end <= start) {
          issues.push({
            path: ['jobs', name, 'backfill', 'end'],
            message: `the window is empty: end (${window.end}) must be after start (${window.start})`,
          });
        }
      }
    }
  }

  const storage = isPlainObject(config.storage) ? config.storage.primary : undefined;
  if (isPlainObject(storage)) {
    const { type, uri, write } = storage;
    if (typeof uri === 'string' && !uri.includes('${')) {
      if (type === 'sqlite' && !/^sqlite:/.test(uri)) {
        issues.push({
          path: ['storage', 'primary', 'uri'],
          message: 'a sqlite storage uri starts with sqlite:, e.g. sqlite:data/marketdata.db',
        });
      }
      if ((type === 'postgres' || type === 'timescaledb') && !/^postgres(ql)?:\/\//.test(uri)) {
        issues.push({
          path: ['storage', 'primary', 'uri'],
          message: `a ${type} storage uri starts with postgresql://, e.g. postgresql://mdp@localhost:5432/marketdata`,
        });
      }
    }
    const keys = isPlainObject(write) ? write.upsert_keys : undefined;
    if (Array.isArray(keys) && keys.length > 0 && !keys.includes('ts')) {
      issues.push({
        path: ['storage', 'primary', 'write', 'upsert_keys'],
        message: `upsert keys must include ts, or every bar of a symbol would overwrite the last; ${USUAL_KEYS}`,
      });
    }
    // The keys become the primary key of bars_ohlcv, whose columns cannot be null.
    if (Array.isArray(keys)) {
      keys.forEach((key: unknown, index) => {
        const message = nullableKeyMessage(key);
        if (message !== undefined) {
          issues.push({ path: ['storage', 'primary', 'write', 'upsert_keys', index], message });
        }
      });
    }
  }
  return issues;
}

const USUAL_KEYS = 'the usual keys are [provider, symbol, interval, ts]';

/**
 * Why a bar column that may be NULL cannot be an upsert key, or undefined for one that can be.
 * A database created with volume in its key keeps volume NOT NULL (migration 3 cannot drop it
 * from a primary key), so it could never store an index's bars: its user has to start a new one.
 */
function nullableKeyMessage(key: unknown): string | undefined {
  if (key === 'vwap' || key === 'trade_count') {
    return `${key} may be null (providers do not always send it), so it cannot be part of the key; ${USUAL_KEYS}`;
  }
  if (key === 'volume') {
    return (
      `volume may be unknown (index aggregates have none), so it cannot be part of the key; ${USUAL_KEYS}. ` +
      'A database created with volume among its upsert keys cannot store such bars: point ' +
      'storage.primary.uri (or schema) at a new database with the usual keys and copy the bars over'
    );
  }
  return undefined;
}

/**
 * Provider types whose API names every symbol upper-case in its answers: a symbol configured in
 * another case would match none of its bars.
 */
const UPPER_CASE_SYMBOL_PROVIDERS: ReadonlySet<unknown> = new Set(['alpaca']);

/**
 * Symbols of an upper-case provider written in another case. Refused rather than upper-cased
 * here: the config's spelling is the series' name everywhere (stored rows, checkpoints, status),
 * so mdp would otherwise store a symbol the user never wrote; and no bar was ever stored under
 * the other spelling (the validator rejected them all as wrong_series), so nothing is stranded.
 */
function symbolCaseIssues(
  datasets: ReadonlyMap<string, Record<string, unknown>>,
  providers: ReadonlyMap<string, Record<string, unknown>>,
): CrossIssue[] {
  const issues: CrossIssue[] = [];
  for (const [name, dataset] of datasets) {
    const provider =
      typeof dataset.provider === 'string' ? providers.get(dataset.provider) : undefined;
    if (!UPPER_CASE_SYMBOL_PROVIDERS.has(provider?.type) || !Array.isArray(dataset.symbols)) {
      continue;
    }
    dataset.symbols.forEach((symbol: unknown, index) => {
      if (typeof symbol !== 'string' || symbol === symbol.toUpperCase()) return;
      issues.push({
        path: ['datasets', name, 'symbols', index],
        message: `${String(provider?.type)} answers symbols in upper case, so "${symbol}" would match none of its bars (each rejected as wrong_series); write "${symbol.toUpperCase()}"`,
      });
    });
  }
  return issues;
}

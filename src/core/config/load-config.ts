import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError, ConfigFileError, type ConfigIssue } from '../errors.js';
import { SecretRedactor } from '../redact.js';
import {
  configSchema,
  type ConfigData,
  type SpoolConfig,
  type StorageConfig,
} from './config-schema.js';
import { crossCheck } from './cross-check.js';
import { liveWindowIssues } from './live-window-check.js';
import { deepMerge, isPlainObject } from './deep-merge.js';
import { didYouMean } from './did-you-mean.js';
import { interpolate } from './interpolate.js';
import { resolveConfigPath } from './resolve-config-path.js';
import { YamlSource, type YamlPath } from './yaml-source.js';
import { describeZodIssue } from './zod-issues.js';

/** Where the config came from and which profile shaped it. */
export interface ConfigSource {
  readonly file: string;
  /** The selected profile, or undefined when none was named. */
  readonly profile: string | undefined;
  /** How the profile was chosen. */
  readonly profileFrom: '--profile' | 'MDP_PROFILE' | 'file' | 'none';
  /** False when the profile has no `profiles:` entry (the base config is used as is). */
  readonly profileHasOverrides: boolean;
  /**
   * sha256 of the resolved config with its secrets masked, recorded with every run: a hash of the
   * secrets themselves, unsalted, would let anyone who reads job_runs test guesses of them offline.
   */
  readonly hash: string;
}

type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** The validated, fully resolved and frozen config the program runs with. */
export type MdpConfig = DeepReadonly<ConfigData> & {
  readonly source: ConfigSource;
  /** Masks this config's secrets in any text. */
  readonly redactor: SecretRedactor;
};

export interface LoadConfigOptions {
  /** `--config`; defaults to `$MDP_CONFIG`, then `./mdp.yaml`. */
  readonly file?: string;
  /** `--profile`; defaults to `$MDP_PROFILE`, then the file's `profile:`. */
  readonly profile?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Relative paths (the config file, sqlite files) resolve against this. */
  readonly cwd?: string;
}

/** Reads, interpolates, merges and validates a config file; throws ConfigError with every issue. */
export function loadConfig(options: LoadConfigOptions = {}): MdpConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = resolveConfigPath(options.file, env, cwd);
  return parseConfig(readConfigText(file), { ...options, env, cwd, file });
}

function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'does not exist; check the path, or start from configs/sample.yaml'
        : code === 'EISDIR'
          ? 'is a directory; pass the path of a YAML file'
          : code === 'EACCES'
            ? 'cannot be read (permission denied)'
            : `cannot be read (${code ?? 'unknown error'})`;
    throw new ConfigFileError(`config file ${file} ${reason}`, { cause });
  }
}

/** Validates config text already read from `options.file` (which is only used in messages). */
export function parseConfig(
  text: string,
  options: LoadConfigOptions & { file: string },
): MdpConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = options.file;
  // Until the config is interpolated, the secrets are those written in the file.
  let secretsOf: () => SecretRedactor = () => new SecretRedactor([]);
  const fail = (issues: ConfigIssue[]): never => {
    const sorted = [...issues].sort(
      (a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
    );
    const redactor = secretsOf();
    throw new ConfigError(
      file,
      sorted.map((issue) => redactIssue(issue, redactor)),
    );
  };

  const parsed = YamlSource.parse(text);
  if ('issues' in parsed) return fail(parsed.issues);
  const source = parsed.source;
  const raw = source.toJS();
  secretsOf = () => SecretRedactor.fromConfig(raw);
  if (!isPlainObject(raw)) {
    return fail([
      {
        path: '',
        line: 1,
        column: 1,
        message:
          'the file is not a YAML mapping of config sections; start from configs/sample.yaml',
      },
    ]);
  }

  const selection = selectProfile(raw, options.profile, env);
  const at = (path: YamlPath, key = false): { line?: number; column?: number } => {
    const profilePath = selection.overrides
      ? ['profiles', selection.name as string, ...path]
      : undefined;
    const position =
      (profilePath && hasPath(raw, profilePath)
        ? source.locate(profilePath, { key })
        : undefined) ?? source.locate(path, { key });
    return position ? { line: position.line, column: position.column } : {};
  };
  if (selection.issue) {
    const { path, message } = selection.issue;
    // An unknown profile named on the command line is not anywhere in the file.
    return fail([{ path: dotted(path), message, ...(path.length > 0 ? at(path) : {}) }]);
  }

  const { profiles, ...base } = raw;
  // `raw` is ours alone, and interpolation copies, so without overrides there is nothing to merge.
  const merged = selection.overrides ? deepMerge(base, selection.overrides) : base;
  const { value, missing, malformed } = interpolate(merged, env);
  const redactor = SecretRedactor.fromConfig([raw, value]);
  secretsOf = () => redactor;
  const config = value as Record<string, unknown>;

  const issues: ConfigIssue[] = missing.map(({ variable, path }) => ({
    path: dotted(path),
    message: `environment variable ${variable} is not set: export it, or write \${${variable}:-default} to give a default`,
    ...at(path),
  }));
  for (const { path } of malformed) {
    issues.push({
      path: dotted(path),
      message:
        'malformed ${...} reference: write ${NAME} or ${NAME:-default} (NAME of letters, digits and _), or $${ for a literal ${',
      ...at(path),
    });
  }
  for (const issue of checkOtherProfiles(profiles, selection.name)) {
    issues.push({
      path: dotted(issue.path),
      message: issue.message,
      ...at(issue.path, issue.atKey),
    });
  }

  const result = configSchema.safeParse(config, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) {
      for (const described of describeZodIssue(issue, configSchema, config)) {
        issues.push({
          path: dotted(described.path),
          message: described.message,
          ...at(described.path, described.atKey),
        });
      }
    }
  }
  for (const issue of crossCheck(config)) {
    issues.push({ path: dotted(issue.path), message: issue.message, ...at(issue.path) });
  }
  if (issues.length > 0 || !result.success) return fail(issues);

  const data = result.data;
  const liveIssues = liveWindowIssues(data, (path) => hasPath(config, path));
  for (const issue of liveIssues) {
    issues.push({ path: dotted(issue.path), message: issue.message, ...at(issue.path) });
  }
  if (issues.length > 0) return fail(issues);
  const storage = resolveStorage(data.storage.primary, cwd);
  const spool = resolveSpool(data.storage.spool, storage, cwd);
  // `profile` is the one applied, which a flag or MDP_PROFILE may have changed from the file's.
  const resolved = { ...data, profile: selection.name, storage: { primary: storage, spool } };
  return deepFreeze({
    ...resolved,
    source: {
      file,
      profile: selection.name,
      profileFrom: selection.from,
      profileHasOverrides: selection.overrides !== undefined,
      hash: hashOf(redactor.redactValue(resolved)),
    },
    redactor,
  }) as MdpConfig;
}

interface ProfileSelection {
  name: string | undefined;
  from: ConfigSource['profileFrom'];
  overrides: Record<string, unknown> | undefined;
  /** Why no config can be built; an empty path means the command line, not the file. */
  issue?: { path: YamlPath; message: string };
}

function selectProfile(
  raw: Record<string, unknown>,
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): ProfileSelection {
  const fileDefault = typeof raw.profile === 'string' ? raw.profile : undefined;
  const [name, from]: [string | undefined, ConfigSource['profileFrom']] = flag
    ? [flag, '--profile']
    : env.MDP_PROFILE
      ? [env.MDP_PROFILE, 'MDP_PROFILE']
      : fileDefault
        ? [fileDefault, 'file']
        : [undefined, 'none'];
  const profiles = raw.profiles ?? undefined;
  if (profiles !== undefined && !isPlainObject(profiles)) {
    return {
      name,
      from,
      overrides: undefined,
      issue: {
        path: ['profiles'],
        message:
          'profiles must be a mapping of profile name to overrides, e.g. profiles: { prod: { storage: ... } }',
      },
    };
  }
  const known = Object.keys(profiles ?? {});
  if (name === undefined) return { name, from, overrides: undefined };
  // A profile may exist only as a name: the file's own default, or an entry left empty.
  if (name === fileDefault || known.includes(name)) {
    const overrides = profiles?.[name] ?? undefined;
    if (overrides === undefined) return { name, from, overrides: undefined };
    if (!isPlainObject(overrides)) {
      return {
        name,
        from,
        overrides: undefined,
        issue: {
          path: ['profiles', name],
          message: 'a profile must be a mapping of overrides, like the base config',
        },
      };
    }
    return { name, from, overrides };
  }
  // Only a name from the command line gets here: the file's own default is always known.
  const choices = [...new Set([...(fileDefault ? [fileDefault] : []), ...known])];
  const fix =
    from === 'MDP_PROFILE'
      ? 'set MDP_PROFILE to one of them or unset it'
      : 'pass one of them to --profile';
  return {
    name,
    from,
    overrides: undefined,
    issue: {
      path: [],
      message: `unknown profile "${name}" (from ${from})${didYouMean(name, choices)}; known profiles: ${choices.join(', ') || '(none)'}; ${fix}`,
    },
  };
}

/** The top-level keys a profile may override: the config sections. */
const PROFILE_KEYS = Object.keys(configSchema.shape).filter((key) => key !== 'profile');

/**
 * The profiles not applied are not validated in full (their `${VAR}`s need not be set), but a
 * profile that is not a mapping, or overrides a section that does not exist, is a mistake today.
 */
function checkOtherProfiles(
  profiles: unknown,
  selected: string | undefined,
): { path: YamlPath; message: string; atKey: boolean }[] {
  if (!isPlainObject(profiles)) return [];
  const issues: { path: YamlPath; message: string; atKey: boolean }[] = [];
  for (const [name, overrides] of Object.entries(profiles)) {
    if (name === selected || overrides === null) continue;
    if (!isPlainObject(overrides)) {
      issues.push({
        path: ['profiles', name],
        message: 'a profile must be a mapping of overrides, like the base config',
        atKey: false,
      });
      continue;
    }
    for (const key of Object.keys(overrides)) {
      if (PROFILE_KEYS.includes(key)) continue;
      issues.push({
        path: ['profiles', name, key],
        message: `unknown key "${key}"${didYouMean(key, PROFILE_KEYS)}; a profile overrides config sections: remove it or use one of: ${PROFILE_KEYS.join(', ')}`,
        atKey: true,
      });
    }
  }
  return issues;
}

/** sqlite:relative/path resolves against the working directory, so runs from anywhere agree. */
function resolveStorage(storage: StorageConfig, cwd: string): StorageConfig {
  if (storage.type !== 'sqlite') return storage;
  const path = storage.uri.replace(/^sqlite:(\/\/)?/, '');
  if (path === ':memory:') return storage;
  return { ...storage, uri: `sqlite:${isAbsolute(path) ? path : resolve(cwd, path)}` };
}

/**
 * The spool's file, absolute: as configured, else beside the SQLite primary (`x.db` →
 * `x-spool.db`), else `data/mdp-spool.db` under the working directory.
 */
function resolveSpool(spool: SpoolConfig, primary: StorageConfig, cwd: string): SpoolConfig {
  if (spool.path !== undefined) {
    return { ...spool, path: isAbsolute(spool.path) ? spool.path : resolve(cwd, spool.path) };
  }
  const file = primary.type === 'sqlite' ? primary.uri.replace(/^sqlite:/, '') : ':memory:';
  const path =
    file === ':memory:'
      ? resolve(cwd, 'data', 'mdp-spool.db')
      : join(dirname(file), `${basename(file, extname(file))}-spool.db`);
  return { ...spool, path };
}

function hasPath(value: unknown, path: YamlPath): boolean {
  let node = value;
  for (const step of path) {
    if (node === null || typeof node !== 'object' || !(step in node)) return false;
    node = (node as Record<string | number, unknown>)[step];
  }
  return true;
}

function dotted(path: readonly (string | number)[]): string {
  return path
    .map((step) => (typeof step === 'number' ? `[${step}]` : step))
    .join('.')
    .replace(/\.\[/g, '[');
}

function redactIssue(issue: ConfigIssue, redactor: SecretRedactor): ConfigIssue {
  return { ...issue, message: redactor.redact(issue.message) };
}

/** Keys sorted by code unit (not localeCompare, which varies with the machine's locale). */
function hashOf(value: unknown): string {
  const canonical = JSON.stringify(value, (_key, v: unknown) =>
    isPlainObject(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
  return createHash('sha256').update(canonical).digest('hex');
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !(value instanceof SecretRedactor)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/core/config/load-config.js';
import { resolveConfigPath } from '../../../src/core/config/resolve-config-path.js';
import { ConfigError, ConfigFileError } from '../../../src/core/errors.js';
import { useTempDir } from '../../helpers/temp-dir.js';
import { VALID_CONFIG, parse } from './config-fixture.js';

const SAMPLE = fileURLToPath(new URL('../../../configs/sample.yaml', import.meta.url));

describe('parseConfig: the resolved config', () => {
  it('reads every section of a version 2 config, with defaults, durations and instants resolved', () => {
    const config = parse(VALID_CONFIG);
    expect(config.version).toBe(2);
    expect(Object.keys(config.providers)).toEqual(['synthetic_1']);
    expect(config.providers.synthetic_1).toMatchObject({
      type: 'synthetic',
      enabled: true,
      seed: 42,
      pacing: {
        requests_per_minute: 40,
        burst: 10,
        cooldown_seconds: 60,
        max_retry_after: 15 * 60_000,
      },
      request_timeout: 30_000,
    });
    expect(config.storage.primary).toEqual({
      type: 'sqlite',
      uri: 'sqlite:/srv/mdp/data/marketdata.db',
      schema: 'public',
      statement_timeout: 300_000,
      lock_timeout: 30_000,
      idle_in_transaction_timeout: 60_000,
      timescale: { chunk_interval: 7 * 86_400_000 },
      write: {
        batch_size: 1000,
        upsert_keys: ['provider', 'symbol', 'interval', 'ts'],
        retry: { max_attempts: 5, backoff_seconds: 1, max_backoff_seconds: 30, jitter: 'full' },
      },
    });
    expect(config.datasets).toEqual({
      synthetic_smoke: { provider: 'synthetic_1', symbols: ['AAA', 'BBB', 'CCC'], interval: '1m' },
    });
    expect(config.jobs.synthetic_live).toMatchObject({
      dataset: 'synthetic_smoke',
      mode: 'live',
      live: { lookback: 7_200_000 },
      execution: {
        concurrency: 1,
        retry: { max_attempts: 3, backoff_seconds: 5, max_backoff_seconds: 300, jitter: 'full' },
      },
    });
    expect(config.jobs.synthetic_backfill?.backfill).toEqual({
      start: Date.parse('2024-01-01T00:00:00Z'),
      end: Date.parse('2024-01-31T00:00:00Z'),
    });
    expect(config.features).toEqual({ write_enabled: true, export_enabled: false });
    expect(config.telemetry).toEqual({
      log_level: 'info',
      metrics: { enabled: true, host: '127.0.0.1', port: 9090 },
    });
    expect(config.source).toMatchObject({ file: 'test.yaml', profile: 'dev', profileFrom: 'file' });
    expect(config.source.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is frozen', () => {
    const config = parse(VALID_CONFIG);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.storage.primary.write.upsert_keys)).toBe(true);
  });

  it('hashes the resolved config: equal configs hash equal, a change changes the hash', () => {
    const reordered = VALID_CONFIG.replace(
      'features: { write_enabled: true, export_enabled: false }',
      'features: { export_enabled: false, write_enabled: true }',
    );
    expect(parse(reordered).source.hash).toBe(parse(VALID_CONFIG).source.hash);
    expect(parse(VALID_CONFIG.replace('seed: 42', 'seed: 43')).source.hash).not.toBe(
      parse(VALID_CONFIG).source.hash,
    );
  });

  it('sqlite paths resolve against cwd; absolute paths and :memory: stay', () => {
    const uri = (value: string): string =>
      parse(VALID_CONFIG.replace('"sqlite:data/marketdata.db"', `"${value}"`), { cwd: '/work' })
        .storage.primary.uri;
    expect(uri('sqlite:data/x.db')).toBe('sqlite:/work/data/x.db');
    expect(uri('sqlite:/var/lib/mdp.db')).toBe('sqlite:/var/lib/mdp.db');
    expect(uri('sqlite::memory:')).toBe('sqlite::memory:');
  });

  it('storage.spool: enabled beside the SQLite file by default; a relative path resolves', () => {
    const spool = (primary: string): unknown =>
      parse(VALID_CONFIG.replace('"sqlite:data/marketdata.db"', `"${primary}"`), { cwd: '/work' })
        .storage.spool;
    expect(spool('sqlite:data/x.db')).toEqual({
      enabled: true,
      path: '/work/data/x-spool.db',
      max_bars: 1_000_000,
    });
    expect(spool('sqlite::memory:')).toMatchObject({ path: '/work/data/mdp-spool.db' });
    expect(
      parse(
        VALID_CONFIG.replace(
          'storage:\n  primary:',
          'storage:\n  spool: { path: q/s.db, max_bars: 10 }\n  primary:',
        ),
        { cwd: '/work' },
      ).storage.spool,
    ).toEqual({ enabled: true, path: '/work/q/s.db', max_bars: 10 });
  });

  it('storage.primary.max_size is a size in bytes, with a unit', () => {
    const withSize = (size: string) =>
      VALID_CONFIG.replace(
        '    write: { batch_size',
        `    max_size: ${size}\n    write: { batch_size`,
      );
    expect(parse(withSize('200KB')).storage.primary.max_size).toBe(200 * 1024);
    expect(parse(withSize('1.5GB')).storage.primary.max_size).toBe(1.5 * 1024 ** 3);
    expect(() => parse(withSize('20 parsecs'))).toThrow(
      /"20 parsecs" is not a size: write a number and a unit, like 512MB or 2GB/,
    );
  });

  it('storage.primary.statement_timeout and lock_timeout are durations', () => {
    const withTimeouts = (statement: string, lock: string) =>
      VALID_CONFIG.replace(
        '    write: { batch_size',
        `    statement_timeout: ${statement}\n    lock_timeout: ${lock}\n    write: { batch_size`,
      );
    const { primary } = parse(withTimeouts('90s', '250ms')).storage;
    expect([primary.statement_timeout, primary.lock_timeout]).toEqual([90_000, 250]);
    expect(() => parse(withTimeouts('90s', 'soon'))).toThrow(
      /storage\.primary\.lock_timeout: "soon" is not a duration/,
    );
  });
});

describe('loadConfig: finding and reading the file', () => {
  const tempDir = useTempDir();

  it('reads --config relative to cwd', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'conf'));
    writeFileSync(join(dir, 'conf', 'a.yaml'), VALID_CONFIG);
    const config = loadConfig({ file: 'conf/a.yaml', env: {}, cwd: dir });
    expect(config.source.file).toBe(join(dir, 'conf', 'a.yaml'));
    expect(config.storage.primary.uri).toBe(`sqlite:${join(dir, 'data', 'marketdata.db')}`);
  });

  it('falls back to $MDP_CONFIG, then ./mdp.yaml; --config wins over both', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'mdp.yaml'), VALID_CONFIG);
    writeFileSync(join(dir, 'env.yaml'), VALID_CONFIG);
    writeFileSync(join(dir, 'flag.yaml'), VALID_CONFIG);
    expect(resolveConfigPath(undefined, {}, dir)).toBe(join(dir, 'mdp.yaml'));
    expect(resolveConfigPath(undefined, { MDP_CONFIG: 'env.yaml' }, dir)).toBe(
      join(dir, 'env.yaml'),
    );
    expect(resolveConfigPath('flag.yaml', { MDP_CONFIG: 'env.yaml' }, dir)).toBe(
      join(dir, 'flag.yaml'),
    );
    expect(loadConfig({ env: { MDP_CONFIG: 'env.yaml' }, cwd: dir }).source.file).toBe(
      join(dir, 'env.yaml'),
    );
  });

  it('with neither --config, $MDP_CONFIG nor ./mdp.yaml, says so and how to fix it', () => {
    const dir = tempDir();
    expect(() => loadConfig({ env: {}, cwd: dir })).toThrow(
      new ConfigFileError(
        `no config file: pass --config FILE, set MDP_CONFIG, or create ./mdp.yaml in ${dir} (configs/sample.yaml is a working example)`,
      ),
    );
  });

  it('a file that does not exist is named, with the fix', () => {
    const dir = tempDir();
    const error = (() => {
      try {
        loadConfig({ file: 'missing.yaml', env: {}, cwd: dir });
      } catch (thrown: unknown) {
        return thrown;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigFileError);
    expect((error as ConfigFileError).code).toBe('MDP_CONFIG_FILE');
    expect((error as Error).message).toBe(
      `config file ${join(dir, 'missing.yaml')} does not exist; check the path, or start from configs/sample.yaml`,
    );
    expect(() => loadConfig({ env: { MDP_CONFIG: 'gone.yaml' }, cwd: dir })).toThrow(
      `config file ${join(dir, 'gone.yaml')} does not exist`,
    );
  });

  it('a directory is not a config file', () => {
    const dir = tempDir();
    expect(() => loadConfig({ file: '.', env: {}, cwd: dir })).toThrow(
      `config file ${dir} is a directory; pass the path of a YAML file`,
    );
  });

  it('errors in a file are reported against its absolute path', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bad.yaml'), VALID_CONFIG.replace('version: 2', 'version: 1'));
    const error = (() => {
      try {
        loadConfig({ file: 'bad.yaml', env: {}, cwd: dir });
      } catch (thrown: unknown) {
        return thrown as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.file).toBe(join(dir, 'bad.yaml'));
    expect(error.message.split('\n')[1]).toMatch(
      new RegExp(
        `^ {2}${join(dir, 'bad.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1:10 version: unsupported version 1`,
      ),
    );
  });
});

describe('configs/sample.yaml', () => {
  const text = readFileSync(SAMPLE, 'utf8');

  it('validates as is, with the dev profile and embedded SQLite', () => {
    const config = loadConfig({ file: SAMPLE, env: {}, cwd: '/srv/mdp' });
    expect(config.source).toMatchObject({
      profile: 'dev',
      profileFrom: 'file',
      profileHasOverrides: false,
    });
    expect(config.storage.primary.uri).toBe('sqlite:/srv/mdp/data/marketdata.db');
    expect(Object.keys(config.jobs)).toEqual(['synthetic_live', 'synthetic_backfill']);
  });

  it('validates with --profile prod when MDP_PG_URI is set', () => {
    const uri = 'postgresql://mdp:secret-pw@db:5432/marketdata';
    const config = parse(text, { profile: 'prod', env: { MDP_PG_URI: uri } });
    expect(config.storage.primary).toMatchObject({ type: 'timescaledb', uri });
  });

  it('fails with --profile prod naming MDP_PG_URI when it is not set', () => {
    const error = (() => {
      try {
        parse(text, { profile: 'prod', env: {} });
      } catch (thrown: unknown) {
        return thrown as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({
      path: 'storage.primary.uri',
      line: text.split('\n').findLastIndex((line) => line.includes('${MDP_PG_URI}')) + 1,
    });
    expect(error.issues[0]?.message).toMatch(/^environment variable MDP_PG_URI is not set/);
  });
});

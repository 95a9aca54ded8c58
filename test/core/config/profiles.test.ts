import { describe, expect, it } from 'vitest';
import { VALID_CONFIG, configError, edit, onlyIssue, parse, positionOf } from './config-fixture.js';

const PG = 'postgresql://mdp:pw-in-uri@db.internal:5432/marketdata';

/** The fixture with three profiles: dev (name only), staging (batch size), prod (postgres). */
const PROFILES = edit(
  VALID_CONFIG,
  'profiles:\n',
  `profiles:
  staging:
    storage: { primary: { write: { batch_size: 250 } } }
    datasets: { synthetic_smoke: { symbols: [ZZZ] } }
`,
);

describe('profiles', () => {
  it('the file`s profile: is the default, and a profile without an entry leaves the base as is', () => {
    const config = parse(PROFILES);
    expect(config.source).toMatchObject({
      profile: 'dev',
      profileFrom: 'file',
      profileHasOverrides: false,
    });
    expect(config.profile).toBe('dev');
    expect(config.storage.primary.type).toBe('sqlite');
    expect(config.storage.primary.write.batch_size).toBe(1000);
  });

  it('a profile is deep-merged over the base: its leaves win, lists are replaced whole, the rest is kept', () => {
    const config = parse(PROFILES, { profile: 'staging' });
    expect(config.source).toMatchObject({
      profile: 'staging',
      profileFrom: '--profile',
      profileHasOverrides: true,
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
        batch_size: 250,
        upsert_keys: ['provider', 'symbol', 'interval', 'ts'],
        retry: { max_attempts: 5, backoff_seconds: 1, max_backoff_seconds: 30, jitter: 'full' },
      },
    });
    expect(config.datasets.synthetic_smoke).toEqual({
      provider: 'synthetic_1',
      symbols: ['ZZZ'],
      interval: '1m',
    });
    expect(Object.keys(config.jobs)).toEqual(['synthetic_live', 'synthetic_backfill']);
  });

  it('the resolved config names the profile applied, not the file`s default', () => {
    const config = parse(PROFILES, { profile: 'prod', env: { MDP_PG_URI: PG } });
    expect(config.profile).toBe('prod');
    expect(config.storage.primary).toMatchObject({ type: 'timescaledb', uri: PG });
  });

  it('selects by --profile, then MDP_PROFILE, then the file', () => {
    const both = parse(PROFILES, { profile: 'staging', env: { MDP_PROFILE: 'prod' } });
    expect([both.source.profile, both.source.profileFrom]).toEqual(['staging', '--profile']);

    const env = parse(PROFILES, { env: { MDP_PROFILE: 'staging' } });
    expect([env.source.profile, env.source.profileFrom]).toEqual(['staging', 'MDP_PROFILE']);
    expect(env.storage.primary.write.batch_size).toBe(250);

    const file = parse(PROFILES, { env: { MDP_PROFILE: '' } });
    expect([file.source.profile, file.source.profileFrom]).toEqual(['dev', 'file']);
  });

  it('no profile at all when neither the file nor the caller names one', () => {
    const config = parse(edit(PROFILES, 'profile: dev\n', ''));
    expect(config.source).toMatchObject({ profile: undefined, profileFrom: 'none' });
    expect(config.profile).toBeUndefined();
  });

  it('an unknown --profile lists the known ones and says how to pick one', () => {
    const issue = onlyIssue(PROFILES, { profile: 'prdo' });
    expect(issue).toEqual({
      path: '',
      message:
        'unknown profile "prdo" (from --profile) (did you mean "prod"?); known profiles: dev, staging, prod; pass one of them to --profile',
    });
  });

  it('an unknown MDP_PROFILE says where it came from', () => {
    const issue = onlyIssue(PROFILES, { env: { MDP_PROFILE: 'qa' } });
    expect(issue.message).toBe(
      'unknown profile "qa" (from MDP_PROFILE); known profiles: dev, staging, prod; set MDP_PROFILE to one of them or unset it',
    );
  });

  it('the file`s profile: needs no entry under profiles: (the base config is that profile)', () => {
    const text = edit(PROFILES, 'profile: dev', 'profile: production');
    expect(parse(text).source).toMatchObject({ profile: 'production', profileHasOverrides: false });
  });

  it('a profile entry left empty is a known profile with no overrides', () => {
    const text = edit(PROFILES, 'profiles:\n', 'profiles:\n  qa:\n');
    const config = parse(text, { profile: 'qa' });
    expect(config.source).toMatchObject({ profile: 'qa', profileHasOverrides: false });
    expect(config.storage.primary.write.batch_size).toBe(1000);
  });

  it('errors inside the applied profile point at the profile`s lines', () => {
    const text = edit(
      PROFILES,
      'write: { batch_size: 250 }',
      'write: { batch_size: 0, upsrt_keys: [ts] }',
    );
    const { issues } = configError(text, { profile: 'staging' });
    expect(issues).toEqual([
      {
        path: 'storage.primary.write.batch_size',
        ...positionOf(text, 'batch_size: 0', 'batch_size: '.length),
        message: 'must be greater than 0, got 0',
      },
      {
        path: 'storage.primary.write.upsrt_keys',
        ...positionOf(text, 'upsrt_keys'),
        message:
          'unknown key "upsrt_keys" (did you mean "upsert_keys"?); remove it or use one of: batch_size, upsert_keys, retry',
      },
    ]);
  });

  it('a profile that is not a mapping is reported at the profile', () => {
    const text = edit(PROFILES, 'profiles:\n', 'profiles:\n  qa: fast\n');
    const expected = {
      path: 'profiles.qa',
      ...positionOf(text, 'fast'),
      message: 'a profile must be a mapping of overrides, like the base config',
    };
    expect(onlyIssue(text, { profile: 'qa' })).toEqual(expected);
    // ...also when another profile is applied: it is a mistake in the file either way.
    expect(onlyIssue(text)).toEqual(expected);
  });

  it('profiles: that is not a mapping is reported at profiles:', () => {
    const text = `${VALID_CONFIG.slice(0, VALID_CONFIG.indexOf('profiles:'))}profiles: [prod]\n`;
    expect(onlyIssue(text)).toEqual({
      path: 'profiles',
      ...positionOf(text, '[prod]'),
      message:
        'profiles must be a mapping of profile name to overrides, e.g. profiles: { prod: { storage: ... } }',
    });
  });

  it('a profile that is not applied still may not override a section that does not exist', () => {
    const text = edit(
      PROFILES,
      '    datasets: { synthetic_smoke',
      '    datasest: { synthetic_smoke',
    );
    expect(onlyIssue(text, { profile: 'prod', env: { MDP_PG_URI: PG } })).toEqual({
      path: 'profiles.staging.datasest',
      ...positionOf(text, 'datasest'),
      message:
        'unknown key "datasest" (did you mean "datasets"?); a profile overrides config sections: remove it or use one of: version, providers, storage, datasets, jobs, features, telemetry',
    });
  });
});

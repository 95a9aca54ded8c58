import { describe, expect, it } from 'vitest';
import { VALID_CONFIG, configError, edit, parse } from './config-fixture.js';

const PASSWORD = 'Tr0ub4dor-pw';
const PG_URI = `postgresql://mdp:${PASSWORD}@db.internal:5432/marketdata`;
const API_KEY = 'AK-9f8e7d6c5b4a';

/** A postgres config with a secret in its uri and in a provider key (both mistakes on purpose). */
function secretConfig(uri: string): string {
  let text = edit(VALID_CONFIG, 'type: sqlite', 'type: postgres');
  text = edit(text, '"sqlite:data/marketdata.db"', `"${uri}"`);
  text = edit(
    text,
    '    seed: 42\n',
    `    seed: 42\n    api_key: ${API_KEY}\n    token: "${API_KEY}-tok"\n`,
  );
  return text;
}

describe('secrets in config errors', () => {
  it('error messages about a secret-bearing config contain neither the password nor the keys', () => {
    let text = secretConfig(PG_URI);
    text = edit(text, 'type: postgres', `type: "${PG_URI}"`);
    text = edit(text, 'interval: 1m', `interval: "${PASSWORD}"`);
    const error = configError(text);
    expect(error.issues.map((issue) => issue.path)).toEqual([
      'providers.synthetic_1.api_key',
      'providers.synthetic_1.token',
      'storage.primary.type',
      'datasets.synthetic_smoke.interval',
    ]);
    expect(error.message).toContain(
      '"postgresql://mdp:***@db.internal:5432/marketdata" is not allowed',
    );
    expect(error.message).toContain('"***" is not allowed');
    expect(error.message).not.toContain(PASSWORD);
    expect(error.message).not.toContain(API_KEY);
  });

  it('a password that came in through ${VAR} is masked too', () => {
    let text = secretConfig('${MDP_PG_URI}');
    text = edit(text, 'interval: 1m', 'interval: "${MDP_INTERVAL}"');
    const error = configError(text, { env: { MDP_PG_URI: PG_URI, MDP_INTERVAL: PASSWORD } });
    const interval = error.issues.find(
      (issue) => issue.path === 'datasets.synthetic_smoke.interval',
    );
    expect(interval?.message).toBe(
      '"***" is not allowed; use one of: 1m, 5m, 15m, 30m, 1h, 4h, 1d',
    );
    expect(error.message).not.toContain(PASSWORD);
  });

  it('an api key that came in through ${VAR} is masked too', () => {
    const text = edit(secretConfig(PG_URI), `api_key: ${API_KEY}`, 'api_key: "${POLY_KEY}"');
    const withLeak = edit(text, 'interval: 1m', 'interval: "${POLY_KEY}"');
    const error = configError(withLeak, { env: { POLY_KEY: 'pk_live_0123456789' } });
    expect(error.message).not.toContain('pk_live_0123456789');
    expect(error.message).toContain('"***" is not allowed');
  });

  it('a secret of a profile that is not applied is masked as well', () => {
    let text = edit(VALID_CONFIG, 'uri: "${MDP_PG_URI}"', `uri: "${PG_URI}"`);
    text = edit(text, 'interval: 1m', `interval: "${PASSWORD}"`);
    expect(configError(text).message).not.toContain(PASSWORD);
  });

  it('a syntax error on the line of a password does not quote the line', () => {
    const text = edit(VALID_CONFIG, 'uri: "sqlite:data/marketdata.db"', `uri: "${PG_URI}`);
    const error = configError(text);
    expect(error.issues[0]?.message).toMatch(/^not valid YAML: /);
    expect(error.message).not.toContain(PASSWORD);
  });

  it('the redactor of a valid config masks its secrets in any text', () => {
    const text = edit(
      edit(VALID_CONFIG, 'type: sqlite', 'type: postgres'),
      '"sqlite:data/marketdata.db"',
      '"${MDP_PG_URI}"',
    );
    const config = parse(text, { env: { MDP_PG_URI: PG_URI } });
    expect(config.storage.primary.uri).toBe(PG_URI);
    expect(config.redactor.redact(`could not connect as mdp with ${PASSWORD}`)).toBe(
      'could not connect as mdp with ***',
    );
  });
});

describe('config_hash (recorded with every run, printed by status --json)', () => {
  /** A valid config with a password in its postgres uri and a key in a polygon provider. */
  function hashWith(secrets: { password: string; apiKey: string }, seed = 42): string {
    let text = edit(VALID_CONFIG, 'type: sqlite', 'type: postgres');
    text = edit(
      text,
      '"sqlite:data/marketdata.db"',
      `"postgresql://mdp:${secrets.password}@db.internal:5432/marketdata"`,
    );
    text = edit(
      text,
      'providers:\n',
      `providers:\n  poly:\n    type: polygon\n    api_key: "${secrets.apiKey}"\n`,
    );
    text = edit(text, 'seed: 42', `seed: ${seed}`);
    return parse(text).source.hash;
  }

  it('is the same for two configs that differ only in a password and an api key', () => {
    expect(hashWith({ password: PASSWORD, apiKey: API_KEY })).toBe(
      hashWith({ password: 'another-pw-1', apiKey: 'AK-other-key' }),
    );
  });

  it('is the hash of the config with its secrets masked, so no guess of a secret can be checked against it', () => {
    expect(hashWith({ password: PASSWORD, apiKey: API_KEY })).toBe(
      hashWith({ password: '***', apiKey: '***' }),
    );
  });

  it('still changes when anything but a secret changes', () => {
    const secrets = { password: PASSWORD, apiKey: API_KEY };
    expect(hashWith(secrets, 43)).not.toBe(hashWith(secrets, 42));
  });
});

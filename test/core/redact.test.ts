import { describe, expect, it } from 'vitest';
import { REDACTED, SecretRedactor, isSecretKey, redactUri } from '../../src/core/redact.js';

describe('redactUri', () => {
  it('masks the password of a connection uri and keeps the rest', () => {
    expect(redactUri('postgresql://mdp:hunter2@db:5432/marketdata')).toBe(
      'postgresql://mdp:***@db:5432/marketdata',
    );
    expect(redactUri('connect to postgres://u:p%40ss@h/db failed')).toBe(
      'connect to postgres://u:***@h/db failed',
    );
  });

  it('masks a password written with a raw @ or / whole', () => {
    expect(redactUri('postgresql://mdp:p@ss@word@db:5432/x')).toBe(
      'postgresql://mdp:***@db:5432/x',
    );
    expect(redactUri('"postgresql://mdp:pa/ss@db/x"')).toBe('"postgresql://mdp:***@db/x"');
  });

  it('masks every uri in a text, and password= parameters', () => {
    expect(redactUri('a=postgresql://u:one@h/db b=redis://:two@h:6379')).toBe(
      'a=postgresql://u:***@h/db b=redis://:***@h:6379',
    );
    expect(redactUri('host=db password=s3cret user=mdp')).toBe('host=db password=*** user=mdp');
    expect(redactUri("host=db password='with space' user=mdp")).toBe(
      'host=db password=*** user=mdp',
    );
    expect(redactUri('postgresql://db/x?user=mdp&password=s3cret&ssl=1')).toBe(
      'postgresql://db/x?user=mdp&password=***&ssl=1',
    );
  });

  it('leaves uris without a password alone', () => {
    for (const text of [
      'postgresql://mdp@db:5432/marketdata',
      'postgresql://db:5432/marketdata',
      'sqlite:data/marketdata.db',
      'see http://example.com:8080/docs',
    ]) {
      expect(redactUri(text)).toBe(text);
    }
  });
});

describe('isSecretKey', () => {
  it('knows secret keys by name', () => {
    for (const key of [
      'api_key',
      'secret',
      'token',
      'password',
      'secret_key',
      'client_secret',
      'access_token',
      'API_KEY',
      'api-key',
      'apikey',
      'apiKey',
      'accessToken',
      'passwd',
    ]) {
      expect(isSecretKey(key), key).toBe(true);
    }
    for (const key of ['uri', 'seed', 'tokens_per_minute', 'secretary', 'type', 'key']) {
      expect(isSecretKey(key), key).toBe(false);
    }
  });

  it('knows a key id (half of a credential pair, like alpaca key_id) as a secret', () => {
    for (const key of ['key_id', 'KEY_ID', 'keyid', 'access_key_id', 'key-id', 'accessKeyId']) {
      expect(isSecretKey(key), key).toBe(true);
    }
    for (const key of ['keys', 'monkey_ids', 'id', 'run_id']) {
      expect(isSecretKey(key), key).toBe(false);
    }
  });
});

describe('redactUri on HTTP API urls', () => {
  it('masks apiKey and token query parameters, as a key in a url would otherwise leak to a log', () => {
    expect(
      redactUri('GET https://api.polygon.io/v2/aggs/ticker/SPY?cursor=abc&apiKey=Zx9_secret'),
    ).toBe('GET https://api.polygon.io/v2/aggs/ticker/SPY?cursor=abc&apiKey=***');
    expect(redactUri('https://h/x?api_key=k1&access_token=t2&limit=5')).toBe(
      'https://h/x?api_key=***&access_token=***&limit=5',
    );
    expect(redactUri('https://h/x?limit=5&sort=asc')).toBe('https://h/x?limit=5&sort=asc');
  });
});

describe('SecretRedactor', () => {
  it('collects secret-key values and uri passwords from a config and masks them anywhere', () => {
    const redactor = SecretRedactor.fromConfig({
      providers: { poly: { api_key: 'AKIA-1234-XYZ', nested: [{ token: 'tok-5678' }] } },
      storage: { primary: { uri: 'postgresql://mdp:p%40ss-word@db/x' } },
    });
    expect(redactor.redact('key AKIA-1234-XYZ, token tok-5678, pw p@ss-word and p%40ss-word')).toBe(
      `key ${REDACTED}, token ${REDACTED}, pw ${REDACTED} and ${REDACTED}`,
    );
  });

  it('masks an alpaca key id and secret, and an apiKey written into a url in the config', () => {
    const redactor = SecretRedactor.fromConfig({
      providers: {
        alpaca_1: { key_id: 'PKTESTKEYID1234', secret_key: 'sk-abcdef-123456' },
        proxy: { base_url: 'https://proxy.internal/polygon?apiKey=inline-key-42' },
      },
    });
    expect(redactor.redact('auth PKTESTKEYID1234 sk-abcdef-123456 inline-key-42')).toBe(
      `auth ${REDACTED} ${REDACTED} ${REDACTED}`,
    );
  });

  it('masks a password that contains a raw @ wherever it appears', () => {
    const redactor = SecretRedactor.fromConfig({ uri: 'postgresql://mdp:s3cr@t-pw@db/x' });
    expect(redactor.redact('login failed for s3cr@t-pw')).toBe('login failed for ***');
    expect(redactor.redact('postgresql://mdp:s3cr@t-pw@db/x')).toBe('postgresql://mdp:***@db/x');
  });

  it('masks the longest secret first, so one containing another is masked whole', () => {
    const redactor = new SecretRedactor(['abcd', 'abcdefgh']);
    expect(redactor.redact('x abcdefgh y abcd')).toBe('x *** y ***');
  });

  it('does not mask values shorter than 4 characters in free text', () => {
    const redactor = new SecretRedactor(['abc', 'a']);
    expect(redactor.redact('a abc')).toBe('a abc');
  });

  it('redactValue masks secret keys whatever their length, and uri passwords, in a deep copy', () => {
    const config = {
      providers: { p: { token: 'x', api_key: 'abcdefgh', seed: 42 } },
      storage: { uri: 'postgresql://u:longpassword@h/db' },
      list: ['postgresql://u:longpassword@h/db'],
    };
    const redactor = SecretRedactor.fromConfig(config);
    expect(redactor.redactValue(config)).toEqual({
      providers: { p: { token: REDACTED, api_key: REDACTED, seed: 42 } },
      storage: { uri: `postgresql://u:${REDACTED}@h/db` },
      list: [`postgresql://u:${REDACTED}@h/db`],
    });
    expect(config.providers.p.token).toBe('x');
  });
});

/**
 * storage.primary.statement_timeout, lock_timeout and idle_in_transaction_timeout go to
 * PostgreSQL as whole milliseconds, at most 2^31-1 (about 24.8 days): anything past that would
 * pass the config and then fail every run at connect with a message naming no key. `0s` is
 * PostgreSQL's own "no limit".
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/core/config/load-config.js';

function config(key: string, value: string): string {
  return `version: 2
providers:
  syn: { type: synthetic }
storage:
  primary:
    type: postgres
    uri: 'postgresql://u:p@127.0.0.1:5432/db'
    ${key}: ${value}
datasets:
  ds: { provider: syn, symbols: [AAA], interval: 1m }
jobs:
  lv: { dataset: ds, mode: live }
`;
}

function parse(text: string) {
  return parseConfig(text, { file: '/tmp/mdp.yaml', cwd: '/tmp', env: {} });
}

function primary(text: string): Record<string, unknown> {
  return parse(text).storage.primary as unknown as Record<string, unknown>;
}

describe.each(['lock_timeout', 'statement_timeout', 'idle_in_transaction_timeout'])(
  'storage.primary.%s',
  (key) => {
    it('past what PostgreSQL accepts is a config error naming the key, its line and the limit', () => {
      expect(() => parse(config(key, '30d'))).toThrow(
        new RegExp(`mdp\\.yaml:8:\\d+ storage\\.primary\\.${key}: .*24d 20h 31m 23\\.647s`),
      );
    });

    it('takes PostgreSQL’s largest value, 2147483647 ms', () => {
      expect(primary(config(key, '2147483647ms'))[key]).toBe(2_147_483_647);
      expect(() => parse(config(key, '2147483648ms'))).toThrow(/storage\.primary/);
    });

    it('takes 0s (or 0) as PostgreSQL’s "no limit"', () => {
      expect(primary(config(key, '0s'))[key]).toBe(0);
      expect(primary(config(key, '0'))[key]).toBe(0);
    });

    it('refuses a part of a millisecond, which PostgreSQL would round to "no limit"', () => {
      expect(() => parse(config(key, '0.4ms'))).toThrow(
        new RegExp(`storage\\.primary\\.${key}[\\s\\S]*whole number of milliseconds`),
      );
    });
  },
);

import { expect } from 'vitest';
import {
  parseConfig,
  type LoadConfigOptions,
  type MdpConfig,
} from '../../../src/core/config/load-config.js';
import { ConfigError, type ConfigIssue } from '../../../src/core/errors.js';

/** A complete, valid config in the shape of DESIGN.md; tests change one line of it at a time. */
export const VALID_CONFIG = `version: 2
profile: dev
providers:
  synthetic_1:
    type: synthetic
    enabled: true
    seed: 42
    pacing: { requests_per_minute: 40, burst: 10, cooldown_seconds: 60 }
storage:
  primary:
    type: sqlite
    uri: "sqlite:data/marketdata.db"
    write: { batch_size: 1000, upsert_keys: [provider, symbol, interval, ts] }
datasets:
  synthetic_smoke:
    provider: synthetic_1
    symbols: [AAA, BBB, CCC]
    interval: 1m
jobs:
  synthetic_live:
    dataset: synthetic_smoke
    mode: live
    live: { lookback: 2h }
    execution: { concurrency: 1, retry: { max_attempts: 3, backoff_seconds: 5 } }
  synthetic_backfill:
    dataset: synthetic_smoke
    mode: backfill
    backfill: { start: "2024-01-01T00:00:00Z", end: "2024-01-31T00:00:00Z" }
    execution: { concurrency: 4, retry: { max_attempts: 3, backoff_seconds: 5 } }
features: { write_enabled: true, export_enabled: false }
telemetry:
  log_level: INFO
  metrics: { enabled: true, host: 127.0.0.1, port: 9090 }
profiles:
  prod:
    storage: { primary: { type: timescaledb, uri: "\${MDP_PG_URI}" } }
`;

/** `text` with the one occurrence of `search` replaced; fails loudly when it is not there once. */
export function edit(text: string, search: string, replacement: string): string {
  const first = text.indexOf(search);
  if (first < 0 || text.indexOf(search, first + 1) >= 0) {
    throw new Error(`fixture edit: "${search}" must occur exactly once`);
  }
  return text.slice(0, first) + replacement + text.slice(first + search.length);
}

/** 1-based line and column of `needle` in `text`, plus `offset` characters into it. */
export function positionOf(
  text: string,
  needle: string,
  offset = 0,
): { line: number; column: number } {
  const index = text.indexOf(needle);
  if (index < 0) throw new Error(`positionOf: "${needle}" is not in the text`);
  const before = text.slice(0, index + offset).split('\n');
  return { line: before.length, column: (before.at(-1) as string).length + 1 };
}

/** Parses `text` as `test.yaml` with an empty environment unless told otherwise. */
export function parse(text: string, options: Partial<LoadConfigOptions> = {}): MdpConfig {
  return parseConfig(text, { file: 'test.yaml', env: {}, cwd: '/srv/mdp', ...options });
}

/** The ConfigError that parsing `text` throws (the test fails when it does not throw one). */
export function configError(text: string, options: Partial<LoadConfigOptions> = {}): ConfigError {
  try {
    parse(text, options);
  } catch (error: unknown) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected the config to be rejected, but it was accepted');
}

/** The single issue parsing `text` reports. */
export function onlyIssue(text: string, options: Partial<LoadConfigOptions> = {}): ConfigIssue {
  const { issues } = configError(text, options);
  expect(issues).toHaveLength(1);
  return issues[0] as ConfigIssue;
}

import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { VALID_CONFIG, configError, edit, onlyIssue, parse, positionOf } from './config-fixture.js';

describe('parseConfig reports each kind of mistake with its path, position and a fix', () => {
  it('accepts the valid fixture', () => {
    expect(parse(VALID_CONFIG).jobs.synthetic_backfill?.mode).toBe('backfill');
  });

  it('wrong type: names the expected and the given type in YAML words', () => {
    const text = edit(VALID_CONFIG, 'seed: 42', 'seed: forty-two');
    expect(onlyIssue(text)).toEqual({
      path: 'providers.synthetic_1.seed',
      ...positionOf(text, 'forty-two'),
      message: 'expected a number, got text',
    });
  });

  it('wrong type: a list where a mapping of names belongs', () => {
    const text = edit(
      VALID_CONFIG,
      'datasets:\n  synthetic_smoke:\n    provider: synthetic_1\n    symbols: [AAA, BBB, CCC]\n    interval: 1m\n',
      'datasets: [synthetic_smoke]\n',
    );
    const { issues } = configError(text);
    expect(issues[0]).toEqual({
      path: 'datasets',
      ...positionOf(text, '[synthetic_smoke]'),
      message: 'expected a mapping of names to settings, got a list',
    });
  });

  it('wrong type: symbols written as one word instead of a list', () => {
    const text = edit(VALID_CONFIG, 'symbols: [AAA, BBB, CCC]', 'symbols: AAA');
    expect(onlyIssue(text)).toEqual({
      path: 'datasets.synthetic_smoke.symbols',
      ...positionOf(text, 'symbols: AAA', 'symbols: '.length),
      message: 'expected a list, got text',
    });
  });

  it('symbol case: alpaca symbols must be upper case (it answers so), other providers keep theirs', () => {
    const lower = edit(VALID_CONFIG, 'symbols: [AAA, BBB, CCC]', 'symbols: [AAA, bbb]');
    expect(parse(lower).datasets.synthetic_smoke?.symbols).toEqual(['AAA', 'bbb']);
    const alpaca = edit(
      lower,
      '    type: synthetic\n    enabled: true\n    seed: 42\n',
      '    type: alpaca\n    key_id: k\n    secret_key: s\n',
    );
    expect(onlyIssue(alpaca)).toEqual({
      path: 'datasets.synthetic_smoke.symbols[1]',
      ...positionOf(alpaca, 'bbb'),
      message:
        'alpaca answers symbols in upper case, so "bbb" would match none of its bars (each rejected as wrong_series); write "BBB"',
    });
  });

  it('unknown key: points at the key and suggests the close known key', () => {
    const text = edit(VALID_CONFIG, '    interval: 1m\n', '    intervl: 1m\n');
    const { issues } = configError(text);
    const unknown = issues.find((issue) => issue.path === 'datasets.synthetic_smoke.intervl');
    expect(unknown).toEqual({
      path: 'datasets.synthetic_smoke.intervl',
      ...positionOf(text, 'intervl'),
      message:
        'unknown key "intervl" (did you mean "interval"?); remove it or use one of: provider, symbols, interval',
    });
    // ...and the key it was meant to be is then missing, reported at the dataset's mapping.
    expect(issues.find((issue) => issue.path === 'datasets.synthetic_smoke.interval')).toEqual({
      path: 'datasets.synthetic_smoke.interval',
      ...positionOf(text, 'provider: synthetic_1'),
      message: 'required key "interval" is missing: add it (one of: 1m, 5m, 15m, 30m, 1h, 4h, 1d)',
    });
  });

  it('unknown key: no suggestion when nothing is close', () => {
    const text = edit(VALID_CONFIG, '    seed: 42\n', '    seed: 42\n    colour: blue\n');
    const issue = onlyIssue(text);
    expect(issue).toMatchObject({
      path: 'providers.synthetic_1.colour',
      ...positionOf(text, 'colour'),
    });
    // The list is the synthetic provider's keys, whatever they grow to.
    expect(issue.message).toMatch(
      /^unknown key "colour"; remove it or use one of: type, enabled, pacing, retry, .*\bseed\b/,
    );
  });

  it('unknown top-level section: suggests the section, profiles included', () => {
    const text = edit(VALID_CONFIG, 'telemetry:\n', 'telemtry:\n');
    const issue = onlyIssue(text);
    expect(issue).toMatchObject({ path: 'telemtry', ...positionOf(text, 'telemtry') });
    expect(issue.message).toMatch(
      /^unknown key "telemtry" \(did you mean "telemetry"\?\); remove it/,
    );
    expect(issue.message).toContain('profiles');
  });

  it('missing required key: names the key and what to add, at the mapping that lacks it', () => {
    const text = edit(
      VALID_CONFIG,
      '    dataset: synthetic_smoke\n    mode: live\n',
      '    mode: live\n',
    );
    expect(onlyIssue(text)).toEqual({
      path: 'jobs.synthetic_live.dataset',
      ...positionOf(text, 'mode: live'),
      message: 'required key "dataset" is missing: add it (text)',
    });
  });

  it('missing required section', () => {
    const text = edit(
      VALID_CONFIG,
      'features: { write_enabled: true, export_enabled: false }\n',
      '',
    );
    const withoutJobs =
      text.slice(0, text.indexOf('jobs:')) + text.slice(text.indexOf('features:'));
    // Removing features is fine (it has defaults); removing jobs is not.
    expect(() => parse(text)).not.toThrow();
    expect(onlyIssue(withoutJobs)).toEqual({
      path: 'jobs',
      line: 1,
      column: 1,
      message: 'required key "jobs" is missing: add it (a mapping of names to settings)',
    });
  });

  it('unknown interval: lists the intervals and suggests the closest', () => {
    const text = edit(VALID_CONFIG, 'interval: 1m', 'interval: 2m');
    expect(onlyIssue(text)).toEqual({
      path: 'datasets.synthetic_smoke.interval',
      ...positionOf(text, 'interval: 2m', 'interval: '.length),
      message: '"2m" is not allowed (did you mean "1m"?); use one of: 1m, 5m, 15m, 30m, 1h, 4h, 1d',
    });
  });

  it('a job naming a dataset that does not exist', () => {
    const text = edit(
      VALID_CONFIG,
      '    dataset: synthetic_smoke\n    mode: live',
      '    dataset: synthetic_smok\n    mode: live',
    );
    expect(onlyIssue(text)).toEqual({
      path: 'jobs.synthetic_live.dataset',
      ...positionOf(text, 'synthetic_smok\n'),
      message:
        'unknown dataset "synthetic_smok" (did you mean "synthetic_smoke"?); define it under datasets: or use one of: synthetic_smoke',
    });
  });

  it('a dataset naming an unknown provider', () => {
    const text = edit(VALID_CONFIG, 'provider: synthetic_1', 'provider: polygon_1');
    expect(onlyIssue(text)).toEqual({
      path: 'datasets.synthetic_smoke.provider',
      ...positionOf(text, 'polygon_1'),
      message:
        'unknown provider "polygon_1"; define it under providers: or use one of: synthetic_1',
    });
  });

  it('a dataset naming a disabled provider', () => {
    const text = edit(
      VALID_CONFIG,
      'type: synthetic\n    enabled: true',
      'type: synthetic\n    enabled: false',
    );
    expect(onlyIssue(text)).toEqual({
      path: 'datasets.synthetic_smoke.provider',
      ...positionOf(text, 'provider: synthetic_1', 'provider: '.length),
      message:
        'provider "synthetic_1" is disabled (enabled: false); enable it or point this dataset at another provider',
    });
  });

  it('a backfill window whose end is not after its start', () => {
    const text = edit(VALID_CONFIG, 'end: "2024-01-31T00:00:00Z"', 'end: "2024-01-01T00:00:00Z"');
    expect(onlyIssue(text)).toEqual({
      path: 'jobs.synthetic_backfill.backfill.end',
      ...positionOf(text, 'end: "2024', 'end: '.length),
      message:
        'the window is empty: end (2024-01-01T00:00:00Z) must be after start (2024-01-01T00:00:00Z)',
    });
  });

  it('a backfill job without a window', () => {
    const text = edit(
      VALID_CONFIG,
      '    backfill: { start: "2024-01-01T00:00:00Z", end: "2024-01-31T00:00:00Z" }\n',
      '',
    );
    const issue = onlyIssue(text);
    expect(issue).toMatchObject({
      path: 'jobs.synthetic_backfill',
      ...positionOf(text, 'dataset: synthetic_smoke\n    mode: backfill'),
    });
    expect(issue.message).toMatch(/^a backfill job needs backfill\.start/);
  });

  it('a start that is not a time', () => {
    const text = edit(VALID_CONFIG, 'start: "2024-01-01T00:00:00Z"', 'start: "last tuesday"');
    expect(onlyIssue(text)).toEqual({
      path: 'jobs.synthetic_backfill.backfill.start',
      ...positionOf(text, '"last tuesday"'),
      message:
        '"last tuesday" is not a UTC time: write 2024-01-31 or 2024-01-31T00:00:00Z (an offset like +02:00 also works)',
    });
  });

  it('a date that does not exist is refused, not moved to the next month', () => {
    const text = edit(VALID_CONFIG, 'end: "2024-01-31T00:00:00Z"', 'end: "2024-02-30"');
    expect(onlyIssue(text)).toEqual({
      path: 'jobs.synthetic_backfill.backfill.end',
      ...positionOf(text, '"2024-02-30"'),
      message: '"2024-02-30" is not a date: February 2024 has 29 days',
    });
    const withTime = edit(
      VALID_CONFIG,
      'start: "2024-01-01T00:00:00Z"',
      'start: "2023-02-29T10:00:00+02:00"',
    );
    expect(onlyIssue(withTime)).toMatchObject({
      path: 'jobs.synthetic_backfill.backfill.start',
      ...positionOf(withTime, '"2023-02-29'),
      message: '"2023-02-29T10:00:00+02:00" is not a date: February 2023 has 28 days',
    });
    expect(
      onlyIssue(edit(VALID_CONFIG, 'end: "2024-01-31T00:00:00Z"', 'end: "2024-13-01"')),
    ).toMatchObject({ message: '"2024-13-01" is not a date: there is no month 13' });
  });

  it('a symbol listed twice in a dataset points at the repeat', () => {
    const text = edit(VALID_CONFIG, 'symbols: [AAA, BBB, CCC]', 'symbols: [AAA, BBB, AAA, CCC]');
    expect(onlyIssue(text)).toEqual({
      path: 'datasets.synthetic_smoke.symbols[2]',
      ...positionOf(text, 'AAA, CCC'),
      message:
        '"AAA" is listed twice (also at symbols[0]): remove the repeat; it would fetch and count the symbol twice',
    });
  });

  it('a lookback that is not a duration', () => {
    const text = edit(VALID_CONFIG, 'lookback: 2h', 'lookback: 2 hours');
    expect(onlyIssue(text)).toEqual({
      path: 'jobs.synthetic_live.live.lookback',
      ...positionOf(text, '2 hours'),
      message:
        '"2 hours" is not a duration: write a positive number and a unit, like 90s, 15m, 2h or 7d',
    });
  });

  it('a non-positive batch size', () => {
    const text = edit(VALID_CONFIG, 'batch_size: 1000', 'batch_size: 0');
    expect(onlyIssue(text)).toEqual({
      path: 'storage.primary.write.batch_size',
      ...positionOf(text, 'batch_size: 0', 'batch_size: '.length),
      message: 'must be greater than 0, got 0',
    });
  });

  it('a fractional batch size', () => {
    const text = edit(VALID_CONFIG, 'batch_size: 1000', 'batch_size: 10.5');
    expect(onlyIssue(text)).toEqual({
      path: 'storage.primary.write.batch_size',
      ...positionOf(text, '10.5'),
      message: 'expected a whole number, got number 10.5',
    });
  });

  it('a non-positive pacing rate', () => {
    const text = edit(VALID_CONFIG, 'requests_per_minute: 40', 'requests_per_minute: -5');
    expect(onlyIssue(text)).toEqual({
      path: 'providers.synthetic_1.pacing.requests_per_minute',
      ...positionOf(text, '-5'),
      message: 'must be greater than 0, got -5',
    });
  });

  it('a pacing.max_retry_after that is not a duration', () => {
    const text = edit(
      VALID_CONFIG,
      'cooldown_seconds: 60 }',
      'cooldown_seconds: 60, max_retry_after: forever }',
    );
    expect(onlyIssue(text)).toEqual({
      path: 'providers.synthetic_1.pacing.max_retry_after',
      ...positionOf(text, 'forever'),
      message:
        '"forever" is not a duration: write a positive number and a unit, like 90s, 15m, 2h or 7d',
    });
  });

  it('a pacing.max_retry_after of zero', () => {
    const text = edit(
      VALID_CONFIG,
      'cooldown_seconds: 60 }',
      'cooldown_seconds: 60, max_retry_after: 0s }',
    );
    expect(onlyIssue(text).path).toBe('providers.synthetic_1.pacing.max_retry_after');
  });

  it('a pacing.max_retry_after under a second, with its position', () => {
    const text = edit(
      VALID_CONFIG,
      'cooldown_seconds: 60 }',
      'cooldown_seconds: 60, max_retry_after: 10ms }',
    );
    expect(onlyIssue(text)).toEqual({
      path: 'providers.synthetic_1.pacing.max_retry_after',
      ...positionOf(text, '10ms'),
      message:
        '"10ms" is shorter than 1s: write 1s or more (mdp never pauses less than a second after a 429)',
    });
  });

  it('a pacing.max_retry_after of hundreds of digits (Infinity) is not a duration', () => {
    const digits = '9'.repeat(400);
    const text = edit(
      VALID_CONFIG,
      'cooldown_seconds: 60 }',
      `cooldown_seconds: 60, max_retry_after: ${digits}s }`,
    );
    expect(onlyIssue(text)).toEqual({
      path: 'providers.synthetic_1.pacing.max_retry_after',
      ...positionOf(text, `${digits}s`),
      message: `"${digits}s" is not a duration: write a positive number and a unit, like 90s, 15m, 2h or 7d`,
    });
  });

  it('a pacing block may set only the 429 handling, without a rate', () => {
    const text = edit(
      VALID_CONFIG,
      'pacing: { requests_per_minute: 40, burst: 10, cooldown_seconds: 60 }',
      'pacing: { cooldown_seconds: 5, max_retry_after: 1h }',
    );
    expect(parse(text).providers.synthetic_1?.pacing).toEqual({
      burst: 1,
      cooldown_seconds: 5,
      max_retry_after: 3_600_000,
      scope: 'store',
    });
  });

  it('an unsupported version', () => {
    const text = edit(VALID_CONFIG, 'version: 2', 'version: 3');
    expect(onlyIssue(text)).toEqual({
      path: 'version',
      line: 1,
      column: 10,
      message:
        'unsupported version 3: this mdp reads version 2 configs; set version: 2 (configs/sample.yaml shows the format)',
    });
  });

  it('a version written as text', () => {
    const text = edit(VALID_CONFIG, 'version: 2', 'version: "2"');
    expect(onlyIssue(text)).toEqual({
      path: 'version',
      line: 1,
      column: 10,
      message: 'version is the text "2", not the number 2: write version: 2 without quotes',
    });
  });

  it('a missing version', () => {
    const text = edit(VALID_CONFIG, 'version: 2\n', '');
    expect(onlyIssue(text)).toEqual({
      path: 'version',
      line: 1,
      column: 1,
      message: 'required key "version" is missing: add version: 2 at the top of the file',
    });
  });

  it('upsert keys that are not bar columns', () => {
    const text = edit(
      VALID_CONFIG,
      '[provider, symbol, interval, ts]',
      '[provider, sym, interval, ts]',
    );
    expect(onlyIssue(text)).toEqual({
      path: 'storage.primary.write.upsert_keys[1]',
      ...positionOf(text, 'sym,'),
      message:
        '"sym" is not allowed (did you mean "symbol"?); use one of: provider, symbol, interval, ts, open, high, low, close, volume, vwap, trade_count',
    });
  });

  it('upsert keys that omit ts', () => {
    const text = edit(
      VALID_CONFIG,
      '[provider, symbol, interval, ts]',
      '[provider, symbol, interval]',
    );
    expect(onlyIssue(text)).toEqual({
      path: 'storage.primary.write.upsert_keys',
      ...positionOf(text, '[provider, symbol, interval]'),
      message:
        'upsert keys must include ts, or every bar of a symbol would overwrite the last; the usual keys are [provider, symbol, interval, ts]',
    });
  });

  it('upsert keys with a column that may be null', () => {
    const text = edit(
      VALID_CONFIG,
      '[provider, symbol, interval, ts]',
      '[provider, symbol, interval, ts, vwap]',
    );
    expect(onlyIssue(text)).toEqual({
      path: 'storage.primary.write.upsert_keys[4]',
      ...positionOf(text, 'vwap]'),
      message:
        'vwap may be null (providers do not always send it), so it cannot be part of the key; the usual keys are [provider, symbol, interval, ts]',
    });
  });

  it('volume among the upsert keys: may be unknown, with the way out for a database keyed on it', () => {
    const text = edit(
      VALID_CONFIG,
      '[provider, symbol, interval, ts]',
      '[provider, symbol, interval, ts, volume]',
    );
    expect(onlyIssue(text)).toEqual({
      path: 'storage.primary.write.upsert_keys[4]',
      ...positionOf(text, 'volume]'),
      message:
        'volume may be unknown (index aggregates have none), so it cannot be part of the key; the usual keys are [provider, symbol, interval, ts]. A database created with volume among its upsert keys cannot store such bars: point storage.primary.uri (or schema) at a new database with the usual keys and copy the bars over',
    });
  });

  it('an unknown storage type and a uri that does not match the type', () => {
    const sqlText = edit(VALID_CONFIG, 'type: sqlite', 'type: mysql');
    expect(onlyIssue(sqlText)).toEqual({
      path: 'storage.primary.type',
      ...positionOf(sqlText, 'mysql'),
      message: '"mysql" is not allowed; use one of: sqlite, postgres, timescaledb',
    });
    const pgText = edit(VALID_CONFIG, 'type: sqlite', 'type: postgres');
    expect(onlyIssue(pgText)).toEqual({
      path: 'storage.primary.uri',
      ...positionOf(pgText, '"sqlite:data'),
      message:
        'a postgres storage uri starts with postgresql://, e.g. postgresql://mdp@localhost:5432/marketdata',
    });
  });

  it('an unknown provider type', () => {
    const text = edit(VALID_CONFIG, 'type: synthetic', 'type: synthetc');
    const issue = onlyIssue(text);
    expect(issue).toMatchObject({
      path: 'providers.synthetic_1.type',
      ...positionOf(text, 'synthetc'),
    });
    expect(issue.message).toMatch(
      /^unknown type "synthetc" \(did you mean "synthetic"\?\); known: .*\bsynthetic\b/,
    );
  });

  it('an empty section', () => {
    const text = VALID_CONFIG.replace(/^datasets:\n[\s\S]*?^jobs:/m, 'datasets:\njobs:');
    const { issues } = configError(text);
    expect(issues[0]).toEqual({
      path: 'datasets',
      ...positionOf(text, 'datasets:', 'datasets:'.length),
      message: 'expected a mapping of names to settings, got an empty value',
    });
  });

  it('a name that is not a valid identifier, at the key', () => {
    const text = edit(VALID_CONFIG, '  synthetic_live:\n', '  "synthetic live":\n');
    expect(onlyIssue(text)).toEqual({
      path: 'jobs.synthetic live',
      ...positionOf(text, '"synthetic live"'),
      message:
        'invalid name "synthetic live": names start with a letter or _ and hold only letters, digits, _ . -',
    });
  });

  it('an empty symbol list', () => {
    const text = edit(VALID_CONFIG, 'symbols: [AAA, BBB, CCC]', 'symbols: []');
    expect(onlyIssue(text)).toEqual({
      path: 'datasets.synthetic_smoke.symbols',
      ...positionOf(text, '[]'),
      message: 'must list at least 1 item',
    });
  });

  it('a live job with backfill settings', () => {
    const text = edit(
      VALID_CONFIG,
      'live: { lookback: 2h }',
      'live: { lookback: 2h }\n    backfill: { start: 2024-01-01 }',
    );
    expect(onlyIssue(text)).toEqual({
      path: 'jobs.synthetic_live.backfill',
      ...positionOf(text, '{ start: 2024-01-01 }'),
      message: 'a live job does not use backfill settings; remove them or set mode: backfill',
    });
  });

  it('a sqlite uri without sqlite:', () => {
    const text = edit(VALID_CONFIG, '"sqlite:data/marketdata.db"', 'data/marketdata.db');
    expect(onlyIssue(text)).toEqual({
      path: 'storage.primary.uri',
      ...positionOf(text, 'data/marketdata.db'),
      message: 'a sqlite storage uri starts with sqlite:, e.g. sqlite:data/marketdata.db',
    });
  });

  it('a metrics port out of range', () => {
    const text = edit(VALID_CONFIG, 'port: 9090', 'port: 70000');
    expect(onlyIssue(text)).toEqual({
      path: 'telemetry.metrics.port',
      ...positionOf(text, '70000'),
      message: 'must be at most 65535, got 70000',
    });
  });

  it('a file that is not YAML at all', () => {
    const text = 'version: 2\nproviders: {synthetic_1: {type: synthetic}\nstorage: [\n';
    const { issues, message } = configError(text);
    expect(issues.length).toBeGreaterThan(0);
    for (const issue of issues) {
      expect(issue.path).toBe('');
      expect(issue.message).toMatch(/^not valid YAML: /);
      expect(issue.line).toBeGreaterThanOrEqual(2);
      expect(issue.column).toBeGreaterThanOrEqual(1);
    }
    expect(message).toMatch(/^test\.yaml: \d+ problems?\n {2}test\.yaml:\d+:\d+ not valid YAML/);
  });

  it('a YAML file that is not a mapping', () => {
    for (const text of ['just a sentence\n', '- a\n- list\n', '']) {
      expect(onlyIssue(text)).toEqual({
        path: '',
        line: 1,
        column: 1,
        message:
          'the file is not a YAML mapping of config sections; start from configs/sample.yaml',
      });
    }
  });

  it('a duplicated key', () => {
    const text = `${VALID_CONFIG}version: 2\n`;
    expect(onlyIssue(text)).toEqual({
      path: '',
      line: text.split('\n').length - 1, // the second `version:`, on the last line
      column: 1,
      message: 'not valid YAML: Map keys must be unique',
    });
  });

  it('an alias without an anchor', () => {
    const text = edit(VALID_CONFIG, 'symbols: [AAA, BBB, CCC]', 'symbols: *tickers');
    expect(onlyIssue(text)).toEqual({
      path: '',
      ...positionOf(text, '*tickers'),
      message:
        'not valid YAML: alias *tickers has no anchor &tickers before it; define the anchor first or write the value out',
    });
  });

  it('an alias bomb is a config error, not a crash', () => {
    const text =
      'a: &a [x, x, x, x, x, x, x, x, x, x]\n' +
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n' +
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n' +
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n';
    const issue = onlyIssue(text);
    expect(issue.message).toBe(
      'not valid YAML: the aliases expand to too many nodes (more than 1000); write the values out instead',
    );
    expect(issue.line).toBe(2);
  });

  it('reports every mistake at once, sorted by line then column', () => {
    let text = VALID_CONFIG;
    text = edit(text, 'version: 2', 'version: 7');
    text = edit(text, 'seed: 42', 'seed: [42]');
    text = edit(text, 'requests_per_minute: 40', 'requests_per_minute: 0');
    text = edit(text, 'batch_size: 1000', 'batch_size: -1');
    text = edit(text, '[provider, symbol, interval, ts]', '[provider, symbol]');
    text = edit(text, 'provider: synthetic_1', 'provider: nope');
    text = edit(text, 'interval: 1m', 'interval: 7m');
    text = edit(
      text,
      '    dataset: synthetic_smoke\n    mode: live',
      '    dataset: gone\n    mode: live',
    );
    text = edit(text, 'lookback: 2h', 'lookback: soon');
    text = edit(text, 'end: "2024-01-31T00:00:00Z"', 'end: "2023-12-31T00:00:00Z"');
    text = edit(text, 'write_enabled: true', 'write_enabld: true');
    text = edit(text, 'log_level: INFO', 'log_level: LOUD');

    const error = configError(text);
    expect(error.issues.map((issue) => [issue.line, issue.path])).toEqual([
      [1, 'version'],
      [7, 'providers.synthetic_1.seed'],
      [8, 'providers.synthetic_1.pacing.requests_per_minute'],
      [13, 'storage.primary.write.batch_size'],
      [13, 'storage.primary.write.upsert_keys'],
      [16, 'datasets.synthetic_smoke.provider'],
      [18, 'datasets.synthetic_smoke.interval'],
      [21, 'jobs.synthetic_live.dataset'],
      [23, 'jobs.synthetic_live.live.lookback'],
      [28, 'jobs.synthetic_backfill.backfill.end'],
      [30, 'features.write_enabld'],
      [32, 'telemetry.log_level'],
    ]);
    const positions = error.issues.map((issue) => [issue.line ?? 0, issue.column ?? 0]);
    const sorted = [...positions].sort(([l1, c1], [l2, c2]) => l1! - l2! || c1! - c2!);
    expect(positions).toEqual(sorted);
    expect(error.message.split('\n')[0]).toBe('test.yaml: 12 problems');
    expect(error.message).toContain(
      '  test.yaml:30:13 features.write_enabld: unknown key "write_enabld" (did you mean "write_enabled"?)',
    );
    expect(error.code).toBe('MDP_CONFIG_INVALID');
    expect(error).toBeInstanceOf(ConfigError);
  });
});

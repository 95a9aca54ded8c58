import { describe, expect, it } from 'vitest';
import { VALID_CONFIG, configError, edit, onlyIssue, parse, positionOf } from './config-fixture.js';

describe('${VAR} interpolation in a config', () => {
  it('replaces ${VAR} and ${VAR:-default} in any value, and numbers written that way still validate', () => {
    let text = edit(VALID_CONFIG, 'seed: 42', 'seed: ${MDP_SEED}');
    text = edit(text, 'batch_size: 1000', 'batch_size: "${MDP_BATCH:-500}"');
    text = edit(text, 'host: 127.0.0.1', 'host: "${MDP_METRICS_HOST:-0.0.0.0}"');
    const config = parse(text, { env: { MDP_SEED: '7', MDP_METRICS_HOST: '10.0.0.5' } });
    expect(config.providers.synthetic_1).toMatchObject({ type: 'synthetic', seed: 7 });
    expect(config.storage.primary.write.batch_size).toBe(500);
    expect(config.telemetry.metrics.host).toBe('10.0.0.5');
  });

  it('a missing variable without a default names the variable and the key, at the value', () => {
    const text = edit(VALID_CONFIG, 'uri: "sqlite:data/marketdata.db"', 'uri: "${MDP_DB_URI}"');
    expect(onlyIssue(text)).toEqual({
      path: 'storage.primary.uri',
      ...positionOf(text, '"${MDP_DB_URI}"'),
      message:
        'environment variable MDP_DB_URI is not set: export it, or write ${MDP_DB_URI:-default} to give a default',
    });
  });

  it('every missing variable is reported, also two in one value', () => {
    let text = edit(
      VALID_CONFIG,
      'uri: "sqlite:data/marketdata.db"',
      'uri: "sqlite:${DIR}/${NAME}.db"',
    );
    text = edit(text, 'symbols: [AAA, BBB, CCC]', 'symbols: [AAA, "${EXTRA}"]');
    const { issues } = configError(text);
    expect(issues.map((issue) => [issue.path, issue.line, issue.message.split(' is ')[0]])).toEqual(
      [
        ['storage.primary.uri', 12, 'environment variable DIR'],
        ['storage.primary.uri', 12, 'environment variable NAME'],
        ['datasets.synthetic_smoke.symbols[1]', 17, 'environment variable EXTRA'],
      ],
    );
    expect(issues[2]).toMatchObject(positionOf(text, '"${EXTRA}"'));
  });

  it('a variable used only by a profile that is not applied is not needed', () => {
    const config = parse(VALID_CONFIG, { env: {} });
    expect(config.storage.primary.type).toBe('sqlite');
  });

  it('a variable used by the applied profile is needed, and located in the profile', () => {
    const issue = onlyIssue(VALID_CONFIG, { profile: 'prod' });
    expect(issue).toEqual({
      path: 'storage.primary.uri',
      ...positionOf(VALID_CONFIG, '"${MDP_PG_URI}"'),
      message:
        'environment variable MDP_PG_URI is not set: export it, or write ${MDP_PG_URI:-default} to give a default',
    });
    const config = parse(VALID_CONFIG, {
      profile: 'prod',
      env: { MDP_PG_URI: 'postgresql://mdp@db:5432/marketdata' },
    });
    expect(config.storage.primary.uri).toBe('postgresql://mdp@db:5432/marketdata');
  });

  it('an unquoted ${VAR} inside { } is a YAML error with a hint to quote it', () => {
    const text = edit(VALID_CONFIG, 'batch_size: 1000', 'batch_size: ${MDP_BATCH}');
    const { issues } = configError(text);
    expect(issues[0]).toEqual({
      path: '',
      ...positionOf(text, '${MDP_BATCH}', 1),
      message:
        'not valid YAML: Unexpected flow-map-start at node end; a value with ${VAR} inside { } or [ ] must be quoted, e.g. "${VAR}"',
    });
  });

  it('a malformed reference is an error, not a literal', () => {
    const text = edit(VALID_CONFIG, 'uri: "sqlite:data/marketdata.db"', 'uri: "${MDP_DB_URI"');
    expect(onlyIssue(text)).toEqual({
      path: 'storage.primary.uri',
      ...positionOf(text, '"${MDP_DB_URI"'),
      message:
        'malformed ${...} reference: write ${NAME} or ${NAME:-default} (NAME of letters, digits and _), or $${ for a literal ${',
    });
  });

  it('$${ is a literal ${', () => {
    const text = edit(
      VALID_CONFIG,
      'mode: live\n',
      'mode: live\n    description: "costs $${PRICE}"\n',
    );
    expect(parse(text).jobs.synthetic_live?.description).toBe('costs ${PRICE}');
  });
});

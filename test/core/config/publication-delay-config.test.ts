import { describe, expect, it } from 'vitest';
import { VALID_CONFIG, edit, onlyIssue, parse } from './config-fixture.js';

const MIN = 60_000;

/** The fixture with its provider entry replaced by `lines` (indented under `synthetic_1:`). */
function withProvider(lines: string): string {
  return edit(
    VALID_CONFIG,
    '    type: synthetic\n    enabled: true\n    seed: 42\n',
    lines
      .trim()
      .split('\n')
      .map((line) => `    ${line.trim()}\n`)
      .join(''),
  );
}

const delayOf = (lines: string): unknown =>
  parse(withProvider(lines)).providers.synthetic_1?.publication_delay;

describe('publication_delay: defaults per provider type and plan', () => {
  it('synthetic and csv publish at once', () => {
    expect(delayOf('type: synthetic')).toBe(0);
    expect(delayOf('type: csv\npath: data')).toBe(0);
  });

  it("polygon defaults to 15m (the free and Starter plans' delayed data)", () => {
    expect(delayOf('type: polygon\napi_key: k')).toBe(15 * MIN);
    expect(delayOf('type: polygon\napi_key: k\npublication_delay: 0s')).toBe(0);
  });

  it("alpaca: 0 on the real-time iex feed, 15m on sip (the free plan's restriction)", () => {
    const alpaca = 'type: alpaca\nkey_id: k\nsecret_key: s';
    expect(delayOf(alpaca)).toBe(0);
    expect(delayOf(`${alpaca}\nfeed: sip`)).toBe(15 * MIN);
    expect(delayOf(`${alpaca}\nfeed: sip\npublication_delay: 0`)).toBe(0);
    expect(delayOf(`${alpaca}\npublication_delay: 2m`)).toBe(2 * MIN);
  });

  it('a value that is no duration is an error naming the key and the fix', () => {
    const issue = onlyIssue(withProvider('type: synthetic\npublication_delay: soon'));
    expect(issue).toMatchObject({ path: 'providers.synthetic_1.publication_delay' });
    expect(issue?.message).toContain('"soon" is not a duration');
    expect(issue?.message).toContain('0s');
  });
});

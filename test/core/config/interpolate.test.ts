import { describe, expect, it } from 'vitest';
import { interpolate } from '../../../src/core/config/interpolate.js';

describe('interpolate', () => {
  it('replaces ${VAR} with its value', () => {
    expect(interpolate({ uri: '${DB}' }, { DB: 'sqlite:x.db' })).toEqual({
      value: { uri: 'sqlite:x.db' },
      missing: [],
      malformed: [],
    });
  });

  it('uses the default of ${VAR:-default} when the variable is unset or empty (shell semantics)', () => {
    const text = { a: '${X:-fallback}' };
    expect(interpolate(text, {}).value).toEqual({ a: 'fallback' });
    expect(interpolate(text, { X: '' }).value).toEqual({ a: 'fallback' });
    expect(interpolate(text, { X: 'set' }).value).toEqual({ a: 'set' });
    expect(interpolate({ a: '${X:-}' }, {}).value).toEqual({ a: '' });
  });

  it('an empty variable without a default is set, not missing', () => {
    expect(interpolate({ a: 'x${EMPTY}y' }, { EMPTY: '' })).toEqual({
      value: { a: 'xy' },
      missing: [],
      malformed: [],
    });
  });

  it('replaces several references in one string', () => {
    const { value } = interpolate(
      { uri: 'postgresql://${USER}:${PASS}@${HOST:-localhost}:${PORT:-5432}/db' },
      { USER: 'mdp', PASS: 'pw', PORT: '6543' },
    );
    expect(value).toEqual({ uri: 'postgresql://mdp:pw@localhost:6543/db' });
  });

  it('reports each unset variable with the path that uses it, and leaves the reference in place', () => {
    const result = interpolate({ a: { b: ['ok', '${ONE}-${TWO}'] } }, {});
    expect(result.missing).toEqual([
      { variable: 'ONE', path: ['a', 'b', 1] },
      { variable: 'TWO', path: ['a', 'b', 1] },
    ]);
    expect(result.value).toEqual({ a: { b: ['ok', '${ONE}-${TWO}'] } });
  });

  it('$${ is an escaped literal ${, and is not interpolated', () => {
    expect(interpolate({ a: 'cost $${PRICE} and ${X}' }, { PRICE: '9', X: '1' }).value).toEqual({
      a: 'cost ${PRICE} and 1',
    });
  });

  it('a value from the environment is not interpolated again', () => {
    expect(interpolate({ a: '${X}' }, { X: '${Y}', Y: 'no' }).value).toEqual({ a: '${Y}' });
  });

  it('leaves numbers, booleans, null and keys untouched', () => {
    const input = { '${K}': 1, n: 2.5, t: true, z: null, list: [3, false] };
    const { value, missing } = interpolate(input, { K: 'key' });
    expect(value).toEqual(input);
    expect(missing).toEqual([]);
  });

  it('does not change its input', () => {
    const input = { a: ['${X}'] };
    interpolate(input, { X: 'y' });
    expect(input).toEqual({ a: ['${X}'] });
  });

  it('reports malformed references: unclosed, bad names, bash-only forms', () => {
    for (const text of ['${UNCLOSED', '${1ABC}', '${}', '${A B}', '${X-default}']) {
      const result = interpolate({ a: text }, { X: 'x', UNCLOSED: 'u' });
      expect(result.malformed, text).toEqual([{ path: ['a'] }]);
      expect(result.value).toEqual({ a: text });
    }
    expect(interpolate({ a: '$ {X} and $X' }, {}).malformed).toEqual([]);
  });
});

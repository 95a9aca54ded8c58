import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deepMerge, isPlainObject } from '../../../src/core/config/deep-merge.js';

/** YAML-shaped values: mappings, lists and scalars, as a config file parses to. */
const { value: yamlValue } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double({ noNaN: true }),
      fc.boolean(),
      fc.constant(null),
    ),
    tie('mapping'),
    fc.array(tie('value'), { maxLength: 4 }),
  ),
  mapping: fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 5 }),
}));
const mapping = fc.dictionary(fc.string({ maxLength: 6 }), yamlValue, { maxKeys: 6 });

/** Every path to a leaf (a non-mapping value, or an empty mapping) of a mapping. */
function leaves(value: Record<string, unknown>, prefix: string[] = []): [string[], unknown][] {
  return Object.entries(value).flatMap(([key, child]) =>
    isPlainObject(child) && Object.keys(child).length > 0
      ? leaves(child, [...prefix, key])
      : [[[...prefix, key], child] as [string[], unknown]],
  );
}

function at(value: unknown, path: readonly string[]): unknown {
  let node = value;
  for (const step of path) {
    if (!isPlainObject(node) || !Object.hasOwn(node, step)) return undefined;
    node = node[step];
  }
  return node;
}

describe('deepMerge (property)', () => {
  it('every leaf of the override wins', () => {
    fc.assert(
      fc.property(mapping, mapping, (base, override) => {
        const merged = deepMerge(base, override);
        for (const [path, leaf] of leaves(override)) {
          if (isPlainObject(leaf)) expect(isPlainObject(at(merged, path))).toBe(true);
          else expect(at(merged, path)).toEqual(leaf);
        }
      }),
    );
  });

  it('keys only the base has are kept', () => {
    fc.assert(
      fc.property(mapping, mapping, (base, override) => {
        const merged = deepMerge(base, override) as Record<string, unknown>;
        for (const key of Object.keys(base)) {
          expect(Object.hasOwn(merged, key)).toBe(true);
          if (!Object.hasOwn(override, key)) expect(merged[key]).toEqual(base[key]);
        }
        expect(Object.keys(merged).sort()).toEqual(
          [...new Set([...Object.keys(base), ...Object.keys(override)])].sort(),
        );
      }),
    );
  });

  it('neither input is changed, and the result shares nothing with them', () => {
    fc.assert(
      fc.property(mapping, mapping, (base, override) => {
        const baseBefore = structuredClone(base);
        const overrideBefore = structuredClone(override);
        const merged = deepMerge(base, override) as Record<string, unknown>;
        for (const key of Object.keys(merged)) {
          const value = merged[key];
          if (typeof value === 'object' && value !== null) {
            expect(value).not.toBe(base[key]);
            expect(value).not.toBe(override[key]);
          }
        }
        expect(base).toEqual(baseBefore);
        expect(override).toEqual(overrideBefore);
      }),
    );
  });

  it('merge(a, {}) equals a, and merge({}, b) equals b', () => {
    fc.assert(
      fc.property(mapping, (a) => {
        expect(deepMerge(a, {})).toEqual(a);
        expect(deepMerge({}, a)).toEqual(a);
        expect(deepMerge(a, undefined)).toEqual(a);
      }),
    );
  });

  it('merge(a, a) equals a', () => {
    fc.assert(
      fc.property(mapping, (a) => {
        expect(deepMerge(a, a)).toEqual(a);
      }),
    );
  });

  it('lists are replaced whole, never merged by index', () => {
    fc.assert(
      fc.property(
        fc.array(yamlValue, { maxLength: 5 }),
        fc.array(yamlValue, { maxLength: 5 }),
        (baseList, overrideList) => {
          const merged = deepMerge({ list: baseList }, { list: overrideList }) as {
            list: unknown[];
          };
          expect(merged.list).toEqual(overrideList);
        },
      ),
    );
  });

  it('a scalar replaces a mapping and a mapping replaces a scalar', () => {
    expect(deepMerge({ a: { b: 1 } }, { a: 5 })).toEqual({ a: 5 });
    expect(deepMerge({ a: 5 }, { a: { b: 1 } })).toEqual({ a: { b: 1 } });
    expect(deepMerge({ a: { b: 1, c: 2 } }, { a: { c: 3 } })).toEqual({ a: { b: 1, c: 3 } });
  });

  it('keys named like Object.prototype members are plain keys', () => {
    const override = JSON.parse(
      '{"__proto__": {"polluted": true}, "constructor": 1, "toString": {"x": 1}}',
    ) as Record<string, unknown>;
    const merged = deepMerge({ a: 1 }, override) as Record<string, unknown>;
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(Object.keys(merged).sort()).toEqual(['__proto__', 'a', 'constructor', 'toString']);
    expect(merged.toString).toEqual({ x: 1 });
    expect(Object.getOwnPropertyDescriptor(merged, '__proto__')?.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

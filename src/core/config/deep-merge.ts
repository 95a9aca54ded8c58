/** A plain `{...}` object, as YAML mappings become; arrays and scalars are not. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Merges a profile's overrides over the base config: mappings merge key by key, everything else
 * (scalars, lists) is replaced whole. Neither input is changed.
 */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (override === undefined) return structuredClone(base);
  if (!isPlainObject(base) || !isPlainObject(override)) return structuredClone(override);
  const merged: Record<string, unknown> = structuredClone(base);
  for (const [key, value] of Object.entries(override)) {
    const next = Object.hasOwn(base, key) ? deepMerge(base[key], value) : structuredClone(value);
    // A YAML key may be `__proto__` or `constructor`: define it as data, never touch the prototype.
    Object.defineProperty(merged, key, {
      value: next,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return merged;
}

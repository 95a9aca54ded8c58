/*
 * Fast, non-cryptographic 32-bit hashing for the synthetic provider: murmur3's finalizer over
 * Math.imul, so a hash costs a few integer instructions and allocates nothing.
 */

/** Murmur3's fmix32: a bijective avalanche of a 32-bit integer; returns an int32. */
export function mix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** FNV-1a over the UTF-16 code units of `text`, keyed by `key` and finished with mix32. */
export function hashString32(text: string, key: number): number {
  let h = (0x811c9dc5 ^ key) | 0;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  }
  return mix32(h);
}

/** Folds any safe integer (a config seed may exceed 32 bits) into a well-mixed int32 key. */
export function seedKey(seed: number): number {
  const low = seed >>> 0;
  const high = Math.floor(seed / 0x1_0000_0000) | 0;
  return mix32(low ^ mix32(high ^ 0x5bd1e995));
}

/** An int32 hash as a uniform number in [0, 1). */
export function toUnit(hash: number): number {
  return (hash >>> 0) / 0x1_0000_0000;
}

import { isPlainObject } from './deep-merge.js';

/** A `${VAR}` with no value in the environment and no default. */
export interface MissingVariable {
  readonly variable: string;
  readonly path: readonly (string | number)[];
}

/** A `${` that does not start a well-formed `${NAME}` or `${NAME:-default}` (e.g. unclosed). */
export interface MalformedReference {
  readonly path: readonly (string | number)[];
}

/**
 * `$${` stands for a literal `${`; then `${VAR}` and `${VAR:-default}`; any other `${` is malformed
 * (left alone it would pass as a literal, e.g. a storage uri of `${MDP_PG_URI`).
 */
const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{[^}]*\}?/g;

/**
 * Replaces environment references in every string of `value`. Returns the new value and the
 * references that could not be resolved (with the YAML path that used them).
 */
export function interpolate(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
): { value: unknown; missing: MissingVariable[]; malformed: MalformedReference[] } {
  const missing: MissingVariable[] = [];
  const malformed: MalformedReference[] = [];
  const walk = (node: unknown, path: (string | number)[]): unknown => {
    if (typeof node === 'string') {
      return node.replace(
        REFERENCE,
        (whole, variable: string | undefined, fallback: string | undefined) => {
          if (whole === '$${') return '${';
          if (variable === undefined) {
            malformed.push({ path });
            return whole;
          }
          const found = env[variable];
          // Shell semantics: `:-` also replaces a variable that is set but empty.
          if (fallback !== undefined) return found === undefined || found === '' ? fallback : found;
          if (found !== undefined) return found;
          missing.push({ variable, path });
          return whole;
        },
      );
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
    if (isPlainObject(node)) {
      return Object.fromEntries(
        Object.entries(node).map(([key, item]) => [key, walk(item, [...path, key])]),
      );
    }
    return node;
  };
  return { value: walk(value, []), missing, malformed };
}

import type { z } from 'zod';
import { didYouMean } from './did-you-mean.js';

/** A zod issue turned into words, with the path it is about and whether it points at a key. */
export interface DescribedIssue {
  readonly path: (string | number)[];
  readonly message: string;
  /** True when the issue is about a key itself (an unknown key), so its position is the key's. */
  readonly atKey: boolean;
}

type Issue = z.core.$ZodIssue & { input?: unknown };

/**
 * Words for each kind of zod issue. Values are echoed only for closed sets (enums, literals),
 * never free text, because free text may be a secret.
 */
export function describeZodIssue(issue: Issue, schema: z.ZodType, root: unknown): DescribedIssue[] {
  const path = issue.path.map((step) => (typeof step === 'symbol' ? String(step) : step));
  const last = path.at(-1);
  switch (issue.code) {
    case 'unrecognized_keys': {
      // `profiles` is taken out before validation, but it is a top-level key all the same.
      const known = [...knownKeys(schema, path, root), ...(path.length === 0 ? ['profiles'] : [])];
      return issue.keys.map((key) => ({
        path: [...path, key],
        atKey: true,
        message: `unknown key "${key}"${didYouMean(key, known)}; remove it${known.length ? ` or use one of: ${known.join(', ')}` : ''}`,
      }));
    }
    case 'invalid_type':
      if (issue.input === undefined) {
        return [
          {
            path,
            atKey: false,
            message: `required key "${String(last)}" is missing: add it (${yamlType(issue.expected)})`,
          },
        ];
      }
      return [
        {
          path,
          atKey: false,
          message: `expected ${yamlType(issue.expected)}, got ${typeName(issue.input)}`,
        },
      ];
    case 'invalid_value': {
      if (path.length === 1 && last === 'version') {
        return [
          {
            path,
            atKey: false,
            message:
              issue.input === undefined
                ? 'required key "version" is missing: add version: 2 at the top of the file'
                : issue.input === '2'
                  ? 'version is the text "2", not the number 2: write version: 2 without quotes'
                  : `unsupported version ${JSON.stringify(issue.input)}: this mdp reads version 2 configs; set version: 2 (configs/sample.yaml shows the format)`,
          },
        ];
      }
      const allowed = issue.values.map(String);
      if (issue.input === undefined) {
        return [
          {
            path,
            atKey: false,
            message: `required key "${String(last)}" is missing: add it (one of: ${allowed.join(', ')})`,
          },
        ];
      }
      const given = String(issue.input);
      return [
        {
          path,
          atKey: false,
          message: `"${given}" is not allowed${didYouMean(given, allowed)}; use one of: ${allowed.join(', ')}`,
        },
      ];
    }
    case 'invalid_union': {
      const discriminator = (issue as { discriminator?: string }).discriminator;
      const options = (issue as { options?: unknown[] }).options ?? [];
      if (discriminator) {
        const input = issue.input as Record<string, unknown> | undefined;
        const given = input?.[discriminator];
        const known = options.map(String);
        if (given === undefined) {
          return [
            {
              path,
              atKey: false,
              message: `required key "${discriminator}" is missing: add it (one of: ${known.join(', ')})`,
            },
          ];
        }
        return [
          {
            path,
            atKey: false,
            message: `unknown ${discriminator} "${String(given)}"${didYouMean(String(given), known)}; known: ${known.join(', ')}`,
          },
        ];
      }
      return [{ path, atKey: false, message: issue.message }];
    }
    case 'too_small':
      return [
        {
          path,
          atKey: false,
          message: `${describeBound(issue.origin, 'at least', issue.minimum, issue.inclusive)}${got(issue.input)}`,
        },
      ];
    case 'too_big':
      return [
        {
          path,
          atKey: false,
          message: `${describeBound(issue.origin, 'at most', issue.maximum, issue.inclusive)}${got(issue.input)}`,
        },
      ];
    case 'invalid_key':
      return [
        {
          path,
          atKey: true,
          message: `invalid name "${String(last)}": ${issue.issues[0]?.message ?? issue.message}`,
        },
      ];
    case 'invalid_format':
      return [{ path, atKey: false, message: issue.message }];
    default:
      return [{ path, atKey: false, message: issue.message }];
  }
}

/** `, got 0` for a number out of bounds; text is never echoed (it may be a secret). */
function got(input: unknown): string {
  return typeof input === 'number' ? `, got ${input}` : '';
}

function describeBound(
  origin: string,
  word: string,
  bound: number | bigint,
  inclusive?: boolean,
): string {
  if (origin === 'array') return `must list ${word} ${bound} item${bound === 1 ? '' : 's'}`;
  if (origin === 'string')
    return bound === 1 && word === 'at least'
      ? 'must not be empty'
      : `must be ${word} ${bound} characters`;
  if (!inclusive) return `must be ${word === 'at least' ? 'greater' : 'less'} than ${bound}`;
  return `must be ${word} ${bound}`;
}

/** zod's type names in the words of a YAML file. */
const YAML_TYPES: Readonly<Record<string, string>> = {
  object: 'a mapping',
  record: 'a mapping of names to settings',
  array: 'a list',
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

function yamlType(expected: string): string {
  return YAML_TYPES[expected] ?? (/^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`);
}

function typeName(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`.replace(/^string .*/, 'text');
}

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** The keys the schema allows at `path`, for "did you mean" and "use one of". */
export function knownKeys(
  schema: z.ZodType,
  path: readonly (string | number)[],
  root: unknown,
): string[] {
  let node: z.ZodType | undefined = schema;
  let value: unknown = root;
  const resolve = (): void => {
    for (;;) {
      if (!node) return;
      const def = defOf(node);
      if (def.innerType) node = def.innerType;
      else if (def.type === 'pipe' && def.in) node = def.in;
      else if (def.type === 'union' && def.options) {
        const tag = def.discriminator
          ? (value as Record<string, unknown> | undefined)?.[def.discriminator]
          : undefined;
        node =
          def.options.find((option) => {
            const shape = defOf(option).shape;
            const literal = shape && def.discriminator ? shape[def.discriminator] : undefined;
            return (
              literal &&
              (
                literal as unknown as { _zod: { def: { values?: unknown[] } } }
              )._zod.def.values?.includes(tag)
            );
          }) ?? def.options[0];
      } else return;
    }
  };
  resolve();
  for (const step of path) {
    if (!node) return [];
    const def = defOf(node);
    if (def.type === 'object' && def.shape) node = def.shape[String(step)];
    else if (def.type === 'record') node = def.valueType;
    else if (def.type === 'array') node = def.element;
    else return [];
    value = (value as Record<string | number, unknown> | undefined)?.[step];
    resolve();
  }
  const shape = node ? defOf(node).shape : undefined;
  return shape ? Object.keys(shape) : [];
}

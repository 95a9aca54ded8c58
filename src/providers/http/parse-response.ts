import type { z } from 'zod';
import { PermanentProviderError } from '../../core/errors.js';

/** How many mismatches a message lists: the first few say what changed. */
const MAX_LISTED = 3;

/**
 * Checks a response body against the schema of the documented API. A mismatch is permanent (asking
 * again returns the same shape) and names each field that differs, e.g. `results[3].c: Invalid
 * input: expected number, received undefined`, so a changed API fails loudly instead of storing
 * wrong bars.
 */
export function parseResponse<S extends z.ZodType>(
  schema: S,
  body: unknown,
  provider: string,
  what: string,
): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const listed = issues
    .slice(0, MAX_LISTED)
    .map((issue) => `${fieldPath(issue.path) || '(body)'}: ${issue.message}`);
  const more = issues.length > MAX_LISTED ? `; and ${issues.length - MAX_LISTED} more` : '';
  throw new PermanentProviderError(
    provider,
    `${what} does not match the documented response (the API may have changed): ${listed.join('; ')}${more}`,
  );
}

/** `results[3].t` from `['results', 3, 't']`. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

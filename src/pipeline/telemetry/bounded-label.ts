/** What a label value outside the bounded vocabulary is recorded as. */
export const OTHER_LABEL = 'other';

const WORD = /^[A-Za-z0-9_]{1,40}$/;

/**
 * A label value that can only be a short identifier-like word. Labels are a closed vocabulary
 * (a reason, an error kind); anything else, such as an error message, a symbol list or a timestamp
 * that slipped in, would create a new series per value, so it is folded into `other`.
 */
export function boundedLabel(value: string): string {
  return WORD.test(value) ? value : OTHER_LABEL;
}

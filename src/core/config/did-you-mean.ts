import { closest, distance } from 'fastest-levenshtein';

/**
 * ` (did you mean "x"?)` when one of `known` is a plausible typo of `word` (a few edits away), or
 * the one known word it abbreviates (`sym` for `symbol`); else an empty string.
 */
export function didYouMean(word: string, known: readonly string[]): string {
  if (known.length === 0 || word.length === 0) return '';
  const best = closest(word, known as string[]);
  const limit = Math.max(2, Math.floor(best.length / 3));
  if (distance(word.toLowerCase(), best.toLowerCase()) <= limit)
    return ` (did you mean "${best}"?)`;
  const lower = word.toLowerCase();
  const extended = known.filter((candidate) => candidate.toLowerCase().startsWith(lower));
  return word.length >= 3 && extended.length === 1 ? ` (did you mean "${extended[0]}"?)` : '';
}

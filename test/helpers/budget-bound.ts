import { expect } from 'vitest';

/**
 * Asserts the pacing bound on ascending start times: in any window [t, t + W] at most
 * `burst + W * perMs` of them.
 */
export function expectWithinBudget(starts: readonly number[], burst: number, perMs: number): void {
  for (let i = 0; i < starts.length; i++) {
    for (let j = i; j < starts.length; j++) {
      const windowMs = (starts[j] as number) - (starts[i] as number);
      // All starts in [starts[i], starts[j]] are starts[i..j]: j - i + 1 of them.
      expect(j - i + 1).toBeLessThanOrEqual(burst + windowMs * perMs + 1e-9);
    }
  }
}

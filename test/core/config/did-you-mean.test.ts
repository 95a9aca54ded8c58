import { describe, expect, it } from 'vitest';
import { didYouMean } from '../../../src/core/config/did-you-mean.js';

const SECTIONS = ['version', 'profile', 'providers', 'storage', 'datasets', 'jobs', 'features'];

describe('didYouMean', () => {
  it('suggests the closest known word for a typo', () => {
    expect(didYouMean('datsets', SECTIONS)).toBe(' (did you mean "datasets"?)');
    expect(didYouMean('storgae', SECTIONS)).toBe(' (did you mean "storage"?)');
    expect(didYouMean('Jobs', SECTIONS)).toBe(' (did you mean "jobs"?)');
  });

  it('suggests the one known word an abbreviation starts', () => {
    expect(didYouMean('feat', SECTIONS)).toBe(' (did you mean "features"?)');
    expect(didYouMean('sym', ['provider', 'symbol', 'interval'])).toBe(' (did you mean "symbol"?)');
  });

  it('suggests nothing when no word is close, when a prefix is ambiguous, or when nothing is known', () => {
    expect(didYouMean('colour', SECTIONS)).toBe('');
    expect(didYouMean('pro', SECTIONS)).toBe('');
    expect(didYouMean('jobs', [])).toBe('');
    expect(didYouMean('', SECTIONS)).toBe('');
  });

  it('allows more edits for longer words', () => {
    expect(didYouMean('max_bar_per_reqest', ['max_bars_per_request', 'seed'])).toBe(
      ' (did you mean "max_bars_per_request"?)',
    );
    expect(didYouMean('xyz', ['abc'])).toBe('');
  });
});

import { describe, expect, it } from 'vitest';
import { VALID_CONFIG, edit, onlyIssue, parse, positionOf } from './config-fixture.js';

describe('pacing.scope', () => {
  it('is store by default: the budget is shared by every process on the store', () => {
    expect(parse(VALID_CONFIG).providers.synthetic_1?.pacing?.scope).toBe('store');
  });

  it('process keeps the budget in the process', () => {
    const text = edit(
      VALID_CONFIG,
      'cooldown_seconds: 60 }',
      'cooldown_seconds: 60, scope: process }',
    );
    expect(parse(text).providers.synthetic_1?.pacing?.scope).toBe('process');
  });

  it('anything else is refused with its path, position and the values it takes', () => {
    const text = edit(
      VALID_CONFIG,
      'cooldown_seconds: 60 }',
      'cooldown_seconds: 60, scope: global }',
    );
    const issue = onlyIssue(text);
    expect(issue).toMatchObject({
      path: 'providers.synthetic_1.pacing.scope',
      ...positionOf(text, 'global'),
    });
    expect(issue.message).toContain('store');
    expect(issue.message).toContain('process');
  });
});

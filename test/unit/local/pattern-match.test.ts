import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchesPattern } from '../../../local/pattern-match.js';

/** The meaning of a pattern, as a regular expression: fine for the short strings generated here. */
const reference = (value: string, pattern: string): boolean =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(value);

describe('matchesPattern', () => {
  it.each([
    ['team-a-1', '*', true],
    ['team-a-1', 'team-a-*', true],
    ['team-a', 'team-a-*', false],
    ['team-a-b-c-sync', 'team-*-*-*-sync', true],
    ['team-a-b-sync', 'team-*-*-*-sync', false],
    ['abcabc', 'a*c*c', true],
    ['ab', 'a*b*', true],
    ['a', 'a*a', false],
    ['exact', 'exact', true],
    ['exact', 'exac', false],
  ])('matches %s against %s: %s', (value, pattern, expected) => {
    expect(matchesPattern(value, pattern)).toBe(expected);
  });

  it('agrees with the regular expression it replaces on every generated id and pattern', () => {
    const letter = fc.constantFrom('a', 'b', '-');
    fc.assert(
      fc.property(
        fc.string({ unit: letter, maxLength: 12 }),
        fc.string({ unit: fc.constantFrom('a', 'b', '-', '*'), maxLength: 8 }),
        (value, pattern) => matchesPattern(value, pattern) === reference(value, pattern),
      ),
      { numRuns: 5_000 },
    );
  });

  it('answers a pattern of 60 stars against 128 dashes, which a backtracking match never finishes', () => {
    // `-*` sixty times then `x`: a regular expression tries every way of spreading 128 dashes over 60 stars.
    expect(matchesPattern('-'.repeat(128), `${'-*'.repeat(60)}x`)).toBe(false);
    expect(matchesPattern(`${'-'.repeat(127)}x`, `${'-*'.repeat(60)}x`)).toBe(true);
  });
});

/**
 * `count` groups a whole count as `toLocaleString('en-US')` does, without
 * loading ICU's number formatting for it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { count } from './output.js';

describe('count', () => {
  it.each([
    [0, '0'],
    [7, '7'],
    [999, '999'],
    [1000, '1,000'],
    [5000, '5,000'],
    [12345, '12,345'],
    [150000, '150,000'],
    [999999, '999,999'],
    [1000000, '1,000,000'],
    [Number.MAX_SAFE_INTEGER, '9,007,199,254,740,991'],
  ])('%d → %s', (n, text) => {
    expect(count(n)).toBe(text);
    expect(count(n)).toBe(n.toLocaleString('en-US'));
  });

  it.each([-5, -1234, 1.5, 1e21, NaN, Infinity])('%d as toLocaleString has it', (n) => {
    expect(count(n)).toBe(n.toLocaleString('en-US'));
  });

  it('any whole count as toLocaleString groups it', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => count(n) === n.toLocaleString('en-US')),
      { numRuns: 2000 },
    );
  });
});

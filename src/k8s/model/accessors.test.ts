/** `cmpNsName` orders objects as their `ns/name` keys compare as strings. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cmpNsName, nsName } from './accessors.js';

const part = fc.stringMatching(/^[a/b-]{0,4}$/);
const obj = fc.record({
  metadata: fc.record({ name: part, namespace: fc.option(part, { nil: undefined }) }),
});

describe('cmpNsName', () => {
  it('compares as the ns/name keys do', () => {
    fc.assert(
      fc.property(obj, obj, (a, b) => {
        const x = nsName(a);
        const y = nsName(b);
        expect(cmpNsName(a, b)).toBe(x < y ? -1 : x > y ? 1 : 0);
      }),
      { numRuns: 5000 },
    );
  });
});

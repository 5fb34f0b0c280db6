import { describe, expect, it } from 'vitest';
import { beginsWith, withDefaultsAfter, type ModelDefault } from './defaults.js';

const d = (object: string): ModelDefault => ({ object, field: 'f', value: 'v', reason: 'r' });
const head = [d('Service a/x'), d('Service a/y')];
const more = [d('Pod a/p')];

describe('a list of defaults and the list it begins with', () => {
  // A list made with withDefaultsAfter is known to begin with its head; any other is read.
  it.each<[string, readonly ModelDefault[], readonly ModelDefault[], boolean]>([
    ['made from the head', withDefaultsAfter(head, more), head, true],
    ['made from the head, nothing more', withDefaultsAfter(head, []), head, true],
    ['a plain copy, read', head.concat(more), head, true],
    ['made from another head', withDefaultsAfter(more, head), head, false],
    ['the same objects in another order', [head[1]!, head[0]!, ...more], head, false],
    ['equal objects that are not the same', [d('Service a/x'), d('Service a/y')], head, false],
    ['shorter than the head', [head[0]!], head, false],
    ['an empty head', more, [], true],
  ])('%s', (_n, list, h, want) => {
    expect(beginsWith(list, h)).toBe(want);
  });

  it('the made list holds the head then the rest', () => {
    expect(withDefaultsAfter(head, more)).toEqual([...head, ...more]);
  });
});

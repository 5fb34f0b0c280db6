import { describe, it, expect } from 'vitest';
import { matchesSelector, matchesMap, validateSelector, formatSelector } from './selector.js';
import type { LabelSelector } from './types.js';

const labels = { app: 'store', role: 'be', tier: '' };

describe('matchesSelector (apimachinery LabelSelectorAsSelector semantics)', () => {
  const cases: [string, LabelSelector | undefined, Record<string, string> | undefined, boolean][] =
    [
      ['nil selector selects nothing', undefined, labels, false],
      ['empty selector selects everything', {}, labels, true],
      ['empty selector selects unlabelled objects', {}, undefined, true],
      ['empty lists select everything', { matchLabels: {}, matchExpressions: [] }, labels, true],
      ['matchLabels equal', { matchLabels: { app: 'store' } }, labels, true],
      ['matchLabels all must match', { matchLabels: { app: 'store', role: 'fe' } }, labels, false],
      ['matchLabels missing key', { matchLabels: { zone: 'a' } }, labels, false],
      ['matchLabels on unlabelled', { matchLabels: { app: 'store' } }, undefined, false],
      ['matchLabels empty value', { matchLabels: { tier: '' } }, labels, true],
      [
        'In hit',
        { matchExpressions: [{ key: 'role', operator: 'In', values: ['fe', 'be'] }] },
        labels,
        true,
      ],
      [
        'In miss',
        { matchExpressions: [{ key: 'role', operator: 'In', values: ['fe'] }] },
        labels,
        false,
      ],
      [
        'In absent key',
        { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] },
        labels,
        false,
      ],
      [
        'NotIn hit',
        { matchExpressions: [{ key: 'role', operator: 'NotIn', values: ['be'] }] },
        labels,
        false,
      ],
      [
        'NotIn miss',
        { matchExpressions: [{ key: 'role', operator: 'NotIn', values: ['fe'] }] },
        labels,
        true,
      ],
      [
        'NotIn absent key matches',
        { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] },
        labels,
        true,
      ],
      ['Exists', { matchExpressions: [{ key: 'role', operator: 'Exists' }] }, labels, true],
      [
        'Exists empty value',
        { matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
        labels,
        true,
      ],
      ['Exists absent', { matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, labels, false],
      [
        'DoesNotExist absent',
        { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] },
        labels,
        true,
      ],
      [
        'DoesNotExist present',
        { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] },
        labels,
        false,
      ],
      [
        'labels and expressions are ANDed',
        {
          matchLabels: { app: 'store' },
          matchExpressions: [{ key: 'role', operator: 'In', values: ['fe'] }],
        },
        labels,
        false,
      ],
      [
        'invalid operator selects nothing',
        { matchExpressions: [{ key: 'app', operator: 'Equals' as 'In', values: ['store'] }] },
        labels,
        false,
      ],
      [
        'In without values selects nothing',
        { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] },
        labels,
        false,
      ],
      [
        'Exists with values selects nothing',
        { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] },
        labels,
        false,
      ],
    ];
  it.each(cases)('%s', (_name, selector, l, want) => {
    expect(matchesSelector(l, selector)).toBe(want);
  });
});

describe('matchesMap (labels.SelectorFromSet, Service selectors)', () => {
  const cases: [
    string,
    Record<string, string> | undefined,
    Record<string, string> | undefined,
    boolean,
  ][] = [
    ['all pairs present', { app: 'store', role: 'be' }, labels, true],
    ['one differs', { app: 'store', role: 'fe' }, labels, false],
    ['missing key', { zone: 'a' }, labels, false],
    ['empty map selects everything', {}, labels, true],
    ['undefined map selects everything', undefined, undefined, true],
    ['unlabelled object', { app: 'store' }, undefined, false],
  ];
  it.each(cases)('%s', (_name, map, l, want) => {
    expect(matchesMap(l, map)).toBe(want);
  });
});

describe('validateSelector', () => {
  const cases: [string, unknown, { field: string; message: string }[]][] = [
    [
      'valid',
      { matchLabels: { app: 'x' }, matchExpressions: [{ key: 'a', operator: 'Exists' }] },
      [],
    ],
    [
      'bad operator',
      { matchExpressions: [{ key: 'a', operator: 'in', values: ['x'] }] },
      [
        {
          field: 'matchExpressions[0].operator',
          message: 'operator "in" is not one of In, NotIn, Exists, DoesNotExist',
        },
      ],
    ],
    [
      'missing operator',
      { matchExpressions: [{ key: 'a' }] },
      [
        {
          field: 'matchExpressions[0].operator',
          message: 'operator null is not one of In, NotIn, Exists, DoesNotExist',
        },
      ],
    ],
    [
      'In without values',
      { matchExpressions: [{ key: 'a', operator: 'NotIn' }] },
      [{ field: 'matchExpressions[0].values', message: 'operator NotIn needs at least one value' }],
    ],
    [
      'DoesNotExist with values',
      { matchExpressions: [{ key: 'a', operator: 'DoesNotExist', values: ['v'] }] },
      [
        {
          field: 'matchExpressions[0].values',
          message: 'operator DoesNotExist takes no values; remove values',
        },
      ],
    ],
    [
      'missing key',
      { matchExpressions: [{ operator: 'Exists' }] },
      [{ field: 'matchExpressions[0].key', message: 'a match expression needs a key' }],
    ],
    [
      'non-string label value',
      { matchLabels: { app: 5 } },
      [{ field: 'matchLabels.app', message: 'label value must be a string; quote it (e.g. "5")' }],
    ],
    [
      'bad key',
      { matchLabels: { '-app': 'x' } },
      [
        {
          field: 'matchLabels.-app',
          message:
            "label key \"-app\" is invalid: a name of at most 63 characters, alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric",
        },
      ],
    ],
    ['prefixed key ok', { matchLabels: { 'kubernetes.io/metadata.name': 'default' } }, []],
  ];
  it.each(cases)('%s', (_name, selector, want) => {
    expect(validateSelector(selector as LabelSelector)).toEqual(want);
  });
});

describe('formatSelector', () => {
  it('uses kubectl syntax', () => {
    expect(
      formatSelector({
        matchLabels: { app: 'a' },
        matchExpressions: [
          { key: 'b', operator: 'In', values: ['x', 'y'] },
          { key: 'c', operator: 'NotIn', values: ['z'] },
          { key: 'd', operator: 'Exists' },
          { key: 'e', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=a,b in (x,y),c notin (z),d,!e');
    expect(formatSelector({})).toBe('<everything>');
    expect(formatSelector(undefined)).toBe('<none>');
  });
});

import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../diag.js';
import { resolveLayout } from './version.js';

describe('resolveLayout: the kube-proxy release whose rule layout is written', () => {
  it.each([
    // version, layout used, severity of the one diagnostic (none when modelled), its words
    [undefined, '1.31', undefined, undefined],
    ['1.27', '1.27', undefined, undefined],
    ['v1.29.2', '1.29', undefined, undefined],
    ['1.30.1-eks-abc', '1.30', undefined, undefined],
    ['1.5', '1.27', 'warning', 'older than the oldest modelled layout (1.27)'],
    ['1.34', '1.31', 'warning', 'newer than the newest verified layout (1.31)'],
    [
      '9.99',
      '1.31',
      'warning',
      'kube-proxy 9.99 is outside the modelled releases (1.27–1.31); writing the nearest, the 1.31 layout',
    ],
    ['0.9', '1.27', 'warning', 'writing the nearest, the 1.27 layout'],
    ['banana', '1.31', 'error', 'unrecognised kube-proxy version "banana"'],
  ])('%s → %s', (version, layout, severity, words) => {
    const ds: Diagnostic[] = [];
    expect(resolveLayout(version, ds).version).toBe(layout);
    expect(ds.map((d) => d.severity)).toEqual(severity ? [severity] : []);
    if (words) expect(ds[0]!.message).toContain(words);
  });
});

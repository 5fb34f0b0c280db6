import { describe, expect, it } from 'vitest';
import { formatPercent } from './model.js';

describe('formatPercent: how every view writes a probability', () => {
  it.each([
    // p, fixed 1, trim 1, whole 2
    [1, '100.0%', '100%', '100%'],
    [0.5, '50.0%', '50%', '50%'],
    [1 / 3, '33.3%', '33.3%', '33.33%'],
    [2 / 3, '66.7%', '66.7%', '66.67%'],
    [0.125, '12.5%', '12.5%', '12.50%'],
    [1 / 6, '16.7%', '16.7%', '16.67%'],
    [0.0625, '6.3%', '6.3%', '6.25%'],
    [0, '0.0%', '0%', '0%'],
  ])('%d', (p, fixed, trim, whole) => {
    expect(formatPercent(p, 1)).toBe(fixed);
    expect(formatPercent(p, 1, 'trim')).toBe(trim);
    expect(formatPercent(p, 2, 'whole')).toBe(whole);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PortSet, PortSetTable, type L4Protocol } from './ports.js';

const tcp = (lo: number, hi = lo) => PortSet.range('TCP', lo, hi);

describe('PortSet', () => {
  it.each([
    ['union merges adjacent', tcp(1, 79).union(tcp(80)), 'TCP 1-80'],
    ['union keeps gaps', tcp(1, 79).union(tcp(81, 65535)), 'TCP 1-79,81-65535'],
    [
      'complement of one port',
      tcp(80).complement(),
      'TCP 1-79,81-65535; UDP 1-65535; SCTP 1-65535',
    ],
    ['subtract splits', tcp(1, 100).subtract(tcp(10, 20)), 'TCP 1-9,21-100'],
    [
      'subtract several',
      tcp(1, 100).subtract(tcp(1).union(tcp(50, 60)).union(tcp(100))),
      'TCP 2-49,61-99',
    ],
    ['intersect', tcp(1, 100).intersect(tcp(50, 200)), 'TCP 50-100'],
    ['protocols are separate', tcp(53).intersect(PortSet.port('UDP', 53)), ''],
    ['range clamps', PortSet.range('SCTP', 0, 70000), 'SCTP 1-65535'],
    ['empty range', PortSet.range('UDP', 10, 9), ''],
  ])('%s', (_name, set, key) => {
    expect(set.key).toBe(key);
  });

  it('prints all/none and JSON cells', () => {
    expect(PortSet.ALL.toString()).toBe('all');
    expect(PortSet.EMPTY.toString()).toBe('none');
    expect(tcp(80).union(PortSet.port('UDP', 53)).toJSON()).toEqual({ TCP: '80', UDP: '53' });
    expect(PortSet.EMPTY.toJSON()).toEqual({});
  });

  it('parse is the inverse of key', () => {
    const s = tcp(1, 79).union(tcp(81, 65535)).union(PortSet.port('SCTP', 9003));
    expect(PortSet.parse(s.key).equals(s)).toBe(true);
    expect(PortSet.parse('all').isAll()).toBe(true);
    expect(() => PortSet.parse('ICMP 1')).toThrow(RangeError);
  });

  // Model check against a bitmap over a small port range.
  const MAXP = 40;
  const arbSet = fc
    .array(
      fc.tuple(
        fc.constantFrom<L4Protocol>('TCP', 'UDP', 'SCTP'),
        fc.integer({ min: 1, max: MAXP }),
        fc.integer({ min: 0, max: 8 }),
      ),
      { maxLength: 6 },
    )
    .map((rs) =>
      rs.reduce((acc, [p, lo, len]) => acc.union(PortSet.range(p, lo, lo + len)), PortSet.EMPTY),
    );
  const bits = (s: PortSet) =>
    (['TCP', 'UDP', 'SCTP'] as const).flatMap((p) =>
      Array.from({ length: MAXP + 10 }, (_, i) => s.has(p, i + 1)),
    );

  it('union/intersect/subtract agree with bitmaps', () => {
    fc.assert(
      fc.property(arbSet, arbSet, (a, b) => {
        const A = bits(a);
        const B = bits(b);
        expect(bits(a.union(b))).toEqual(A.map((x, i) => x || B[i]!));
        expect(bits(a.intersect(b))).toEqual(A.map((x, i) => x && B[i]!));
        expect(bits(a.subtract(b))).toEqual(A.map((x, i) => x && !B[i]!));
        // Canonical form: equal sets have equal keys.
        expect(a.union(b).key).toBe(b.union(a).key);
        expect(a.subtract(b).union(a.intersect(b)).key).toBe(a.key);
      }),
      { numRuns: 300, seed: 6 },
    );
  });

  it('PortSetTable interns and memoises', () => {
    const t = new PortSetTable();
    const a = t.id(tcp(80));
    expect(t.id(PortSet.parse('TCP 80'))).toBe(a);
    expect(t.union(PortSetTable.EMPTY, a)).toBe(a);
    expect(t.intersect(PortSetTable.ALL, a)).toBe(a);
    expect(t.subtract(a, a)).toBe(PortSetTable.EMPTY);
    const b = t.id(tcp(81));
    expect(t.get(t.union(a, b)).key).toBe('TCP 80-81');
    expect(t.get(t.subtract(PortSetTable.ALL, a)).key).toBe(tcp(80).complement().key);
  });
});

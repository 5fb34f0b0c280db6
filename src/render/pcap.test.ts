import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../wire/result.js';
import { LINKTYPE_ETHERNET, readPcap, writePcap } from './pcap.js';

describe('writePcap', () => {
  it('writes the classic global header, little-endian', () => {
    const b = writePcap([]);
    expect(toHex(b)).toBe(
      'd4c3b2a1' + '0200' + '0400' + '00000000' + '00000000' + '00000400' + '01000000',
    );
  });

  it('writes a record header before each frame', () => {
    const b = writePcap([
      { seconds: 1_700_000_000, micros: 123456, frame: new Uint8Array([1, 2, 3]) },
    ]);
    expect(b.length).toBe(24 + 16 + 3);
    expect(toHex(b.subarray(24))).toBe(
      '00f15365' + '40e20100' + '03000000' + '03000000' + '010203',
    );
  });

  it('cuts frames to the snaplen and keeps their original length', () => {
    const b = writePcap([{ seconds: 0, micros: 0, frame: new Uint8Array(100) }], 64);
    const r = readPcap(b);
    if (!r.ok) throw new Error(r.error.reason);
    expect(r.value.snaplen).toBe(64);
    expect(r.value.records[0]).toMatchObject({ originalLength: 100 });
    expect(r.value.records[0]!.frame.length).toBe(64);
  });

  it.each([
    [{ seconds: -1, micros: 0 }, 'seconds'],
    [{ seconds: 0, micros: 1_000_000 }, 'micros'],
    [{ seconds: 0.5, micros: 0 }, 'seconds'],
  ])('rejects impossible times %#', (t, what) => {
    expect(() => writePcap([{ ...t, frame: new Uint8Array(1) }])).toThrow(what);
  });
});

describe('readPcap', () => {
  it('reads back what writePcap wrote', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            seconds: fc.integer({ min: 0, max: 0xffffffff }),
            micros: fc.integer({ min: 0, max: 999_999 }),
            frame: fc.uint8Array({ maxLength: 100 }),
          }),
          { maxLength: 10 },
        ),
        (records) => {
          const r = readPcap(writePcap(records));
          if (!r.ok) throw new Error(r.error.reason);
          expect(r.value.linktype).toBe(LINKTYPE_ETHERNET);
          expect(r.value.records.map((x) => ({ ...x, frame: toHex(x.frame) }))).toEqual(
            records.map((x) => ({ ...x, frame: toHex(x.frame) })),
          );
        },
      ),
    );
  });

  it('reads big-endian and nanosecond files', () => {
    const be = new Uint8Array(24 + 16 + 2);
    const dv = new DataView(be.buffer);
    dv.setUint32(0, 0xa1b23c4d);
    dv.setUint16(4, 2);
    dv.setUint16(6, 4);
    dv.setUint32(16, 65535);
    dv.setUint32(20, 1);
    dv.setUint32(24, 5);
    dv.setUint32(28, 7_000_999);
    dv.setUint32(32, 2);
    dv.setUint32(36, 2);
    const r = readPcap(be);
    if (!r.ok) throw new Error(r.error.reason);
    expect(r.value.records[0]).toMatchObject({ seconds: 5, micros: 7000 });
  });

  it.each([
    [new Uint8Array(10), 10, 'truncated global header'],
    [new Uint8Array(24), 0, 'magic'],
    [
      (() => {
        const b = writePcap([]);
        b[4] = 3;
        return b;
      })(),
      4,
      'version 3',
    ],
    [
      (() => writePcap([{ seconds: 0, micros: 0, frame: new Uint8Array(8) }]).subarray(0, 30))(),
      24,
      'truncated record',
    ],
    [
      (() => writePcap([{ seconds: 0, micros: 0, frame: new Uint8Array(8) }]).subarray(0, 45))(),
      32,
      'runs past',
    ],
  ])('reports a broken file %#', (b, offset, reason) => {
    const r = readPcap(b);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.offset).toBe(offset);
      expect(r.error.reason).toContain(reason);
    }
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (b) => void readPcap(b)));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (tail) => {
        const b = new Uint8Array(24 + tail.length);
        b.set(writePcap([]));
        b.set(tail, 24);
        readPcap(b);
      }),
    );
  });
});

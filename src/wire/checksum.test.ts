import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checksumAdjust,
  crc32c,
  csumReplace2,
  csumReplace4,
  fold,
  internetChecksum,
  onesSum,
  pseudoHeaderSum,
  transportChecksum,
} from './checksum.js';
import { intToIp } from './addr.js';
import { fromHex } from './result.js';
import { frame } from './testing/fixtures.js';

describe('internet checksum (RFC 1071)', () => {
  it('RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2', () => {
    const b = fromHex('0001f203f4f5f6f7');
    expect(onesSum(b)).toBe(0xddf2);
    expect(internetChecksum(b)).toBe(0x220d);
  });

  it('pads an odd last byte with zero', () => {
    expect(onesSum(fromHex('0102 03'))).toBe(0x0102 + 0x0300);
  });

  it('a header carrying its checksum sums to 0 (the kernel-captured echo request)', () => {
    const ip = frame('icmp-echo-request').subarray(14, 34);
    expect(internetChecksum(ip)).toBe(0);
  });

  it('folds carries end-around', () => {
    expect(fold(0x1ffff)).toBe(0x0001);
    expect(fold(0xffff)).toBe(0xffff);
    expect(fold(0x2fffd)).toBe(0xffff);
  });

  it('the pseudo-header of a captured UDP datagram makes its checksum verify', () => {
    const udp = frame('udp-40000-9999').subarray(34);
    expect(transportChecksum('10.250.0.1', '10.250.0.2', 17, udp)).toBe(0);
    expect(pseudoHeaderSum('10.250.0.1', '10.250.0.2', 17, 14)).toBe(
      fold(0x0afa + 0x0001 + 0x0afa + 0x0002 + 17 + 14),
    );
  });

  it('handles large buffers without losing carries', () => {
    const big = new Uint8Array(200_000).fill(0xff);
    expect(onesSum(big)).toBe(0xffff);
    expect(internetChecksum(big)).toBe(0);
  });
});

describe('incremental update (RFC 1624), as Linux NAT does it', () => {
  const word = fc.integer({ min: 0, max: 0xffff });

  it('equals a full recomputation after any 16-bit word changes', () => {
    fc.assert(
      fc.property(
        fc.array(word, { minLength: 1, maxLength: 64 }),
        fc.nat(),
        word,
        (words, at, to) => {
          const i = at % words.length;
          const bytes = (ws: number[]): Uint8Array =>
            new Uint8Array(ws.flatMap((w) => [w >> 8, w & 0xff]));
          const before = internetChecksum(bytes(words));
          const after = words.slice();
          after[i] = to;
          // Only differs in the all-zero data case, where a full sum is 0xffff by construction.
          fc.pre(after.some((w) => w !== 0));
          expect(checksumAdjust(before, [words[i]!], [to])).toBe(internetChecksum(bytes(after)));
        },
      ),
    );
  });

  it('csumReplace4/csumReplace2 move a TCP checksum with its pseudo-header address and port', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 20, maxLength: 80 }),
        fc.nat(),
        fc.nat(),
        word,
        (seg, from, to, port) => {
          const s = seg.slice();
          s[16] = 0;
          s[17] = 0;
          const src = '10.0.0.1';
          const a = intToIp(from >>> 0);
          const b = intToIp(to >>> 0);
          const check = transportChecksum(src, a, 6, s);
          const oldPort = (s[2]! << 8) | s[3]!;
          const t = s.slice();
          t[2] = port >> 8;
          t[3] = port & 0xff;
          const full = transportChecksum(src, b, 6, t);
          expect(csumReplace2(csumReplace4(check, a, b), oldPort, port)).toBe(full);
        },
      ),
    );
  });

  it('rejects mismatched word lists', () => {
    expect(() => checksumAdjust(0, [1], [])).toThrow(RangeError);
  });
});

describe('crc32c', () => {
  it('check value of "123456789" is e3069283', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });
  it('RFC 3720 B.4: 32 bytes of zeros is 8a9136aa, of ones is 62a8ab43', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
  });
});

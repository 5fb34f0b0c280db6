import { describe, expect, it } from 'vitest';
import { internetChecksum, tcpHeader, TCP_FLAG } from './traffic.js';

describe('tcpHeader', () => {
  it('verifies: the checksum over pseudo-header and segment folds to zero', () => {
    const t = {
      src: '10.250.1.2',
      dst: '172.31.2.2',
      sport: 41000,
      dport: 9000,
      seq: 1000,
      ack: 2000,
      flags: TCP_FLAG.ACK,
    };
    const seg = tcpHeader(t);
    const pseudo = Buffer.from([10, 250, 1, 2, 172, 31, 2, 2, 0, 6, 0, 20]);
    expect(internetChecksum(Buffer.concat([pseudo, seg]))).toBe(0);
    expect([...seg.subarray(0, 4)]).toEqual([0xa0, 0x28, 0x23, 0x28]);
    expect(seg[12]).toBe(0x50);
    expect(seg[13]).toBe(0x10);
  });
  it('RFC 1071 example sums to the documented value', () => {
    // RFC 1071 §3: words 0001 f203 f4f5 f6f7 sum to ddf2 (one's complement: 220d).
    expect(internetChecksum(Buffer.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]))).toBe(
      0x220d,
    );
  });
});

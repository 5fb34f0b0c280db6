import { describe, expect, it } from 'vitest';
import { internetChecksum, parseTcpdump, tcpHeader, TCP_FLAG } from './traffic.js';

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

describe('parseTcpdump', () => {
  it('reads addresses, flags and absolute seq/ack/win; a bare ACK has no seq', () => {
    // `tcpdump -n -S -l` (tcpdump 4.99) lines of a handshake.
    const text = [
      '11:48:02.001 IP 10.250.1.2.41300 > 172.31.2.2.9000: Flags [S], seq 434149671, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0',
      '11:48:02.002 IP 172.31.2.2.9000 > 10.250.1.2.41300: Flags [S.], seq 3963927983, ack 434149672, win 65160, options [mss 1460,sackOK,TS val 2 ecr 1,nop,wscale 7], length 0',
      '11:48:02.003 IP 10.250.1.2.41300 > 172.31.2.2.9000: Flags [.], ack 3963927984, win 502, options [nop,nop,TS val 3 ecr 2], length 0',
      '11:48:02.004 ARP, Request who-has 10.250.1.1 tell 10.250.1.2, length 28',
    ].join('\n');
    expect(parseTcpdump(text)).toEqual([
      {
        src: '10.250.1.2',
        sport: 41300,
        dst: '172.31.2.2',
        dport: 9000,
        flags: 'S',
        seq: 434149671,
        win: 64240,
      },
      {
        src: '172.31.2.2',
        sport: 9000,
        dst: '10.250.1.2',
        dport: 41300,
        flags: 'S.',
        seq: 3963927983,
        ack: 434149672,
        win: 65160,
      },
      {
        src: '10.250.1.2',
        sport: 41300,
        dst: '172.31.2.2',
        dport: 9000,
        flags: '.',
        ack: 3963927984,
        win: 502,
      },
    ]);
  });
});

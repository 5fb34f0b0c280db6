/**
 * Real packets: frames the Linux kernel sent (test/fixtures/wire/), parsed to
 * the fields tshark reads from them, and emitted back byte for byte, which
 * proves every checksum we compute equals the kernel's.
 */
import { describe, expect, it } from 'vitest';
import { capturedFrames, frame } from './testing/fixtures.js';
import { natPairs } from './testing/nat.js';
import {
  emitFrame,
  formatWireError,
  parseFrame,
  toHex,
  vxlanDecapsulate,
  withIp,
  type ParsedFrame,
} from './index.js';

const A = '02:00:0a:fa:00:01';
const B = '02:00:0a:fa:00:02';
const OPTS_SYN = '020405b40402080a67bc5c08000000000103030a';

function parsed(name: string): ParsedFrame {
  const r = parseFrame(frame(name));
  if (!r.ok) throw new Error(`${name}: ${formatWireError(r.error)}`);
  return r;
}

describe('captured frames', () => {
  it('holds the whole scenario', () => {
    expect(capturedFrames().size).toBe(42);
  });

  for (const [name, bytes] of capturedFrames()) {
    it(`${name}: emit(parse(x)) == x`, () => {
      const r = parsed(name);
      expect(r.length).toBe(bytes.length);
      expect(toHex(emitFrame(r.value, r.payload))).toBe(toHex(bytes));
    });
  }

  // Expected values read with tshark from the same bytes (see the fixture README).
  const cases: [string, object][] = [
    [
      'arp-request',
      {
        kind: 'arp',
        dst: 'ff:ff:ff:ff:ff:ff',
        src: A,
        arp: {
          op: 'request',
          senderMac: A,
          senderIp: '10.250.0.1',
          targetMac: '00:00:00:00:00:00',
          targetIp: '10.250.0.2',
        },
      },
    ],
    [
      'arp-reply',
      {
        kind: 'arp',
        dst: A,
        src: B,
        arp: {
          op: 'reply',
          senderMac: B,
          senderIp: '10.250.0.2',
          targetMac: A,
          targetIp: '10.250.0.1',
        },
      },
    ],
    [
      'icmp-echo-request',
      {
        kind: 'ipv4',
        dst: B,
        src: A,
        packet: {
          ip: { src: '10.250.0.1', dst: '10.250.0.2', ttl: 64, id: 0xd4dc, df: true, tos: 0 },
          l4: { kind: 'icmp', type: 8, code: 0, id: 20176, seq: 1 },
          payloadLength: 56,
        },
      },
    ],
    [
      'icmp-echo-reply',
      {
        packet: {
          ip: { src: '10.250.0.2', dst: '10.250.0.1', ttl: 64, id: 0x6de5, df: false },
          l4: { kind: 'icmp', type: 0, code: 0, id: 20176, seq: 1 },
          payloadLength: 56,
        },
      },
    ],
    [
      'udp-40000-9999',
      {
        packet: {
          ip: { src: '10.250.0.1', dst: '10.250.0.2', ttl: 64, id: 0x7cda, df: true },
          l4: { kind: 'udp', sport: 40000, dport: 9999 },
          payloadLength: 6,
        },
      },
    ],
    [
      'icmp-port-unreachable',
      {
        packet: {
          ip: { src: '10.250.0.2', dst: '10.250.0.1', id: 0x6de7, df: false, tos: 0xc0 },
          l4: {
            kind: 'icmp',
            type: 3,
            code: 3,
            inner: {
              ip: { src: '10.250.0.1', dst: '10.250.0.2', id: 0x7cda, ttl: 64, df: true },
              l4: { kind: 'udp', sport: 40000, dport: 9999 },
              payloadLength: 6,
            },
          },
          // The whole 34-byte datagram is quoted.
          payloadLength: 34,
        },
      },
    ],
    [
      'tcp-40001-8080-S',
      {
        packet: {
          ip: { src: '10.250.0.1', dst: '10.250.0.2', id: 0xc2e4, df: true, ttl: 64 },
          l4: {
            kind: 'tcp',
            sport: 40001,
            dport: 8080,
            seq: 2901374883,
            ack: 0,
            window: 64240,
            flags: { syn: true, ack: false, fin: false, rst: false, psh: false, urg: false },
            options: OPTS_SYN,
          },
          payloadLength: 0,
        },
      },
    ],
    [
      'tcp-8080-40001-SA',
      {
        packet: {
          ip: { id: 0, df: true },
          l4: { seq: 1032184551, ack: 2901374884, window: 65160, flags: { syn: true, ack: true } },
        },
      },
    ],
    [
      'tcp-40001-8080-PA',
      {
        packet: {
          l4: { seq: 2901374884, ack: 1032184552, window: 63, flags: { psh: true, ack: true } },
          payloadLength: 3,
        },
      },
    ],
    [
      'tcp-40001-8080-A-2',
      { packet: { l4: { seq: 2901374888, ack: 1032184553, options: '0101080a67bc5c08674fc2bf' } } },
    ],
    [
      'tcp-8081-40002-RA',
      {
        packet: {
          ip: { src: '10.250.0.2', dst: '10.250.0.1', id: 0 },
          l4: {
            sport: 8081,
            dport: 40002,
            seq: 0,
            ack: 2504264143,
            window: 0,
            flags: { rst: true, ack: true, syn: false },
          },
          payloadLength: 0,
        },
      },
    ],
    [
      'icmp-time-exceeded',
      {
        packet: {
          ip: { src: '10.250.0.2', dst: '10.250.0.1', ttl: 64, id: 0x6df5 },
          l4: {
            type: 11,
            code: 0,
            // Quoted as b received it: TTL 1, before the decrement that failed.
            inner: {
              ip: { dst: '10.250.1.2', ttl: 1, id: 0xd365 },
              l4: { type: 8, id: 20191, seq: 1 },
              payloadLength: 56,
            },
          },
          payloadLength: 84,
        },
      },
    ],
    [
      'icmp-frag-needed',
      {
        packet: {
          ip: { src: '10.250.0.2', dst: '10.250.0.1', id: 0x6df6, df: false },
          l4: {
            type: 3,
            code: 4,
            mtu: 1280,
            inner: {
              ip: { dst: '10.250.1.2', id: 0, df: true },
              l4: { type: 8, id: 20192 },
              payloadLength: 1400,
            },
          },
          // icmp_send quotes 576 − 20 − 8 bytes of the 1428-byte datagram.
          payloadLength: 548,
        },
      },
    ],
  ];
  for (const [name, expected] of cases) {
    it(`${name}: fields`, () => {
      expect(parsed(name).value).toMatchObject(expected);
    });
  }

  it('the TCP SYN has no ECE/CWR/urgent, so they stay absent', () => {
    const r = parsed('tcp-40001-8080-S');
    const l4 = r.value.kind === 'ipv4' ? r.value.packet.l4 : undefined;
    expect(l4).not.toHaveProperty('urgent');
    expect(l4 && 'flags' in l4 ? l4.flags : {}).not.toHaveProperty('ece');
  });

  const tunnels: [string, object, object][] = [
    [
      'vxlan4789-icmp-echo-request',
      {
        outerSrcMac: A,
        outerDstMac: B,
        ip: { src: '10.250.0.1', dst: '10.250.0.2', ttl: 64, id: 0x7cef, df: false, tos: 0 },
        sport: 43705,
        dport: 4789,
        vni: 42,
        udpChecksum: true,
      },
      {
        kind: 'ipv4',
        src: '02:00:0a:fb:00:01',
        dst: '02:00:0a:fb:00:02',
        packet: {
          ip: { src: '10.251.0.1', dst: '10.251.0.2', id: 0x389c, df: true },
          l4: { type: 8, id: 20193, seq: 1 },
        },
      },
    ],
    [
      'vxlan8472-icmp-echo-reply',
      {
        ip: { src: '10.250.0.2', dst: '10.250.0.1', id: 0x7f23 },
        sport: 59063,
        dport: 8472,
        vni: 1,
        udpChecksum: false,
      },
      {
        kind: 'ipv4',
        packet: {
          ip: { src: '10.252.0.2', dst: '10.252.0.1', id: 0x0f66 },
          l4: { type: 0, id: 20194 },
        },
      },
    ],
    [
      'vxlan8472-arp-request',
      { dport: 8472, vni: 1, udpChecksum: false },
      { kind: 'arp', arp: { op: 'request', senderIp: '10.252.0.1', targetIp: '10.252.0.2' } },
    ],
  ];
  for (const [name, tunnel, inner] of tunnels) {
    it(`${name}: decapsulates`, () => {
      const v = vxlanDecapsulate(frame(name));
      if (!v.ok) throw new Error(formatWireError(v.error));
      expect(v.value.tunnel).toMatchObject(tunnel);
      const r = parseFrame(v.value.inner);
      if (!r.ok) throw new Error(formatWireError(r.error));
      expect(r.value).toMatchObject(inner);
    });
  }
});

describe('NAT on captured frames: our rewrite + emit equals what the kernel sent on the other side of b', () => {
  for (const pair of natPairs(frame)) {
    it(pair.what, () => {
      expect(toHex(pair.ours)).toBe(toHex(pair.kernels));
    });
  }

  it("the un-NATed port unreachable quotes a's datagram as c received it (TTL 63), addresses restored", () => {
    expect(parsed('nat-icmp-port-unreachable').value).toMatchObject({
      packet: {
        ip: { src: '10.250.0.2', dst: '10.250.0.1', ttl: 63, tos: 0xc0 },
        l4: {
          type: 3,
          code: 3,
          inner: {
            ip: { src: '10.250.0.1', dst: '10.250.0.2', ttl: 63 },
            l4: { kind: 'udp', sport: 40003, dport: 9090 },
          },
        },
      },
    });
  });

  it('a wrong SNAT address does not match (the comparison can fail)', () => {
    const r = parsed('nat-udp-40003-9090');
    if (r.value.kind !== 'ipv4') throw new Error('not ipv4');
    const wrong = withIp(r.value.packet, { src: '10.250.1.3', dst: '10.250.1.2', ttl: 63 });
    const ours = emitFrame(
      { ...r.value, src: '02:00:0a:fa:01:01', dst: '02:00:0a:fa:01:02', packet: wrong },
      r.payload,
    );
    expect(toHex(ours)).not.toBe(toHex(frame('c-udp-40003-9999')));
  });
});

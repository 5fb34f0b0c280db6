/** Frames for the vpp/ tests: an IPv4 packet in Ethernet, built with wire/. */
import { emitEthernet } from '../../wire/ethernet.js';
import { internetChecksum } from '../../wire/checksum.js';
import { emitIpv4Header } from '../../wire/ipv4.js';
import { IPPROTO, tcpFlags } from '../../wire/packet.js';
import { emitTcp } from '../../wire/tcp.js';
import { emitUdp } from '../../wire/udp.js';
import { Vswitch } from '../vswitch.js';

export interface PacketSpec {
  readonly src: string;
  readonly dst: string;
  readonly proto: 'tcp' | 'udp' | 'icmp';
  readonly sport?: number;
  readonly dport?: number;
  /** ICMP type and code (the ACL plugin's "ports"). */
  readonly icmp?: readonly [number, number];
  /** The ICMP echo identifier (1 unless given). */
  readonly icmpId?: number;
  /** What follows the ICMP header: for an error, the quoted IP header and 8 bytes. */
  readonly icmpData?: Uint8Array;
  readonly flags?: string;
  /** Fragment offset in 8-byte units (non-zero: a non-initial fragment). */
  readonly fragOffset?: number;
  readonly smac: string;
  readonly dmac: string;
}

export function frameOf(p: PacketSpec): Uint8Array {
  let l4: Uint8Array;
  let protocol: number;
  if (p.proto === 'tcp') {
    protocol = IPPROTO.TCP;
    l4 = emitTcp(
      {
        kind: 'tcp',
        sport: p.sport ?? 1234,
        dport: p.dport ?? 80,
        seq: 1,
        ack: 0,
        flags: tcpFlags(p.flags ?? 'S'),
        window: 8192,
      },
      p.src,
      p.dst,
      new Uint8Array(0),
    );
  } else if (p.proto === 'udp') {
    protocol = IPPROTO.UDP;
    l4 = emitUdp(
      { kind: 'udp', sport: p.sport ?? 1234, dport: p.dport ?? 53 },
      p.src,
      p.dst,
      new Uint8Array(8),
    );
  } else {
    protocol = IPPROTO.ICMP;
    const id = p.icmpId ?? 1;
    const data = p.icmpData ?? new Uint8Array(0);
    l4 = new Uint8Array(8 + data.length);
    l4.set([p.icmp?.[0] ?? 8, p.icmp?.[1] ?? 0, 0, 0, id >> 8, id & 0xff, 0, 1]);
    l4.set(data, 8);
    const sum = internetChecksum(l4);
    l4[2] = sum >> 8;
    l4[3] = sum & 0xff;
  }
  const header = emitIpv4Header({
    src: p.src,
    dst: p.dst,
    ttl: 64,
    id: 1,
    df: false,
    tos: 0,
    protocol,
    mf: false,
    fragOffset: p.fragOffset ?? 0,
    payloadLength: l4.length,
  });
  const ip = new Uint8Array(header.length + l4.length);
  ip.set(header, 0);
  ip.set(l4, header.length);
  return emitEthernet({ dst: p.dmac, src: p.smac, ethertype: 0x0800 }, ip);
}

export const PG0_MAC = '02:01:00:00:ff:01';
export const PG1_MAC = '02:01:00:00:ff:02';
export const HOST_MAC = '02:02:00:00:00:01';

/**
 * VPP's test framework layout (test/framework.py, vpp_pg_interface.py):
 * pg0 172.16.1.1/24 and pg1 172.16.2.1/24, remote hosts .2 … .4 on each,
 * their ARP entries configured (`configure_ipv4_neighbors`).
 */
export function pgVswitch(integer: (from: number, to: number) => number = (f) => f): Vswitch {
  const vs = new Vswitch('pg', { integer });
  const pg0 = vs.addInterface({ name: 'pg0', mac: PG0_MAC, kind: 'tap', ip4: '172.16.1.1/24' });
  const pg1 = vs.addInterface({ name: 'pg1', mac: PG1_MAC, kind: 'tap', ip4: '172.16.2.1/24' });
  for (let h = 2; h <= 4; h++) {
    vs.setNeighbour(pg0.swIfIndex, `172.16.1.${h}`, HOST_MAC);
    vs.setNeighbour(pg1.swIfIndex, `172.16.2.${h}`, HOST_MAC);
  }
  return vs;
}

/** test_nat.py: pg0 inside, pg1 outside (`nat44_interface_add_del_feature`). */
export function natVswitch(integer?: (from: number, to: number) => number): Vswitch {
  const vs = pgVswitch(integer);
  vs.ifByIndex(1).natInside = true;
  vs.ifByIndex(2).natOutside = true;
  for (const i of vs.interfaces) vs.configureFeatures(i);
  return vs;
}

/** The TCP segment in a transmitted frame, with its checksums checked. */
export const tcpOf = (frame: Uint8Array) => {
  const ip = frame.subarray(14);
  const ok = (from: number, to: number, pseudo: number[]): boolean => {
    let s = pseudo.reduce((a, b) => a + b, 0);
    for (let i = from; i < to; i += 2) s += (ip[i]! << 8) | (ip[i + 1] ?? 0);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    return s === 0xffff;
  };
  const len = ((ip[2]! << 8) | ip[3]!) - 20;
  const w = (i: number) => (ip[i]! << 8) | ip[i + 1]!;
  return {
    src: `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`,
    dst: `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}`,
    sport: w(20),
    dport: w(22),
    ipChecksumOk: ok(0, 20, []),
    tcpChecksumOk: ok(20, 20 + len, [w(12), w(14), w(16), w(18), 6, len]),
  };
};

/** An ICMP message in a transmitted frame: outer addresses, the echo id, the quoted packet's ends, checksums. */
export const icmpOf = (frame: Uint8Array) => {
  const ip = frame.subarray(14);
  const ihl = (ip[0]! & 0x0f) * 4;
  const len = (ip[2]! << 8) | ip[3]!;
  const icmp = ip.subarray(ihl, len);
  const inner = icmp.subarray(8);
  const a = (b: Uint8Array, at: number) => [...b.subarray(at, at + 4)].join('.');
  const w = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;
  return {
    src: a(ip, 12),
    dst: a(ip, 16),
    type: icmp[0]!,
    id: w(icmp, 4),
    icmpChecksumOk: internetChecksum(icmp) === 0,
    inner:
      inner.length >= 28
        ? {
            src: a(inner, 12),
            dst: a(inner, 16),
            sport: w(inner, 20),
            dport: w(inner, 22),
            checksumOk: internetChecksum(inner.subarray(0, 20)) === 0,
          }
        : undefined,
  };
};

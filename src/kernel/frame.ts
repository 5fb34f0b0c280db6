/**
 * Frames on a link: an Ethernet header and an IPv4 packet or an ARP packet,
 * as immutable values (the byte forms live in src/wire/ethernet.ts and
 * arp.ts). Layer-3 devices (lo, dummy, ipip) carry the same shape with
 * all-zero MACs, as the loopback device does.
 */
import type { ArpPacket } from '../wire/arp.js';
import type { Mac } from '../wire/ethernet.js';
import type { Ipv4Packet } from '../wire/packet.js';

export type { Mac } from '../wire/ethernet.js';
export { BROADCAST_MAC, ZERO_MAC, isMulticastMac } from '../wire/ethernet.js';

export interface Ipv4Payload {
  readonly kind: 'ipv4';
  readonly packet: Ipv4Packet;
}

export interface Frame {
  readonly src: Mac;
  readonly dst: Mac;
  readonly payload: Ipv4Payload | ArpPacket;
}

/**
 * `skb->pkt_type` as eth_type_trans sets it from the destination MAC
 * (net/ethernet/eth.c): HOST (ours), BROADCAST, MULTICAST, or OTHERHOST.
 */
export type PktType = 'host' | 'broadcast' | 'multicast' | 'otherhost';

export function ipv4Frame(src: Mac, dst: Mac, packet: Ipv4Packet): Frame {
  return { src, dst, payload: { kind: 'ipv4', packet } };
}

export function arpFrame(src: Mac, dst: Mac, arp: ArpPacket): Frame {
  return { src, dst, payload: arp };
}

/** One line: `0a:..:b4 > ff:..:ff arp who-has 10.0.0.2 tell 10.0.0.1`. */
export function describeFrame(f: Frame): string {
  const p = f.payload;
  if (p.kind === 'arp') {
    const what =
      p.op === 'request'
        ? `arp who-has ${p.targetIp} tell ${p.senderIp}`
        : `arp reply ${p.senderIp} is-at ${p.senderMac}`;
    return `${f.src} > ${f.dst} ${what}`;
  }
  return `${f.src} > ${f.dst} ipv4`;
}

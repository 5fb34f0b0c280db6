/**
 * The packet as an immutable value: an IPv4 header and its transport.
 *
 * This is the shape every layer above `wire/` passes around. NAT and routing
 * make new values (`withIp`, `withPorts`); a step of a trace never refers to a
 * packet that changes later. Byte-level `parse`/`emit` for each header live in
 * the sibling modules (ipv4.ts, tcp.ts, udp.ts, icmp.ts, ethernet.ts, arp.ts).
 *
 * IPv6: `ip.src`/`ip.dst` are text, so an IPv6 address (canonical, see
 * addr.ts) may travel in them for the single-host ip6tables trace
 * (`packeteye iptables trace` on an ip6tables-save dump); its `icmp` is then
 * ICMPv6. Nothing else understands such a packet: the byte-level emit/parse
 * (ipv4.ts and the transport checksums) and the cluster twin are IPv4-only,
 * and emitting an IPv6 packet throws a RangeError rather than pretending.
 */
import { formatHostPort, type Ipv4 } from './addr.js';

/** IANA protocol numbers the model speaks. */
export const IPPROTO = { ICMP: 1, IPIP: 4, TCP: 6, UDP: 17, SCTP: 132 } as const;

export type L4Proto = 'tcp' | 'udp' | 'sctp' | 'icmp';

export interface TcpFlags {
  readonly syn: boolean;
  readonly ack: boolean;
  readonly fin: boolean;
  readonly rst: boolean;
  readonly psh: boolean;
  readonly urg: boolean;
  /** ECN-Echo (RFC 3168); absent when clear. */
  readonly ece?: boolean;
  /** Congestion Window Reduced (RFC 3168); absent when clear. */
  readonly cwr?: boolean;
}

export interface TcpSegment {
  readonly kind: 'tcp';
  readonly sport: number;
  readonly dport: number;
  readonly seq: number;
  readonly ack: number;
  readonly flags: TcpFlags;
  readonly window: number;
  /** Urgent pointer (RFC 9293 §3.1); absent when zero. */
  readonly urgent?: number;
  /**
   * TCP options exactly as on the wire, lower-case hex, a multiple of 4 bytes
   * (so the data offset follows from it); absent when there are none. Carried,
   * not interpreted (see wire/tcp.ts).
   */
  readonly options?: string;
}

export interface UdpDatagram {
  readonly kind: 'udp';
  readonly sport: number;
  readonly dport: number;
  /**
   * Sent with checksum field 0, "no checksum" (RFC 768), as Linux VXLAN does
   * without `udpcsum`; absent when the checksum is computed. NAT keeps it so
   * (nf_nat_proto.c `udp_manip_pkt` only updates a non-zero checksum).
   */
  readonly noChecksum?: boolean;
  /**
   * The VXLAN header and inner Ethernet frame this datagram carries (RFC 7348),
   * for datagrams a VXLAN device sent; `payloadLength` counts their bytes
   * (8 + 14 + the inner packet's length). Absent for ordinary datagrams.
   */
  readonly vxlan?: VxlanPayload;
}

/** What a VXLAN datagram carries: the VNI and the inner Ethernet frame (IPv4). */
export interface VxlanPayload {
  readonly vni: number;
  readonly inner: { readonly src: string; readonly dst: string; readonly packet: Ipv4Packet };
}

export interface SctpPacket {
  readonly kind: 'sctp';
  readonly sport: number;
  readonly dport: number;
  readonly vtag: number;
}

export interface IcmpMessage {
  readonly kind: 'icmp';
  /** 0 echo-reply, 3 dest-unreachable, 8 echo-request, 11 time-exceeded. */
  readonly type: number;
  readonly code: number;
  /** Echo identifier (echo request/reply), used by conntrack as the "port". */
  readonly id?: number;
  readonly seq?: number;
  /** Next-hop MTU for fragmentation-needed (type 3 code 4). */
  readonly mtu?: number;
  /** For errors: the offending packet's header (plus 8 bytes of transport). */
  readonly inner?: Ipv4Packet;
}

/**
 * IP protocol 4, IP-in-IP (RFC 2003): the IPv4 payload is a whole inner IPv4
 * packet, as a `tunl0` (net/ipv4/ipip.c) sends it. No header of its own: the
 * outer packet's `payloadLength` is the inner packet's total length. No
 * ports: conntrack tracks it with nf_conntrack_proto_generic (addresses and
 * protocol only), and `-p tcp --dport` style matches never match it.
 */
export interface IpipPayload {
  readonly kind: 'ipip';
  readonly inner: Ipv4Packet;
}

export type Transport = TcpSegment | UdpDatagram | SctpPacket | IcmpMessage | IpipPayload;

export interface Ipv4Header {
  readonly src: Ipv4;
  readonly dst: Ipv4;
  readonly ttl: number;
  readonly id: number;
  readonly df: boolean;
  readonly tos: number;
}

export interface Ipv4Packet {
  readonly ip: Ipv4Header;
  readonly l4: Transport;
  /** Application payload length in bytes (content is not modelled). */
  readonly payloadLength: number;
}

export const NO_FLAGS: TcpFlags = {
  syn: false,
  ack: false,
  fin: false,
  rst: false,
  psh: false,
  urg: false,
};

export function tcpFlags(spec: string): TcpFlags {
  const s = spec.toUpperCase();
  return {
    syn: s.includes('S'),
    ack: s.includes('A'),
    fin: s.includes('F'),
    rst: s.includes('R'),
    psh: s.includes('P'),
    urg: s.includes('U'),
  };
}

/** The transport kind; `ipip` is not an `L4Proto` (nobody sends it from a socket). */
export function protoOf(p: Ipv4Packet): Transport['kind'] {
  return p.l4.kind;
}

/** Source port, or the ICMP echo id (what conntrack uses in its place). */
export function sportOf(p: Ipv4Packet): number | undefined {
  return p.l4.kind === 'icmp' ? p.l4.id : p.l4.kind === 'ipip' ? undefined : p.l4.sport;
}

export function dportOf(p: Ipv4Packet): number | undefined {
  return p.l4.kind === 'icmp' ? p.l4.id : p.l4.kind === 'ipip' ? undefined : p.l4.dport;
}

export function withIp(p: Ipv4Packet, change: Partial<Ipv4Header>): Ipv4Packet {
  return { ...p, ip: { ...p.ip, ...change } };
}

/** Rewrites ports (TCP/UDP/SCTP) or the echo id (ICMP); IP-in-IP has neither and is returned as is. */
export function withPorts(p: Ipv4Packet, sport?: number, dport?: number): Ipv4Packet {
  const l4 = p.l4;
  if (l4.kind === 'ipip') return p;
  if (l4.kind === 'icmp') {
    const id = sport ?? dport;
    return id === undefined ? p : { ...p, l4: { ...l4, id } };
  }
  return {
    ...p,
    l4: { ...l4, sport: sport ?? l4.sport, dport: dport ?? l4.dport },
  };
}

/** `10.0.0.1:1234 > 10.0.0.2:80 tcp [S]` (IPv6: `[2001:db8::1]:1234 > …`), the one-line form used in every view. */
export function describePacket(p: Ipv4Packet): string {
  const l4 = p.l4;
  switch (l4.kind) {
    case 'tcp': {
      const f = l4.flags;
      const flags =
        (f.syn ? 'S' : '') +
        (f.fin ? 'F' : '') +
        (f.rst ? 'R' : '') +
        (f.psh ? 'P' : '') +
        (f.ack ? '.' : '') +
        (f.urg ? 'U' : '');
      return `${formatHostPort(p.ip.src, l4.sport)} > ${formatHostPort(p.ip.dst, l4.dport)} tcp [${flags}]`;
    }
    case 'udp':
      return `${formatHostPort(p.ip.src, l4.sport)} > ${formatHostPort(p.ip.dst, l4.dport)} udp`;
    case 'sctp':
      return `${formatHostPort(p.ip.src, l4.sport)} > ${formatHostPort(p.ip.dst, l4.dport)} sctp`;
    case 'icmp':
      return `${p.ip.src} > ${p.ip.dst} icmp type ${l4.type} code ${l4.code}${l4.id !== undefined ? ` id ${l4.id}` : ''}`;
    case 'ipip':
      return `${p.ip.src} > ${p.ip.dst} ipip (inner: ${describePacket(l4.inner)})`;
  }
}

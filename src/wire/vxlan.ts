/**
 * Encapsulations: VXLAN (RFC 7348) and IP-in-IP (RFC 2003).
 *
 * VXLAN puts a whole inner Ethernet frame after an 8-byte header
 * (`flags(8) reserved(24) VNI(24) reserved(8)`, the I flag 0x08 saying the
 * VNI is valid) in a UDP datagram: IANA's port 4789, or 8472, the Linux
 * default that flannel keeps. Linux (drivers/net/vxlan) computes the outer
 * UDP checksum unless the device has `noudpcsum` (VXLAN_F_UDP_ZERO_CSUM_TX,
 * then the field is 0), and leaves DF clear unless `df set`; both are explicit
 * here, and the capture test records both checksum forms from a real kernel. IP-in-IP puts an IPv4 packet directly
 * after an outer IPv4 header with protocol 4 (net/ipv4/ipip.c), Calico's
 * `tunl0` mode.
 */
import { emitEthernet, ETHER_HEADER_LEN, ETHERTYPE, parseEthernet, type Mac } from './ethernet.js';
import { emitIpv4Datagram, parseIpv4, IPV4_HEADER_LEN } from './ipv4.js';
import { IPPROTO, type Ipv4Header } from './packet.js';
import { checkField, fail, ok, type WireResult } from './result.js';
import { emitUdp, parseUdp, UDP_HEADER_LEN } from './udp.js';

export const VXLAN_HEADER_LEN = 8;
/** IANA-assigned VXLAN port (RFC 7348 §5). */
export const VXLAN_PORT_IANA = 4789;
/** The Linux kernel's historical default, used by flannel. */
export const VXLAN_PORT_LINUX = 8472;
export const VXLAN_PORTS: readonly number[] = [VXLAN_PORT_IANA, VXLAN_PORT_LINUX];
/** The I flag: the VNI is valid (RFC 7348 §5). */
export const VXLAN_FLAG_I = 0x08;
/** Bytes VXLAN adds in front of the inner frame: outer Ethernet, IPv4, UDP, VXLAN. */
export const VXLAN_OVERHEAD =
  ETHER_HEADER_LEN + IPV4_HEADER_LEN + UDP_HEADER_LEN + VXLAN_HEADER_LEN;

export function emitVxlanHeader(vni: number): Uint8Array {
  checkField('vxlan vni', vni, 0xffffff);
  const out = new Uint8Array(VXLAN_HEADER_LEN);
  out[0] = VXLAN_FLAG_I;
  out[4] = vni >>> 16;
  out[5] = (vni >>> 8) & 0xff;
  out[6] = vni & 0xff;
  return out;
}

/**
 * The VNI of an 8-byte VXLAN header. Reserved bits must be zero: extensions
 * that use them (GBP, GPE) are not modelled, and `vxlan_rcv` without them
 * drops such a packet too.
 */
export function parseVxlanHeader(
  bytes: Uint8Array,
  base = 0,
): WireResult<{ readonly vni: number }> {
  if (bytes.length < VXLAN_HEADER_LEN) {
    return fail(
      'vxlan',
      `truncated header: ${bytes.length} of ${VXLAN_HEADER_LEN} bytes`,
      base + bytes.length,
    );
  }
  if (bytes[0] !== VXLAN_FLAG_I)
    return fail('vxlan', `flags 0x${bytes[0]!.toString(16)}, expected 0x08`, base);
  if (bytes[1] !== 0 || bytes[2] !== 0 || bytes[3] !== 0 || bytes[7] !== 0) {
    return fail('vxlan', 'reserved bits set (not modelled)', base + 1);
  }
  return ok({ vni: (bytes[4]! << 16) | (bytes[5]! << 8) | bytes[6]! });
}

/** Everything the outer headers of a VXLAN packet say. */
export interface VxlanTunnel {
  readonly outerSrcMac: Mac;
  readonly outerDstMac: Mac;
  /** Outer IPv4: the VTEP addresses, and ttl/id/df/tos as the sending device set them. */
  readonly ip: Ipv4Header;
  /** Outer UDP source port (Linux: a hash of the inner flow, `udp_flow_src_port`). */
  readonly sport: number;
  /** 4789 or 8472, as the device was configured. */
  readonly dport: number;
  readonly vni: number;
  /** Outer UDP checksum computed (`udpcsum`, the Linux default) or sent as 0 (`noudpcsum`); default true. */
  readonly udpChecksum?: boolean;
}

/** The outer Ethernet frame carrying `innerFrame` (an Ethernet frame without FCS). */
export function vxlanEncapsulate(t: VxlanTunnel, innerFrame: Uint8Array): Uint8Array {
  const vx = new Uint8Array(VXLAN_HEADER_LEN + innerFrame.length);
  vx.set(emitVxlanHeader(t.vni), 0);
  vx.set(innerFrame, VXLAN_HEADER_LEN);
  const udp = emitUdp(
    {
      kind: 'udp',
      sport: t.sport,
      dport: t.dport,
      ...(t.udpChecksum === false ? { noChecksum: true } : {}),
    },
    t.ip.src,
    t.ip.dst,
    vx,
  );
  const packet = emitIpv4Datagram(t.ip, IPPROTO.UDP, udp);
  return emitEthernet(
    { dst: t.outerDstMac, src: t.outerSrcMac, ethertype: ETHERTYPE.IPV4 },
    packet,
  );
}

export interface Decapsulated<T> {
  readonly tunnel: T;
  /** The inner frame (VXLAN) or packet (IP-in-IP), a view into the input. */
  readonly inner: Uint8Array;
}

/**
 * Splits an outer Ethernet frame into its tunnel and the inner frame. Only
 * UDP to one of `ports` is VXLAN (what the receiving device listens on).
 */
export function vxlanDecapsulate(
  frame: Uint8Array,
  ports: readonly number[] = VXLAN_PORTS,
): WireResult<Decapsulated<VxlanTunnel>> {
  const er = parseEthernet(frame);
  if (!er.ok) return er;
  if (er.value.header.ethertype !== ETHERTYPE.IPV4) {
    return fail(
      'vxlan',
      `outer ethertype 0x${er.value.header.ethertype.toString(16)} is not IPv4`,
      12,
    );
  }
  const ipr = parseIpv4(er.value.payload, ETHER_HEADER_LEN);
  if (!ipr.ok) return ipr;
  const h = ipr.value.header;
  if (!ipr.value.checksumOk) return fail('ipv4', 'bad header checksum', ETHER_HEADER_LEN + 10);
  if (h.mf || h.fragOffset !== 0)
    return fail('ipv4', 'fragments not modelled', ETHER_HEADER_LEN + 6);
  if (h.protocol !== IPPROTO.UDP)
    return fail('vxlan', `outer protocol ${h.protocol} is not UDP`, ETHER_HEADER_LEN + 9);
  const udpAt = ETHER_HEADER_LEN + ipr.value.headerLength;
  const ur = parseUdp(ipr.value.payload, h.src, h.dst, udpAt);
  if (!ur.ok) return ur;
  if (!ur.value.checksumOk) return fail('udp', 'bad checksum', udpAt + 6);
  const d = ur.value.datagram;
  if (!ports.includes(d.dport))
    return fail('vxlan', `UDP port ${d.dport} is not a VXLAN port`, udpAt + 2);
  const vr = parseVxlanHeader(ur.value.payload, udpAt + UDP_HEADER_LEN);
  if (!vr.ok) return vr;
  return ok({
    tunnel: {
      outerSrcMac: er.value.header.src,
      outerDstMac: er.value.header.dst,
      ip: ipFields(h),
      sport: d.sport,
      dport: d.dport,
      vni: vr.value.vni,
      udpChecksum: d.noChecksum !== true,
    },
    inner: ur.value.payload.subarray(VXLAN_HEADER_LEN),
  });
}

/** The outer IPv4 packet (protocol 4) carrying `innerPacket`, an IPv4 packet. */
export function ipipEncapsulate(outer: Ipv4Header, innerPacket: Uint8Array): Uint8Array {
  return emitIpv4Datagram(outer, IPPROTO.IPIP, innerPacket);
}

/** Splits an IP-in-IP packet into its outer header and the inner packet. */
export function ipipDecapsulate(
  packet: Uint8Array,
  base = 0,
): WireResult<Decapsulated<Ipv4Header>> {
  const ipr = parseIpv4(packet, base);
  if (!ipr.ok) return ipr;
  const h = ipr.value.header;
  if (!ipr.value.checksumOk) return fail('ipv4', 'bad header checksum', base + 10);
  if (h.options !== undefined)
    return fail('ipv4', 'IPv4 options not modelled', base + IPV4_HEADER_LEN);
  if (h.mf || h.fragOffset !== 0) return fail('ipv4', 'fragments not modelled', base + 6);
  if (h.protocol !== IPPROTO.IPIP)
    return fail('ipv4', `protocol ${h.protocol} is not IP-in-IP (4)`, base + 9);
  if (ipr.value.payload.length < 1 || ipr.value.payload[0]! >> 4 !== 4) {
    return fail('ipv4', 'inner packet is not IPv4', base + ipr.value.headerLength);
  }
  return ok({ tunnel: ipFields(h), inner: ipr.value.payload });
}

function ipFields(h: Ipv4Header): Ipv4Header {
  return { src: h.src, dst: h.dst, ttl: h.ttl, id: h.id, df: h.df, tos: h.tos };
}

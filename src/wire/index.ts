/**
 * wire: packets as bytes.
 *
 * The rest of packeteye passes packets around as immutable values
 * (`Ipv4Packet`, packet.ts); this folder is where those values meet real
 * bytes, so a pcap export is a true capture and every checksum is the one the
 * kernel would have written. It follows smoltcp's `wire/`: one module per
 * header, each a `parse`/`emit` pair over plain values.
 *
 * ```
 * ethernet.ts  Ethernet II (no FCS), MAC strings        arp.ts   ARP for IPv4
 * ipv4.ts      the IPv4 header, Ipv4Repr                tcp.ts udp.ts icmp.ts sctp.ts
 * checksum.ts  RFC 1071, pseudo-header, RFC 1624, CRC32c
 * vxlan.ts     VXLAN (RFC 7348) and IP-in-IP encapsulation
 * index.ts     the packet and frame codecs below
 * ```
 *
 * The contract, stated once:
 * - Parsers never throw at their caller. Untrusted bytes give a `WireResult`:
 *   a value, or an error with the layer, a reason and the byte offset.
 * - A successful parse is lossless: `emitPacket(parsed.value, parsed.payload)`
 *   equals the first `parsed.length` input bytes. Whatever the model cannot
 *   say (IP options, fragments, TCP reserved bits, ICMP types other than
 *   echo/unreachable/time-exceeded, a wrong checksum) is an error naming it,
 *   never silently dropped. Bytes after the IPv4 total length (Ethernet
 *   padding) are not part of the packet, as in `ip_rcv_core`.
 * - Emitters take values the program built and throw `RangeError` only on a
 *   value that cannot exist on the wire (a contract violation, not input).
 * - Payload content is not modelled (`Ipv4Packet.payloadLength`): emit writes
 *   that many zero bytes unless given the payload. An ICMP error's payload is
 *   its quote; without one given, the quote is emitted from `inner` (with a
 *   zero payload) cut to `payloadLength`, so after NAT rewrites the inner
 *   packet, its quote and every checksum follow.
 * - Checksums are always recomputed from the value. Linux NAT updates them
 *   incrementally (RFC 1624, `inet_proto_csum_replace4`); for a packet whose
 *   checksum was right the result is the same 16 bits (checksum.ts).
 * - IP-in-IP (protocol 4, RFC 2003) parses as an `ipip` transport holding
 *   the inner packet (parsed and checksum-verified like any other); its
 *   payload is the inner packet's bytes, so the lossless guarantee holds.
 * - A quote shorter than the quoted transport header (8 bytes of TCP, say)
 *   yields the fields it holds; the rest read as zero. The quote of a quoted
 *   ICMP error is not followed (Linux never sends an error about an error).
 *
 * How we know: test/fixtures/wire/ holds frames Linux sent (ARP, ICMP echo and
 * errors, UDP, a TCP connection, VXLAN with and without UDP checksums, and
 * packets on both sides of an iptables DNAT+SNAT); every one parses, re-emits
 * byte for byte, and the NAT'd ones equal our rewrite of the other side's.
 * wire.kernel.test.ts recaptures them live.
 *
 * @example
 * ```ts
 * const r = parsePacket(bytes);
 * if (!r.ok) return drop(formatWireError(r.error));        // "tcp at byte 36: bad checksum"
 * const dnat = withPorts(withIp(r.value, { dst: '10.244.1.5' }), undefined, 8080);
 * const out = emitPacket(dnat, r.payload);                 // checksums as the kernel's
 * ```
 */
import { ARP_LEN, emitArp, parseArp, type ArpPacket } from './arp.js';
import { emitEthernet, ETHER_HEADER_LEN, ETHERTYPE, parseEthernet, type Mac } from './ethernet.js';
import { emitIcmp, icmpQuoteLength, isIcmpError, parseIcmp, ICMP_HEADER_LEN } from './icmp.js';
import { emitIpv4Datagram, parseIpv4, IPV4_HEADER_LEN } from './ipv4.js';
import type { Ipv4 } from './addr.js';
import { IPPROTO, type IcmpMessage, type Ipv4Packet, type Transport } from './packet.js';
import { fail, type WireErr, type WireOk } from './result.js';
import { emitSctp, parseSctp, SCTP_HEADER_LEN } from './sctp.js';
import { emitTcp, parseTcp, tcpHeaderLength } from './tcp.js';
import { emitUdp, parseUdp, UDP_HEADER_LEN } from './udp.js';
import { emitVxlanHeader, VXLAN_HEADER_LEN } from './vxlan.js';

export * from './addr.js';
export * from './packet.js';
export * from './result.js';
export * from './checksum.js';
export * from './ethernet.js';
export * from './arp.js';
export * from './ipv4.js';
export * from './tcp.js';
export * from './udp.js';
export * from './icmp.js';
export * from './sctp.js';
export * from './vxlan.js';

export interface PacketParseOptions {
  /**
   * Reject a wrong IPv4 header or transport checksum (default true). Off, a
   * capture taken before checksum offload filled the field in can be read,
   * but the lossless guarantee no longer holds for it.
   */
  readonly verifyChecksums?: boolean;
}

export interface ParsedPacket extends WireOk<Ipv4Packet> {
  /** The application payload (for an ICMP error: the quote). */
  readonly payload: Uint8Array;
  /** Bytes of the input that make up the packet (its IPv4 total length). */
  readonly length: number;
}

/** Transport header length of `l4` on the wire. */
export function l4HeaderLength(l4: Transport): number {
  switch (l4.kind) {
    case 'tcp':
      return tcpHeaderLength(l4);
    case 'udp':
      return UDP_HEADER_LEN;
    case 'sctp':
      return SCTP_HEADER_LEN;
    case 'icmp':
      return ICMP_HEADER_LEN;
    case 'ipip':
      // No header of its own: the inner packet is the payload (RFC 2003 §3).
      return 0;
  }
}

/** IPv4 total length of `p` when emitted. */
export function packetLength(p: Ipv4Packet): number {
  return IPV4_HEADER_LEN + l4HeaderLength(p.l4) + p.payloadLength;
}

/** Parses an IPv4 packet (no link-layer header). */
export function parsePacket(
  bytes: Uint8Array,
  opts: PacketParseOptions = {},
): ParsedPacket | WireErr {
  return parseAt(bytes, 0, opts.verifyChecksums !== false, false);
}

function parseAt(
  bytes: Uint8Array,
  base: number,
  verify: boolean,
  quoted: boolean,
): ParsedPacket | WireErr {
  const ipr = parseIpv4(bytes, base, { quoted });
  if (!ipr.ok) return ipr;
  const { header: h, headerLength } = ipr.value;
  if (h.options !== undefined)
    return fail('ipv4', 'IPv4 options not modelled', base + IPV4_HEADER_LEN);
  if (h.mf || h.fragOffset !== 0) return fail('ipv4', 'fragments not modelled', base + 6);
  if (verify && !quoted && !ipr.value.checksumOk)
    return fail('ipv4', 'bad header checksum', base + 10);
  const ip = { src: h.src, dst: h.dst, ttl: h.ttl, id: h.id, df: h.df, tos: h.tos };
  const body = ipr.value.payload;
  const at = base + headerLength;
  const l4opts = { quoted };
  let l4: Transport;
  let l4Length: number;
  let payload: Uint8Array;
  switch (h.protocol) {
    case IPPROTO.TCP: {
      const r = parseTcp(body, h.src, h.dst, at, l4opts);
      if (!r.ok) return r;
      if (verify && !quoted && !r.value.checksumOk) return fail('tcp', 'bad checksum', at + 16);
      l4 = r.value.segment;
      // A quote that cut the options off: count them as payload so the total length stays true.
      l4Length = r.value.optionsTruncated ? tcpHeaderLength(r.value.segment) : r.value.headerLength;
      payload = r.value.payload;
      break;
    }
    case IPPROTO.UDP: {
      const r = parseUdp(body, h.src, h.dst, at, l4opts);
      if (!r.ok) return r;
      if (r.value.length !== h.payloadLength) {
        return fail(
          'udp',
          `length ${r.value.length} differs from the IP payload's ${h.payloadLength} bytes`,
          at + 4,
        );
      }
      if (verify && !quoted && !r.value.checksumOk) return fail('udp', 'bad checksum', at + 6);
      l4 = r.value.datagram;
      l4Length = UDP_HEADER_LEN;
      payload = r.value.payload;
      break;
    }
    case IPPROTO.SCTP: {
      const r = parseSctp(body, at, l4opts);
      if (!r.ok) return r;
      if (verify && !quoted && !r.value.checksumOk) return fail('sctp', 'bad checksum', at + 8);
      l4 = r.value.packet;
      l4Length = SCTP_HEADER_LEN;
      payload = r.value.payload;
      break;
    }
    case IPPROTO.ICMP: {
      const r = parseIcmp(body, at, l4opts);
      if (!r.ok) return r;
      if (verify && !quoted && !r.value.checksumOk) return fail('icmp', 'bad checksum', at + 2);
      let message: IcmpMessage = r.value.message;
      // The quote of an error is itself a packet; a quoted error's own quote is not followed.
      if (isIcmpError(message.type) && !quoted) {
        const inner = parseAt(r.value.body, at + ICMP_HEADER_LEN, verify, true);
        if (!inner.ok) return inner;
        message = { ...message, inner: inner.value };
      }
      l4 = message;
      l4Length = ICMP_HEADER_LEN;
      payload = r.value.body;
      break;
    }
    case IPPROTO.IPIP: {
      // RFC 2003: the payload is one whole IPv4 packet, parsed like any other
      // (its own checksums verified; a quote's inner packet read as a quote).
      const inner = parseAt(body, at, verify, quoted);
      if (!inner.ok) return inner;
      if (!quoted && inner.length !== body.length) {
        return fail(
          'ipv4',
          `IP-in-IP: inner total length ${inner.length} differs from the outer payload's ${body.length} bytes`,
          at + 2,
        );
      }
      l4 = { kind: 'ipip', inner: inner.value };
      l4Length = 0;
      payload = body;
      break;
    }
    default:
      return fail('ipv4', `protocol ${h.protocol} not modelled`, base + 9);
  }
  if (h.payloadLength < l4Length) {
    return fail(
      l4.kind === 'ipip' ? 'ipv4' : l4.kind,
      `IP payload ${h.payloadLength} bytes, shorter than the ${l4Length}-byte header`,
      at,
    );
  }
  return {
    ok: true,
    value: { ip, l4, payloadLength: h.payloadLength - l4Length },
    payload,
    length: headerLength + h.payloadLength,
  };
}

/**
 * The packet's bytes: IPv4 header, transport header and payload, every
 * checksum computed. `payload`, when given, must be `p.payloadLength` long.
 */
export function emitPacket(p: Ipv4Packet, payload?: Uint8Array): Uint8Array {
  if (payload !== undefined && payload.length !== p.payloadLength) {
    throw new RangeError(`payload is ${payload.length} bytes, packet says ${p.payloadLength}`);
  }
  if (!Number.isInteger(p.payloadLength) || p.payloadLength < 0) {
    throw new RangeError(`payloadLength must be a non-negative integer: ${p.payloadLength}`);
  }
  const l4 = p.l4;
  const data = payload ?? defaultPayload(p);
  let segment: Uint8Array;
  let protocol: number;
  switch (l4.kind) {
    case 'tcp':
      segment = emitTcp(l4, p.ip.src, p.ip.dst, data);
      protocol = IPPROTO.TCP;
      break;
    case 'udp':
      segment = emitUdp(l4, p.ip.src, p.ip.dst, data);
      protocol = IPPROTO.UDP;
      break;
    case 'sctp':
      segment = emitSctp(l4, data);
      protocol = IPPROTO.SCTP;
      break;
    case 'icmp':
      segment = emitIcmp(l4, data);
      protocol = IPPROTO.ICMP;
      break;
    case 'ipip':
      // The inner packet's bytes are the whole payload (see defaultPayload).
      segment = data;
      protocol = IPPROTO.IPIP;
      break;
  }
  return emitIpv4Datagram(p.ip, protocol, segment);
}

/** Zero bytes, or for an ICMP error the quote of its inner packet. */
function defaultPayload(p: Ipv4Packet): Uint8Array {
  const out = new Uint8Array(p.payloadLength);
  if (p.l4.kind === 'udp' && p.l4.vxlan !== undefined) {
    // A VXLAN datagram: the 8-byte header, then the inner Ethernet frame.
    const v = p.l4.vxlan;
    const inner = emitFrame({
      kind: 'ipv4',
      src: v.inner.src,
      dst: v.inner.dst,
      packet: v.inner.packet,
    });
    out.set(emitVxlanHeader(v.vni), 0);
    out.set(inner.subarray(0, Math.max(0, out.length - VXLAN_HEADER_LEN)), VXLAN_HEADER_LEN);
    return out;
  }
  if (p.l4.kind === 'ipip') {
    // IP-in-IP: the inner packet, emitted with its own checksums.
    const inner = emitPacket(p.l4.inner);
    if (inner.length !== out.length)
      throw new RangeError(
        `IP-in-IP payloadLength ${p.payloadLength} differs from the inner packet's ${inner.length} bytes`,
      );
    out.set(inner.subarray(0, out.length));
    return out;
  }
  if (p.l4.kind === 'icmp' && p.l4.inner !== undefined) {
    const quote = emitPacket(p.l4.inner);
    out.set(quote.subarray(0, out.length));
  }
  return out;
}

export interface IcmpErrorSpec {
  /** 3 destination unreachable or 11 time exceeded. */
  readonly type: 3 | 11;
  readonly code: number;
  /** Next-hop MTU, for type 3 code 4. */
  readonly mtu?: number;
  /** The address the error comes from (Linux: the input interface's, `icmp_send` → `inet_select_addr`). */
  readonly src: Ipv4;
  /** IP id of the error (a per-destination counter in Linux; the caller's choice here). */
  readonly id: number;
  /** TTL of the error: net.ipv4.ip_default_ttl, 64. */
  readonly ttl?: number;
  /** MTU of the route back to the sender; the error never exceeds min(576, it). */
  readonly routeMtu?: number;
}

/**
 * The ICMP error Linux sends about `original` (net/ipv4/icmp.c `icmp_send`):
 * to its source, DF clear, TOS = (original TOS & IPTOS_TOS_MASK) |
 * IPTOS_PREC_INTERNETCONTROL (0xc0), quoting as much of `original` as fits
 * in 576 bytes. `original` is the packet as the sender of the error saw it
 * (for time exceeded: before the TTL decrement that failed). Undefined when
 * the route MTU leaves no room for even the quoted IP header, when Linux
 * sends nothing.
 */
export function icmpErrorPacket(original: Ipv4Packet, spec: IcmpErrorSpec): Ipv4Packet | undefined {
  const quote = icmpQuoteLength(packetLength(original), spec.routeMtu);
  if (quote <= IPV4_HEADER_LEN) return undefined;
  const l4: IcmpMessage =
    spec.type === 3 && spec.code === 4
      ? { kind: 'icmp', type: 3, code: 4, mtu: spec.mtu ?? 0, inner: original }
      : { kind: 'icmp', type: spec.type, code: spec.code, inner: original };
  return {
    ip: {
      src: spec.src,
      dst: original.ip.src,
      ttl: spec.ttl ?? 64,
      id: spec.id,
      df: false,
      tos: (original.ip.tos & 0x1e) | 0xc0,
    },
    l4,
    payloadLength: quote,
  };
}

/** An Ethernet frame carrying IPv4 or ARP, the two the twin puts on links. */
export type Frame =
  | { readonly kind: 'ipv4'; readonly dst: Mac; readonly src: Mac; readonly packet: Ipv4Packet }
  | { readonly kind: 'arp'; readonly dst: Mac; readonly src: Mac; readonly arp: ArpPacket };

export interface ParsedFrame extends WireOk<Frame> {
  /** The IPv4 payload (empty for ARP). */
  readonly payload: Uint8Array;
  /** Bytes of the input that make up the frame (without trailing padding). */
  readonly length: number;
}

export function emitFrame(f: Frame, payload?: Uint8Array): Uint8Array {
  switch (f.kind) {
    case 'ipv4':
      return emitEthernet(
        { dst: f.dst, src: f.src, ethertype: ETHERTYPE.IPV4 },
        emitPacket(f.packet, payload),
      );
    case 'arp':
      return emitEthernet({ dst: f.dst, src: f.src, ethertype: ETHERTYPE.ARP }, emitArp(f.arp));
  }
}

export function parseFrame(
  bytes: Uint8Array,
  opts: PacketParseOptions = {},
): ParsedFrame | WireErr {
  const er = parseEthernet(bytes);
  if (!er.ok) return er;
  const { dst, src, ethertype } = er.value.header;
  if (ethertype === ETHERTYPE.IPV4) {
    const r = parseAt(er.value.payload, ETHER_HEADER_LEN, opts.verifyChecksums !== false, false);
    if (!r.ok) return r;
    return {
      ok: true,
      value: { kind: 'ipv4', dst, src, packet: r.value },
      payload: r.payload,
      length: ETHER_HEADER_LEN + r.length,
    };
  }
  if (ethertype === ETHERTYPE.ARP) {
    const r = parseArp(er.value.payload, ETHER_HEADER_LEN);
    if (!r.ok) return r;
    return {
      ok: true,
      value: { kind: 'arp', dst, src, arp: r.value },
      payload: new Uint8Array(0),
      length: ETHER_HEADER_LEN + ARP_LEN,
    };
  }
  return fail(
    'ethernet',
    `ethertype 0x${ethertype.toString(16).padStart(4, '0')} not modelled`,
    12,
  );
}

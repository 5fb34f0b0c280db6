/**
 * Conntrack tuples: the 5-tuple the kernel hashes a packet by
 * (`struct nf_conntrack_tuple`, include/net/netfilter/nf_conntrack_tuple.h).
 *
 * A tuple is an immutable value. `invert` is the kernel's
 * `nf_ct_invert_tuple`: what a reply to a packet with this tuple looks like.
 * For ICMP the "ports" are the echo id (source side) and type/code
 * (destination side), and inverting maps a request type to its reply type
 * (`icmp_invert_tuple`, net/netfilter/nf_conntrack_proto_icmp.c).
 *
 * Addresses are text of either family: an IPv6 tuple (the single-host
 * ip6tables trace) has IPv6 addresses and its ICMP is ICMPv6, whose types
 * invert by icmpv6_invert_tuple (nf_conntrack_proto_icmpv6.c).
 */
import type { Ipv4 } from '../../wire/addr.js';
import type { Ipv4Packet, L4Proto } from '../../wire/packet.js';

export interface Tuple {
  /**
   * `ipip` (protocol 4) is tracked by nf_conntrack_proto_generic: no ports
   * (generic_pkt_to_tuple sets none), so sport and dport are 0.
   */
  readonly proto: L4Proto | 'ipip';
  readonly src: Ipv4;
  readonly dst: Ipv4;
  /** TCP/UDP/SCTP source port; ICMP: the echo id. */
  readonly sport: number;
  /** TCP/UDP/SCTP destination port; ICMP: 0 (type/code carry the rest). */
  readonly dport: number;
  /** ICMP only. */
  readonly icmpType?: number;
  readonly icmpCode?: number;
}

/** The two directions of a connection (`tuplehash[IP_CT_DIR_ORIGINAL/REPLY]`). */
export type Direction = 'original' | 'reply';

/** icmp_invert_tuple's table: echo, timestamp, info request, address mask. */
const ICMP_INVERT: Readonly<Record<number, number>> = {
  8: 0,
  0: 8,
  13: 14,
  14: 13,
  15: 16,
  16: 15,
  17: 18,
  18: 17,
};

/** ICMP types conntrack can track as connections (`icmp_new` valid_new[]): requests only. */
export const ICMP_TRACKABLE_REQUESTS: ReadonlySet<number> = new Set([8, 13, 15, 17]);

/** ICMP error types whose payload names another connection (`icmp_is_error`/icmp_error_message). */
export const ICMP_ERROR_TYPES: ReadonlySet<number> = new Set([3, 4, 5, 11, 12]);

/** icmpv6_invert_tuple's table: echo, node information. */
const ICMPV6_INVERT: Readonly<Record<number, number>> = { 128: 129, 129: 128, 139: 140, 140: 139 };

/** ICMPv6 types that can start a connection (icmpv6_new valid_new[]). */
export const ICMPV6_TRACKABLE_REQUESTS: ReadonlySet<number> = new Set([128, 139]);

/** ICMPv6 errors (types below 128, icmpv6_error → icmpv6_error_message). */
export function isIcmpv6Error(type: number): boolean {
  return type < 128;
}

/** ICMP error (either family) whose payload names another connection. */
export function isIcmpErrorFor(p: Ipv4Packet, type: number): boolean {
  return p.ip.src.indexOf(':') >= 0 ? isIcmpv6Error(type) : ICMP_ERROR_TYPES.has(type);
}

/** ICMP type (either family) that can start a connection. */
export function isIcmpTrackableFor(p: Ipv4Packet, type: number): boolean {
  return p.ip.src.indexOf(':') >= 0
    ? ICMPV6_TRACKABLE_REQUESTS.has(type)
    : ICMP_TRACKABLE_REQUESTS.has(type);
}

export function invertTuple(t: Tuple): Tuple {
  if (t.proto === 'icmp') {
    const v6 = t.src.indexOf(':') >= 0;
    const type = t.icmpType ?? (v6 ? 128 : 8);
    const inv = v6 ? ICMPV6_INVERT[type] : ICMP_INVERT[type];
    return {
      proto: 'icmp',
      src: t.dst,
      dst: t.src,
      sport: t.sport,
      dport: 0,
      icmpType: inv ?? type,
      icmpCode: t.icmpCode ?? 0,
    };
  }
  return { proto: t.proto, src: t.dst, dst: t.src, sport: t.dport, dport: t.sport };
}

/** The tuple of a packet (`nf_ct_get_tuple`). ICMP errors have no tuple of their own. */
export function tupleOf(p: Ipv4Packet): Tuple {
  const l4 = p.l4;
  if (l4.kind === 'icmp') {
    return {
      proto: 'icmp',
      src: p.ip.src,
      dst: p.ip.dst,
      sport: l4.id ?? 0,
      dport: 0,
      icmpType: l4.type,
      icmpCode: l4.code,
    };
  }
  if (l4.kind === 'ipip')
    return { proto: 'ipip', src: p.ip.src, dst: p.ip.dst, sport: 0, dport: 0 };
  return { proto: l4.kind, src: p.ip.src, dst: p.ip.dst, sport: l4.sport, dport: l4.dport };
}

/** Hash key; equal tuples (`nf_ct_tuple_equal`) have equal keys. */
export function tupleKey(t: Tuple): string {
  return t.proto === 'icmp'
    ? `icmp ${t.src} ${t.dst} ${t.sport} ${t.icmpType ?? 0} ${t.icmpCode ?? 0}`
    : `${t.proto} ${t.src} ${t.sport} ${t.dst} ${t.dport}`;
}

export function tupleEqual(a: Tuple, b: Tuple): boolean {
  return tupleKey(a) === tupleKey(b);
}

/** `src=… dst=… sport=… dport=…` as conntrack-tools prints a tuple. */
export function formatTuple(t: Tuple): string {
  if (t.proto === 'icmp')
    return `src=${t.src} dst=${t.dst} type=${t.icmpType ?? 0} code=${t.icmpCode ?? 0} id=${t.sport}`;
  // libnetfilter_conntrack prints no ports for a protocol it has no name for.
  if (t.proto === 'ipip') return `src=${t.src} dst=${t.dst}`;
  return `src=${t.src} dst=${t.dst} sport=${t.sport} dport=${t.dport}`;
}

/** An immutable original/reply pair; `reply()` is pure. */
export interface TuplePair {
  readonly original: Tuple;
  readonly reply: Tuple;
}

export function pairOf(original: Tuple): TuplePair {
  return { original, reply: invertTuple(original) };
}

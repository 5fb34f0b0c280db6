/**
 * Transport matches: xt_tcpudp (ports, --tcp-flags, --syn; sctp ports),
 * xt_multiport, and icmp / icmp6 type and code.
 */
import { IPPROTO } from '../../wire/packet.js';
import { TCPHDR } from '../../wire/tcp.js';
import { PROTO_ICMPV6, type CMatch } from './eval.js';
import type { Match } from './types.js';

/** `--tcp-flags` names (libxt_tcp.c tcp_flag_names): the header bits, ALL and NONE. */
export const TCP_FLAG_BITS: Readonly<Record<string, number>> = {
  ...TCPHDR,
  ALL: 0x3f,
  NONE: 0,
};

export function flagBits(names: readonly string[]): number | string {
  let b = 0;
  for (const n of names) {
    const v = TCP_FLAG_BITS[n.toUpperCase()];
    if (v === undefined) return n;
    b |= v;
  }
  return b;
}

export function compileTcpUdp(m: Extract<Match, { kind: 'l4' }>): CMatch {
  // xt_tcpudp tcp_mt/udp_mt (sctp_mt for sctp): ports, then flags.
  const proto =
    m.protocol === 'tcp' ? IPPROTO.TCP : m.protocol === 'udp' ? IPPROTO.UDP : IPPROTO.SCTP;
  const sp = m.sport;
  const dp = m.dport;
  let fmask = 0;
  let fcomp = 0;
  let finv = false;
  const hasFlags = m.tcpFlags !== undefined;
  if (m.tcpFlags) {
    const a = flagBits(m.tcpFlags.mask);
    const b = flagBits(m.tcpFlags.comp);
    if (typeof a === 'string' || typeof b === 'string')
      return { unsupported: `TCP flag "${String(typeof a === 'string' ? a : b)}"` };
    fmask = a;
    fcomp = b;
    finv = m.tcpFlags.invert;
  }
  return {
    test: (c) => {
      if (c.proto !== proto) return false;
      if (sp && (c.sport >= sp.from && c.sport <= sp.to) === sp.invert) return false;
      if (dp && (c.dport >= dp.from && c.dport <= dp.to) === dp.invert) return false;
      if (hasFlags && ((c.tcpFlags & fmask) === fcomp) === finv) return false;
      return true;
    },
  };
}

export function compileMultiport(m: Extract<Match, { kind: 'multiport' }>): CMatch {
  // xt_multiport ports_match_v1
  const ranges = m.ports;
  const inv = m.invert;
  const which = m.which;
  return {
    test: (c) => {
      if (c.sport < 0) return false;
      for (const r of ranges) {
        const s = c.sport >= r.from && c.sport <= r.to;
        const d = c.dport >= r.from && c.dport <= r.to;
        if (which === 'sports' ? s : which === 'dports' ? d : s || d) return !inv;
      }
      return inv;
    },
  };
}

export function compileIcmp(m: Extract<Match, { kind: 'icmp' }>): CMatch {
  // icmp_type_code_match: type 0xFF is any.
  const type = m.type;
  const lo = m.code ?? 0;
  const hi = m.code ?? 0xff;
  const inv = m.invert;
  return {
    test: (c) => {
      if (c.proto !== IPPROTO.ICMP) return false;
      const ok = type === 0xff || (c.icmpType === type && c.icmpCode >= lo && c.icmpCode <= hi);
      return ok !== inv;
    },
  };
}

export function compileIcmp6(m: Extract<Match, { kind: 'icmp6' }>): CMatch {
  // icmp6_type_code_match (net/ipv6/netfilter/ip6_tables.c): no "any" type.
  const type = m.type;
  const lo = m.code ?? 0;
  const hi = m.code ?? 0xff;
  const inv = m.invert;
  return {
    test: (c) => {
      if (c.proto !== PROTO_ICMPV6) return false;
      return (c.icmpType === type && c.icmpCode >= lo && c.icmpCode <= hi) !== inv;
    },
  };
}

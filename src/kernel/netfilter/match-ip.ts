/**
 * ip_packet_match (net/ipv4/netfilter/ip_tables.c): -p, -s, -d, -i, -o —
 * addresses of both families, interface names with `+` wildcards.
 */
import { ipToInt, ipv6ToBigInt, isIpv4, parseCidr } from '../../wire/addr.js';
import { PROTO_NUM, type CMatch, type EvalCtx } from './eval.js';
import type { Match } from './types.js';

/** Dotted quad → signed 32-bit, or null. A hand-rolled scan: compiling 40,000 rules parses 40,000 addresses. */
export function quad(s: string, from: number, to: number): number | null {
  let acc = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const ch = s.charCodeAt(i);
    if (ch === 46) {
      if (digits === 0 || dots === 3) return null;
      acc = (acc << 8) | part;
      part = 0;
      digits = 0;
      dots++;
    } else if (ch >= 48 && ch <= 57) {
      if (digits > 0 && part === 0) return null; // no leading zeros
      part = part * 10 + (ch - 48);
      if (++digits > 3 || part > 255) return null;
    } else return null;
  }
  if (dots !== 3 || digits === 0) return null;
  return (acc << 8) | part;
}

/** An address/prefix as a signed 32-bit network and mask, or null when it is not IPv4. */
export function parseNet(cidr: string): { net: number; mask: number; host: boolean } | null {
  const slash = cidr.indexOf('/');
  const addr = quad(cidr, 0, slash < 0 ? cidr.length : slash);
  if (addr !== null) {
    if (slash < 0) return { net: addr, mask: -1, host: true };
    const rest = cidr.slice(slash + 1);
    if (/^\d{1,2}$/.test(rest) && Number(rest) <= 32) {
      const prefix = Number(rest);
      const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) | 0;
      return { net: addr & mask, mask, host: prefix === 32 };
    }
  }
  try {
    const slash = cidr.indexOf('/');
    if (slash >= 0 && isIpv4(cidr.slice(slash + 1))) {
      // iptables-save prints non-contiguous masks as a.b.c.d/m.m.m.m
      const mask = ipToInt(cidr.slice(slash + 1)) | 0;
      return { net: ipToInt(cidr.slice(0, slash)) & mask, mask, host: mask === -1 };
    }
    const c = parseCidr(cidr);
    const mask = c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) | 0;
    return { net: ipToInt(c.network) | 0, mask, host: c.prefix === 32 };
  } catch {
    return null;
  }
}

/** An IPv6 prefix (`addr/n` or `addr/mask`) as 128-bit network and mask, or null. */
export function parseNet6(cidr: string): { net: bigint; mask: bigint; host: boolean } | null {
  const slash = cidr.indexOf('/');
  const addr = ipv6ToBigInt(slash < 0 ? cidr : cidr.slice(0, slash));
  if (addr === null) return null;
  const all = (1n << 128n) - 1n;
  let mask = all;
  if (slash >= 0) {
    const rest = cidr.slice(slash + 1);
    if (/^\d{1,3}$/.test(rest)) {
      const p = Number(rest);
      if (p > 128) return null;
      mask = p === 0 ? 0n : (all << BigInt(128 - p)) & all;
    } else {
      // ip6tables-save prints a non-contiguous mask as addr/mask.
      const m = ipv6ToBigInt(rest);
      if (m === null) return null;
      mask = m;
    }
  }
  return { net: addr & mask, mask, host: mask === all };
}

export function cidrTest(cidr: string, field: 'src' | 'dst', invert: boolean): CMatch {
  if (cidr.indexOf(':') >= 0) {
    // ip6_packet_match: ipv6_masked_addr_cmp on 128 bits; never true for an IPv4 packet.
    const n6 = parseNet6(cidr);
    if (!n6) return { unsupported: `address "${cidr}" is not an IPv6 address or prefix` };
    const { net, mask } = n6;
    if (field === 'src') return { test: (c) => (c.v6 && (c.src6 & mask) === net) !== invert };
    return { test: (c) => (c.v6 && (c.dst6 & mask) === net) !== invert };
  }
  const n = parseNet(cidr);
  if (!n) return { unsupported: `address "${cidr}" is not an IPv4 address or prefix` };
  const { net, mask } = n;
  if (field === 'src') return { test: (c) => ((c.src & mask) === net) !== invert };
  return { test: (c) => ((c.dst & mask) === net) !== invert };
}

/** ifname_compare with the `+` wildcard (a prefix match); an absent device is "". */
export function ifaceTest(
  name: string,
  wildcard: boolean,
  field: 'in' | 'out',
  invert: boolean,
): CMatch {
  const get = field === 'in' ? (c: EvalCtx) => c.inIface : (c: EvalCtx) => c.outIface;
  if (wildcard) return { test: (c) => get(c).startsWith(name) !== invert };
  return { test: (c) => (get(c) === name) !== invert };
}

export function compileProtocol(m: Extract<Match, { kind: 'protocol' }>): CMatch {
  const name = m.protocol.toLowerCase();
  const num = /^\d+$/.test(name) ? Number(name) : PROTO_NUM[name];
  if (num === undefined) return { unsupported: `protocol "${m.protocol}"` };
  // ip_packet_match: protocol 0 ("all") matches everything, even inverted.
  if (num === 0) return { test: () => true };
  const inv = m.invert;
  return { test: (c) => (c.proto === num) !== inv };
}

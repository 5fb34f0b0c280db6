/**
 * nft literals read by type: the key type of a set, or the type of the
 * selector a value is compared with, decides what `tcp`, `80`, `new` or
 * `10.0.0.0/8` mean (nft's datatype table: src/datatype.c, src/ct.c,
 * src/proto.c in nftables). Values come out as the evaluator holds them:
 * IPv4 addresses as unsigned 32-bit numbers, IPv6 as bigints, prefixes and
 * `a-b` as inclusive ranges.
 */
import { ipToInt, ipv6ToBigInt, isIpv4 } from '../../wire/addr.js';
import type { NftAtom, NftType, Selector } from '../../kernel/netfilter/nft-types.js';
import { IP_PROTOCOLS } from '../../kernel/netfilter/eval.js';

const SERVICES: Readonly<Record<string, number>> = {
  ftp: 21,
  ssh: 22,
  telnet: 23,
  smtp: 25,
  domain: 53,
  http: 80,
  https: 443,
  ntp: 123,
  bgp: 179,
};

const NAMED: Partial<Record<NftType, Readonly<Record<string, number>>>> = {
  ct_state: { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 },
  ct_status: {
    expected: 1,
    'seen-reply': 2,
    assured: 4,
    confirmed: 8,
    snat: 16,
    dnat: 32,
    dying: 512,
  },
  ct_dir: { original: 0, reply: 1 },
  fib_addrtype: {
    unspec: 0,
    unicast: 1,
    local: 2,
    broadcast: 3,
    anycast: 4,
    multicast: 5,
    blackhole: 6,
    unreachable: 7,
    prohibit: 8,
  },
  nf_proto: { ipv4: 2, ipv6: 10 },
  pkt_type: { host: 0, broadcast: 1, multicast: 2, other: 3 },
  tcp_flag: { fin: 1, syn: 2, rst: 4, psh: 8, ack: 16, urg: 32, ecn: 64, cwr: 128 },
  icmp_type: {
    'echo-reply': 0,
    'destination-unreachable': 3,
    'source-quench': 4,
    redirect: 5,
    'echo-request': 8,
    'router-advertisement': 9,
    'router-solicitation': 10,
    'time-exceeded': 11,
    'parameter-problem': 12,
    'timestamp-request': 13,
    'timestamp-reply': 14,
  },
  icmpv6_type: {
    'destination-unreachable': 1,
    'packet-too-big': 2,
    'time-exceeded': 3,
    'parameter-problem': 4,
    'echo-request': 128,
    'echo-reply': 129,
    'nd-router-solicit': 133,
    'nd-router-advert': 134,
    'nd-neighbor-solicit': 135,
    'nd-neighbor-advert': 136,
  },
};

/** Types whose values are bit flags: `ct state new,established` matches any of them. */
export const FLAG_TYPES: ReadonlySet<NftType> = new Set(['ct_state', 'ct_status', 'tcp_flag']);

/** The datatype names a `type` clause may give. */
export const TYPE_NAMES: Readonly<Record<string, NftType>> = {
  ipv4_addr: 'ipv4_addr',
  ipv6_addr: 'ipv6_addr',
  inet_proto: 'inet_proto',
  inet_service: 'inet_service',
  mark: 'mark',
  ifname: 'ifname',
  ct_state: 'ct_state',
  ct_status: 'ct_status',
  ct_dir: 'ct_dir',
  fib_addrtype: 'fib_addrtype',
  nf_proto: 'nf_proto',
  pkt_type: 'pkt_type',
  icmp_type: 'icmp_type',
  icmpv6_type: 'icmpv6_type',
  tcp_flag: 'tcp_flag',
  integer: 'integer',
  verdict: 'verdict',
};

/** What a selector yields. */
export function typeOf(s: Selector): NftType {
  switch (s.kind) {
    case 'payload':
      if (s.field === 'saddr' || s.field === 'daddr')
        return s.proto === 'ip6' ? 'ipv6_addr' : 'ipv4_addr';
      if (s.field === 'protocol' || s.field === 'nexthdr') return 'inet_proto';
      if (s.field === 'sport' || s.field === 'dport') return 'inet_service';
      if (s.field === 'flags') return 'tcp_flag';
      if (s.field === 'type') return s.proto === 'icmpv6' ? 'icmpv6_type' : 'icmp_type';
      return 'integer';
    case 'meta':
      if (s.key === 'l4proto') return 'inet_proto';
      if (s.key === 'mark') return 'mark';
      if (s.key === 'iifname' || s.key === 'oifname' || s.key === 'iif' || s.key === 'oif')
        return 'ifname';
      if (s.key === 'nfproto') return 'nf_proto';
      if (s.key === 'pkttype') return 'pkt_type';
      return 'integer';
    case 'ct':
      if (s.key === 'state') return 'ct_state';
      if (s.key === 'status') return 'ct_status';
      if (s.key === 'mark') return 'mark';
      if (s.key === 'direction') return 'ct_dir';
      if (s.key === 'saddr' || s.key === 'daddr')
        return s.family === 'ip6' ? 'ipv6_addr' : 'ipv4_addr';
      if (s.key === 'proto-src' || s.key === 'proto-dst') return 'inet_service';
      return 'integer';
    case 'fib':
      return s.result === 'type' ? 'fib_addrtype' : 'ifname';
    case 'numgen':
      return 'integer';
    case 'bitwise':
      return typeOf(s.inner);
  }
}

function num(text: string): number | null {
  if (/^0x[0-9a-f]+$/i.test(text)) return parseInt(text, 16);
  if (/^\d+$/.test(text)) return Number(text);
  return null;
}

function scalar(text: string, type: NftType): number | bigint | string | null {
  switch (type) {
    case 'ipv4_addr':
      return isIpv4(text) ? ipToInt(text) >>> 0 : null;
    case 'ipv6_addr':
      return ipv6ToBigInt(text.replace(/^\[|\]$/g, ''));
    case 'ifname':
      return text;
    case 'inet_proto':
      return IP_PROTOCOLS[text] ?? num(text); // nft reads /etc/protocols, as iptables does
    case 'inet_service':
      return SERVICES[text] ?? num(text);
    default: {
      const named = NAMED[type]?.[text];
      return named ?? num(text);
    }
  }
}

/** One literal of `type`: a value, a prefix or `a-b` range, an interface wildcard; null if it is not one. */
export function parseAtom(text: string, type: NftType): NftAtom | null {
  if (type === 'ifname') {
    const t = text.replace(/^"|"$/g, '');
    return t.endsWith('*')
      ? { kind: 'wildcard', prefix: t.slice(0, -1) }
      : { kind: 'value', value: t };
  }
  const slash = text.indexOf('/');
  if (slash > 0 && (type === 'ipv4_addr' || type === 'ipv6_addr')) {
    const len = Number(text.slice(slash + 1));
    const base = scalar(text.slice(0, slash), type);
    if (base === null || !Number.isInteger(len)) return null;
    if (type === 'ipv4_addr') {
      if (len < 0 || len > 32) return null;
      const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
      const lo = ((base as number) & mask) >>> 0;
      return { kind: 'range', from: lo, to: (lo | (~mask >>> 0)) >>> 0 };
    }
    if (len < 0 || len > 128) return null;
    const host = (1n << BigInt(128 - len)) - 1n;
    const lo = (base as bigint) & ~host & ((1n << 128n) - 1n);
    return { kind: 'range', from: lo, to: lo | host };
  }
  const dash = type === 'ipv6_addr' ? -1 : text.indexOf('-', 1);
  if (dash > 0 && !(NAMED[type]?.[text] !== undefined)) {
    const a = scalar(text.slice(0, dash), type);
    const b = scalar(text.slice(dash + 1), type);
    if (a === null || b === null) return null;
    return { kind: 'range', from: a, to: b };
  }
  const v = scalar(text, type);
  return v === null ? null : { kind: 'value', value: v };
}

/** `3h`, `10800s`, `1d2h`, `500ms` → seconds. */
export function parseDuration(text: string): number | null {
  if (/^\d+$/.test(text)) return Number(text);
  const re = /(\d+)(ms|d|h|m|s)/gy;
  let total = 0;
  let at = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const n = Number(m[1]);
    total +=
      m[2] === 'd'
        ? n * 86400
        : m[2] === 'h'
          ? n * 3600
          : m[2] === 'm'
            ? n * 60
            : m[2] === 's'
              ? n
              : n / 1000;
    at = re.lastIndex;
  }
  return at === text.length && at > 0 ? total : null;
}

const BYTE_UNITS: Readonly<Record<string, number>> = {
  bytes: 1,
  kbytes: 1024,
  mbytes: 1024 * 1024,
};

/** `bytes`, `kbytes`, `mbytes` → their size in bytes (nft's data_unit_parse), or undefined. */
export function byteUnit(text: string | undefined): number | undefined {
  return text !== undefined && Object.prototype.hasOwnProperty.call(BYTE_UNITS, text)
    ? BYTE_UNITS[text]
    : undefined;
}

/** Seconds per `second`, `minute`, `hour`, `day`, `week`. */
export const TIME_UNITS: Readonly<Record<string, number>> = {
  second: 1,
  minute: 60,
  hour: 3600,
  day: 86400,
  week: 604800,
};

/** Named base-chain priorities for ip, ip6 and inet (nftables src/rule.c). */
export const PRIORITY_NAMES: Readonly<Record<string, number>> = {
  raw: -300,
  mangle: -150,
  dstnat: -100,
  filter: 0,
  security: 50,
  srcnat: 100,
};

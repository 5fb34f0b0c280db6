/**
 * What nft expressions read, compiled: payload, meta, ct, fib and numgen
 * selectors as readers over the per-packet context the iptables engine uses
 * (`EvalCtx`), and the state and context a compiled expression sees
 * (nft-eval.ts compiles the expressions themselves).
 *
 * Fidelity notes: `th sport/dport` read the first four bytes of any
 * transport header, as the kernel does (an ICMP message's type and code, and
 * its checksum, which is `Unread`). `fib … oif`/`oifname` need the host's
 * routes and are reported as undecided. `numgen random mod N` takes each value with
 * probability 1/N from the Chooser (as N-1 chained chances, so `--all-paths`
 * enumerates N branches).
 */
import { IPPROTO } from '../../wire/packet.js';
import { IPS } from '../conntrack/entry.js';
import type { RuleRef } from './env.js';
import type { EvalCtx, TargetResult } from './eval.js';
import type { NftScalar, NftSet, NftVerdict, Selector } from './nft-types.js';
/** The ruleset-wide state nft expressions keep between packets: dynamic set contents, counters, limits. */
export class NftState {
  /** Elements added by `update @set`/`add @set`: key → expiry time (Infinity without a timeout). */
  readonly dynamic = new Map<NftSet, Map<string, number>>();
  readonly inc = new WeakMap<object, { n: number }>();
  readonly limit = new WeakMap<object, { credit: number; prev: number }>();
  /** Bytes each `quota` has counted. */
  readonly quota = new WeakMap<object, { consumed: number }>();
  /** Set by whatever stores state here: a state never written to is as cold as a new one. */
  written = false;
}

export type ExprResult =
  | { readonly kind: 'BREAK' }
  | { readonly kind: 'NEXT' }
  | { readonly kind: 'verdict'; readonly verdict: NftVerdict; readonly via?: string }
  | { readonly kind: 'result'; readonly result: TargetResult; readonly via: string };

export const BREAK: ExprResult = { kind: 'BREAK' };
export const NEXT: ExprResult = { kind: 'NEXT' };

/** What a compiled expression sees besides the packet: the rule, and where the walk is. */
export interface NftCtx {
  readonly c: EvalCtx;
  readonly ref: RuleRef;
  readonly state: NftState;
  /** The base chain's type: nat statements only work under a `type nat` chain. */
  readonly chainType: 'filter' | 'nat' | 'route';
}

export type CExpr = (x: NftCtx) => ExprResult;

/** A value a selector could not read (no such header): the rule breaks. */
const ABSENT = null;

/** nft's ct state bits (NF_CT_STATE_*_BIT). */
export const NFT_CT_STATE = {
  invalid: 1,
  established: 2,
  related: 4,
  new: 8,
  untracked: 64,
} as const;

function ctStateBits(c: EvalCtx): number {
  const ct = c.ct;
  if (ct.kind === 'none') return NFT_CT_STATE.invalid;
  if (ct.kind === 'untracked') return NFT_CT_STATE.untracked;
  switch (ct.ctinfo) {
    case 'NEW':
      return NFT_CT_STATE.new;
    case 'RELATED':
    case 'RELATED_REPLY':
      return NFT_CT_STATE.related;
    default:
      return NFT_CT_STATE.established;
  }
}

/** RTN_* route types, as `fib … type` answers them. */
export const FIB_TYPES: Readonly<Record<string, number>> = {
  UNSPEC: 0,
  UNICAST: 1,
  LOCAL: 2,
  BROADCAST: 3,
  ANYCAST: 4,
  MULTICAST: 5,
  BLACKHOLE: 6,
  UNREACHABLE: 7,
  PROHIBIT: 8,
  THROW: 9,
  NAT: 10,
  XRESOLVE: 11,
};

const TRANSPORT: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132 };

/**
 * A field the kernel reads but packeteye cannot know for this packet (an
 * ICMP checksum): a match on it is decided by the other fields when they
 * already fail, else UNSUPPORTED naming `what`.
 */
export class Unread {
  constructor(readonly what: string) {}
}

/** A selector's value for the packet; null when the kernel's read fails (the rule breaks). */
export type Reader = (c: EvalCtx, x: NftCtx) => NftScalar | Unread | null;

/** A selector compiled to a reader; a string when packeteye cannot read it (unsupported). */
export function compileSelector(s: Selector): Reader | string {
  switch (s.kind) {
    case 'payload':
      return payloadReader(s.proto, s.field);
    case 'meta':
      return metaReader(s.key);
    case 'ct':
      return ctReader(s);
    case 'fib': {
      if (s.result !== 'type') return fibDevice(s);
      const useDaddr = s.flags.includes('daddr');
      const dev = s.flags.includes('iif') ? 'in' : s.flags.includes('oif') ? 'out' : null;
      return (c) => {
        const ip = useDaddr ? c.packet.ip.dst : c.packet.ip.src;
        const t =
          dev === null
            ? c.env.addrType(ip)
            : c.env.addrType(ip, dev === 'in' ? c.inIface : c.outIface);
        return FIB_TYPES[t] ?? 0;
      };
    }
    case 'numgen': {
      const { mod, offset } = s;
      if (s.mode === 'inc') {
        return (_c, x) => {
          let st = x.state.inc.get(s);
          if (!st) {
            x.state.written = true;
            x.state.inc.set(s, (st = { n: 0 }));
          }
          const v = st.n % mod;
          st.n++;
          return v + offset;
        };
      }
      return (c) => {
        // Uniform over 0..mod-1 as a chain of chances: value k with 1/(mod-k) given not below k.
        for (let k = 0; k < mod - 1; k++) {
          if (
            c.chooser.chance(1 / (mod - k), `${c.label}: numgen random mod ${mod} = ${k + offset}`)
          )
            return k + offset;
        }
        return mod - 1 + offset;
      };
    }
    case 'bitwise': {
      const inner = compileSelector(s.inner);
      if (typeof inner === 'string') return inner;
      const v = s.value;
      return (c, x) => {
        const r = inner(c, x);
        if (typeof r !== 'number') return r; // absent, unread, or not a number to mask
        return (s.op === 'and' ? r & v : s.op === 'or' ? r | v : r ^ v) >>> 0;
      };
    }
  }
}

/**
 * `fib … oif`/`oifname` (nft_fib4_eval): a route lookup for the packet's
 * destination (`daddr`) or source (`saddr`, the reverse path) from lo, the
 * packet's mark with `mark`; the device found, or none ('') when the lookup
 * fails or finds a local route. With `iif`/`oif` the answer is that device
 * when the route's nexthops use it, else none. A packet arriving on lo at
 * prerouting answers lo. Needs the host's routes: without them unread.
 */
function fibDevice(s: Extract<Selector, { kind: 'fib' }>): Reader {
  const useDaddr = s.flags.includes('daddr');
  const dev = s.flags.includes('iif') ? 'in' : s.flags.includes('oif') ? 'out' : null;
  const useMark = s.flags.includes('mark');
  const noRoutes = new Unread(`fib ${s.flags.join(' . ')} ${s.result} needs the host's routes`);
  const v6 = new Unread(`fib ${s.flags.join(' . ')} ${s.result} of an IPv6 packet is not modelled`);
  return (c) => {
    if (c.v6) return v6;
    if (!c.env.reverseRoute) return noRoutes;
    if (c.hook === 'PREROUTING' && c.inIface === 'lo') return 'lo';
    const { src, dst } = c.packet.ip;
    const r = c.env.reverseRoute(useDaddr ? dst : src, useDaddr ? src : dst, useMark ? c.mark : 0);
    // fib_lookup fails on blackhole, unreachable and prohibit routes; a local route is skipped.
    if (!r || (r.type !== 'unicast' && r.type !== 'broadcast')) return '';
    if (dev === null) return r.devs[0] ?? '';
    const want = dev === 'in' ? c.inIface : c.outIface;
    return r.devs.includes(want) ? want : '';
  };
}

/**
 * `th sport`/`th dport`: bytes 0–1 and 2–3 of whatever transport header the
 * packet has (nft_payload_eval, NFT_PAYLOAD_TRANSPORT_HEADER: any layer 4
 * protocol, no check which). On ICMP those are type and code (an echo
 * request reads 2048) and the checksum, which covers the payload packeteye
 * does not model: unread. On IP-in-IP they are the inner IPv4 header.
 */
function transportHeader(field: 'sport' | 'dport'): Reader {
  const icmpChecksum = new Unread(
    'th dport of an ICMP message reads its checksum, which depends on the payload packeteye does not model',
  );
  const inner = new Unread(`th ${field} of IP-in-IP reads the inner IPv4 header, not modelled`);
  return (c) => {
    if (c.sport >= 0) return field === 'sport' ? c.sport : c.dport;
    if (c.icmpType >= 0)
      return field === 'sport' ? ((c.icmpType << 8) | (c.icmpCode & 255)) >>> 0 : icmpChecksum;
    return c.proto === IPPROTO.IPIP ? inner : ABSENT;
  };
}

function payloadReader(proto: string, field: string): Reader | string {
  if (proto === 'ip') {
    switch (field) {
      case 'saddr':
        return (c) => (c.v6 ? ABSENT : c.src >>> 0);
      case 'daddr':
        return (c) => (c.v6 ? ABSENT : c.dst >>> 0);
      case 'protocol':
        return (c) => (c.v6 ? ABSENT : c.proto);
      case 'ttl':
        return (c) => (c.v6 ? ABSENT : c.packet.ip.ttl);
    }
  } else if (proto === 'ip6') {
    switch (field) {
      case 'saddr':
        return (c) => (c.v6 ? c.src6 : ABSENT);
      case 'daddr':
        return (c) => (c.v6 ? c.dst6 : ABSENT);
      case 'nexthdr':
        return (c) => (c.v6 ? c.proto : ABSENT);
    }
  } else if (proto === 'icmp' || proto === 'icmpv6') {
    const want = proto === 'icmp' ? 1 : 58;
    if (field === 'type') return (c) => (c.proto === want ? c.icmpType : ABSENT);
    if (field === 'code') return (c) => (c.proto === want ? c.icmpCode : ABSENT);
  } else if (proto === 'th') {
    if (field === 'sport' || field === 'dport') return transportHeader(field);
  } else {
    const want = TRANSPORT[proto];
    if (want === undefined) return `${proto} ${field}`;
    const ok = (c: EvalCtx) => c.proto === want;
    switch (field) {
      case 'sport':
        return (c) => (ok(c) ? c.sport : ABSENT);
      case 'dport':
        return (c) => (ok(c) ? c.dport : ABSENT);
      case 'flags':
        if (proto === 'tcp') return (c) => (c.proto === 6 ? c.tcpFlags : ABSENT);
    }
  }
  return `${proto} ${field}`;
}

function metaReader(key: string): Reader | string {
  switch (key) {
    case 'l4proto':
      return (c) => c.proto;
    case 'mark':
      return (c) => c.mark >>> 0;
    case 'iifname':
    case 'iif':
      return (c) => c.inIface;
    case 'oifname':
    case 'oif':
      return (c) => c.outIface;
    case 'nfproto':
      return (c) => (c.v6 ? 10 : 2);
    case 'protocol':
      return (c) => (c.v6 ? 0x86dd : 0x0800);
  }
  return `meta ${key}`;
}

function ctReader(s: Extract<Selector, { kind: 'ct' }>): Reader | string {
  switch (s.key) {
    case 'state':
      return (c) => ctStateBits(c);
    case 'status':
      return (c) => (c.ct.kind === 'tracked' ? c.ct.entry.status & ~IPS.UNTRACKED : ABSENT);
    case 'mark':
      return (c) => (c.ct.kind === 'tracked' ? c.ct.entry.mark >>> 0 : ABSENT);
    case 'direction':
      return (c) => (c.ct.kind === 'tracked' ? (c.ct.ctinfo.endsWith('REPLY') ? 1 : 0) : ABSENT);
    case 'saddr':
    case 'daddr':
    case 'proto-src':
    case 'proto-dst': {
      const dir = s.dir ?? 'original';
      return (c) => {
        if (c.ct.kind !== 'tracked') return ABSENT;
        const t = dir === 'original' ? c.ct.entry.original : c.ct.entry.reply;
        if (s.key === 'saddr' || s.key === 'daddr') {
          const ip = s.key === 'saddr' ? t.src : t.dst;
          return ip.indexOf(':') >= 0 ? ABSENT : ipv4Number(ip);
        }
        const p = s.key === 'proto-src' ? t.sport : t.dport;
        return p ?? ABSENT;
      };
    }
  }
  return `ct ${s.dir ? `${s.dir} ` : ''}${s.key}`;
}

function ipv4Number(ip: string): number {
  const p = ip.split('.');
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}

/**
 * What a compiled match or target sees: the evaluation context of one
 * packet at one hook (`EvalCtx`: the packet's fields decoded once, its
 * conntrack, the devices, the host), the per-ruleset state that persists
 * across packets (`RuleState`: nth counters, limit buckets, recent lists),
 * and the verdicts a target returns.
 */
import { ipToInt, ipv6ToBigInt } from '../../wire/addr.js';
import { IPPROTO, type Ipv4Packet } from '../../wire/packet.js';
import type { SkbCt } from '../conntrack/core.js';
import { type ManipType } from '../conntrack/nat.js';
import type { ConntrackTable } from '../conntrack/table.js';
import type { Chooser } from '../random.js';
import type { Recorder } from '../step.js';
import type { HookContext, NetfilterEnv, NftTableLabel, RuleHit, RuleRef } from './env.js';
import { type IpSets } from './ipset.js';
import type { HookName, Match, TableName } from './types.js';

/** Per-host state that rules read and write: xt_recent tables and xt_statistic nth counters. */
export class RuleState {
  /** The host's IP sets (`ipset save`), read by `-m set`. */
  constructor(readonly ipsets: IpSets = new Map()) {}
  /** xt_recent: table name → address → timestamps (oldest first), ttl. */
  readonly recent = new Map<string, Map<string, { stamps: number[]; ttl: number }>>();
  /** xt_statistic nth: the per-rule `master->count`. */
  readonly nth = new WeakMap<Match, { count: number }>();
  /** xt_limit: the per-rule token bucket (credit in packets, time of the last look). */
  readonly limit = new WeakMap<Match, { credit: number; prev: number }>();
  /** Set by whatever stores state here: a state never written to is as cold as a new one. */
  written = false;
}

/** xt_recent module parameters (ip_list_tot, ip_pkt_list_tot). */
export const RECENT_LIST_TOT = 200;

export const RECENT_PKT_LIST_TOT = 20;

export interface EvalCtx {
  readonly hook: HookName;
  table: TableName | NftTableLabel;
  packet: Ipv4Packet;
  src: number;
  dst: number;
  /** The packet is IPv6: src6/dst6 hold its addresses, src/dst their 32-bit folds. */
  v6: boolean;
  src6: bigint;
  dst6: bigint;
  proto: number;
  /** -1 when the protocol has no ports */
  sport: number;
  dport: number;
  tcpFlags: number;
  icmpType: number;
  icmpCode: number;
  readonly inIface: string;
  readonly outIface: string;
  readonly hctx: HookContext;
  mark: number;
  ct: SkbCt;
  readonly env: NetfilterEnv;
  readonly chooser: Chooser;
  readonly state: RuleState;
  readonly conntrack: ConntrackTable;
  readonly now: number;
  /** Set while walking the nat table: which manip this hook performs. */
  manip?: ManipType;
  /** Names the rule being evaluated, for chance decisions (chain + rule + line). */
  label: string;
  /** The file rule steps name, when the ruleset says (`CompiledRuleset.file`); else each rule's own. */
  readonly file?: string;
  readonly hits: RuleHit[];
  readonly rec: Recorder;
  /** Notes from targets (LOG lines, NAT setup) for the trace. */
  readonly notes: {
    readonly ref: RuleRef;
    readonly text: string;
    /** A NAT target set up a binding: what kind, and the address:port it maps to. */
    readonly nat?: {
      readonly kind: 'DNAT' | 'SNAT' | 'MASQUERADE' | 'REDIRECT';
      readonly to: string;
    };
  }[];
}

/**
 * Protocol names as `/etc/protocols` gives them (which iptables and nft both
 * read through getprotobyname), with `icmpv6`, nft's and iptables' own
 * spelling of ipv6-icmp.
 */
export const IP_PROTOCOLS: Readonly<Record<string, number>> = {
  icmp: 1,
  igmp: 2,
  ipip: 94, // /etc/protocols: ipip is 94; IP-in-IP (4) is ipencap
  ipencap: 4,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  ah: 51,
  ospf: 89,
  sctp: 132,
  udplite: 136,
  icmpv6: 58,
  'ipv6-icmp': 58,
};

/** iptables' `-p` names: /etc/protocols' and `all`. */
export const PROTO_NUM: Readonly<Record<string, number>> = { all: 0, ...IP_PROTOCOLS };

/** IPPROTO_ICMPV6 */
export const PROTO_ICMPV6 = 58;

/** A 128-bit address folded to a signed 32-bit integer (the destination index key for IPv6). */
export function fold6(v: bigint): number {
  return Number(BigInt.asIntN(32, v ^ (v >> 32n) ^ (v >> 64n) ^ (v >> 96n)));
}

export function setPacket(c: EvalCtx, p: Ipv4Packet): void {
  c.packet = p;
  const s = p.ip.src;
  const d = p.ip.dst;
  if (s.indexOf(':') < 0 && d.indexOf(':') < 0) {
    // Signed 32-bit, so comparisons stay on small integers (no heap numbers).
    c.src = ipToInt(s) | 0;
    c.dst = ipToInt(d) | 0;
    c.v6 = false;
  } else {
    const s6 = ipv6ToBigInt(s);
    const d6 = ipv6ToBigInt(d);
    if (s6 === null || d6 === null)
      throw new RangeError(`packet mixes address families: ${s} > ${d}`);
    c.src6 = s6;
    c.dst6 = d6;
    c.src = fold6(s6);
    c.dst = fold6(d6);
    c.v6 = true;
  }
  const l4 = p.l4;
  c.tcpFlags = 0;
  c.icmpType = -1;
  c.icmpCode = -1;
  switch (l4.kind) {
    case 'tcp': {
      c.proto = IPPROTO.TCP;
      c.sport = l4.sport;
      c.dport = l4.dport;
      const f = l4.flags;
      c.tcpFlags =
        (f.fin ? 1 : 0) |
        (f.syn ? 2 : 0) |
        (f.rst ? 4 : 0) |
        (f.psh ? 8 : 0) |
        (f.ack ? 16 : 0) |
        (f.urg ? 32 : 0);
      break;
    }
    case 'udp':
      c.proto = IPPROTO.UDP;
      c.sport = l4.sport;
      c.dport = l4.dport;
      break;
    case 'sctp':
      c.proto = IPPROTO.SCTP;
      c.sport = l4.sport;
      c.dport = l4.dport;
      break;
    case 'icmp':
      // An IPv6 packet's ICMP is ICMPv6 (next header 58).
      c.proto = c.v6 ? PROTO_ICMPV6 : IPPROTO.ICMP;
      c.sport = -1;
      c.dport = -1;
      c.icmpType = l4.type;
      c.icmpCode = l4.code;
      break;
    case 'ipip':
      // IP-in-IP (protocol 4, net/ipv4/ipip.c): no ports.
      c.proto = IPPROTO.IPIP;
      c.sport = -1;
      c.dport = -1;
      break;
  }
}

// Compiled rules.

export type Test = (c: EvalCtx) => boolean;

/**
 * A compiled match: a test; or what makes it unsupported outright; or a test
 * with `undecided`, which names what this host cannot know for this packet
 * (the walk then ends UNSUPPORTED there, as for an unsupported match).
 */
export type CMatch =
  | {
      readonly test: Test;
      readonly unsupported?: undefined;
      readonly undecided?: (c: EvalCtx) => string | undefined;
    }
  | { readonly unsupported: string };

/** What a target tells the walk (`XT_CONTINUE`, `XT_RETURN`, NF_* or a jump). */
export type TargetResult =
  | { readonly kind: 'CONTINUE' }
  | { readonly kind: 'ACCEPT' }
  | { readonly kind: 'DROP'; readonly reason?: string }
  | { readonly kind: 'RETURN' }
  | { readonly kind: 'jump'; readonly chain: string }
  | { readonly kind: 'goto'; readonly chain: string }
  | { readonly kind: 'REJECT'; readonly with: string }
  | { readonly kind: 'UNSUPPORTED'; readonly what: string };

export const CONTINUE: TargetResult = { kind: 'CONTINUE' };

export const ACCEPT: TargetResult = { kind: 'ACCEPT' };

export const DROP: TargetResult = { kind: 'DROP' };

export const RETURN: TargetResult = { kind: 'RETURN' };

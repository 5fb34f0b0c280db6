/**
 * Rules compiled to closures, once per Ruleset, and the table walk
 * (`ipt_do_table`, net/ipv4/netfilter/ip_tables.c).
 *
 * A rule is an `ip_packet_match` (protocol, -s, -d, -i, -o, -f: checked first,
 * whatever order the text gives them, as the kernel does) followed by its
 * match extensions in order; the first failing match ends the rule, so a
 * later unsupported match is never reached. The walk is a small verdict
 * algebra: CONTINUE / ACCEPT / DROP / RETURN / jump / goto / REJECT /
 * UNSUPPORTED, with a call stack, a jump-depth limit, the built-in chain's
 * policy when it falls off its end (or RETURNs), and a user chain falling off
 * its end returning to its caller.
 *
 * Both families: an ip6tables ruleset (`Ruleset.family === 'ipv6'`) is
 * evaluated the same way (ip6t_do_table differs from ipt_do_table only in
 * ip6_packet_match's 128-bit address compare). IPv4 addresses compare as
 * signed 32-bit integers (the fast path, and the destination index's key);
 * IPv6 addresses as 128-bit BigInts, with a 32-bit fold of the address as
 * the index key (a fold collision only adds candidates: ip_packet_match still
 * compares the full address). The packet value carries IPv6 addresses as
 * text in `ip.src/ip.dst`; only this single-host evaluation understands them
 * (the byte-level wire emit and the cluster twin are IPv4-only).
 */
import {
  formatHostPort,
  ipToInt,
  ipv6ToBigInt,
  isIpv4,
  parseCidr,
  parseIpCidr,
  type Ipv4,
} from '../../wire/addr.js';
import { IPPROTO, type Ipv4Packet } from '../../wire/packet.js';
import { TCPHDR } from '../../wire/tcp.js';
import { IPS } from '../conntrack/entry.js';
import type { SkbCt } from '../conntrack/core.js';
import { setupInfo, type ManipType, type NatRange } from '../conntrack/nat.js';
import type { ConntrackTable } from '../conntrack/table.js';
import { formatTuple, invertTuple } from '../conntrack/tuple.js';
import type { Chooser } from '../random.js';
import { setMatches, type IpSets } from './ipset.js';
import type { Recorder } from '../step.js';
import type { HookContext, NetfilterEnv, RuleHit, RuleRef } from './env.js';
import type { Chain, CtState, HookName, Match, Rule, Ruleset, TableName, Target } from './types.js';
import { BUILTIN_CHAINS } from './types.js';

// ---------------------------------------------------------------------------
// Evaluation context: the packet's fields decoded once per table walk.

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
}

/** xt_recent module parameters (ip_list_tot, ip_pkt_list_tot). */
const RECENT_LIST_TOT = 200;
const RECENT_PKT_LIST_TOT = 20;

export interface EvalCtx {
  readonly hook: HookName;
  table: TableName;
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

const PROTO_NUM: Readonly<Record<string, number>> = {
  all: 0,
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

/** IPPROTO_ICMPV6 */
const PROTO_ICMPV6 = 58;

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

// ---------------------------------------------------------------------------
// Compiled rules.

type Test = (c: EvalCtx) => boolean;

/**
 * A compiled match: a test; or what makes it unsupported outright; or a test
 * with `undecided`, which names what this host cannot know for this packet
 * (the walk then ends UNSUPPORTED there, as for an unsupported match).
 */
type CMatch =
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

const CONTINUE: TargetResult = { kind: 'CONTINUE' };
const ACCEPT: TargetResult = { kind: 'ACCEPT' };
const DROP: TargetResult = { kind: 'DROP' };
const RETURN: TargetResult = { kind: 'RETURN' };

export interface CRule {
  readonly rule: Rule;
  /** `-d a.b.c.d/32` without `!`: the one destination this rule can match (for the chain index). */
  readonly dstHost: number | null;
  /** 1-based */
  readonly index: number;
  readonly ip: readonly Test[];
  readonly ems: readonly CMatch[];
  readonly target: ((c: EvalCtx, ref: RuleRef) => TargetResult) | null;
  readonly targetText: string;
}

export interface CChain {
  readonly name: string;
  readonly policy?: 'ACCEPT' | 'DROP';
  readonly builtin: boolean;
  readonly rules: readonly CRule[];
  /**
   * For long chains (kube-proxy's KUBE-SERVICES): rule positions by the one
   * destination they can match, and the positions of rules that can match
   * any destination. A rule whose `-d x/32` differs from the packet's
   * destination fails ip_packet_match before any extension runs, so skipping
   * it changes nothing but the time taken.
   */
  readonly index: {
    readonly byDst: ReadonlyMap<number, readonly number[]>;
    readonly others: readonly number[];
  } | null;
}

/** Chains at least this long get a destination index. */
const INDEX_MIN_RULES = 32;

function indexChain(rules: readonly CRule[]): CChain['index'] {
  if (rules.length < INDEX_MIN_RULES) return null;
  const byDst = new Map<number, number[]>();
  const others: number[] = [];
  rules.forEach((r, i) => {
    if (r.dstHost === null) others.push(i);
    else {
      const l = byDst.get(r.dstHost);
      if (l) l.push(i);
      else byDst.set(r.dstHost, [i]);
    }
  });
  // Worth it only when most rules are pinned to one destination.
  return others.length * 4 <= rules.length ? { byDst, others } : null;
}

/** Positions of the rules of `ch` that can match destination `dst`, in order. */
function candidates(ch: CChain, dst: number): readonly number[] | null {
  const ix = ch.index;
  if (!ix) return null;
  const a = ix.byDst.get(dst);
  if (!a) return ix.others;
  const b = ix.others;
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]! < b[j]!)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}

/**
 * A table whose chains are compiled on first use and kept: a trace visits a
 * handful of a kube-proxy dump's thousands of chains, so compiling lazily
 * keeps the first trace of a 40,000-rule dump cheap.
 */
export class CTable {
  private readonly cache = new Map<string, CChain>();
  private readonly builtins: ReadonlySet<string>;

  constructor(
    readonly name: TableName,
    private readonly raw: ReadonlyMap<string, Chain>,
  ) {
    this.builtins = new Set<string>(BUILTIN_CHAINS[name] ?? []);
  }

  chain(name: string): CChain | undefined {
    let c = this.cache.get(name);
    if (c) return c;
    const ch = this.raw.get(name);
    if (!ch) return undefined;
    c = compileChain(ch, this.builtins.has(name));
    this.cache.set(name, c);
    return c;
  }

  /** Compiles every chain now (for callers that want the cost up front). */
  compileAll(): void {
    for (const name of this.raw.keys()) this.chain(name);
  }
}

export interface CompiledRuleset {
  readonly source: Ruleset;
  readonly tables: ReadonlyMap<TableName, CTable>;
}

/** Prepares a ruleset for evaluation; chains compile to closures on first use. */
export function compileRuleset(rs: Ruleset): CompiledRuleset {
  const tables = new Map<TableName, CTable>();
  for (const [name, t] of rs.tables) tables.set(name, new CTable(name, t.chains));
  return { source: rs, tables };
}

function compileChain(ch: Chain, builtin: boolean): CChain {
  const rules = ch.rules.map((r, i) => compileRule(r, i + 1));
  return {
    name: ch.name,
    builtin,
    ...(ch.policy ? { policy: ch.policy } : {}),
    rules,
    index: indexChain(rules),
  };
}

const IP_KINDS = new Set([
  'protocol',
  'source',
  'destination',
  'in-interface',
  'out-interface',
  'fragment',
]);

function compileRule(rule: Rule, index: number): CRule {
  const ip: Test[] = [];
  const ems: CMatch[] = [];
  let dstHost: number | null = null;
  for (const m of rule.matches) {
    const cm = compileMatch(m);
    if (IP_KINDS.has(m.kind)) {
      // ip_packet_match runs before any extension; a bad value here is unsupported up front.
      if (cm.unsupported !== undefined) ems.unshift(cm);
      else ip.push(cm.test);
      if (m.kind === 'destination' && !m.invert) {
        if (m.cidr.indexOf(':') >= 0) {
          const n6 = parseNet6(m.cidr);
          if (n6?.host) dstHost = fold6(n6.net);
        } else {
          const n = parseNet(m.cidr);
          if (n?.host) dstHost = n.net;
        }
      }
    } else if (m.kind !== 'comment') {
      ems.push(cm);
    }
  }
  return {
    rule,
    index,
    dstHost,
    ip,
    ems,
    target: rule.target ? compileTarget(rule.target) : null,
    targetText: targetText(rule),
  };
}

/** The target part of the rule text (`DNAT --to-destination …`), or '' without one. */
function targetText(rule: Rule): string {
  const t = rule.text;
  const j = Math.max(t.lastIndexOf(' -j '), t.startsWith('-j ') ? -1 : -2);
  const g = Math.max(t.lastIndexOf(' -g '), t.startsWith('-g ') ? -1 : -2);
  if (!rule.target) return '';
  if (j >= -1 && j >= g) return t.slice(j + 4);
  if (g >= -1) return `goto ${t.slice(g + 4)}`;
  return describeTarget(rule.target);
}

export function describeTarget(t: Target): string {
  switch (t.kind) {
    case 'jump':
      return t.chain;
    case 'goto':
      return `goto ${t.chain}`;
    case 'unsupported':
      return [t.name, ...t.args].join(' ');
    default:
      return t.kind;
  }
}

// ---------------------------------------------------------------------------
// Matches.

/** Dotted quad → signed 32-bit, or null. A hand-rolled scan: compiling 40,000 rules parses 40,000 addresses. */
function quad(s: string, from: number, to: number): number | null {
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
function parseNet(cidr: string): { net: number; mask: number; host: boolean } | null {
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
function parseNet6(cidr: string): { net: bigint; mask: bigint; host: boolean } | null {
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

function cidrTest(cidr: string, field: 'src' | 'dst', invert: boolean): CMatch {
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
function ifaceTest(name: string, wildcard: boolean, field: 'in' | 'out', invert: boolean): CMatch {
  const get = field === 'in' ? (c: EvalCtx) => c.inIface : (c: EvalCtx) => c.outIface;
  if (wildcard) return { test: (c) => get(c).startsWith(name) !== invert };
  return { test: (c) => (get(c) === name) !== invert };
}

/** `--tcp-flags` names (libxt_tcp.c tcp_flag_names): the header bits, ALL and NONE. */
const TCP_FLAG_BITS: Readonly<Record<string, number>> = {
  ...TCPHDR,
  ALL: 0x3f,
  NONE: 0,
};

function flagBits(names: readonly string[]): number | string {
  let b = 0;
  for (const n of names) {
    const v = TCP_FLAG_BITS[n.toUpperCase()];
    if (v === undefined) return n;
    b |= v;
  }
  return b;
}

const CT_STATE_BIT: Readonly<Record<CtState, number>> = {
  INVALID: 1 << 0,
  ESTABLISHED: 1 << 1,
  RELATED: 1 << 2,
  NEW: 1 << 3,
  UNTRACKED: 1 << 4,
  SNAT: 1 << 5,
  DNAT: 1 << 6,
};

/** XT_CONNTRACK_STATE_BIT(ctinfo) (+ the virtual SNAT/DNAT bits for ctstate). */
function stateBits(ct: SkbCt, virtual: boolean): number {
  if (ct.kind === 'none') return CT_STATE_BIT.INVALID;
  if (ct.kind === 'untracked') return CT_STATE_BIT.UNTRACKED;
  let bits: number;
  switch (ct.ctinfo) {
    case 'ESTABLISHED':
    case 'ESTABLISHED_REPLY':
      bits = CT_STATE_BIT.ESTABLISHED;
      break;
    case 'RELATED':
    case 'RELATED_REPLY':
      bits = CT_STATE_BIT.RELATED;
      break;
    case 'NEW':
      bits = CT_STATE_BIT.NEW;
      break;
  }
  if (virtual) {
    if (ct.entry.status & IPS.SRC_NAT) bits |= CT_STATE_BIT.SNAT;
    if (ct.entry.status & IPS.DST_NAT) bits |= CT_STATE_BIT.DNAT;
  }
  return bits;
}

const CT_STATUS_BIT: Readonly<Record<string, number>> = {
  EXPECTED: IPS.EXPECTED,
  SEEN_REPLY: IPS.SEEN_REPLY,
  ASSURED: IPS.ASSURED,
  CONFIRMED: IPS.CONFIRMED,
};

function compileMatch(m: Match): CMatch {
  switch (m.kind) {
    case 'protocol': {
      const name = m.protocol.toLowerCase();
      const num = /^\d+$/.test(name) ? Number(name) : PROTO_NUM[name];
      if (num === undefined) return { unsupported: `protocol "${m.protocol}"` };
      // ip_packet_match: protocol 0 ("all") matches everything, even inverted.
      if (num === 0) return { test: () => true };
      const inv = m.invert;
      return { test: (c) => (c.proto === num) !== inv };
    }
    case 'source':
      return cidrTest(m.cidr, 'src', m.invert);
    case 'destination':
      return cidrTest(m.cidr, 'dst', m.invert);
    case 'in-interface':
      return ifaceTest(m.name, m.wildcard, 'in', m.invert);
    case 'out-interface':
      return ifaceTest(m.name, m.wildcard, 'out', m.invert);
    case 'fragment':
      // Packets are never non-first fragments in the model (no fragmentation).
      return { test: () => m.invert };
    case 'comment':
      return { test: () => true };
    case 'nfacct':
      // xt_nfacct: matches unless over quota; no quotas are modelled.
      return { test: () => true };
    case 'l4': {
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
    case 'multiport': {
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
    case 'icmp': {
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
    case 'icmp6': {
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
    case 'conntrack':
      return compileConntrack(m);
    case 'state': {
      // xt_state: the inversion is folded into the mask by iptables.
      let mask = 0;
      for (const s of m.states) mask |= CT_STATE_BIT[s];
      const inv = m.invert;
      return { test: (c) => ((stateBits(c.ct, false) & mask) !== 0) !== inv };
    }
    case 'mark': {
      const { value, mask, invert } = m;
      return { test: (c) => ((c.mark & mask) >>> 0 === value >>> 0) !== invert };
    }
    case 'connmark': {
      const { value, mask, invert } = m;
      return {
        test: (c) => {
          if (c.ct.kind !== 'tracked') return false;
          return ((c.ct.entry.mark & mask) >>> 0 === value >>> 0) !== invert;
        },
      };
    }
    case 'addrtype': {
      // xt_addrtype addrtype_mt_v1
      const src = m.srcType;
      const dst = m.dstType;
      const srcSet = src ? new Set(src.types) : null;
      const dstSet = dst ? new Set(dst.types) : null;
      const limIn = m.limitIfaceIn;
      const limOut = m.limitIfaceOut;
      return {
        test: (c) => {
          const dev = limIn ? c.inIface || undefined : limOut ? c.outIface || undefined : undefined;
          if (srcSet && srcSet.has(c.env.addrType(c.packet.ip.src, dev)) === src!.invert)
            return false;
          if (dstSet && dstSet.has(c.env.addrType(c.packet.ip.dst, dev)) === dst!.invert)
            return false;
          return true;
        },
      };
    }
    case 'statistic': {
      if (m.mode === 'random') {
        // iptables stores lround(p * 2^31); the kernel matches when
        // (get_random_u32() & 0x7FFFFFFF) < that, so the effective chance is the fraction.
        const cut = Math.min(0x80000000, Math.max(0, Math.round(m.probability * 0x80000000)));
        const p = cut / 0x80000000;
        const inv = m.invert;
        return {
          test: (c) => c.chooser.chance(p, c.label) !== inv,
        };
      }
      // nth: iptables stores every-1 and count = every-1-packet; a packet
      // matches when the shared counter wraps to 0 (statistic_mt).
      const every = m.every - 1;
      const start = every - m.packet;
      const inv = m.invert;
      return {
        test: (c) => {
          let st = c.state.nth.get(m);
          if (!st) c.state.nth.set(m, (st = { count: start }));
          st.count = st.count === every ? 0 : st.count + 1;
          return (st.count === 0) !== inv;
        },
      };
    }
    case 'recent':
      return compileRecent(m);
    case 'physdev':
      return compilePhysdev(m);
    case 'rpfilter':
      return compileRpfilter(m);
    case 'limit': {
      // limit_mt: credit grows with time up to burst packets; a packet that finds a full
      // packet's credit takes it and matches. Time is the simulated clock.
      const perSecond = 10000 / m.avg;
      return {
        test: (c) => {
          const now = c.env.now();
          let st = c.state.limit.get(m);
          if (!st) c.state.limit.set(m, (st = { credit: m.burst, prev: now }));
          st.credit = Math.min(m.burst, st.credit + (now - st.prev) * perSecond);
          st.prev = now;
          const hit = st.credit >= 1;
          if (hit) st.credit -= 1;
          return hit !== m.invert;
        },
      };
    }
    case 'set': {
      const { name, flags, returnNomatch, invert } = m;
      // IPv4 sets only (ipset.ts); the rule compiles once, the sets are the host's.
      return {
        test: (c) => !c.v6 && setMatches(c.state.ipsets, name, flags, returnNomatch, c) !== invert,
      };
    }
    case 'unsupported':
      // xt_nfacct nfacct_mt only counts: it returns `overquota != NFACCT_UNDERQUOTA`,
      // true for objects without a quota (NFACCT_NO_QUOTA), which is what
      // kube-proxy creates (`nfacct add NAME`). The dump cannot carry a quota.
      if (m.module === 'nfacct') return { test: () => true };
      return { unsupported: `match -m ${m.module}${m.args.length ? ' ' + m.args.join(' ') : ''}` };
  }
}

function compileConntrack(m: Extract<Match, { kind: 'conntrack' }>): CMatch {
  let stateMask = 0;
  if (m.ctstate) for (const s of m.ctstate.states) stateMask |= CT_STATE_BIT[s];
  let statusMask = 0;
  if (m.ctstatus) {
    for (const s of m.ctstatus.statuses) {
      const b = CT_STATUS_BIT[s];
      if (b === undefined) return { unsupported: `--ctstatus ${s}` };
      statusMask |= b;
    }
  }
  let od: CMatch | null = null;
  let odNet = 0;
  let odMask = 0;
  let od6: { net: bigint; mask: bigint } | null = null;
  if (m.ctorigdst && m.ctorigdst.cidr.indexOf(':') >= 0) {
    try {
      const c6 = parseIpCidr(m.ctorigdst.cidr);
      const all = (1n << 128n) - 1n;
      od6 = { net: c6.value, mask: c6.prefix === 0 ? 0n : (all << BigInt(128 - c6.prefix)) & all };
      od = { test: () => true };
    } catch {
      return { unsupported: `--ctorigdst ${m.ctorigdst.cidr}` };
    }
  } else if (m.ctorigdst) {
    try {
      const cidr = parseCidr(m.ctorigdst.cidr);
      odNet = ipToInt(cidr.network);
      odMask = cidr.prefix === 0 ? 0 : (0xffffffff << (32 - cidr.prefix)) >>> 0;
      od = { test: () => true };
    } catch {
      return { unsupported: `--ctorigdst ${m.ctorigdst.cidr}` };
    }
  }
  const hasState = m.ctstate !== undefined;
  return {
    test: (c) => {
      // conntrack_mt, in the kernel's order.
      if (m.ctstate && ((stateBits(c.ct, true) & stateMask) !== 0) === m.ctstate.invert)
        return false;
      if (c.ct.kind !== 'tracked') return hasState;
      const e = c.ct.entry;
      if (m.ctdir) {
        const isOrig =
          c.ct.ctinfo === 'NEW' || c.ct.ctinfo === 'ESTABLISHED' || c.ct.ctinfo === 'RELATED';
        if (isOrig !== (m.ctdir === 'ORIGINAL')) return false;
      }
      if (od && m.ctorigdst) {
        const dst = e.original.dst;
        const ok = od6
          ? ((ipv6ToBigInt(dst) ?? -1n) & od6.mask) === od6.net
          : dst.indexOf(':') < 0 && (ipToInt(dst) & odMask) >>> 0 === odNet;
        if (ok === m.ctorigdst.invert) return false;
      }
      if (m.ctorigdstport) {
        const p = e.original.dport;
        if ((p >= m.ctorigdstport.from && p <= m.ctorigdstport.to) === m.ctorigdstport.invert)
          return false;
      }
      if (m.ctstatus && ((statusMask & e.status) !== 0) === m.ctstatus.invert) return false;
      return true;
    },
  };
}

/** rpfilter_mt + rpfilter_lookup_reverse (net/ipv4/netfilter/ipt_rpfilter.c). */
function compileRpfilter(m: Extract<Match, { kind: 'rpfilter' }>): CMatch {
  const decide = (c: EvalCtx): boolean => {
    if (c.inIface === 'lo') return true; // rpfilter_is_loopback
    const s = c.src >>> 0;
    const d = c.dst >>> 0;
    // A zero source to limited broadcast or link-local multicast (DHCP, IGMP) passes.
    if (s === 0 && (d === 0xffffffff || (d & 0xffffff00) >>> 0 === 0xe0000000)) return true;
    const r = c.env.reverseRoute!(c.packet.ip.src, c.packet.ip.dst, m.validmark ? c.mark : 0);
    if (r === null) return false;
    if (r.type !== 'unicast' && !(r.type === 'local' && m.acceptLocal)) return false;
    return r.devs.includes(c.inIface) || m.loose;
  };
  return {
    test: (c) => decide(c) !== m.invert,
    undecided: (c) =>
      c.v6
        ? '-m rpfilter on IPv6 (ip6t_rpfilter) is not modelled'
        : c.env.reverseRoute === undefined
          ? "-m rpfilter needs the host's routing table (ip route show table all), which an iptables-save dump does not hold"
          : c.inIface === ''
            ? '-m rpfilter needs the device the packet came in on (--in-iface)'
            : undefined,
  };
}

function compileRecent(m: Extract<Match, { kind: 'recent' }>): CMatch {
  let maskInt = 0xffffffff;
  let mask6 = (1n << 128n) - 1n;
  if (m.mask !== undefined) {
    if (m.mask.indexOf(':') >= 0) {
      const v = ipv6ToBigInt(m.mask);
      if (v === null) return { unsupported: `--mask ${m.mask}` };
      mask6 = v;
    } else {
      if (!isIpv4(m.mask)) return { unsupported: `--mask ${m.mask}` };
      maskInt = ipToInt(m.mask);
    }
  }
  return {
    test: (c) => {
      // recent_mt (net/netfilter/xt_recent.c)
      const key = c.v6
        ? `6:${((m.side === 'source' ? c.src6 : c.dst6) & mask6).toString(16)}`
        : String(((m.side === 'source' ? c.src : c.dst) & maskInt) >>> 0);
      const ttl = c.packet.ip.ttl;
      let table = c.state.recent.get(m.name);
      if (!table) c.state.recent.set(m.name, (table = new Map()));
      let ret = m.invert;
      let e = table.get(key);
      if (e && m.rttl && e.ttl !== ttl) e = undefined;
      if (!e) {
        if (m.action !== 'set') return ret;
        if (table.size >= RECENT_LIST_TOT) {
          const oldest = table.keys().next().value;
          if (oldest !== undefined) table.delete(oldest);
        }
        table.set(key, { stamps: [c.now], ttl });
        return !ret;
      }
      if (m.action === 'set') ret = !ret;
      else if (m.action === 'remove') {
        table.delete(key);
        return !ret;
      } else {
        const since = c.now - (m.seconds ?? 0);
        let hits = 0;
        for (const s of e.stamps) {
          if (m.seconds && s < since) continue;
          if (!m.hitcount || ++hits >= m.hitcount) {
            ret = !ret;
            break;
          }
        }
        if (m.reap && m.seconds) e.stamps = e.stamps.filter((s) => s >= since);
      }
      if (m.action === 'set' || (m.action === 'update' && ret)) {
        e.stamps.push(c.now);
        if (e.stamps.length > RECENT_PKT_LIST_TOT) e.stamps.shift();
        e.ttl = ttl;
        // recent_entry_update moves the entry to the LRU tail.
        table.delete(key);
        table.set(key, e);
      }
      return ret;
    },
  };
}

function compilePhysdev(m: Extract<Match, { kind: 'physdev' }>): CMatch {
  const cmp = (dev: string, p: { name: string; wildcard: boolean }) =>
    p.wildcard ? dev.startsWith(p.name) : dev === p.name;
  return {
    test: (c) => {
      // physdev_mt (net/netfilter/xt_physdev.c)
      const br = c.hctx.bridge;
      if (!br) {
        if (m.isBridged && !m.isBridged.invert) return false;
        if (m.isIn && !m.isIn.invert) return false;
        if (m.isOut && !m.isOut.invert) return false;
        if (m.physdevIn && !m.physdevIn.invert) return false;
        if (m.physdevOut && !m.physdevOut.invert) return false;
        return true;
      }
      const outdev = br.physOut;
      const indev = br.physIn;
      if (m.isBridged && (outdev !== undefined) === m.isBridged.invert) return false;
      if (m.isIn && (indev !== undefined) === m.isIn.invert) return false;
      if (m.isOut && (outdev !== undefined) === m.isOut.invert) return false;
      if (m.physdevIn && indev !== undefined && cmp(indev, m.physdevIn) === m.physdevIn.invert)
        return false;
      if (!m.physdevOut) return true;
      if (outdev === undefined) return true;
      return cmp(outdev, m.physdevOut) !== m.physdevOut.invert;
    },
  };
}

// ---------------------------------------------------------------------------
// Targets.

const NAT_HOOKS: Readonly<Record<string, readonly HookName[]>> = {
  DNAT: ['PREROUTING', 'OUTPUT'],
  REDIRECT: ['PREROUTING', 'OUTPUT'],
  SNAT: ['POSTROUTING', 'INPUT'],
  MASQUERADE: ['POSTROUTING'],
};

function natApplicable(c: EvalCtx, kind: string): string | null {
  if (c.table !== 'nat')
    return `${kind} is only valid in the nat table (iptables-restore would refuse the rule)`;
  if (!NAT_HOOKS[kind]!.includes(c.hook)) {
    return `${kind} is not valid in ${c.hook} (iptables-restore would refuse the rule)`;
  }
  return null;
}

/** Runs a NAT target: nf_nat_setup_info on the packet's (new) connection. */
function doNat(
  c: EvalCtx,
  ref: RuleRef,
  range: NatRange,
  manip: ManipType,
  kind: 'DNAT' | 'SNAT' | 'MASQUERADE' | 'REDIRECT',
  masqIface?: string,
): TargetResult {
  if (c.ct.kind !== 'tracked' || (c.ct.ctinfo !== 'NEW' && c.ct.ctinfo !== 'RELATED')) {
    // The nat table is only walked for new connections; nothing to bind to.
    return ACCEPT;
  }
  const before = c.ct.entry;
  let e = setupInfo(before, range, manip, {
    table: c.conntrack,
    chooser: c.chooser,
    now: c.now,
    label: `${ref.table}/${ref.chain} rule ${ref.index}${ref.line !== undefined ? ` (line ${ref.line})` : ''}`,
  });
  if (masqIface !== undefined) e = { ...e, masqIface };
  c.ct = { ...c.ct, entry: e };
  const mapped = invertTuple(e.reply);
  // `[2001:db8::1]:80` for IPv6, as kube-proxy writes endpoints.
  const to =
    manip === 'DST'
      ? formatHostPort(mapped.dst, mapped.proto === 'icmp' ? mapped.sport : mapped.dport)
      : formatHostPort(mapped.src, mapped.sport);
  c.notes.push({
    ref,
    text: `${kind} binding ${manip === 'DST' ? 'destination' : 'source'} ${to} (ct ${e.id} reply tuple ${formatTuple(e.reply)})`,
    nat: { kind, to },
  });
  return ACCEPT;
}

function addrRange(
  a: { from: string; to: string } | undefined,
): Pick<NatRange, 'minAddr' | 'maxAddr'> {
  return a ? { minAddr: a.from, maxAddr: a.to } : {};
}

function portRange(
  p: { from: number; to: number } | undefined,
): Pick<NatRange, 'minPort' | 'maxPort'> {
  return p ? { minPort: p.from, maxPort: p.to } : {};
}

function compileTarget(t: Target): (c: EvalCtx, ref: RuleRef) => TargetResult {
  switch (t.kind) {
    case 'ACCEPT':
      return () => ACCEPT;
    case 'DROP':
      return () => DROP;
    case 'RETURN':
      return () => RETURN;
    case 'jump': {
      const r: TargetResult = { kind: 'jump', chain: t.chain };
      return () => r;
    }
    case 'goto': {
      const r: TargetResult = { kind: 'goto', chain: t.chain };
      return () => r;
    }
    case 'REJECT': {
      const r: TargetResult = { kind: 'REJECT', with: t.with };
      return (c) => {
        // ipt_REJECT hooks: INPUT, FORWARD, OUTPUT only.
        if (c.hook === 'PREROUTING' || c.hook === 'POSTROUTING') {
          return {
            kind: 'UNSUPPORTED',
            what: `REJECT is not valid in ${c.hook} (iptables-restore would refuse the rule)`,
          };
        }
        return r;
      };
    }
    case 'MARK': {
      const { value, mask } = t;
      return (c) => {
        // mark_tg: skb->mark = (skb->mark & ~mask) ^ value
        c.mark = ((c.mark & ~mask) ^ value) >>> 0;
        return CONTINUE;
      };
    }
    case 'CONNMARK':
      return compileConnmark(t.args);
    case 'NFLOG':
      return (c, ref) => {
        c.notes.push({
          ref,
          text: `NFLOG group ${t.group}${t.prefix !== undefined ? ` prefix "${t.prefix}"` : ''}`,
        });
        return CONTINUE;
      };
    case 'LOG':
      return (c, ref) => {
        c.notes.push({ ref, text: `LOG${t.prefix !== undefined ? ` prefix "${t.prefix}"` : ''}` });
        return CONTINUE;
      };
    case 'NOTRACK':
      return (c) => {
        if (c.table !== 'raw')
          return { kind: 'UNSUPPORTED', what: 'NOTRACK is only valid in the raw table' };
        // xt_CT notrack_tg: nf_ct_set(skb, NULL, IP_CT_UNTRACKED)
        c.ct = { kind: 'untracked' };
        return CONTINUE;
      };
    case 'DNAT':
    case 'SNAT': {
      // xt_nat.c: DNAT manipulates the destination, SNAT the source; only SNAT has --random-fully.
      const range = {
        ...addrRange(t.toAddr),
        ...portRange(t.toPorts),
        random: t.random,
        ...(t.kind === 'SNAT' ? { randomFully: t.randomFully } : {}),
        persistent: t.persistent,
      };
      const manip = t.kind === 'DNAT' ? 'DST' : 'SRC';
      return (c, ref) => {
        const bad = natApplicable(c, t.kind);
        if (bad) return { kind: 'UNSUPPORTED', what: bad };
        return doNat(c, ref, range, manip, t.kind);
      };
    }
    case 'MASQUERADE':
      return (c, ref) => {
        const bad = natApplicable(c, 'MASQUERADE');
        if (bad) return { kind: 'UNSUPPORTED', what: bad };
        if (c.ct.kind !== 'tracked') return ACCEPT;
        // nf_nat_masquerade_ipv4: 0.0.0.0 sources (DHCP) are left alone
        // (nf_nat_masquerade_ipv6 has no such case; :: is never a source here).
        if (c.ct.entry.original.src === '0.0.0.0') return ACCEPT;
        const out = c.outIface;
        const nexthop: Ipv4 = c.hctx.nexthop ?? c.packet.ip.dst;
        const src = c.env.masqueradeSource(out, nexthop);
        if (src === null)
          return {
            kind: 'DROP',
            reason: `MASQUERADE: ${out || 'the output device'} has no usable address ("ate my IP address")`,
          };
        return doNat(
          c,
          ref,
          {
            minAddr: src,
            maxAddr: src,
            ...portRange(t.toPorts),
            random: t.random,
            randomFully: t.randomFully,
          },
          'SRC',
          'MASQUERADE',
          out,
        );
      };
    case 'REDIRECT':
      return (c, ref) => {
        const bad = natApplicable(c, 'REDIRECT');
        if (bad) return { kind: 'UNSUPPORTED', what: bad };
        // nf_nat_redirect_ipv4: 127.0.0.1 for local output, else the incoming device's first
        // address; nf_nat_redirect_ipv6: ::1 (loopback_addr), else the device's first address.
        const dst =
          c.hook === 'OUTPUT'
            ? c.v6
              ? '::1'
              : '127.0.0.1'
            : c.env.primaryAddress(c.inIface, c.v6 ? 'ipv6' : 'ipv4');
        if (dst === null)
          return {
            kind: 'DROP',
            reason: `REDIRECT: ${c.inIface || 'the input device'} has no address`,
          };
        return doNat(
          c,
          ref,
          { minAddr: dst, maxAddr: dst, ...portRange(t.toPorts), random: t.random },
          'DST',
          'REDIRECT',
        );
      };
    case 'unsupported':
      return () => ({ kind: 'UNSUPPORTED', what: `target -j ${[t.name, ...t.args].join(' ')}` });
  }
}

function compileConnmark(args: readonly string[]): (c: EvalCtx, ref: RuleRef) => TargetResult {
  const num = (s: string | undefined) =>
    s !== undefined && /^(0x[0-9a-f]+|\d+)$/i.test(s) ? Number(s) >>> 0 : undefined;
  const mode = args[0];
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? num(args[i + 1]) : undefined;
  };
  if (mode === '--set-xmark' && args[1] !== undefined) {
    const [v, m] = args[1].split('/');
    const value = num(v);
    const mask = m === undefined ? 0xffffffff : num(m);
    if (value !== undefined && mask !== undefined) {
      return (c) => {
        // connmark_tg_shift XT_CONNMARK_SET: ct->mark = (ct->mark & ~ctmask) ^ ctmark
        if (c.ct.kind === 'tracked') setCtMark(c, ((c.ct.entry.mark & ~mask) ^ value) >>> 0);
        return CONTINUE;
      };
    }
  }
  if (mode === '--save-mark' || mode === '--restore-mark') {
    const nf = opt('--nfmask') ?? 0xffffffff;
    const ctm = opt('--ctmask') ?? 0xffffffff;
    if (mode === '--save-mark') {
      return (c) => {
        if (c.ct.kind === 'tracked') setCtMark(c, ((c.ct.entry.mark & ~ctm) ^ (c.mark & nf)) >>> 0);
        return CONTINUE;
      };
    }
    return (c) => {
      if (c.ct.kind === 'tracked') c.mark = ((c.mark & ~nf) ^ (c.ct.entry.mark & ctm)) >>> 0;
      return CONTINUE;
    };
  }
  return () => ({ kind: 'UNSUPPORTED', what: `target -j CONNMARK ${args.join(' ')}` });
}

function setCtMark(c: EvalCtx, mark: number): void {
  if (c.ct.kind !== 'tracked') return;
  const e = { ...c.ct.entry, mark };
  c.ct = { ...c.ct, entry: e };
  if (e.status & IPS.CONFIRMED) c.conntrack.update(e);
}

// ---------------------------------------------------------------------------
// The walk.

/**
 * The most rules one walk of a built-in chain evaluates. A table iptables
 * accepted has no loop reachable from a hook (iptables/validate.ts refuses
 * one at load, as the kernel does), so a walk evaluates each rule at most
 * once per way into its chain; the largest kube-proxy dumps (10,000
 * Services, about 60,000 rules) stay well under this. A walk past it is a
 * loop that reached the walker without that check, and stops UNSUPPORTED
 * instead of running forever. Nesting depth itself is not limited: legacy
 * iptables accepts any depth without a loop.
 */
export const MAX_WALK_RULES = 200_000;

export type WalkResult =
  | { readonly kind: 'ACCEPT' | 'DROP'; readonly by: WalkDecider; readonly reason?: string }
  | { readonly kind: 'REJECT'; readonly by: WalkDecider; readonly with: string }
  | { readonly kind: 'UNSUPPORTED'; readonly by: WalkDecider | null; readonly what: string };

export type WalkDecider =
  | { readonly kind: 'rule'; readonly ref: RuleRef; readonly target: string }
  | { readonly kind: 'policy'; readonly chain: string; readonly policy: 'ACCEPT' | 'DROP' };

function refOf(c: EvalCtx, chain: string, r: CRule): RuleRef {
  return {
    hook: c.hook,
    table: c.table,
    chain,
    index: r.index,
    ...(r.rule.source.file !== undefined ? { file: r.rule.source.file } : {}),
    ...(r.rule.source.line !== undefined ? { line: r.rule.source.line } : {}),
    text: r.rule.text,
  };
}

/**
 * ipt_do_table for one built-in chain. Only matching rules are recorded
 * (as hits and `rule` steps); the walk itself is linear, like the kernel's.
 */
export function walk(table: CTable, chainName: string, c: EvalCtx): WalkResult {
  const start = table.chain(chainName);
  if (!start) {
    // A table without this built-in chain behaves like an empty one (policy ACCEPT).
    return { kind: 'ACCEPT', by: { kind: 'policy', chain: chainName, policy: 'ACCEPT' } };
  }
  // A frame walks its chain's rules in order, or only the candidates its
  // destination index allows (same order, same result).
  type Frame = { readonly chain: CChain; readonly cands: readonly number[] | null; k: number };
  const frame = (ch: CChain): Frame => ({ chain: ch, cands: candidates(ch, c.dst), k: 0 });
  const stack: Frame[] = [];
  let f = frame(start);
  let budget = MAX_WALK_RULES;
  for (;;) {
    const n = f.cands ? f.cands.length : f.chain.rules.length;
    if (f.k >= n) {
      // Fell off the end: a user chain returns; the built-in chain's policy decides.
      const top = stack.pop();
      if (top) {
        c.rec.record({
          kind: 'note',
          host: c.env.host,
          summary: `${c.table} ${f.chain.name}: end of chain, back to ${top.chain.name}`,
          detail: {
            table: c.table,
            chain: f.chain.name,
            returnTo: top.chain.name,
            depth: stack.length + 1,
          },
        });
        f = top;
        continue;
      }
      const policy = start.policy ?? 'ACCEPT';
      return { kind: policy, by: { kind: 'policy', chain: start.name, policy } };
    }
    const chain = f.chain;
    const r = chain.rules[f.cands ? f.cands[f.k]! : f.k]!;
    f.k++;
    if (--budget < 0) {
      return {
        kind: 'UNSUPPORTED',
        by: { kind: 'rule', ref: refOf(c, chain.name, r), target: r.targetText },
        what: `the walk evaluated ${MAX_WALK_RULES} rules without a verdict: a jump or goto loop (iptables-restore refuses one)`,
      };
    }
    let ok = true;
    const ip = r.ip;
    for (let q = 0; q < ip.length; q++) {
      if (!ip[q]!(c)) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    if (r.ems.length > 0) {
      c.label = `${c.table}/${chain.name} rule ${r.index}${r.rule.source.line !== undefined ? ` (line ${r.rule.source.line})` : ''}`;
      for (const m of r.ems) {
        const what = m.unsupported !== undefined ? m.unsupported : m.undecided?.(c);
        if (what !== undefined || m.unsupported !== undefined) {
          const ref = refOf(c, chain.name, r);
          return {
            kind: 'UNSUPPORTED',
            by: { kind: 'rule', ref, target: r.targetText },
            what: what ?? '',
          };
        }
        if (!m.test(c)) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
    }
    const ref = refOf(c, chain.name, r);
    c.hits.push({ ...ref, target: r.targetText });
    c.rec.record({
      kind: 'rule',
      host: c.env.host,
      summary: `${c.table} ${chain.name} #${r.index}${ref.line !== undefined ? ` (${ref.file ?? ''}:${ref.line})` : ''}: -A ${chain.name} ${r.rule.text}`,
      packet: c.packet,
      detail: { ...ref, target: r.targetText, mark: hexMark(c.mark), depth: stack.length },
    });
    if (!r.target) continue;
    const res = r.target(c, ref);
    switch (res.kind) {
      case 'CONTINUE':
        continue;
      case 'ACCEPT':
        return { kind: 'ACCEPT', by: { kind: 'rule', ref, target: r.targetText } };
      case 'DROP':
        return {
          kind: 'DROP',
          by: { kind: 'rule', ref, target: r.targetText },
          ...(res.reason ? { reason: res.reason } : {}),
        };
      case 'REJECT':
        return { kind: 'REJECT', by: { kind: 'rule', ref, target: r.targetText }, with: res.with };
      case 'UNSUPPORTED':
        return {
          kind: 'UNSUPPORTED',
          by: { kind: 'rule', ref, target: r.targetText },
          what: res.what,
        };
      case 'RETURN': {
        const top = stack.pop();
        if (top) {
          f = top;
          continue;
        }
        // RETURN in a built-in chain: the policy (the chain's underflow).
        const policy = start.policy ?? 'ACCEPT';
        return { kind: policy, by: { kind: 'policy', chain: start.name, policy } };
      }
      case 'jump':
      case 'goto': {
        const next = table.chain(res.chain);
        if (!next || next.builtin) {
          return {
            kind: 'UNSUPPORTED',
            by: { kind: 'rule', ref, target: r.targetText },
            what: `${res.kind} to ${next ? 'built-in' : 'undefined'} chain ${res.chain} (iptables-restore would refuse the rule)`,
          };
        }
        // -j pushes a return point; -g does not (it replaces the current chain).
        if (res.kind === 'jump') stack.push(f);
        f = frame(next);
        continue;
      }
    }
  }
}

export function hexMark(m: number): string {
  return `0x${(m >>> 0).toString(16)}`;
}

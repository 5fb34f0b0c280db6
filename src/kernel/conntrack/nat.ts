/**
 * NAT bindings on conntrack entries, after net/netfilter/nf_nat_core.c:
 * `nf_nat_setup_info` (pick a unique tuple, alter the reply tuple, set
 * IPS_SRC_NAT/IPS_DST_NAT and the *_DONE bit), `get_unique_tuple` (keep the
 * original source port unless it clashes or --random/--random-fully;
 * otherwise `nf_nat_l4proto_unique_tuple`'s search), `nf_nat_packet`
 * (rewrite a packet from the stored binding; reply direction inverts the
 * bit) and `nf_nat_icmp_reply_translation` (ICMP errors: inner header too).
 */
import { formatIpv6, intToIp, ipToInt, ipv6ToBigInt, type Ipv4 } from '../../wire/addr.js';
import type { Ipv4Packet } from '../../wire/packet.js';
import type { Chooser } from '../random.js';
import { IPS, NAT_MASK, type ConntrackEntry, type CtInfo, isReplyInfo } from './entry.js';
import type { ConntrackTable } from './table.js';
import { invertTuple, tupleEqual, type Tuple } from './tuple.js';

/** HOOK2MANIP: PREROUTING/OUTPUT rewrite the destination, POSTROUTING/INPUT the source. */
export type ManipType = 'SRC' | 'DST';

/** `struct nf_nat_range2` */
export interface NatRange {
  /** NF_NAT_RANGE_MAP_IPS when present. */
  readonly minAddr?: Ipv4;
  readonly maxAddr?: Ipv4;
  /** NF_NAT_RANGE_PROTO_SPECIFIED when present. */
  readonly minPort?: number;
  readonly maxPort?: number;
  /** NF_NAT_RANGE_PROTO_RANDOM */
  readonly random?: boolean;
  /** NF_NAT_RANGE_PROTO_RANDOM_FULLY */
  readonly randomFully?: boolean;
  readonly persistent?: boolean;
}

export interface NatContext {
  readonly table: ConntrackTable;
  readonly chooser: Chooser;
  readonly now: number;
  /** Names the decision in the chooser (chain and rule). */
  readonly label: string;
}

export function isNatDone(e: ConntrackEntry, manip: ManipType): boolean {
  return (e.status & (manip === 'SRC' ? IPS.SRC_NAT_DONE : IPS.DST_NAT_DONE)) !== 0;
}

/** nf_nat_setup_info: returns the entry with its binding for `manip`. */
export function setupInfo(
  e: ConntrackEntry,
  range: NatRange,
  manip: ManipType,
  ctx: NatContext,
): ConntrackEntry {
  const curr = invertTuple(e.reply);
  const next = getUniqueTuple(curr, range, e, manip, ctx);
  let out = e;
  if (!tupleEqual(next, curr)) {
    out = {
      ...out,
      reply: invertTuple(next),
      status: out.status | (manip === 'SRC' ? IPS.SRC_NAT : IPS.DST_NAT),
    };
  }
  return { ...out, status: out.status | (manip === 'SRC' ? IPS.SRC_NAT_DONE : IPS.DST_NAT_DONE) };
}

/**
 * nf_nat_alloc_null_binding: no rule set up a mapping for this manip type,
 * so map to the current address (which may still move the source port on a
 * clash, through get_unique_tuple).
 */
export function nullBinding(e: ConntrackEntry, manip: ManipType, ctx: NatContext): ConntrackEntry {
  const addr = manip === 'SRC' ? e.reply.dst : e.reply.src;
  return setupInfo(e, { minAddr: addr, maxAddr: addr }, manip, ctx);
}

function usedTuple(t: Tuple, e: ConntrackEntry, ctx: NatContext): boolean {
  return ctx.table.taken(invertTuple(t), e.id, ctx.now);
}

function keyPort(t: Tuple, manip: ManipType): number {
  if (t.proto === 'icmp') return t.sport;
  return manip === 'SRC' ? t.sport : t.dport;
}

function withKeyPort(t: Tuple, manip: ManipType, port: number): Tuple {
  if (t.proto === 'icmp') return { ...t, sport: port };
  return manip === 'SRC' ? { ...t, sport: port } : { ...t, dport: port };
}

function protoInRange(t: Tuple, manip: ManipType, r: NatRange): boolean {
  // l4proto_in_range: `default: return true` for protocols without ports.
  if (t.proto === 'ipip') return true;
  if (r.minPort === undefined || r.maxPort === undefined) return true;
  const p = keyPort(t, manip);
  return p >= r.minPort && p <= r.maxPort;
}

/** An address of either family as a number for range compares (IPv6 as a BigInt). */
function addrValue(a: Ipv4): number | bigint {
  return a.indexOf(':') >= 0 ? (ipv6ToBigInt(a) ?? -1n) : ipToInt(a);
}

function addrInRange(a: Ipv4, r: NatRange): boolean {
  if (r.minAddr === undefined || r.maxAddr === undefined) return true;
  // A range of the other family never holds the address.
  if (a.indexOf(':') >= 0 !== r.minAddr.indexOf(':') >= 0) return false;
  const n = addrValue(a);
  return n >= addrValue(r.minAddr) && n <= addrValue(r.maxAddr);
}

/** find_best_ips_proto's pick within a multi-address IPv6 range (offset from the low end). */
function pickIpv6(r: { minAddr: Ipv4; maxAddr: Ipv4 }, ctx: NatContext): Ipv4 {
  const lo = ipv6ToBigInt(r.minAddr) ?? 0n;
  const hi = ipv6ToBigInt(r.maxAddr) ?? lo;
  const span = hi - lo;
  const cap = span > 0x7fffffffn ? 0x7fffffff : Number(span);
  const off = ctx.chooser.integer(0, cap, `${ctx.label}: address in ${r.minAddr}-${r.maxAddr}`);
  return formatIpv6(lo + BigInt(off));
}

/** nf_in_range (source side). */
function inRange(t: Tuple, r: NatRange): boolean {
  return addrInRange(t.src, r) && protoInRange(t, 'SRC', r);
}

function getUniqueTuple(
  orig: Tuple,
  r: NatRange,
  e: ConntrackEntry,
  manip: ManipType,
  ctx: NatContext,
): Tuple {
  const randomAll = r.random === true || r.randomFully === true;
  // 1) SNAT: keep the original tuple if it is in range and unused, or reuse
  //    this source's existing mapping (find_appropriate_src).
  if (manip === 'SRC' && !randomAll) {
    if (inRange(orig, r)) {
      if (!usedTuple(orig, e, ctx)) return orig;
    } else {
      for (const other of ctx.table.sameSource(orig, ctx.now)) {
        if (other.original.proto !== orig.proto) continue;
        const cand: Tuple = { ...invertTuple(other.reply), dst: orig.dst, dport: orig.dport };
        if (inRange(cand, r) && !usedTuple(cand, e, ctx)) return cand;
      }
    }
  }
  // 2) find_best_ips_proto: the address from the range.
  let t = orig;
  if (r.minAddr !== undefined && r.maxAddr !== undefined && r.minAddr.indexOf(':') >= 0) {
    const addr =
      r.minAddr === r.maxAddr
        ? r.minAddr
        : pickIpv6({ minAddr: r.minAddr, maxAddr: r.maxAddr }, ctx);
    t = manip === 'SRC' ? { ...t, src: addr } : { ...t, dst: addr };
  } else if (r.minAddr !== undefined && r.maxAddr !== undefined) {
    const lo = ipToInt(r.minAddr);
    const hi = ipToInt(r.maxAddr);
    // The kernel hashes the tuple (jhash2) to pick within a multi-address
    // range; packeteye models that choice as a uniform one.
    const addr =
      lo === hi
        ? r.minAddr
        : intToIp(
            ctx.chooser.integer(lo, hi, `${ctx.label}: address in ${r.minAddr}-${r.maxAddr}`),
          );
    t = manip === 'SRC' ? { ...t, src: addr } : { ...t, dst: addr };
  }
  // 3) keep the port if in range and unique.
  if (!randomAll) {
    if (r.minPort !== undefined && r.maxPort !== undefined) {
      if (protoInRange(t, manip, r) && (r.minPort === r.maxPort || !usedTuple(t, e, ctx))) return t;
    } else if (!usedTuple(t, e, ctx)) {
      return t;
    }
  }
  return uniqueL4(t, r, manip, e, ctx);
}

const MAX_ATTEMPTS = 128;

/** nf_nat_l4proto_unique_tuple */
function uniqueL4(
  t: Tuple,
  r: NatRange,
  manip: ManipType,
  e: ConntrackEntry,
  ctx: NatContext,
): Tuple {
  let min: number;
  let size: number;
  const specified = r.minPort !== undefined && r.maxPort !== undefined;
  // nf_nat_l4proto_unique_tuple: `default: return` — no ports to pick (IP-in-IP).
  if (t.proto === 'ipip') return t;
  if (t.proto === 'icmp') {
    if (!specified) {
      min = 0;
      size = 65536;
    } else {
      min = r.minPort!;
      size = r.maxPort! - min + 1;
    }
  } else if (!specified) {
    if (manip === 'DST') return t; // a destination's port never changes implicitly
    const p = keyPort(t, manip);
    if (p < 1024) {
      if (p < 512) {
        min = 1;
        size = 511;
      } else {
        min = 600;
        size = 1023 - 600 + 1;
      }
    } else {
      min = 1024;
      size = 65535 - 1024 + 1;
    }
  } else {
    min = r.minPort!;
    size = r.maxPort! - min + 1;
  }
  const randomAll = r.random === true || r.randomFully === true;
  let off =
    randomAll || manip !== 'DST' ? ctx.chooser.integer(0, 65535, `${ctx.label}: NAT port`) : 0;
  let attempts = Math.min(size, MAX_ATTEMPTS);
  let cand = t;
  for (;;) {
    for (let i = 0; i < attempts; i++, off++) {
      cand = withKeyPort(t, manip, min + (off % size));
      if (!usedTuple(cand, e, ctx)) return cand;
    }
    if (attempts >= size || attempts < 16) return cand;
    attempts = Math.floor(attempts / 2);
    off = ctx.chooser.integer(0, 65535, `${ctx.label}: NAT port`);
  }
}

/** nf_nat_manip_pkt / nf_nat_ipv4_manip_pkt: rewrite one side of a packet to `target`. */
export function manipPacket(p: Ipv4Packet, target: Tuple, manip: ManipType): Ipv4Packet {
  const l4 = p.l4;
  const ip = manip === 'SRC' ? { ...p.ip, src: target.src } : { ...p.ip, dst: target.dst };
  if (l4.kind === 'icmp') {
    // The echo id stands in for both ports, so either manip sets it (to the tuple's sport).
    return {
      ...p,
      ip,
      l4: l4.id !== undefined && l4.inner === undefined ? { ...l4, id: target.sport } : l4,
    };
  }
  // nf_nat_l4proto_manip_pkt: a protocol without ports (IP-in-IP) keeps its payload.
  if (l4.kind === 'ipip') return { ...p, ip };
  const ports = manip === 'SRC' ? { sport: target.sport } : { dport: target.dport };
  return { ...p, ip, l4: { ...l4, ...ports } };
}

function statusBitFor(manip: ManipType, reply: boolean): number {
  const bit = manip === 'SRC' ? IPS.SRC_NAT : IPS.DST_NAT;
  return reply ? bit ^ NAT_MASK : bit;
}

/**
 * nf_nat_packet: apply the stored binding. For a packet in direction `dir`
 * the target is the inverse of the other direction's tuple.
 */
export function natPacket(
  e: ConntrackEntry,
  info: CtInfo,
  manip: ManipType,
  p: Ipv4Packet,
): Ipv4Packet {
  const other = boundOther(e, info, manip);
  return other ? manipPacket(p, invertTuple(other), manip) : p;
}

/**
 * The tuple of the direction opposite a packet with `info`, when `e` has a
 * `manip` binding for the packet's direction (IPS_SRC_NAT/IPS_DST_NAT, or
 * their inverse for a reply); undefined when there is nothing to apply.
 */
function boundOther(e: ConntrackEntry, info: CtInfo, manip: ManipType): Tuple | undefined {
  const reply = isReplyInfo(info);
  if ((e.status & statusBitFor(manip, reply)) === 0) return undefined;
  return reply ? e.original : e.reply;
}

/**
 * nf_nat_icmp_reply_translation: an ICMP error RELATED to a NATed flow.
 * The embedded header gets the opposite manip (so it looks like the packet
 * the error's receiver sent), the outer header the normal one.
 */
export function icmpReplyTranslation(
  e: ConntrackEntry,
  info: CtInfo,
  manip: ManipType,
  p: Ipv4Packet,
): Ipv4Packet {
  const otherTuple = boundOther(e, info, manip);
  if (!otherTuple) return p;
  const l4 = p.l4;
  if (l4.kind !== 'icmp' || l4.inner === undefined) return p;
  const inner = manipPacket(l4.inner, otherTuple, manip === 'SRC' ? 'DST' : 'SRC');
  const outer = manipPacket({ ...p, l4: { ...l4, inner } }, invertTuple(otherTuple), manip);
  return outer;
}

/**
 * A conntrack entry (`struct nf_conn`) as an immutable value, its status bits
 * and the ctinfo a packet carries (include/uapi/linux/netfilter/
 * nf_conntrack_common.h).
 */
import type { Tuple } from './tuple.js';
import type { TcpCt } from './tcp.js';

/** `enum ip_conntrack_status` bits. */
export const IPS = {
  EXPECTED: 1 << 0,
  SEEN_REPLY: 1 << 1,
  ASSURED: 1 << 2,
  CONFIRMED: 1 << 3,
  SRC_NAT: 1 << 4,
  DST_NAT: 1 << 5,
  SEQ_ADJUST: 1 << 6,
  SRC_NAT_DONE: 1 << 7,
  DST_NAT_DONE: 1 << 8,
  DYING: 1 << 9,
  FIXED_TIMEOUT: 1 << 10,
  TEMPLATE: 1 << 11,
  UNTRACKED: 1 << 12,
  NAT_CLASH: 1 << 13,
} as const;

export type StatusName = keyof typeof IPS;

export const NAT_MASK = IPS.SRC_NAT | IPS.DST_NAT;

export function statusNames(status: number): StatusName[] {
  return (Object.keys(IPS) as StatusName[]).filter((k) => (status & IPS[k]) !== 0);
}

/**
 * `enum ip_conntrack_info`: what the packet is to its connection.
 * IP_CT_ESTABLISHED 0, RELATED 1, NEW 2, ESTABLISHED_REPLY 3, RELATED_REPLY 4.
 */
export type CtInfo = 'ESTABLISHED' | 'RELATED' | 'NEW' | 'ESTABLISHED_REPLY' | 'RELATED_REPLY';

export function isReplyInfo(info: CtInfo): boolean {
  return info === 'ESTABLISHED_REPLY' || info === 'RELATED_REPLY';
}

export interface ConntrackEntry {
  /** Stable id within its host's table (like the kernel's ct id). */
  readonly id: number;
  readonly original: Tuple;
  /** Initially the inverse of `original`; NAT rewrites it (`nf_conntrack_alter_reply`). */
  readonly reply: Tuple;
  readonly status: number;
  /** ct mark (`-m connmark`, `-j CONNMARK`). */
  readonly mark: number;
  /** Simulated time (seconds) the entry was created. */
  readonly created: number;
  /** Simulated time (seconds) at which it expires unless refreshed. */
  readonly expires: number;
  /** TCP tracking state, TCP only. */
  readonly tcp?: TcpCt;
  /** Output interface of a MASQUERADE binding (`nat->masq_index`). */
  readonly masqIface?: string;
}

export function tupleOfDir(e: ConntrackEntry, dir: 'original' | 'reply'): Tuple {
  return dir === 'original' ? e.original : e.reply;
}

export function hasStatus(e: ConntrackEntry, bit: number): boolean {
  return (e.status & bit) !== 0;
}

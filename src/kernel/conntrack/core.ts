/**
 * The conntrack hooks: `nf_conntrack_in` (PREROUTING and OUTPUT, priority
 * -200: find or create the entry, run the protocol tracker, set ctinfo) and
 * `nf_conntrack_confirm` (INPUT and POSTROUTING, last: insert a new entry
 * into the table). Source: net/netfilter/nf_conntrack_core.c
 * (resolve_normal_ct, nf_conntrack_in, __nf_conntrack_confirm),
 * nf_conntrack_proto_{tcp,udp,icmp}.c. SCTP is tracked without its own
 * state machine (NEW, then ESTABLISHED once a reply was seen), like the
 * generic tracker; helpers and expectations (RELATED for FTP/SIP data
 * connections) are not modelled — only ICMP errors are RELATED.
 */
import type { Ipv4Packet } from '../../wire/packet.js';
import { IPS, type ConntrackEntry, type CtInfo } from './entry.js';
import type { ConntrackTable } from './table.js';
import { tcpNew, tcpPacket, validFlags, TCP_TIMEOUTS } from './tcp.js';
import {
  invertTuple,
  isIcmpErrorFor,
  isIcmpTrackableFor,
  tupleEqual,
  tupleOf,
  type Direction,
} from './tuple.js';

/** The conntrack sysctls that change verdicts (net.netfilter.nf_conntrack_*). */
export interface ConntrackSysctls {
  /** nf_conntrack_tcp_loose (default 1): pick up connections mid-stream. */
  readonly tcpLoose: boolean;
  /** nf_conntrack_tcp_be_liberal (default 0): only out-of-window RSTs are INVALID. */
  readonly tcpBeLiberal: boolean;
  readonly udpTimeout: number;
  readonly udpStreamTimeout: number;
  readonly icmpTimeout: number;
  readonly genericTimeout: number;
}

export const DEFAULT_CONNTRACK_SYSCTLS: ConntrackSysctls = {
  tcpLoose: true,
  tcpBeLiberal: false,
  udpTimeout: 30,
  udpStreamTimeout: 120,
  icmpTimeout: 30,
  genericTimeout: 600,
};

/**
 * What the skb carries (`skb->_nfct`): nothing (the packet is INVALID to
 * `-m conntrack`), the untracked marker (raw `-j NOTRACK`), or an entry with
 * the packet's ctinfo. `entry` is the latest version of the entry; when it is
 * confirmed the table holds the same version.
 */
export type SkbCt =
  | { readonly kind: 'none' }
  | { readonly kind: 'untracked' }
  | { readonly kind: 'tracked'; readonly entry: ConntrackEntry; readonly ctinfo: CtInfo };

export const NO_CT: SkbCt = { kind: 'none' };

export function isConfirmed(e: ConntrackEntry): boolean {
  return (e.status & IPS.CONFIRMED) !== 0;
}

export interface CtInResult {
  readonly ct: SkbCt;
  /** One line for the trace, in conntrack's words. */
  readonly event: string;
  /** Direction of the packet in its entry, when tracked. */
  readonly dir?: Direction;
}

function initialTimeout(p: Ipv4Packet, s: ConntrackSysctls): number {
  switch (p.l4.kind) {
    case 'tcp':
      return TCP_TIMEOUTS.SYN_SENT;
    case 'udp':
      return s.udpTimeout;
    case 'icmp':
      return s.icmpTimeout;
    case 'sctp':
    case 'ipip':
      // nf_conntrack_proto_generic.c: IP-in-IP (protocol 4) has no tracker of
      // its own; generic_packet refreshes nf_conntrack_generic_timeout (600 s).
      return s.genericTimeout;
  }
}

/**
 * nf_conntrack_in. A packet that already carries a ct (loopback
 * re-injection keeps it; NOTRACK set it) is left alone, as the kernel does.
 */
export function conntrackIn(
  table: ConntrackTable,
  p: Ipv4Packet,
  current: SkbCt,
  sysctls: ConntrackSysctls,
  now: number,
): CtInResult {
  if (current.kind === 'untracked')
    return { ct: current, event: 'untracked (NOTRACK): not tracked' };
  if (current.kind === 'tracked')
    return { ct: current, event: `already attached to ct ${current.entry.id} (${current.ctinfo})` };
  const l4 = p.l4;
  if (l4.kind === 'icmp' && isIcmpErrorFor(p, l4.type)) return icmpError(table, p, now);
  if (l4.kind === 'tcp' && !validFlags(l4)) {
    return { ct: NO_CT, event: 'INVALID: invalid TCP flag combination (tcp_error)' };
  }
  const tuple = tupleOf(p);
  let found = table.find(tuple, now);
  for (let round = 0; round < 2; round++) {
    if (!found) return newEntry(table, p, sysctls, now);
    const { entry, dir } = found;
    let ctinfo: CtInfo;
    if (dir === 'reply') ctinfo = 'ESTABLISHED_REPLY';
    else if (entry.status & IPS.SEEN_REPLY) ctinfo = 'ESTABLISHED';
    else if (entry.status & IPS.EXPECTED) ctinfo = 'RELATED';
    else ctinfo = 'NEW';
    const r = track(entry, dir, p, sysctls, now);
    if (r === 'reopen') {
      table.delete(entry.id);
      found = undefined;
      continue;
    }
    if (typeof r === 'string') return { ct: NO_CT, event: `INVALID: ${r}` };
    let next = r.entry;
    if (dir === 'reply' && !(next.status & IPS.SEEN_REPLY))
      next = { ...next, status: next.status | IPS.SEEN_REPLY };
    if (r.kill) table.delete(next.id);
    else table.update(next);
    const note = r.note ? `; ${r.note}` : '';
    return {
      ct: { kind: 'tracked', entry: next, ctinfo },
      dir,
      event: `ct ${next.id} ${dir} direction, ${ctinfo}${note}`,
    };
  }
  return newEntry(table, p, sysctls, now);
}

function newEntry(
  table: ConntrackTable,
  p: Ipv4Packet,
  s: ConntrackSysctls,
  now: number,
): CtInResult {
  const l4 = p.l4;
  const original = tupleOf(p);
  let entry: ConntrackEntry = {
    id: table.allocateId(),
    original,
    reply: invertTuple(original),
    status: 0,
    mark: 0,
    created: now,
    expires: now + initialTimeout(p, s),
  };
  if (l4.kind === 'icmp' && !isIcmpTrackableFor(p, l4.type)) {
    return {
      ct: NO_CT,
      event: `INVALID: ICMP type ${l4.type} cannot start a connection (icmp_new)`,
    };
  }
  if (l4.kind === 'tcp') {
    const tcp = tcpNew(l4, p.payloadLength, s.tcpLoose);
    if (!tcp) {
      const why = s.tcpLoose
        ? 'this segment cannot start a connection'
        : 'nf_conntrack_tcp_loose=0 refuses to pick up a connection';
      return { ct: NO_CT, event: `INVALID: no entry and ${why} (tcp_new)` };
    }
    const r = tcpPacket(tcp, 0, l4, p.payloadLength, s.tcpBeLiberal);
    if (r.kind !== 'ok' && r.kind !== 'ignored')
      return { ct: NO_CT, event: 'INVALID: tcp_packet refused the first segment' };
    entry = {
      ...entry,
      tcp: r.ct,
      expires: now + (r.kind === 'ok' ? r.timeout : TCP_TIMEOUTS.SYN_SENT),
    };
    const picked = l4.flags.syn ? '' : ' (picked up mid-stream, nf_conntrack_tcp_loose=1)';
    return {
      ct: { kind: 'tracked', entry, ctinfo: 'NEW' },
      dir: 'original',
      event: `new ct ${entry.id}, NEW${picked}`,
    };
  }
  return {
    ct: { kind: 'tracked', entry, ctinfo: 'NEW' },
    dir: 'original',
    event: `new ct ${entry.id}, NEW`,
  };
}

type TrackResult = { entry: ConntrackEntry; kill: boolean; note?: string } | 'reopen' | string;

/** The protocol tracker's `packet()` for an existing entry. */
function track(
  e: ConntrackEntry,
  dir: Direction,
  p: Ipv4Packet,
  s: ConntrackSysctls,
  now: number,
): TrackResult {
  const l4 = p.l4;
  // SEEN_REPLY is set by nf_conntrack_in after the tracker ran, so the first reply does not see it yet.
  const seenReply = (e.status & IPS.SEEN_REPLY) !== 0;
  switch (l4.kind) {
    case 'tcp': {
      if (!e.tcp) return { entry: e, kill: false };
      const r = tcpPacket(e.tcp, dir === 'original' ? 0 : 1, l4, p.payloadLength, s.tcpBeLiberal);
      switch (r.kind) {
        case 'reopen':
          return 'reopen';
        case 'invalid':
          return r.reason;
        case 'ignored':
          return { entry: { ...e, tcp: r.ct }, kill: false, note: r.reason };
        case 'ok': {
          let status = e.status;
          const old = e.tcp.state;
          // ASSURED: ESTABLISHED reached from SYN_RECV or ESTABLISHED once both sides spoke.
          if (
            (e.status & IPS.SEEN_REPLY) !== 0 &&
            !(status & IPS.ASSURED) &&
            (old === 'SYN_RECV' || old === 'ESTABLISHED') &&
            r.ct.state === 'ESTABLISHED'
          ) {
            status |= IPS.ASSURED;
          }
          // "If only reply is a RST … delete the conntrack immediately."
          const kill = (e.status & IPS.SEEN_REPLY) === 0 && r.killIfNoReply;
          return {
            entry: { ...e, tcp: r.ct, status, expires: now + r.timeout },
            kill,
            note: kill ? 'RST before any reply: entry deleted' : `TCP ${old} -> ${r.ct.state}`,
          };
        }
      }
      break;
    }
    case 'udp': {
      // nf_conntrack_udp_packet: stream timeout and ASSURED once a reply was
      // seen and the flow lives longer than 2 s.
      if (seenReply && now - e.created > 2 && !(e.status & IPS.NAT_CLASH)) {
        return {
          entry: { ...e, status: e.status | IPS.ASSURED, expires: now + s.udpStreamTimeout },
          kill: false,
        };
      }
      return { entry: { ...e, expires: now + s.udpTimeout }, kill: false };
    }
    case 'icmp':
      return { entry: { ...e, expires: now + s.icmpTimeout }, kill: false };
    case 'sctp':
    case 'ipip':
      // generic_packet: refresh only, never ASSURED.
      return { entry: { ...e, expires: now + s.genericTimeout }, kill: false };
  }
  return { entry: e, kill: false };
}

/** icmp_error_message: the embedded header names the connection. */
function icmpError(table: ConntrackTable, p: Ipv4Packet, now: number): CtInResult {
  const l4 = p.l4;
  if (l4.kind !== 'icmp' || l4.inner === undefined) {
    return { ct: NO_CT, event: 'INVALID: ICMP error without an embedded header' };
  }
  const inner = invertTuple(tupleOf(l4.inner));
  const found = table.find(inner, now);
  if (!found)
    return {
      ct: NO_CT,
      event: 'INVALID: ICMP error not related to any connection (icmp_error_message)',
    };
  const ctinfo: CtInfo = found.dir === 'reply' ? 'RELATED_REPLY' : 'RELATED';
  return {
    ct: { kind: 'tracked', entry: found.entry, ctinfo },
    dir: found.dir,
    event: `ICMP error RELATED to ct ${found.entry.id} (${ctinfo})`,
  };
}

export type ConfirmResult =
  | { readonly kind: 'ok'; readonly ct: SkbCt; readonly event?: string }
  | { readonly kind: 'drop'; readonly event: string };

/**
 * __nf_conntrack_confirm: the first packet of a connection leaves or is
 * delivered; its entry joins the table. A clash with an entry inserted in
 * the meantime drops the packet, except for UDP, which may clash
 * (nf_ct_resolve_clash).
 */
export function confirm(table: ConntrackTable, ct: SkbCt, now: number): ConfirmResult {
  if (ct.kind !== 'tracked' || isConfirmed(ct.entry)) return { kind: 'ok', ct };
  if (ct.ctinfo !== 'NEW' && ct.ctinfo !== 'RELATED') return { kind: 'ok', ct };
  const r = table.insert(ct.entry, now);
  if ('clash' in r) {
    const other = r.clash;
    if (ct.entry.original.proto === 'udp') {
      // nf_ct_resolve_clash (UDP allows clashes): an identical entry is adopted;
      // one with a different NAT mapping lets the packet pass on its own
      // mapping, the loser kept out of the table (IPS_NAT_CLASH, short-lived).
      if (
        tupleEqual(other.original, ct.entry.original) &&
        tupleEqual(other.reply, ct.entry.reply)
      ) {
        return {
          kind: 'ok',
          ct: { ...ct, entry: other },
          event: `confirm: clash with identical ct ${other.id}, packet adopts it (nf_ct_resolve_clash)`,
        };
      }
      return {
        kind: 'ok',
        ct: { ...ct, entry: { ...ct.entry, status: ct.entry.status | IPS.NAT_CLASH } },
        event: `confirm: clash with ct ${other.id} (another NAT mapping); packet passes, its entry is not inserted (nf_ct_resolve_clash_harder)`,
      };
    }
    return {
      kind: 'drop',
      event: `confirm: tuple clash with ct ${other.id}, packet dropped (__nf_conntrack_confirm)`,
    };
  }
  return { kind: 'ok', ct: { ...ct, entry: r }, event: `ct ${r.id} confirmed` };
}

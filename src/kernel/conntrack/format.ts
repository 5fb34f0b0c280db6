/**
 * `conntrack -L` text, as conntrack-tools prints entries
 * (src/conntrack.c / libnetfilter_conntrack snprintf_default):
 *
 *   tcp      6 431999 ESTABLISHED src=… dst=… sport=… dport=… src=… dst=… sport=… dport=… [ASSURED] mark=0 use=1
 *   udp      17 29 src=… dst=… sport=… dport=… [UNREPLIED] src=… dst=… sport=… dport=… mark=0 use=1
 *
 * The protocol name is padded to 8 columns; the timeout is the remaining
 * lifetime in whole seconds; `[UNREPLIED]` follows the original tuple when
 * SEEN_REPLY is unset; `[ASSURED]` follows the reply tuple.
 */
import { IPS, type ConntrackEntry } from './entry.js';
import { formatTuple } from './tuple.js';

const PROTO_NUM: Readonly<Record<string, number>> = {
  tcp: 6,
  udp: 17,
  icmp: 1,
  sctp: 132,
  ipip: 4,
};

/**
 * libnetfilter_conntrack's proto2str has no name for protocol 4, so
 * `conntrack -L` prints it as `unknown` (as /proc/net/nf_conntrack does for
 * the generic tracker).
 */
const PROTO_NAME: Readonly<Record<string, string>> = { ipip: 'unknown' };

export function formatEntry(e: ConntrackEntry, now: number): string {
  const proto = e.original.proto;
  const parts: string[] = [
    (PROTO_NAME[proto] ?? proto).padEnd(8, ' '),
    String(PROTO_NUM[proto] ?? 0),
    String(Math.max(0, Math.floor(e.expires - now))),
  ];
  if (e.tcp) parts.push(e.tcp.state);
  parts.push(formatTuple(e.original));
  if (!(e.status & IPS.SEEN_REPLY)) parts.push('[UNREPLIED]');
  parts.push(formatTuple(e.reply));
  if (e.status & IPS.ASSURED) parts.push('[ASSURED]');
  parts.push(`mark=${e.mark >>> 0}`, 'use=1');
  return parts.join(' ');
}

/** The whole listing plus conntrack's summary line on stderr's behalf. */
export function formatTable(entries: readonly ConntrackEntry[], now: number): string {
  const lines = entries.map((e) => formatEntry(e, now));
  lines.push(`conntrack v1.4.7 (conntrack-tools): ${entries.length} flow entries have been shown.`);
  return lines.join('\n') + '\n';
}

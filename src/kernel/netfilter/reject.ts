/**
 * What REJECT answers with (net/ipv4/netfilter/nf_reject_ipv4.c,
 * nf_reject_ipv6.c): the `--reject-with` codes and the response packet.
 */
import type { Ipv4 } from '../../wire/addr.js';
import { NO_FLAGS, type Ipv4Packet } from '../../wire/packet.js';
import { ICMP_ERROR_TYPES } from '../conntrack/tuple.js';
import type { NetfilterEnv, RejectInfo } from './env.js';

/** ICMP codes of `--reject-with` (ipt_REJECT.c reject_tg). */
export const REJECT_CODES: Readonly<Record<string, number>> = {
  'icmp-net-unreachable': 0,
  'icmp-host-unreachable': 1,
  'icmp-proto-unreachable': 2,
  'icmp-port-unreachable': 3,
  'icmp-net-prohibited': 9,
  'icmp-host-prohibited': 10,
  'icmp-admin-prohibited': 13,
};

/** ICMPv6 destination-unreachable codes of ip6tables' `--reject-with` (ip6t_REJECT.c reject_tg6). */
const REJECT6_CODES: Readonly<Record<string, number>> = {
  'icmp6-no-route': 0,
  'icmp6-adm-prohibited': 1,
  'icmp6-addr-unreachable': 3,
  'icmp6-port-unreachable': 4,
  'icmp6-policy-fail': 5,
  'icmp6-reject-route': 6,
};

/**
 * What REJECT sends: a TCP RST (nf_send_reset: seq from the ACK, or an ACK of
 * the segment) or an ICMP destination-unreachable (nf_send_unreach →
 * icmp_send). icmp_send picks the error's source by a route lookup unless the
 * rejected packet was addressed to this host; in that case we know it, else
 * the response is left for the Host to address (response null).
 */
export function rejectInfo(p: Ipv4Packet, withType: string, env: NetfilterEnv): RejectInfo {
  const l4 = p.l4;
  if (withType === 'tcp-reset') {
    if (l4.kind !== 'tcp' || l4.flags.rst) return { with: withType, response: null };
    const ack = l4.flags.ack;
    const seg = ack
      ? { seq: l4.ack, ack: 0, flags: { ...NO_FLAGS, rst: true } }
      : {
          seq: 0,
          ack: (l4.seq + p.payloadLength + (l4.flags.syn ? 1 : 0) + (l4.flags.fin ? 1 : 0)) >>> 0,
          flags: { ...NO_FLAGS, rst: true, ack: true },
        };
    return {
      with: withType,
      response: {
        ip: { src: p.ip.dst, dst: p.ip.src, ttl: 64, id: 0, df: false, tos: 0 },
        l4: { kind: 'tcp', sport: l4.dport, dport: l4.sport, window: 0, ...seg },
        payloadLength: 0,
      },
    };
  }
  const v6 = p.ip.src.indexOf(':') >= 0;
  // icmp_send / icmpv6_send never answer an ICMP error (ICMPv6 errors are types < 128).
  if (l4.kind === 'icmp' && (v6 ? l4.type < 128 : ICMP_ERROR_TYPES.has(l4.type)))
    return { with: withType, response: null };
  // nf_send_unreach6: ICMPv6 type 1 (destination unreachable) with the option's code.
  const code = v6 ? (REJECT6_CODES[withType] ?? 4) : (REJECT_CODES[withType] ?? 3);
  const local = env.addrType(p.ip.dst) === 'LOCAL';
  if (!local) return { with: withType, response: null };
  const src: Ipv4 = p.ip.dst;
  return {
    with: withType,
    response: {
      ip: { src, dst: p.ip.src, ttl: 64, id: 0, df: false, tos: 0xc0 },
      l4: { kind: 'icmp', type: v6 ? 1 : 3, code, inner: p },
      payloadLength: 0,
    },
  };
}

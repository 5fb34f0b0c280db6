/**
 * Test kit: b's NAT (capture.ts `NAT_RULES`) redone on packet values.
 *
 * For each packet of the NAT half of the scenario, take the frame from one
 * side of b, rewrite it as b's rules and conntrack do (DNAT + SNAT on the way
 * to c, the reverse on replies, the inner packet of an ICMP error included,
 * TTL − 1 for the forwarding), emit it, and pair it with the frame the kernel
 * put on the other side. Equal bytes mean our checksums after NAT are the
 * kernel's (which updates them incrementally, nf_nat_proto.c).
 */
import {
  emitFrame,
  emitPacket,
  l4HeaderLength,
  parseFrame,
  withIp,
  withPorts,
  type Ipv4Packet,
  type ParsedFrame,
} from '../index.js';
import { MAC_A, MAC_B, MAC_B1, MAC_C } from './capture.js';

export interface NatPair {
  readonly what: string;
  /** What we emit after rewriting `from`. */
  readonly ours: Uint8Array;
  /** What the kernel sent on the other side. */
  readonly kernels: Uint8Array;
}

function parsed(bytes: Uint8Array, name: string): ParsedFrame & { value: { kind: 'ipv4' } } {
  const r = parseFrame(bytes);
  if (!r.ok) throw new Error(`${name}: ${r.error.reason} at ${r.error.offset}`);
  if (r.value.kind !== 'ipv4') throw new Error(`${name}: not IPv4`);
  return r as ParsedFrame & { value: { kind: 'ipv4' } };
}

/** a → c: DNAT to 10.250.1.2 (and port), SNAT to 10.250.1.1, forwarded. */
function toC(p: Ipv4Packet, dport?: number): Ipv4Packet {
  const q = withIp(p, { src: '10.250.1.1', dst: '10.250.1.2', ttl: p.ip.ttl - 1 });
  return dport === undefined ? q : withPorts(q, undefined, dport);
}

/** c → a: the reply un-NATed (source back to the address a asked for, destination to a), forwarded. */
function toA(p: Ipv4Packet, sport?: number): Ipv4Packet {
  const q = withIp(p, { src: '10.250.0.2', dst: '10.250.0.1', ttl: p.ip.ttl - 1 });
  return sport === undefined ? q : withPorts(q, sport, undefined);
}

export function natPairs(get: (name: string) => Uint8Array): NatPair[] {
  const fwd = (what: string, from: string, to: string, dport?: number): NatPair => {
    const r = parsed(get(from), from);
    const ours = emitFrame(
      { kind: 'ipv4', src: MAC_B1, dst: MAC_C, packet: toC(r.value.packet, dport) },
      r.payload,
    );
    return { what, ours, kernels: get(to) };
  };
  const rev = (what: string, from: string, to: string, sport?: number): NatPair => {
    const r = parsed(get(from), from);
    const ours = emitFrame(
      { kind: 'ipv4', src: MAC_B, dst: MAC_A, packet: toA(r.value.packet, sport) },
      r.payload,
    );
    return { what, ours, kernels: get(to) };
  };
  // The ICMP error: nf_nat_icmp_reply_translation rewrites the quoted packet too (it is the
  // original direction: a's address and the port a used), then the outer header.
  const err = (() => {
    const r = parsed(get('c-icmp-port-unreachable'), 'c-icmp-port-unreachable');
    const l4 = r.value.packet.l4;
    if (l4.kind !== 'icmp' || l4.inner === undefined)
      throw new Error('c-icmp-port-unreachable: no quoted packet');
    const inner = withPorts(
      withIp(l4.inner, { src: '10.250.0.1', dst: '10.250.0.2' }),
      undefined,
      9090,
    );
    const innerPayload = r.payload.subarray(20 + l4HeaderLength(inner.l4));
    const quote = emitPacket(inner, innerPayload).subarray(0, r.value.packet.payloadLength);
    const outer = toA({ ...r.value.packet, l4: { ...l4, inner } });
    const ours = emitFrame({ kind: 'ipv4', src: MAC_B, dst: MAC_A, packet: outer }, quote);
    return {
      what: 'ICMP port unreachable, un-NATed with its quote',
      ours,
      kernels: get('nat-icmp-port-unreachable'),
    };
  })();
  return [
    fwd('UDP, DNAT+SNAT', 'nat-udp-40003-9090', 'c-udp-40003-9999', 9999),
    err,
    fwd('TCP SYN, DNAT+SNAT', 'nat-tcp-40004-8090-S', 'c-tcp-40004-8080-S', 8080),
    rev('TCP RST, un-NATed', 'c-tcp-8080-40004-RA', 'nat-tcp-8090-40004-RA', 8090),
    fwd('ICMP echo request, DNAT+SNAT', 'nat-icmp-echo-request', 'c-icmp-echo-request'),
    rev('ICMP echo reply, un-NATed', 'c-icmp-echo-reply', 'nat-icmp-echo-reply'),
  ];
}

/**
 * The packet that opens a traced connection, shared by the iptables trace
 * (iptables-trace.ts firstPacket) and the cluster connection trace
 * (connection.ts openingPacket): what a client's first send puts on the wire.
 */
import type { Ipv4 } from '../wire/addr.js';
import type { Ipv4Packet, L4Proto, TcpFlags } from '../wire/packet.js';

/**
 * A connection's opening packet: a TCP segment with `flags`, a UDP datagram,
 * an SCTP packet, or an ICMP echo request of type `echoType` whose id is the
 * source port.
 */
export function openingPacketWith(
  proto: L4Proto,
  src: Ipv4,
  dst: Ipv4,
  sport: number,
  dport: number,
  flags: TcpFlags,
  echoType: number,
): Ipv4Packet {
  const ip = { src, dst, ttl: 64, id: 0, df: true, tos: 0 };
  switch (proto) {
    case 'tcp':
      return {
        ip,
        l4: { kind: 'tcp', sport, dport, seq: 1000, ack: 0, flags, window: 64240 },
        payloadLength: 0,
      };
    case 'udp':
      return { ip, l4: { kind: 'udp', sport, dport }, payloadLength: 0 };
    case 'sctp':
      return { ip, l4: { kind: 'sctp', sport, dport, vtag: 0 }, payloadLength: 0 };
    case 'icmp':
      return {
        ip: { ...ip, df: false },
        l4: { kind: 'icmp', type: echoType, code: 0, id: sport, seq: 1 },
        payloadLength: 0,
      };
  }
}

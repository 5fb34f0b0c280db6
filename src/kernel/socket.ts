/**
 * Sockets of one namespace: listeners and the connections the model knows
 * about, and what the kernel answers on their behalf (net/ipv4/tcp_ipv4.c
 * tcp_v4_rcv / tcp_v4_send_reset, net/ipv4/udp.c __udp4_lib_rcv,
 * net/ipv4/icmp.c icmp_echo / icmp_send).
 *
 * - TCP SYN to a listener → SYN-ACK; any segment to a closed port → RST
 *   (except an RST); a known connection takes its segments.
 * - UDP to a bound port → delivered; to a closed port → ICMP port unreachable
 *   (not for broadcast/multicast destinations).
 * - ICMP echo request → echo reply (unless icmp_echo_ignore_*); replies and
 *   errors go to the socket whose flow they answer.
 */
import type { Ipv4 } from '../wire/addr.js';
import { NO_FLAGS, type Ipv4Packet, type L4Proto } from '../wire/packet.js';
import type { SkbMeta } from './hooks.js';
import type { DeviceContext } from './link.js';
import { putBack } from './put-back.js';

export interface Listener {
  readonly proto: L4Proto;
  /** Bound address; 0.0.0.0 = any. */
  readonly addr: Ipv4;
  readonly port: number;
  /** Who listens, for the trace (`nginx`, `coredns`). */
  readonly label?: string;
}

export type ConnState = 'SYN_SENT' | 'SYN_RECV' | 'ESTABLISHED' | 'OPEN';

export interface Connection {
  readonly proto: L4Proto;
  readonly local: Ipv4;
  /** Local port, or the ICMP echo id. */
  readonly lport: number;
  readonly remote: Ipv4;
  readonly rport: number;
  state: ConnState;
  readonly label?: string;
}

/** The socket a packet ended in, for the delivered fate. */
export interface SocketRef {
  readonly proto: L4Proto;
  readonly local: Ipv4;
  readonly lport: number;
  readonly remote?: Ipv4;
  readonly rport?: number;
  readonly state: 'LISTEN' | ConnState;
  readonly label?: string;
  /** For ICMP errors delivered to a socket: the errno the application sees. */
  readonly error?: string;
}

export function describeSocket(s: SocketRef): string {
  const peer = s.remote !== undefined ? ` peer ${s.remote}:${s.rport}` : '';
  const label = s.label !== undefined ? ` (${s.label})` : '';
  const err = s.error !== undefined ? ` ${s.error}` : '';
  return `${s.proto} ${s.local}:${s.lport}${peer} ${s.state}${label}${err}`;
}

/**
 * A kernel UDP tunnel socket (udp_tunnel_sock: vxlan on 4789/8472, fou, …):
 * datagrams to its port are handed to `rcv` (the encap_rcv hook) instead of
 * an application.
 */
export interface UdpTunnel {
  readonly port: number;
  readonly label: string;
  rcv(ctx: DeviceContext, packet: Ipv4Packet, meta: SkbMeta): void;
}

/**
 * The IP-in-IP protocol handler (net/ipv4/tunnel4.c `tunnel4_rcv`, registered
 * by ipip.ko through xfrm4_tunnel_register → inet_add_protocol(IPPROTO_IPIP)):
 * locally delivered protocol-4 packets go to `rcv` (ipip_rcv).
 */
export interface IpipHandler {
  readonly label: string;
  rcv(ctx: DeviceContext, packet: Ipv4Packet, meta: SkbMeta): void;
}

export class SocketTable {
  private readonly listeners = new Map<string, Listener>();
  private readonly conns = new Map<string, Connection>();
  private readonly tunnels = new Map<number, UdpTunnel>();
  private ipipHandler: IpipHandler | undefined;

  addTunnel(t: UdpTunnel): void {
    this.tunnels.set(t.port, t);
  }

  tunnel(port: number): UdpTunnel | undefined {
    return this.tunnels.get(port);
  }

  /** inet_add_protocol(IPPROTO_IPIP): one handler per host (the ipip module's). */
  setIpipHandler(h: IpipHandler): void {
    this.ipipHandler = h;
  }

  ipip(): IpipHandler | undefined {
    return this.ipipHandler;
  }

  private static lkey(proto: L4Proto, addr: Ipv4, port: number): string {
    return `${proto}|${addr}|${port}`;
  }

  private static ckey(
    proto: L4Proto,
    local: Ipv4,
    lport: number,
    remote: Ipv4,
    rport: number,
  ): string {
    return `${proto}|${local}|${lport}|${remote}|${rport}`;
  }

  listen(l: Listener): void {
    this.listeners.set(SocketTable.lkey(l.proto, l.addr, l.port), l);
  }

  /** The most specific listener: bound to `addr` first, then the wildcard. */
  findListener(proto: L4Proto, addr: Ipv4, port: number): Listener | undefined {
    return (
      this.listeners.get(SocketTable.lkey(proto, addr, port)) ??
      this.listeners.get(SocketTable.lkey(proto, '0.0.0.0', port))
    );
  }

  listListeners(): Listener[] {
    return [...this.listeners.values()];
  }

  connection(
    proto: L4Proto,
    local: Ipv4,
    lport: number,
    remote: Ipv4,
    rport: number,
  ): Connection | undefined {
    return this.conns.get(SocketTable.ckey(proto, local, lport, remote, rport));
  }

  addConnection(c: Connection): Connection {
    const key = SocketTable.ckey(c.proto, c.local, c.lport, c.remote, c.rport);
    const existing = this.conns.get(key);
    if (existing) return existing;
    this.conns.set(key, c);
    return c;
  }

  /** Restores the connections as they are now (listeners and tunnels are configuration). */
  snapshotConnections(): () => void {
    const saved = [...this.conns].map(([k, c]) => [k, { ...c }] as const);
    return () =>
      putBack(
        this.conns,
        saved,
        (c, s) => c.label === s.label,
        (c, s) => {
          c.state = s.state;
        },
        (s) => ({ ...s }),
      );
  }

  /** Ping sockets match echo replies by id alone (ping_lookup). */
  findEcho(local: Ipv4, id: number): Connection | undefined {
    for (const c of this.conns.values())
      if (c.proto === 'icmp' && c.lport === id && c.local === local) return c;
    return undefined;
  }

  listConnections(): Connection[] {
    return [...this.conns.values()];
  }
}

const IP_HEADER = 20;

/** Bytes on the wire for MTU checks: IPv4 header + transport header + payload. */
export function packetLength(p: Ipv4Packet): number {
  switch (p.l4.kind) {
    case 'tcp':
      return IP_HEADER + 20 + p.payloadLength;
    case 'udp':
      return IP_HEADER + 8 + p.payloadLength;
    case 'sctp':
      return IP_HEADER + 12 + p.payloadLength;
    case 'icmp':
      return IP_HEADER + 8 + p.payloadLength;
    case 'ipip':
      return IP_HEADER + p.payloadLength;
  }
}

/** tcp_v4_send_reset: the RST answering `p` (RFC 793 reset generation). */
export function tcpReset(p: Ipv4Packet, ttl: number): Ipv4Packet | null {
  const t = p.l4;
  if (t.kind !== 'tcp' || t.flags.rst) return null;
  const withAck = t.flags.ack;
  const segLen = p.payloadLength + (t.flags.syn ? 1 : 0) + (t.flags.fin ? 1 : 0);
  return {
    ip: { src: p.ip.dst, dst: p.ip.src, ttl, id: 0, df: true, tos: 0 },
    l4: {
      kind: 'tcp',
      sport: t.dport,
      dport: t.sport,
      seq: withAck ? t.ack : 0,
      ack: withAck ? 0 : (t.seq + segLen) >>> 0,
      flags: { ...NO_FLAGS, rst: true, ack: !withAck },
      window: 0,
    },
    payloadLength: 0,
  };
}

/** The listener's SYN-ACK (tcp_v4_send_synack), initial sequence number `isn`. */
export function tcpSynAck(p: Ipv4Packet, isn: number, ttl: number): Ipv4Packet | null {
  const t = p.l4;
  if (t.kind !== 'tcp') return null;
  return {
    ip: { src: p.ip.dst, dst: p.ip.src, ttl, id: 0, df: true, tos: 0 },
    l4: {
      kind: 'tcp',
      sport: t.dport,
      dport: t.sport,
      seq: isn >>> 0,
      ack: (t.seq + 1) >>> 0,
      flags: { ...NO_FLAGS, syn: true, ack: true },
      window: 65160,
    },
    payloadLength: 0,
  };
}

/** What a UDP server sends back: the datagram with addresses and ports swapped. */
export function udpReply(p: Ipv4Packet, payloadLength: number, ttl = 64): Ipv4Packet | null {
  const t = p.l4;
  if (t.kind !== 'udp') return null;
  return {
    ip: { src: p.ip.dst, dst: p.ip.src, ttl, id: 0, df: false, tos: 0 },
    l4: { kind: 'udp', sport: t.dport, dport: t.sport },
    payloadLength,
  };
}

/** icmp_echo: the echo reply, source = the address the request was sent to. */
export function icmpEchoReply(p: Ipv4Packet, src: Ipv4, ttl: number): Ipv4Packet | null {
  const m = p.l4;
  if (m.kind !== 'icmp' || m.type !== 8) return null;
  return {
    ip: { src, dst: p.ip.src, ttl, id: 0, df: false, tos: p.ip.tos },
    l4: { kind: 'icmp', type: 0, code: 0, id: m.id, seq: m.seq },
    payloadLength: p.payloadLength,
  };
}

/**
 * icmp_send: an ICMP error about `p` from `src`, quoting its header and first
 * 8 transport bytes. Returns null where the kernel stays silent: errors about
 * ICMP errors, or about packets from 0.0.0.0 / broadcast / multicast sources.
 */
export function icmpError(
  p: Ipv4Packet,
  type: number,
  code: number,
  src: Ipv4,
  ttl: number,
  mtu?: number,
): Ipv4Packet | null {
  if (
    p.l4.kind === 'icmp' &&
    p.l4.type !== 0 &&
    p.l4.type !== 8 &&
    p.l4.type !== 13 &&
    p.l4.type !== 15
  )
    return null;
  const s = p.ip.src;
  if (s === '0.0.0.0' || s === '255.255.255.255') return null;
  const first = Number(s.split('.')[0]);
  if (first >= 224) return null;
  return {
    ip: { src, dst: s, ttl, id: 0, df: false, tos: 0xc0 },
    l4: { kind: 'icmp', type, code, ...(mtu !== undefined ? { mtu } : {}), inner: p },
    payloadLength: IP_HEADER + 8,
  };
}

export const ICMP = {
  ECHO_REPLY: 0,
  DEST_UNREACH: 3,
  ECHO: 8,
  TIME_EXCEEDED: 11,
  NET_UNREACH: 0,
  HOST_UNREACH: 1,
  PROT_UNREACH: 2,
  PORT_UNREACH: 3,
  FRAG_NEEDED: 4,
  PKT_FILTERED: 13,
} as const;

/** The errno an application sees for an ICMP error (icmp_err_convert). */
export function icmpErrno(type: number, code: number): string {
  if (type === 11) return 'EHOSTUNREACH';
  if (type !== 3) return 'EPROTO';
  switch (code) {
    case 0:
      return 'ENETUNREACH';
    case 1:
      return 'EHOSTUNREACH';
    case 3:
      return 'ECONNREFUSED';
    case 4:
      return 'EMSGSIZE';
    case 13:
      return 'EHOSTUNREACH';
    default:
      return 'EHOSTUNREACH';
  }
}

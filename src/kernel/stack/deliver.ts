/**
 * Local delivery: ip_local_deliver runs INPUT, then the transport protocol
 * takes the packet — tcp_v4_rcv, __udp4_lib_rcv, icmp_rcv, tunnel4_rcv —
 * and delivers it to a socket, or the kernel answers (SYN-ACK, RST, echo
 * reply, ICMP unreachable).
 */
import { describePacket, type Ipv4Packet, type L4Proto } from '../../wire/packet.js';
import type { Response } from '../fate.js';
import { FRESH_META } from '../hooks.js';
import type { Host } from '../host.js';
import { RT_SCOPE } from '../link.js';
import {
  describeSocket,
  ICMP,
  icmpEchoReply,
  icmpErrno,
  icmpError,
  tcpReset,
  tcpSynAck,
  type Connection,
  type SocketRef,
} from '../socket.js';
import { deviceContext } from './device.js';
import { runHook } from './nf-hook.js';
import { drop, isMulticastIp, step, ttlOf, type PathSkb, type Sim } from './path.js';

/** ip_local_deliver: INPUT, then the transport's socket lookup. */
export function localDeliver(h: Host, skb: PathSkb, kind: 'local' | 'broadcast', sim: Sim): void {
  const inp = runHook(h, sim, { hook: 'INPUT', inIface: skb.iif }, skb);
  if (!inp) return;
  socketDeliver(h, inp.skb, kind === 'broadcast', sim);
}

/** The SocketRef `deliver` reports for a packet that belongs to connection (or ping socket) `c`. */
export function connectionRef(proto: L4Proto, c: Connection): SocketRef {
  return {
    proto,
    local: c.local,
    lport: c.lport,
    remote: c.remote,
    rport: c.rport,
    state: c.state,
    ...(c.label ? { label: c.label } : {}),
  };
}

export function deliver(
  sim: Sim,
  h: Host,
  socket: SocketRef,
  packet: Ipv4Packet,
  response?: Response,
): void {
  step(
    sim,
    h,
    'socket',
    `delivered to ${describeSocket(socket)}${response ? `; kernel answers ${describePacket(response.packet)}` : ''}`,
    {
      packet,
      detail: { socket, ...(response ? { response: describePacket(response.packet) } : {}) },
    },
  );
  sim.fate({ kind: 'delivered', host: h.name, socket, packet, ...(response ? { response } : {}) });
}

/** The transport header of kind K. */
export type L4Of<K extends Ipv4Packet['l4']['kind']> = Extract<Ipv4Packet['l4'], { kind: K }>;

/** A packet the kernel itself answers with (SYN-ACK, RST, ICMP error, echo reply). */
export function kernelResponse(
  h: Host,
  packet: Ipv4Packet | null,
  by: string,
): Response | undefined {
  return packet ? { host: h.name, packet, meta: FRESH_META, by } : undefined;
}

/** ip_protocol_deliver_rcu: the transport protocol's receive function takes the packet. */
export function socketDeliver(h: Host, skb: PathSkb, broadcast: boolean, sim: Sim): void {
  const t = skb.packet.l4;
  switch (t.kind) {
    case 'tcp':
      return tcpRcv(h, skb, t, broadcast, sim);
    case 'udp':
    case 'sctp':
      return udpRcv(h, skb, t, broadcast, sim);
    case 'icmp':
      return icmpRcv(h, skb, t, broadcast, sim);
    case 'ipip':
      return ipipRcv(h, skb, t, broadcast, sim);
  }
}

/** tcp_v4_rcv: an established or half-open connection, a listener's SYN, else RST. */
export function tcpRcv(h: Host, skb: PathSkb, t: L4Of<'tcp'>, broadcast: boolean, sim: Sim): void {
  const p = skb.packet;
  const ttl = ttlOf(h);
  const conn = h.sockets.connection('tcp', p.ip.dst, t.dport, p.ip.src, t.sport);
  if (conn) {
    let error: string | undefined;
    if (t.flags.rst) error = conn.state === 'SYN_SENT' ? 'ECONNREFUSED' : 'ECONNRESET';
    else if (t.flags.syn && t.flags.ack && conn.state === 'SYN_SENT') conn.state = 'ESTABLISHED';
    else if (t.flags.ack && conn.state === 'SYN_RECV') conn.state = 'ESTABLISHED';
    deliver(sim, h, { ...connectionRef('tcp', conn), ...(error ? { error } : {}) }, p);
    return;
  }
  const l = broadcast ? undefined : h.sockets.findListener('tcp', p.ip.dst, t.dport);
  if (l && t.flags.syn && !t.flags.ack && !t.flags.rst) {
    const isn = sim.chooser.integer(0, 0xffffffff, 'tcp initial sequence number');
    const synack = tcpSynAck(p, isn, ttl);
    h.sockets.addConnection({
      proto: 'tcp',
      local: p.ip.dst,
      lport: t.dport,
      remote: p.ip.src,
      rport: t.sport,
      state: 'SYN_RECV',
      ...(l.label ? { label: l.label } : {}),
    });
    deliver(
      sim,
      h,
      {
        proto: 'tcp',
        local: p.ip.dst,
        lport: t.dport,
        state: 'LISTEN',
        ...(l.label ? { label: l.label } : {}),
      },
      p,
      kernelResponse(h, synack, 'tcp_v4_send_synack'),
    );
    return;
  }
  const rst = tcpReset(p, ttl);
  const why = l
    ? `tcp ${p.ip.dst}:${t.dport} listens, but no connection matches this segment`
    : `nothing listens on tcp ${p.ip.dst}:${t.dport}`;
  drop(
    sim,
    h,
    'no-listener',
    `${why}${rst ? '; kernel answers RST' : ''}`,
    p,
    kernelResponse(h, rst, 'tcp_v4_send_reset'),
  );
  return;
}

/** __udp4_lib_rcv (and sctp_rcv): a tunnel socket, a connected socket, a listener, else port unreachable. */
export function udpRcv(
  h: Host,
  skb: PathSkb,
  t: L4Of<'udp' | 'sctp'>,
  broadcast: boolean,
  sim: Sim,
): void {
  const p = skb.packet;
  const ttl = ttlOf(h);
  const tunnel = t.kind === 'udp' && !broadcast ? h.sockets.tunnel(t.dport) : undefined;
  if (tunnel) {
    step(sim, h, 'decap', `udp ${p.ip.dst}:${t.dport} is a ${tunnel.label} tunnel socket`, {
      packet: p,
    });
    tunnel.rcv(deviceContext(h, undefined, sim), p, skb.meta);
    return;
  }
  const conn = h.sockets.connection(t.kind, p.ip.dst, t.dport, p.ip.src, t.sport);
  if (conn) {
    deliver(sim, h, connectionRef(t.kind, conn), p);
    return;
  }
  const l = h.sockets.findListener(t.kind, p.ip.dst, t.dport);
  if (l) {
    deliver(
      sim,
      h,
      {
        proto: t.kind,
        local: p.ip.dst,
        lport: t.dport,
        state: 'LISTEN',
        ...(l.label ? { label: l.label } : {}),
      },
      p,
    );
    return;
  }
  if (t.kind === 'sctp') {
    drop(
      sim,
      h,
      'no-listener',
      `nothing listens on sctp ${p.ip.dst}:${t.dport} (SCTP ABORT not modelled)`,
      p,
    );
    return;
  }
  if (broadcast || isMulticastIp(p.ip.dst)) {
    drop(
      sim,
      h,
      'no-listener',
      `nothing listens on udp ${p.ip.dst}:${t.dport} (broadcast: no ICMP)`,
      p,
    );
    return;
  }
  const err = icmpError(p, ICMP.DEST_UNREACH, ICMP.PORT_UNREACH, p.ip.dst, ttl);
  drop(
    sim,
    h,
    'no-listener',
    `nothing listens on udp ${p.ip.dst}:${t.dport}; kernel answers ICMP port unreachable`,
    p,
    kernelResponse(h, err, 'icmp_send port unreachable'),
  );
  return;
}

/** icmp_rcv: echo answered by the kernel, echo replies and errors to the socket they belong to. */
export function icmpRcv(
  h: Host,
  skb: PathSkb,
  t: L4Of<'icmp'>,
  broadcast: boolean,
  sim: Sim,
): void {
  const p = skb.packet;
  const ttl = ttlOf(h);
  if (t.type === ICMP.ECHO) {
    if (
      h.sysctl.number('net.ipv4.icmp_echo_ignore_all') ||
      (broadcast && h.sysctl.number('net.ipv4.icmp_echo_ignore_broadcasts'))
    ) {
      drop(
        sim,
        h,
        'no-listener',
        `echo request ignored (icmp_echo_ignore_${broadcast ? 'broadcasts' : 'all'})`,
        p,
      );
      return;
    }
    // fib_compute_spec_dst: a unicast request is answered from the address it was sent to.
    const src = broadcast
      ? (h.selectAddress(skb.iif ?? 'lo', p.ip.src, RT_SCOPE.link) ?? p.ip.dst)
      : p.ip.dst;
    deliver(
      sim,
      h,
      {
        proto: 'icmp',
        local: p.ip.dst,
        lport: t.id ?? 0,
        state: 'LISTEN',
        label: 'kernel icmp_echo',
      },
      p,
      kernelResponse(h, icmpEchoReply(p, src, ttl), 'icmp_echo'),
    );
    return;
  }
  if (t.type === ICMP.ECHO_REPLY) {
    const c = t.id !== undefined ? h.sockets.findEcho(p.ip.dst, t.id) : undefined;
    if (c) {
      deliver(sim, h, connectionRef('icmp', c), p);
      return;
    }
    drop(sim, h, 'no-listener', `echo reply id ${t.id} matches no ping socket`, p);
    return;
  }
  const inner = t.inner;
  if (inner && (t.type === ICMP.DEST_UNREACH || t.type === ICMP.TIME_EXCEEDED)) {
    const il4 = inner.l4;
    const c =
      il4.kind === 'icmp'
        ? il4.id !== undefined
          ? h.sockets.findEcho(inner.ip.src, il4.id)
          : undefined
        : il4.kind === 'ipip'
          ? undefined // ipip_err (tunnel PMTU/redirect handling) is not modelled
          : h.sockets.connection(il4.kind, inner.ip.src, il4.sport, inner.ip.dst, il4.dport);
    if (c) {
      deliver(
        sim,
        h,
        {
          proto: c.proto,
          local: c.local,
          lport: c.lport,
          remote: c.remote,
          rport: c.rport,
          state: c.state,
          error: icmpErrno(t.type, t.code),
          ...(c.label ? { label: c.label } : {}),
        },
        p,
      );
      return;
    }
  }
  drop(sim, h, 'no-listener', `icmp type ${t.type} code ${t.code}: no socket it belongs to`, p);
  return;
}

/** Protocol 4: tunnel4_rcv when the ipip module registered it, else ICMP protocol unreachable. */
export function ipipRcv(
  h: Host,
  skb: PathSkb,
  t: L4Of<'ipip'>,
  broadcast: boolean,
  sim: Sim,
): void {
  const p = skb.packet;
  const ttl = ttlOf(h);
  // ip_protocol_deliver_rcu: protocol 4 goes to tunnel4_rcv when the
  // ipip module registered it (a host with tunl0), else ICMP protocol
  // unreachable (no raw socket is modelled).
  const handler = h.sockets.ipip();
  if (handler && !broadcast) {
    handler.rcv(deviceContext(h, undefined, sim), p, skb.meta);
    return;
  }
  if (broadcast) {
    // icmp_send never answers a broadcast (RTCF_BROADCAST).
    drop(sim, h, 'no-listener', `protocol 4 (IP-in-IP) to broadcast ${p.ip.dst}: no handler`, p);
    return;
  }
  const err = icmpError(p, ICMP.DEST_UNREACH, ICMP.PROT_UNREACH, p.ip.dst, ttl);
  drop(
    sim,
    h,
    'no-listener',
    `protocol 4 (IP-in-IP) to ${p.ip.dst}: no ipip module (no tunl0); kernel answers ICMP protocol unreachable`,
    p,
    kernelResponse(h, err, 'icmp_send protocol unreachable'),
  );
  return;
}

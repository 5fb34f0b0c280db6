/**
 * ip_forward (net/ipv4/ip_forward.c): net.ipv4.ip_forward, TTL, the path
 * MTU and DF, the FORWARD hook, then ip_output.
 */
import { withIp } from '../../wire/packet.js';
import { type OutRoute } from '../fib.js';
import type { Host } from '../host.js';
import { ICMP, packetLength } from '../socket.js';
import { runHook } from './nf-hook.js';
import { errorResponse, ipOutput } from './output.js';
import { drop, step, type PathSkb, type Sim } from './path.js';

/** ip_forward: PACKET_HOST, TTL, MTU, decrement, FORWARD, then ip_output. */
export function ipForward(h: Host, skb: PathSkb, rt: OutRoute, sim: Sim): void {
  const p = skb.packet;
  if (skb.pktType !== 'host') {
    drop(sim, h, 'not-for-us', `not forwarding a link-layer ${skb.pktType} frame`, p);
    return;
  }
  if (p.ip.ttl <= 1) {
    drop(
      sim,
      h,
      'ttl-exceeded',
      `ttl ${p.ip.ttl} at ${h.name}`,
      p,
      errorResponse(
        h,
        p,
        ICMP.TIME_EXCEEDED,
        0,
        false,
        'ip_forward: icmp_send time exceeded',
        undefined,
        skb.meta,
      ),
    );
    return;
  }
  const out = h.getLink(rt.dev);
  if (out && p.ip.df && packetLength(p) > out.mtu) {
    drop(
      sim,
      h,
      'frag-needed',
      `${packetLength(p)} bytes > mtu ${out.mtu} of ${out.name} with DF`,
      p,
      errorResponse(
        h,
        p,
        ICMP.DEST_UNREACH,
        ICMP.FRAG_NEEDED,
        false,
        'ip_forward: icmp_send frag needed',
        out.mtu,
        skb.meta,
      ),
    );
    return;
  }
  const fwd = withIp(p, { ttl: p.ip.ttl - 1 });
  step(sim, h, 'note', `forward: ttl ${p.ip.ttl} → ${p.ip.ttl - 1}`, { packet: fwd, before: p });
  const f = runHook(
    h,
    sim,
    { hook: 'FORWARD', inIface: skb.iif, outIface: rt.dev },
    { ...skb, packet: fwd },
  );
  if (!f) return;
  ipOutput(h, f.skb, rt, sim);
}

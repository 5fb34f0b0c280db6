/**
 * The IP-in-IP fallback device `tunl0` (net/ipv4/ipip.c, ip_tunnel.c), as
 * Calico's IPIP mode uses it: created with the ipip module, `ip tunnel show`
 * says `tunl0: any/ip remote any local any ttl inherit nopmtudisc`; IFF_NOARP;
 * MTU = the lower MTU − 20 (the outer IPv4 header).
 *
 * Transmit (ip_tunnel_xmit) of an inner packet routed `via <nodeIP> dev tunl0
 * onlink`: the outer destination is the route's gateway (tunnel remote
 * `any` ⇒ the next hop, `rt_nexthop`), the source is chosen by the outer
 * route lookup, protocol 4, TTL inherited from the inner packet (`ttl
 * inherit`), DF copied from the inner packet, TOS 0 plus the inner ECN bits.
 *
 * NOT MODELLED: carrying the outer packet. The kernel model's packet value
 * (wire/packet.ts Transport) has no protocol-4 payload kind, and adding one
 * touches every protocol switch of conntrack, netfilter and the tracer. So
 * the device records the ENCAP step with the outer header it would build and
 * then ends the packet as `unsupported`, saying so — never pretending the
 * packet arrived.
 */
import type { Ipv4 } from '../wire/addr.js';
import { describePacket, type Ipv4Packet } from '../wire/packet.js';
import { packetLength } from '../wire/index.js';
import type { Frame } from './frame.js';
import type { Host } from './host.js';
import type { DeviceDriver, Link } from './link.js';
import { routeOutput, type DeviceContext } from './stack.js';

/** The outer IPv4 header. */
export const IPIP_HEADROOM = 20;

export class IpipDriver implements DeviceDriver {
  readonly kind = 'ipip';
  readonly needsArp = false;

  constructor(readonly name: string) {}

  xmit(ctx: DeviceContext, frame: Frame): void {
    if (frame.payload.kind !== 'ipv4') {
      ctx.drop('unsupported', `${this.name}: only IPv4 rides IP-in-IP`);
      return;
    }
    const inner = frame.payload.packet;
    // The route's gateway: the stack resolved it as the next hop; tunl0 has no remote of its own.
    const h = ctx.host;
    const rt = routeOutput(h, { dst: inner.ip.dst });
    const remote: Ipv4 | undefined = rt.ok ? rt.rt.gateway : undefined;
    if (remote === undefined) {
      ctx.drop(
        'unsupported',
        `${this.name}: no remote for ${inner.ip.dst} (tunl0 needs a route via the remote node, onlink)`,
        inner,
      );
      return;
    }
    const outerRt = routeOutput(h, { dst: remote });
    const src = outerRt.ok ? outerRt.rt.src : undefined;
    const outer = {
      src: src ?? '0.0.0.0',
      dst: remote,
      protocol: 4,
      ttl: inner.ip.ttl,
      df: inner.ip.df,
      tos: inner.ip.tos & 0x3,
      totalLength: packetLength(inner) + IPIP_HEADROOM,
    };
    ctx.step(
      'encap',
      `${this.name}: ipip encap: outer ${outer.src} > ${outer.dst} proto 4 ttl ${outer.ttl}, inner ${describePacket(inner)}`,
      {
        packet: inner,
        detail: {
          device: this.name,
          outer: { ip: outer },
          inner: { packet: describePacket(inner) },
        },
      },
    );
    ctx.drop(
      'unsupported',
      `${this.name}: IP-in-IP transport is not modelled (the packet model has no protocol-4 payload); the outer packet ${outer.src} > ${outer.dst} is not carried`,
      inner,
    );
  }
}

/** The `tunl0` fallback device the ipip module creates, MTU lower − 20. */
export function addIpipFallback(h: Host, opts: { mtu?: number; lowerMtu?: number } = {}): Link {
  return h.link.addDevice('tunl0', new IpipDriver('tunl0'), {
    mtu: opts.mtu ?? (opts.lowerMtu ?? 1500) - IPIP_HEADROOM,
    mac: '00:00:00:00:00:00',
  });
}

export function isIpip(link: Link | undefined): boolean {
  return link?.driver instanceof IpipDriver;
}

export type { Ipv4Packet };

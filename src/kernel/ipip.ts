/**
 * The IP-in-IP fallback device `tunl0` (net/ipv4/ipip.c, ip_tunnel.c), as
 * Calico's IPIP mode uses it: created when the ipip module loads (ipip_fb_tunnel_init),
 * `ip tunnel show` says `tunl0: any/ip remote any local any ttl inherit nopmtudisc`;
 * IFF_NOARP; MTU = the lower MTU − 20 (the outer IPv4 header).
 *
 * Transmit (ipip_tunnel_xmit → ip_tunnel_xmit → iptunnel_xmit) of an inner
 * packet routed `via <nodeIP> dev tunl0 onlink`:
 *
 *   dst   tunl0 has no remote (daddr 0), so `dst = rt_nexthop(skb_rtable(skb),
 *         inner daddr)`: the inner route's gateway, or the inner destination
 *         for a route without one.
 *   src   tunl0 has no local: ip_route_output_key picks it (the outer route's
 *         prefsrc, else inet_select_addr on its device). The outer lookup uses
 *         the tunnel's fwmark (0), not the skb's mark.
 *   loop  an outer route whose device is tunl0 itself is a routing loop
 *         (`rt->dst.dev == dev` → collisions++, tx_error): dropped.
 *   TTL   `ttl inherit` (parms.iph.ttl 0): the inner packet's TTL (already
 *         decremented when the node forwarded it).
 *   TOS   parms.iph.tos 0, plus the inner ECN bits (ip_tunnel_ecn_encap →
 *         INET_ECN_encapsulate: CE becomes ECT(0)).
 *   DF    `nopmtudisc` (parms.iph.frag_off 0), so DF is the inner's DF
 *         (`df |= inner_iph->frag_off & IP_DF`).
 *   id    __ip_select_ident: a keyed hash a real kernel cannot predict; the
 *         twin uses FNV-1a of the outer addresses and the inner packet.
 *
 * The outer packet (protocol 4) then goes through the host's own routing
 * (ip_local_out: OUTPUT and POSTROUTING see it), keeps the skb mark and loses
 * its conntrack reference (skb_scrub_packet in one namespace, nf_reset_ct).
 *
 * Receive (tunnel4_rcv → ipip_rcv → ip_tunnel_rcv): a protocol-4 packet
 * delivered locally (after INPUT) is matched to a tunnel by
 * ip_tunnel_lookup; with only tunl0 that is the fallback device when it is up.
 * Its outer header is pulled, ECN decapsulated (IP_ECN_decapsulate), and the
 * inner packet received on tunl0 (gro_cells_receive), so PREROUTING, rp_filter
 * and the FORWARD chain see `-i tunl0`. tunl0 down ⇒ no tunnel takes it and
 * tunnel4_rcv answers ICMP port unreachable.
 *
 * Not modelled: tunnels other than the fallback device (`ip tunnel add … mode
 * ipip remote …`), ipip_err (PMTU updates from ICMP errors about the outer
 * packet), tnl_update_pmtu against the underlay path (the tunl0 MTU itself is
 * enforced on the inner packet by ip_finish_output like any device's). The
 * outer route for a forwarded inner packet is looked up again here (by
 * destination and mark) rather than taken from the skb's dst, which only
 * differs under policy routing by input interface.
 */
import type { Ipv4 } from '../wire/addr.js';
import { describePacket, type Ipv4Packet } from '../wire/packet.js';
import { ZERO_MAC } from '../wire/ethernet.js';
import { packetLength } from '../wire/index.js';
import { ipv4Frame, type Frame } from './frame.js';
import { FRESH_META, type SkbMeta } from './hooks.js';
import type { Host } from './host.js';
import type { DeviceContext, DeviceDriver, Link } from './link.js';
import { ecnEncap, fnv1a, outerIpHeader, tunnelStep, type OuterIpHeader } from './tunnel.js';

/** The outer IPv4 header. */
export const IPIP_HEADROOM = 20;

/** The JSON detail of ipip ENCAP and DECAP steps: every outer header field and the inner packet. */
export interface IpipHeaders {
  readonly device: string;
  readonly outer: { readonly ip: OuterIpHeader<4> };
  readonly inner: {
    readonly packet: string;
    readonly ip: {
      readonly src: Ipv4;
      readonly dst: Ipv4;
      readonly ttl: number;
      readonly tos: number;
      readonly df: boolean;
      readonly totalLength: number;
    };
  };
  /** Where the outer destination came from. */
  readonly nexthop?: string;
}

export class IpipDriver implements DeviceDriver {
  readonly kind = 'ipip';
  readonly needsArp = false;

  constructor(readonly name: string) {}

  /** ipip_tunnel_xmit → ip_tunnel_xmit. */
  xmit(ctx: DeviceContext, frame: Frame, meta: SkbMeta): void {
    if (frame.payload.kind !== 'ipv4') {
      ctx.drop('unsupported', `${this.name}: only IPv4 rides IP-in-IP`);
      return;
    }
    const inner = frame.payload.packet;
    // rt_nexthop(skb_rtable(skb), inner daddr): the inner route's gateway, else the destination.
    const rt = ctx.routeOutput({ dst: inner.ip.dst, mark: meta.mark });
    if (!rt.ok || rt.rt.dev !== this.name) {
      ctx.drop(
        'unsupported',
        `${this.name}: the inner route to ${inner.ip.dst} does not lead to ${this.name} (no skb dst to take the next hop from)`,
        inner,
      );
      return;
    }
    const remote: Ipv4 = rt.rt.gateway ?? inner.ip.dst;
    // ip_tunnel_init_flow with tunnel->fwmark (0) and no saddr: the outer route picks the source.
    const outerRt = ctx.routeOutput({ dst: remote });
    if (!outerRt.ok) {
      ctx.drop(
        'no-route',
        `${this.name}: no route to the tunnel remote ${remote} (ip_tunnel_xmit: tx_carrier_errors)`,
        inner,
      );
      return;
    }
    if (outerRt.rt.dev === this.name) {
      ctx.drop(
        'unsupported',
        `${this.name}: the route to the outer destination ${remote} leads back into ${this.name} (ip_tunnel_xmit: routing loop, collisions++)`,
        inner,
      );
      return;
    }
    const src = outerRt.rt.src ?? '0.0.0.0';
    const outer: Ipv4Packet = {
      ip: {
        src,
        dst: remote,
        ttl: inner.ip.ttl,
        id: fnv1a(`${src}>${remote}/${describePacket(inner)}`) & 0xffff,
        df: inner.ip.df,
        tos: ecnEncap(inner.ip.tos),
      },
      l4: { kind: 'ipip', inner },
      payloadLength: packetLength(inner),
    };
    const via =
      rt.rt.gateway !== undefined
        ? `via ${remote}`
        : `${remote} (no gateway: the inner destination)`;
    tunnelStep(
      ctx,
      'encap',
      `${this.name}: ipip encap: ${via} → outer ${src} > ${remote} proto 4 ttl ${outer.ip.ttl}${outer.ip.df ? ' DF' : ''}, inner ${describePacket(inner)}`,
      outer,
      inner,
      {
        hook: 'ndo_start_xmit',
        from: `${inner.ip.src} > ${inner.ip.dst}`,
        to: `${src} > ${remote}`,
        by: `${this.name} ipip`,
      },
      ipipHeaders(this.name, outer, via),
    );
    // iptunnel_xmit: skb_scrub_packet (same namespace: mark kept, conntrack reset), ip_local_out.
    ctx.send(outer, { meta: { mark: meta.mark } });
  }
}

/** The structured view of an IP-in-IP packet (outer header + inner packet) for step details. */
export function ipipHeaders(device: string, outer: Ipv4Packet, nexthop?: string): IpipHeaders {
  if (outer.l4.kind !== 'ipip') throw new RangeError('not an IP-in-IP packet');
  const inner = outer.l4.inner;
  return {
    device,
    outer: { ip: outerIpHeader(outer, 4) },
    inner: {
      packet: describePacket(inner),
      ip: {
        src: inner.ip.src,
        dst: inner.ip.dst,
        ttl: inner.ip.ttl,
        tos: inner.ip.tos,
        df: inner.ip.df,
        totalLength: packetLength(inner),
      },
    },
    ...(nexthop !== undefined ? { nexthop } : {}),
  };
}

/**
 * IP_ECN_decapsulate → __INET_ECN_decapsulate: outer CE over a not-ECT inner
 * packet is dropped; outer CE marks the inner CE; outer ECT(1) over inner
 * ECT(0) makes it ECT(1). Returns the inner TOS, or undefined to drop.
 */
export function ecnDecap(outerTos: number, innerTos: number): number | undefined {
  const outer = outerTos & 0x3;
  const inner = innerTos & 0x3;
  if (inner === 0) return outer === 0x3 ? undefined : innerTos;
  if (outer === 0x3) return innerTos | 0x3;
  if (outer === 0x1 && inner === 0x2) return (innerTos & ~0x3) | 0x1;
  return innerTos;
}

/** tunnel4_rcv → ipip_rcv → ip_tunnel_rcv on the fallback device. */
function ipipRcv(ctx: DeviceContext, dev: string, packet: Ipv4Packet, meta: SkbMeta): void {
  const l4 = packet.l4;
  if (l4.kind !== 'ipip') {
    ctx.drop('unsupported', `protocol 4 handler got ${describePacket(packet)}`, packet);
    return;
  }
  const link = ctx.getLink(dev);
  if (!link || !link.adminUp) {
    // ip_tunnel_lookup finds no tunnel (the fallback one counts only when up);
    // tunnel4_rcv: icmp_send(ICMP_DEST_UNREACH, ICMP_PORT_UNREACH).
    ctx.drop(
      'no-listener',
      `ipip ${packet.ip.src} > ${packet.ip.dst}: ${dev} is down, no tunnel takes it (tunnel4_rcv answers ICMP port unreachable, not modelled as a reply)`,
      packet,
    );
    return;
  }
  const tos = ecnDecap(packet.ip.tos, l4.inner.ip.tos);
  if (tos === undefined) {
    ctx.drop(
      'unsupported',
      `${dev}: outer CE over a not-ECT inner packet (IP_ECN_decapsulate: rx_frame_errors, dropped)`,
      packet,
    );
    return;
  }
  const inner = tos === l4.inner.ip.tos ? l4.inner : { ...l4.inner, ip: { ...l4.inner.ip, tos } };
  tunnelStep(
    ctx,
    'decap',
    `${dev}: ipip decap: outer ${packet.ip.src} > ${packet.ip.dst} proto 4 removed, inner ${describePacket(inner)} received on ${dev}`,
    inner,
    packet,
    {
      hook: 'ipip_rcv',
      from: `${packet.ip.src} > ${packet.ip.dst}`,
      to: `${inner.ip.src} > ${inner.ip.dst}`,
      by: `${dev} ipip`,
    },
    ipipHeaders(dev, packet),
  );
  // skb_scrub_packet (same namespace): conntrack dropped, mark kept.
  ctx.receive(dev, ipv4Frame(ZERO_MAC, ZERO_MAC, inner), { ...FRESH_META, mark: meta.mark });
}

/**
 * Loading the ipip module: the `tunl0` fallback device (MTU lower − 20, down
 * until set up) and the protocol-4 handler (xfrm4_tunnel_register).
 */
export function addIpipFallback(h: Host, opts: { mtu?: number; lowerMtu?: number } = {}): Link {
  const link = h.link.addDevice('tunl0', new IpipDriver('tunl0'), {
    mtu: opts.mtu ?? (opts.lowerMtu ?? 1500) - IPIP_HEADROOM,
    mac: ZERO_MAC,
  });
  h.sockets.setIpipHandler({
    label: 'ipip',
    rcv: (ctx, packet, meta) => ipipRcv(ctx, 'tunl0', packet, meta),
  });
  return link;
}

export function isIpip(link: Link | undefined): boolean {
  return link?.driver instanceof IpipDriver;
}

/** `ip -d link show` details of tunl0 (what `ip tunnel show` reports for the fallback device). */
export function ipipDetails(link: Link): string | undefined {
  if (!isIpip(link)) return undefined;
  return 'ipip any remote any local any ttl inherit nopmtudisc';
}

export type { Ipv4Packet };

/**
 * What the IP-in-IP (ipip.ts) and VXLAN (vxlan.ts) devices share. Both build
 * an outer IPv4 header around the inner packet the way the ip_tunnel helpers
 * do (net/ipv4/ip_tunnel_core.c: iptunnel_xmit, ip_tunnel_ecn_encap), and both
 * record their ENCAP and DECAP steps with the same detail keys.
 */
import type { Ipv4 } from '../wire/addr.js';
import type { Ipv4Packet } from '../wire/packet.js';
import { packetLength } from '../wire/index.js';
import type { DeviceContext } from './link.js';

/** The outer IPv4 header as ENCAP and DECAP step details show it. */
export interface OuterIpHeader<P extends number> {
  readonly src: Ipv4;
  readonly dst: Ipv4;
  readonly ttl: number;
  readonly tos: number;
  readonly df: boolean;
  readonly id: number;
  readonly protocol: P;
  readonly totalLength: number;
}

export function outerIpHeader<P extends number>(outer: Ipv4Packet, protocol: P): OuterIpHeader<P> {
  return {
    src: outer.ip.src,
    dst: outer.ip.dst,
    ttl: outer.ip.ttl,
    tos: outer.ip.tos,
    df: outer.ip.df,
    id: outer.ip.id,
    protocol,
    totalLength: packetLength(outer),
  };
}

/** INET_ECN_encapsulate with tos 0: the outer gets the inner's ECN bits (CE becomes ECT(0)). */
export function ecnEncap(innerTos: number): number {
  const ecn = innerTos & 0x3;
  return ecn === 0x3 ? 0x2 : ecn;
}

/**
 * FNV-1a (32-bit): the twin's stand-in for the kernel's keyed hashes
 * (ip_select_ident, the skb flow hash), which a real kernel cannot predict.
 */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Where a tunnel step's rewrite happens and what it rewrites, for its detail. */
export interface TunnelRewrite {
  readonly hook: string;
  readonly from: string;
  readonly to: string;
  readonly by: string;
}

/**
 * Record a tunnel's ENCAP (`kind` encap) or DECAP step: `packet` is what the
 * step leaves, `before` what it took; the detail is the rewrite followed by the
 * device's own header view.
 */
export function tunnelStep(
  ctx: DeviceContext,
  kind: 'encap' | 'decap',
  summary: string,
  packet: Ipv4Packet,
  before: Ipv4Packet,
  rewrite: TunnelRewrite,
  headers: object,
): void {
  ctx.step(kind, summary, {
    packet,
    before,
    detail: {
      rewrite: kind === 'encap' ? 'ENCAP' : 'DECAP',
      hook: rewrite.hook,
      field: 'src+dst',
      from: rewrite.from,
      to: rewrite.to,
      by: rewrite.by,
      ...headers,
    },
  });
}

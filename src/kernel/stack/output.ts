/**
 * Local output: a socket sends (`localSend`: ip_route_output, OUTPUT and
 * its re-route), then ip_output (POSTROUTING) and ip_finish_output (MTU,
 * fragmentation needed) hand the packet to the neighbour layer; the ICMP
 * errors a local packet earns go back to its own socket.
 */
import type { Ipv4 } from '../../wire/addr.js';
import { ZERO_MAC } from '../../wire/ethernet.js';
import { describePacket, withIp, type Ipv4Packet } from '../../wire/packet.js';
import type { Response } from '../fate.js';
import { formatRoute, tableName, type OutRoute, type PolicyRule } from '../fib.js';
import { ipv4Frame } from '../frame.js';
import { FRESH_META, type SkbMeta } from '../hooks.js';
import type { Host } from '../host.js';
import { type SendOptions } from '../link.js';
import { ICMP, icmpError, packetLength } from '../socket.js';
import { neighOutput } from './arp.js';
import { devXmit } from './device.js';
import { relatedMeta, runHook } from './nf-hook.js';
import { drop, step, ttlOf, type PathSkb, type Sim } from './path.js';
import type { RouteDetail } from '../step.js';
import { routeOutput } from './route.js';

/** A process sends `packet` (src 0.0.0.0 = let routing choose): ip_route_output → OUTPUT → ip_output. */
export function localSend(h: Host, packet: Ipv4Packet, opts: SendOptions, sim: Sim): void {
  const wantSrc = packet.ip.src === '0.0.0.0' ? undefined : packet.ip.src;
  const ro = routeOutput(h, {
    dst: packet.ip.dst,
    src: wantSrc,
    oif: opts.oif,
    mark: opts.mark ?? opts.meta?.mark ?? 0,
    tos: packet.ip.tos,
    anySource: opts.anySource,
  });
  if (!ro.ok) {
    step(sim, h, 'route', `route output ${packet.ip.dst}: ${ro.explain}`, {
      packet,
      detail: { direction: 'output', errno: ro.errno },
    });
    drop(sim, h, ro.reason, `${ro.explain} (${ro.errno} to the sending socket)`, packet);
    return;
  }
  const src = wantSrc ?? ro.rt.src;
  if (src === undefined) {
    drop(
      sim,
      h,
      'source-not-local',
      `no address to send from on ${ro.rt.dev} (EADDRNOTAVAIL)`,
      packet,
    );
    return;
  }
  const p = withIp(packet, { src });
  step(
    sim,
    h,
    'route',
    `route output ${p.ip.dst}: ${ro.explain} → dev ${ro.rt.dev} src ${src}${ro.rt.gateway ? ` via ${ro.rt.gateway}` : ''}`,
    {
      packet: p,
      detail: routeDetail('output', ro.rt, ro.rule),
    },
  );
  if (opts.socket ?? isOpening(p)) registerSender(h, p, opts.label);
  let skb: PathSkb = {
    packet: p,
    meta: opts.meta ?? { mark: opts.mark ?? 0 },
    pktType: 'host',
    local: true,
  };
  const out = runHook(h, sim, { hook: 'OUTPUT', outIface: ro.rt.dev }, skb);
  if (!out) return;
  skb = out.skb;
  let rt = ro.rt;
  if (
    out.reroute ||
    skb.packet.ip.dst !== p.ip.dst ||
    skb.meta.mark !== (opts.meta?.mark ?? opts.mark ?? 0)
  ) {
    // ip_route_me_harder: a new route for the new destination, the source chosen earlier is kept.
    const rr = routeOutput(h, {
      dst: skb.packet.ip.dst,
      src: skb.packet.ip.src,
      oif: opts.oif,
      mark: skb.meta.mark,
      tos: skb.packet.ip.tos,
      anySource: true,
    });
    if (!rr.ok) {
      step(sim, h, 'route', `reroute ${skb.packet.ip.dst} after OUTPUT: ${rr.explain}`, {
        packet: skb.packet,
      });
      drop(sim, h, rr.reason, rr.explain, skb.packet);
      return;
    }
    rt = rr.rt;
    step(
      sim,
      h,
      'route',
      `reroute ${skb.packet.ip.dst} after OUTPUT (ip_route_me_harder, source ${skb.packet.ip.src} kept): ${rr.explain} → dev ${rt.dev}${rt.gateway ? ` via ${rt.gateway}` : ''}`,
      {
        packet: skb.packet,
        detail: routeDetail('reroute', rt, rr.rule),
      },
    );
  }
  ipOutput(h, skb, rt, sim);
}

export function routeDetail(
  direction: RouteDetail['direction'],
  rt: OutRoute,
  rule?: PolicyRule,
): RouteDetail {
  const d: { -readonly [K in keyof RouteDetail]: RouteDetail[K] } = {
    direction,
    type: rt.type,
    dev: rt.dev,
  };
  if (rt.gateway) d.gateway = rt.gateway;
  if (rt.src) d.src = rt.src;
  if (rt.route) {
    d.route = formatRoute(rt.route);
    d.table = tableName(rt.route.table);
  }
  if (rule) d.rule = rule.priority;
  return d;
}

export function isOpening(p: Ipv4Packet): boolean {
  const t = p.l4;
  if (t.kind === 'tcp') return t.flags.syn && !t.flags.ack;
  if (t.kind === 'udp' || t.kind === 'sctp') return true;
  if (t.kind === 'ipip') return false;
  return t.type === ICMP.ECHO;
}

export function registerSender(h: Host, p: Ipv4Packet, label?: string): void {
  const t = p.l4;
  const common = { local: p.ip.src, remote: p.ip.dst, ...(label ? { label } : {}) };
  // An IP-in-IP packet comes from a tunnel device, not a socket.
  if (t.kind === 'ipip') return;
  if (t.kind === 'icmp') {
    if (t.id !== undefined)
      h.sockets.addConnection({
        proto: 'icmp',
        lport: t.id,
        rport: t.id,
        state: 'OPEN',
        ...common,
      });
    return;
  }
  h.sockets.addConnection({
    proto: t.kind,
    lport: t.sport,
    rport: t.dport,
    state: t.kind === 'tcp' ? 'SYN_SENT' : 'OPEN',
    ...common,
  });
}

/** ip_output: POSTROUTING, then ip_finish_output. */
export function ipOutput(h: Host, skb: PathSkb, rt: OutRoute, sim: Sim): void {
  const nexthop = rt.gateway ?? skb.packet.ip.dst;
  const post = runHook(h, sim, { hook: 'POSTROUTING', outIface: rt.dev, nexthop }, skb);
  if (!post) return;
  ipFinishOutput(h, post.skb, rt, sim);
}

/** ip_finish_output: MTU, then the neighbour, then the device. */
export function ipFinishOutput(h: Host, skb: PathSkb, rt: OutRoute, sim: Sim): void {
  const link = h.getLink(rt.dev);
  const p = skb.packet;
  if (!link || !link.adminUp) {
    drop(sim, h, 'link-down', `${rt.dev} is down`, p);
    return;
  }
  const len = packetLength(p);
  if (len > link.mtu) {
    if (p.ip.df) {
      const err = icmpError(p, ICMP.DEST_UNREACH, ICMP.FRAG_NEEDED, p.ip.src, ttlOf(h), link.mtu);
      drop(
        sim,
        h,
        'frag-needed',
        `${len} bytes > mtu ${link.mtu} of ${link.name} with DF (EMSGSIZE)`,
        p,
        err
          ? {
              host: h.name,
              packet: err,
              meta: FRESH_META,
              by: 'ip_fragment: icmp_send frag needed',
            }
          : undefined,
      );
      return;
    }
    step(
      sim,
      h,
      'note',
      `${len} bytes > mtu ${link.mtu} of ${link.name}: the kernel fragments it (fragments not modelled; carried whole)`,
      { packet: p },
    );
  }
  if (rt.type === 'local' || link.isLoopback) {
    step(sim, h, 'transmit', `${link.name}: tx ${describePacket(p)} (loopback)`, { packet: p });
    sim.enqueue({
      host: h.name,
      dev: link.name,
      frame: ipv4Frame(ZERO_MAC, ZERO_MAC, p),
      meta: skb.meta,
      kept: rt,
    });
    return;
  }
  const nexthop = rt.gateway ?? p.ip.dst;
  neighOutput(h, link, nexthop, rt.type === 'broadcast', p, sim, {
    send: (mac) => devXmit(h, link, ipv4Frame(link.mac, mac, p), skb.meta, sim),
    fail: () => {
      const resp = skb.local
        ? undefined
        : errorResponse(
            h,
            p,
            ICMP.DEST_UNREACH,
            ICMP.HOST_UNREACH,
            false,
            'arp_error_report: icmp_send host unreachable',
            undefined,
            skb.meta,
          );
      drop(
        sim,
        h,
        'arp-failed',
        `no ARP answer for ${nexthop} on ${link.name}${skb.local ? ' (EHOSTUNREACH to the socket)' : ''}`,
        p,
        resp,
      );
    },
  });
}

/**
 * icmp_send: the error about `p`, with its source chosen as the kernel does;
 * it carries `p`'s conntrack entry as RELATED (icmp_glue_bits → nf_ct_attach).
 */
export function errorResponse(
  h: Host,
  p: Ipv4Packet,
  type: number,
  code: number,
  toLocal: boolean,
  by: string,
  mtu?: number,
  meta?: SkbMeta,
): Response | undefined {
  let src: Ipv4 | undefined;
  if (toLocal) src = p.ip.dst;
  else {
    const back = routeOutput(h, { dst: p.ip.src });
    src = back.ok ? back.rt.src : undefined;
  }
  if (src === undefined) return undefined;
  const err = icmpError(p, type, code, src, ttlOf(h), mtu);
  return err ? { host: h.name, packet: err, meta: relatedMeta(h, meta), by } : undefined;
}

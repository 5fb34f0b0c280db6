/**
 * Receive: a frame arrives on a device (`linkReceive`), a bridge port hands
 * it to the bridge, __netif_receive_skb sorts ARP from IPv4, and ip_rcv runs
 * PREROUTING and the input route that sends it to local delivery or to
 * forwarding.
 */
import { describePacket } from '../../wire/packet.js';
import { describeFrame, type Frame } from '../frame.js';
import { type SkbMeta } from '../hooks.js';
import type { Host } from '../host.js';
import { type Link } from '../link.js';
import { ICMP } from '../socket.js';
import { arpRcv } from './arp.js';
import { bridgeRx } from './bridge.js';
import { localDeliver } from './deliver.js';
import { ipForward } from './forward.js';
import { runHook } from './nf-hook.js';
import { errorResponse, routeDetail } from './output.js';
import {
  drop,
  macOfPktType,
  step,
  type Delivery,
  type NetifOptions,
  type PathSkb,
  type Sim,
} from './path.js';
import { routeInput } from './route.js';

/** A frame arrives on `dev` (the network's delivery). */
export function linkReceive(h: Host, d: Delivery, sim: Sim): void {
  const link = h.getLink(d.dev);
  if (!link) {
    drop(sim, h, 'unsupported', `no device ${d.dev}`);
    return;
  }
  if (!link.adminUp) {
    drop(
      sim,
      h,
      'link-down',
      `${link.name} is down`,
      d.frame.payload.kind === 'ipv4' ? d.frame.payload.packet : undefined,
    );
    return;
  }
  const p = d.frame.payload;
  step(
    sim,
    h,
    'receive',
    `${link.name}: rx ${p.kind === 'ipv4' ? `${describePacket(p.packet)} (${d.frame.src} > ${d.frame.dst})` : describeFrame(d.frame)}`,
    {
      ...(p.kind === 'ipv4' ? { packet: p.packet } : {}),
      detail: { dev: link.name, src: d.frame.src, dst: d.frame.dst },
    },
  );
  if (link.master) {
    const br = h.getLink(link.master);
    if (br) {
      bridgeRx(h, link, br, d.frame, d.meta, sim);
      return;
    }
  }
  netifReceive(h, link, d.frame, d.meta, sim, { ...(d.kept ? { kept: d.kept } : {}) });
}

export function netifReceive(
  h: Host,
  link: Link,
  frame: Frame,
  meta: SkbMeta,
  sim: Sim,
  o: NetifOptions,
): void {
  // Layer-3 (NOARP) devices have no link-layer addressing: everything on them is for us.
  const pktType = o.pktType ?? (link.noArp ? 'host' : macOfPktType(frame.dst, link.mac));
  const p = frame.payload;
  if (p.kind === 'arp') {
    arpRcv(h, link, frame, p, pktType, sim);
    return;
  }
  ipRcv(
    h,
    link,
    {
      packet: p.packet,
      meta,
      iif: link.name,
      pktType,
      ...(o.prerouted ? { prerouted: true } : {}),
      ...(o.kept ? { kept: o.kept } : {}),
    },
    sim,
  );
}

/** ip_rcv → PREROUTING → ip_rcv_finish (route input) → local deliver or forward. */
export function ipRcv(h: Host, link: Link, skb: PathSkb, sim: Sim): void {
  if (skb.pktType === 'otherhost') {
    drop(
      sim,
      h,
      'not-for-us',
      `${link.name}: frame not addressed to this host (PACKET_OTHERHOST)`,
      skb.packet,
    );
    return;
  }
  const before = skb.packet;
  if (!skb.prerouted) {
    const pre = runHook(h, sim, { hook: 'PREROUTING', inIface: link.name }, skb);
    if (!pre) return;
    skb = pre.skb;
  } else {
    step(
      sim,
      h,
      'note',
      `PREROUTING already ran in the bridge path (br_netfilter); ip_sabotage_in skips it`,
      { packet: skb.packet },
    );
  }
  const p = skb.packet;
  if (skb.kept && p.ip.dst === before.ip.dst) {
    // Loopback: the output route travels with the skb.
    localDeliver(h, skb, 'local', sim);
    return;
  }
  const ri = routeInput(h, {
    dst: p.ip.dst,
    src: p.ip.src,
    iif: link.name,
    mark: skb.meta.mark,
    tos: p.ip.tos,
  });
  step(
    sim,
    h,
    'route',
    `route input ${p.ip.dst} from ${p.ip.src} iif ${link.name}: ${ri.explain}`,
    {
      packet: p,
      detail: {
        direction: 'input',
        result: ri.kind,
        ...(ri.kind === 'forward' ? routeDetail('input', ri.rt) : {}),
      },
    },
  );
  switch (ri.kind) {
    case 'local':
    case 'broadcast':
      localDeliver(h, skb, ri.kind, sim);
      return;
    case 'forward':
      if (ri.redirect)
        step(
          sim,
          h,
          'note',
          `out the device it came in on: the kernel also sends an ICMP redirect to ${p.ip.src} (not modelled)`,
        );
      ipForward(h, skb, ri.rt, sim);
      return;
    case 'error': {
      const resp =
        ri.icmpCode !== undefined
          ? errorResponse(
              h,
              p,
              ICMP.DEST_UNREACH,
              ri.icmpCode,
              false,
              `ip_error: icmp_send unreachable code ${ri.icmpCode}`,
            )
          : undefined;
      drop(sim, h, ri.reason, ri.explain, p, resp);
      return;
    }
  }
}

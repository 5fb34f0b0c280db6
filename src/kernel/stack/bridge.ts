/**
 * The Linux bridge (net/bridge/): br_handle_frame on a port, the forwarding
 * database (FDB: learning, ageing, lookup, flooding), br_netfilter's
 * PREROUTING/FORWARD/POSTROUTING for bridged IPv4 when
 * bridge-nf-call-iptables is on, and frames the bridge device itself sends.
 */
import { BROADCAST_MAC, isMulticastMac, type Mac } from '../../wire/ethernet.js';
import { describePacket, type Ipv4Packet } from '../../wire/packet.js';
import { describeFrame, type Frame } from '../frame.js';
import { type SkbMeta } from '../hooks.js';
import type { Host } from '../host.js';
import { type Link } from '../link.js';
import { neighOutput } from './arp.js';
import { devXmit } from './device.js';
import { runHook } from './nf-hook.js';
import { drop, step, upcalls, type PathSkb, type Sim } from './path.js';
import { routeInput, routeOutput } from './route.js';

export function brNetfilterOn(h: Host, br: Link): boolean {
  return h.sysctl.bridgeNfCallIptables() || br.bridge!.nfCallIptables;
}

export function fdbFind(
  h: Host,
  br: Link,
  mac: Mac,
  now: number,
): { port: string | undefined; local: boolean } | undefined {
  const b = br.bridge!;
  const e = b.fdb.get(mac);
  if (!e) return undefined;
  if (!e.permanent && now - e.updated > b.ageingTime) {
    b.fdb.delete(mac);
    return undefined;
  }
  return { port: e.port, local: e.local };
}

/** br_fdb_update from br_handle_frame_finish: learn the source MAC on the ingress port. */
export function brLearn(h: Host, port: Link, br: Link, frame: Frame, sim: Sim): void {
  const b = br.bridge!;
  const now = sim.now();
  if (port.port?.learning && !isMulticastMac(frame.src)) {
    const e = b.fdb.get(frame.src);
    if (!e) {
      b.fdb.set(frame.src, {
        mac: frame.src,
        port: port.name,
        local: false,
        permanent: false,
        updated: now,
        seq: b.fdbSeq++,
      });
      step(sim, h, 'bridge', `${br.name}: learned ${frame.src} on ${port.name}`, {
        detail: { bridge: br.name, mac: frame.src, port: port.name, action: 'learn' },
      });
    } else if (!e.local) {
      if (e.port !== port.name) {
        step(sim, h, 'bridge', `${br.name}: ${frame.src} moved ${e.port} → ${port.name}`, {
          detail: { bridge: br.name, mac: frame.src, port: port.name, action: 'move' },
        });
        e.port = port.name;
      }
      e.updated = now;
    }
  }
}

/** br_handle_frame: br_netfilter PREROUTING (with the DNAT decision), then br_handle_frame_finish (which learns). */
export function bridgeRx(
  h: Host,
  port: Link,
  br: Link,
  frame: Frame,
  meta: SkbMeta,
  sim: Sim,
): void {
  const pkt = frame.payload.kind === 'ipv4' ? frame.payload.packet : undefined;
  if (!br.adminUp) {
    drop(sim, h, 'link-down', `bridge ${br.name} is down (port ${port.name} disabled)`, pkt);
    return;
  }
  if (pkt && brNetfilterOn(h, br)) {
    // br_nf_pre_routing: the IPv4 PREROUTING chain list, skb->dev = the bridge, physdev = the port.
    const skb: PathSkb = { packet: pkt, meta, iif: br.name, pktType: 'host' };
    const pre = runHook(
      h,
      sim,
      { hook: 'PREROUTING', inIface: br.name, bridge: { physIn: port.name } },
      skb,
    );
    if (!pre) return;
    const np = pre.skb.packet;
    const nmeta = pre.skb.meta;
    if (np.ip.dst !== pkt.ip.dst) {
      brNfDnat(h, port, br, { ...frame, payload: { kind: 'ipv4', packet: np } }, nmeta, sim);
      return;
    }
    bridgeFinish(
      h,
      port,
      br,
      { ...frame, payload: { kind: 'ipv4', packet: np } },
      nmeta,
      sim,
      true,
    );
    return;
  }
  bridgeFinish(h, port, br, frame, meta, sim, false);
}

/**
 * br_nf_pre_routing_finish after DNAT: route the new destination; via the
 * same bridge → "bridged DNAT" (destination MAC from the neighbour table, the
 * frame stays on L2); elsewhere or local → the frame goes up to the bridge
 * device with its MAC and the IP stack routes it.
 */
export function brNfDnat(
  h: Host,
  port: Link,
  br: Link,
  frame: Frame,
  meta: SkbMeta,
  sim: Sim,
): void {
  const p = (frame.payload as { packet: Ipv4Packet }).packet;
  const ri = routeInput(h, {
    dst: p.ip.dst,
    src: p.ip.src,
    iif: br.name,
    mark: meta.mark,
    tos: p.ip.tos,
  });
  let bridged = ri.kind === 'forward' && ri.rt.dev === br.name;
  if (!bridged && ri.kind === 'error' && ri.reason === 'ip-forward-disabled') {
    // "Bridged-and-DNAT'ed traffic doesn't require ip_forwarding."
    const ro = routeOutput(h, { dst: p.ip.dst });
    bridged = ro.ok && ro.rt.dev === br.name;
  }
  if (bridged) {
    step(
      sim,
      h,
      'bridge',
      `${br.name}: DNAT to ${p.ip.dst} stays on the bridge (bridged DNAT): ${ri.explain}`,
      { packet: p, detail: { bridge: br.name, action: 'bridged-dnat' } },
    );
    const gw = ri.kind === 'forward' ? (ri.rt.gateway ?? p.ip.dst) : p.ip.dst;
    neighOutput(h, br, gw, false, p, sim, {
      send: (mac) => bridgeFinish(h, port, br, { ...frame, dst: mac }, meta, sim, true),
      fail: () =>
        drop(sim, h, 'arp-failed', `no ARP answer for ${gw} on ${br.name} (bridged DNAT)`, p),
    });
    return;
  }
  if (ri.kind === 'error') {
    step(
      sim,
      h,
      'route',
      `route input ${p.ip.dst} from ${p.ip.src} iif ${br.name}: ${ri.explain}`,
      { packet: p },
    );
    drop(sim, h, ri.reason, ri.explain, p);
    return;
  }
  step(
    sim,
    h,
    'bridge',
    `${br.name}: DNAT to ${p.ip.dst} leaves the bridge: frame goes up to ${br.name} to be routed`,
    { packet: p, detail: { bridge: br.name, action: 'routed-dnat' } },
  );
  brLearn(h, port, br, frame, sim);
  upcalls.netifReceive(h, br, { ...frame, dst: br.mac }, meta, sim, {
    pktType: 'host',
    prerouted: true,
  });
}

/** br_handle_frame_finish: flood, pass up, or forward by FDB. */
export function bridgeFinish(
  h: Host,
  port: Link,
  br: Link,
  frame: Frame,
  meta: SkbMeta,
  sim: Sim,
  nf: boolean,
): void {
  brLearn(h, port, br, frame, sim);
  const pkt = frame.payload.kind === 'ipv4' ? frame.payload.packet : undefined;
  const dst = frame.dst;
  if (isMulticastMac(dst)) {
    const targets = floodTargets(h, br, port);
    step(
      sim,
      h,
      'bridge',
      `${br.name}: ${dst === BROADCAST_MAC ? 'broadcast' : 'multicast'} from ${port.name} → flood ${targets.map((t) => t.name).join(', ') || '(no other port)'} + ${br.name}`,
      {
        detail: { bridge: br.name, action: 'flood', ports: targets.map((t) => t.name) },
      },
    );
    for (const t of targets) brForward(h, br, port, t, frame, meta, sim, nf);
    upcalls.netifReceive(h, br, frame, meta, sim, {
      pktType: dst === BROADCAST_MAC ? 'broadcast' : 'multicast',
      prerouted: nf,
    });
    return;
  }
  const hit = fdbFind(h, br, dst, sim.now());
  if (hit && hit.local) {
    step(sim, h, 'bridge', `${br.name}: fdb ${dst} is local → up to ${br.name}`, {
      detail: { bridge: br.name, mac: dst, action: 'local' },
    });
    upcalls.netifReceive(h, br, frame, meta, sim, {
      pktType: dst === br.mac ? 'host' : 'otherhost',
      prerouted: nf,
    });
    return;
  }
  if (hit && hit.port !== undefined) {
    const out = h.getLink(hit.port);
    if (!out) {
      drop(sim, h, 'no-bridge-port', `fdb points at missing port ${hit.port}`, pkt);
      return;
    }
    if (out === port && !port.port?.hairpin) {
      step(
        sim,
        h,
        'bridge',
        `${br.name}: fdb ${dst} → ${out.name}, the port it came in on; hairpin off`,
        { detail: { bridge: br.name, mac: dst, port: out.name, action: 'hairpin-off' } },
      );
      drop(
        sim,
        h,
        'hairpin-off',
        `${br.name} will not send back out ${port.name} (hairpin_mode 0)`,
        pkt,
      );
      return;
    }
    step(
      sim,
      h,
      'bridge',
      `${br.name}: fdb ${dst} → ${out.name}${out === port ? ' (hairpin)' : ''}`,
      { detail: { bridge: br.name, mac: dst, port: out.name, action: 'forward' } },
    );
    brForward(h, br, port, out, frame, meta, sim, nf);
    return;
  }
  const targets = floodTargets(h, br, port).filter((t) => t.port?.flood);
  step(
    sim,
    h,
    'bridge',
    `${br.name}: ${dst} not in fdb → flood ${targets.map((t) => t.name).join(', ') || '(no port)'}`,
    { detail: { bridge: br.name, mac: dst, action: 'flood', ports: targets.map((t) => t.name) } },
  );
  if (targets.length === 0 && !br.promisc) {
    drop(sim, h, 'no-bridge-port', `${br.name}: unknown ${dst} and no other port to flood to`, pkt);
    return;
  }
  for (const t of targets) brForward(h, br, port, t, frame, meta, sim, nf);
  if (br.promisc)
    upcalls.netifReceive(h, br, frame, meta, sim, { pktType: 'otherhost', prerouted: nf });
}

export function floodTargets(h: Host, br: Link, ingress: Link | undefined): Link[] {
  const out: Link[] = [];
  for (const l of h.linkList()) {
    if (l.master !== br.name || !l.adminUp) continue;
    if (l === ingress && !l.port?.hairpin) continue;
    out.push(l);
  }
  return out;
}

/** __br_forward: br_netfilter FORWARD and POSTROUTING (in = out = the bridge), then the port transmits. */
export function brForward(
  h: Host,
  br: Link,
  inPort: Link | undefined,
  out: Link,
  frame: Frame,
  meta: SkbMeta,
  sim: Sim,
  nf: boolean,
): void {
  let f = frame;
  let m = meta;
  if (nf && f.payload.kind === 'ipv4') {
    const physIn = inPort?.name;
    const skb: PathSkb = { packet: f.payload.packet, meta: m, iif: br.name, pktType: 'host' };
    const fw = runHook(
      h,
      sim,
      {
        hook: 'FORWARD',
        inIface: br.name,
        outIface: br.name,
        bridge: { ...(physIn ? { physIn } : {}), physOut: out.name },
      },
      skb,
    );
    if (!fw) return;
    const post = runHook(
      h,
      sim,
      {
        hook: 'POSTROUTING',
        outIface: br.name,
        bridge: { ...(physIn ? { physIn } : {}), physOut: out.name },
        nexthop: fw.skb.packet.ip.dst,
      },
      fw.skb,
    );
    if (!post) return;
    f = { ...f, payload: { kind: 'ipv4', packet: post.skb.packet } };
    m = post.skb.meta;
  }
  devXmit(h, out, f, m, sim);
}

/** br_dev_xmit: the host sends through the bridge device (no br_netfilter hooks for local traffic). */
export function bridgeDevXmit(h: Host, br: Link, frame: Frame, meta: SkbMeta, sim: Sim): void {
  const pkt = frame.payload.kind === 'ipv4' ? frame.payload.packet : undefined;
  step(
    sim,
    h,
    'transmit',
    `${br.name}: tx ${pkt ? `${describePacket(pkt)} (${frame.src} > ${frame.dst})` : describeFrame(frame)}`,
    {
      ...(pkt ? { packet: pkt } : {}),
      detail: { dev: br.name, src: frame.src, dst: frame.dst },
    },
  );
  if (isMulticastMac(frame.dst)) {
    const targets = floodTargets(h, br, undefined);
    step(
      sim,
      h,
      'bridge',
      `${br.name}: ${frame.dst === BROADCAST_MAC ? 'broadcast' : 'multicast'} → flood ${targets.map((t) => t.name).join(', ') || '(no port)'}`,
      { detail: { bridge: br.name, action: 'flood', ports: targets.map((t) => t.name) } },
    );
    if (targets.length === 0) drop(sim, h, 'no-bridge-port', `${br.name} has no port up`, pkt);
    for (const t of targets) devXmit(h, t, frame, meta, sim);
    return;
  }
  const hit = fdbFind(h, br, frame.dst, sim.now());
  if (hit && hit.port !== undefined && !hit.local) {
    const out = h.getLink(hit.port);
    if (out) {
      step(sim, h, 'bridge', `${br.name}: fdb ${frame.dst} → ${out.name}`, {
        detail: { bridge: br.name, mac: frame.dst, port: out.name, action: 'forward' },
      });
      devXmit(h, out, frame, meta, sim);
      return;
    }
  }
  if (hit && hit.local) {
    drop(
      sim,
      h,
      'unsupported',
      `${br.name}: sending to the bridge's own address ${frame.dst}`,
      pkt,
    );
    return;
  }
  const targets = floodTargets(h, br, undefined).filter((t) => t.port?.flood);
  step(
    sim,
    h,
    'bridge',
    `${br.name}: ${frame.dst} not in fdb → flood ${targets.map((t) => t.name).join(', ') || '(no port)'}`,
    {
      detail: {
        bridge: br.name,
        mac: frame.dst,
        action: 'flood',
        ports: targets.map((t) => t.name),
      },
    },
  );
  if (targets.length === 0)
    drop(sim, h, 'no-bridge-port', `${br.name}: unknown ${frame.dst} and no port to flood to`, pkt);
  for (const t of targets) devXmit(h, t, frame, meta, sim);
}

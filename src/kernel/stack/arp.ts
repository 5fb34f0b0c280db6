/**
 * ARP and the neighbour table on the packet path (net/ipv4/arp.c,
 * net/core/neighbour.c): neigh_output resolves the next hop (queueing the
 * packet while a request is out), arp_rcv answers requests for local
 * addresses (arp_ignore, arp_announce, proxy_arp) and learns from replies.
 */
import type { Ipv4 } from '../../wire/addr.js';
import { arpReplyTo, arpRequest, type ArpPacket } from '../../wire/arp.js';
import { BROADCAST_MAC, ZERO_MAC, type Mac } from '../../wire/ethernet.js';
import { type Ipv4Packet } from '../../wire/packet.js';
import { u32 } from '../fib.js';
import { arpFrame, type Frame, type PktType } from '../frame.js';
import { FRESH_META } from '../hooks.js';
import type { Host } from '../host.js';
import { RT_SCOPE, type Link } from '../link.js';
import { isValidState, type NeighEntry } from '../neigh.js';
import { devXmit } from './device.js';
import { drop, isLoopbackIp, isMulticastIp, step, type Sim } from './path.js';
import { routeInput } from './route.js';

export interface Pending {
  send(mac: Mac): void;
  fail(): void;
}

/** neigh_output / neigh_resolve_output / arp_solicit. */
export function neighOutput(
  h: Host,
  link: Link,
  nexthop: Ipv4,
  broadcast: boolean,
  p: Ipv4Packet | undefined,
  sim: Sim,
  k: Pending,
): void {
  if (link.noArp) {
    k.send(ZERO_MAC);
    return;
  }
  if (broadcast || nexthop === '255.255.255.255' || h.addrType(nexthop) === 'BROADCAST') {
    step(
      sim,
      h,
      'arp',
      `neigh ${nexthop} dev ${link.name}: broadcast, lladdr ${BROADCAST_MAC} (NOARP)`,
    );
    k.send(BROADCAST_MAC);
    return;
  }
  if (isMulticastIp(nexthop)) {
    const n = u32(nexthop);
    const mac = `01:00:5e:${((n >>> 16) & 0x7f).toString(16).padStart(2, '0')}:${((n >>> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
    k.send(mac);
    return;
  }
  const now = sim.now();
  let e = h.neighbours.get(link.name, nexthop, now);
  if (e && isValidState(e.state) && e.mac !== undefined) {
    const before = e.state;
    if (e.state === 'STALE') {
      e.state = 'DELAY';
      e.updated = now;
    }
    step(
      sim,
      h,
      'arp',
      `neigh ${nexthop} dev ${link.name} lladdr ${e.mac} ${before}${before !== e.state ? ` → ${e.state}` : ''} (cache hit)`,
      {
        detail: { ip: nexthop, dev: link.name, lladdr: e.mac, state: e.state, hit: true },
      },
    );
    k.send(e.mac);
    return;
  }
  const first = !e || e.state !== 'INCOMPLETE';
  if (!e) e = h.neighbours.create(link.name, nexthop, 'INCOMPLETE', now);
  else if (e.state !== 'INCOMPLETE') {
    e.state = 'INCOMPLETE';
    e.updated = now;
  }
  e.queue.push(k);
  step(
    sim,
    h,
    'arp',
    `neigh ${nexthop} dev ${link.name}: ${first ? 'no entry' : 'INCOMPLETE'} → INCOMPLETE, packet queued`,
    {
      detail: { ip: nexthop, dev: link.name, state: 'INCOMPLETE', hit: false },
    },
  );
  if (first) arpSolicit(h, link, nexthop, p?.ip.src, sim);
}

/** arp_solicit: who-has, from the packet's source when it is ours (arp_announce 0), else inet_select_addr. */
export function arpSolicit(
  h: Host,
  link: Link,
  target: Ipv4,
  pktSrc: Ipv4 | undefined,
  sim: Sim,
): void {
  let saddr: Ipv4 | undefined;
  if (pktSrc !== undefined && h.addrType(pktSrc) === 'LOCAL') saddr = pktSrc;
  else saddr = h.selectAddress(link.name, target, RT_SCOPE.link);
  const req = arpRequest(link.mac, saddr ?? '0.0.0.0', target);
  step(sim, h, 'arp', `arp who-has ${target} tell ${req.senderIp} (${link.name}, broadcast)`, {
    detail: { ...req },
  });
  devXmit(h, link, arpFrame(link.mac, BROADCAST_MAC, req), FRESH_META, sim);
}

/** neigh_update: new lladdr/state; a newly valid entry sends what waited on it. */
export function neighUpdate(
  h: Host,
  e: NeighEntry,
  mac: Mac,
  state: 'REACHABLE' | 'STALE',
  sim: Sim,
  why: string,
): void {
  if (e.state === 'PERMANENT' || e.state === 'NOARP') return;
  const now = sim.now();
  const old = e.state;
  const wasValid = isValidState(old);
  let next: typeof e.state = state;
  if (wasValid && e.mac === mac && state === 'STALE') next = old;
  e.mac = mac;
  e.state = next;
  e.updated = now;
  if (next === 'REACHABLE') e.confirmed = now;
  step(sim, h, 'arp', `neigh ${e.ip} dev ${e.dev} lladdr ${mac} ${old} → ${next} (${why})`, {
    detail: { ip: e.ip, dev: e.dev, lladdr: mac, state: next, from: old },
  });
  if (!wasValid && e.queue.length > 0) {
    const q = e.queue.splice(0);
    for (const k of q) {
      if (e.state === 'STALE') e.state = 'DELAY';
      k.send(mac);
    }
  }
}

/** The network gives up on unanswered neighbours (after mcast_solicit probes): FAILED, queued packets die. */
export function failPendingNeighbours(h: Host, sim: Sim): boolean {
  let any = false;
  for (const e of h.neighbours.pending()) {
    any = true;
    e.state = 'FAILED';
    e.updated = sim.now();
    step(sim, h, 'arp', `neigh ${e.ip} dev ${e.dev}: no answer after 3 probes → FAILED`, {
      detail: { ip: e.ip, dev: e.dev, state: 'FAILED' },
    });
    for (const k of e.queue.splice(0)) k.fail();
  }
  return any;
}

/** arp_rcv / arp_process (net/ipv4/arp.c). */
export function arpRcv(
  h: Host,
  link: Link,
  frame: Frame,
  arp: ArpPacket,
  pktType: PktType,
  sim: Sim,
): void {
  if (link.noArp || pktType === 'otherhost') {
    drop(sim, h, 'not-for-us', `arp on ${link.name} for ${frame.dst}`);
    return;
  }
  const { senderIp: sip, targetIp: tip, senderMac: sha } = arp;
  if (isMulticastIp(tip) || (!h.sysctl.routeLocalnet(link.name) && isLoopbackIp(tip))) {
    drop(sim, h, 'arp-ignored', `arp for ${tip}`);
    return;
  }
  if (sip === '0.0.0.0') {
    drop(sim, h, 'arp-ignored', `duplicate address detection probe for ${tip} (not modelled)`);
    return;
  }
  const now = sim.now();
  if (arp.op === 'request') {
    const ri = routeInput(h, { dst: tip, src: sip, iif: link.name, mark: 0, tos: 0 });
    if (ri.kind === 'local' && arpIgnoreAllows(h, link, sip, tip)) {
      const e =
        h.neighbours.get(link.name, sip, now) ?? h.neighbours.create(link.name, sip, 'NONE', now);
      neighUpdate(h, e, sha, 'STALE', sim, `learned from who-has`);
      const reply = arpReplyTo(arp, link.mac);
      step(sim, h, 'arp', `arp reply ${tip} is-at ${link.mac} (to ${sip} on ${link.name})`, {
        detail: { ...reply },
      });
      devXmit(h, link, arpFrame(link.mac, sha, reply), FRESH_META, sim);
      return;
    }
    if (
      ri.kind === 'forward' &&
      ri.rt.dev !== link.name &&
      (h.sysctl.orConf(link.name, 'proxy_arp') || h.neighbours.hasProxy(link.name, tip))
    ) {
      const e =
        h.neighbours.get(link.name, sip, now) ?? h.neighbours.create(link.name, sip, 'NONE', now);
      neighUpdate(h, e, sha, 'STALE', sim, `learned from who-has`);
      const reply = arpReplyTo(arp, link.mac);
      step(
        sim,
        h,
        'arp',
        `arp proxy reply ${tip} is-at ${link.mac} (proxy_arp on ${link.name}; ${tip} routes via ${ri.rt.dev})`,
        { detail: { proxy: true, ...reply } },
      );
      devXmit(h, link, arpFrame(link.mac, sha, reply), FRESH_META, sim);
      return;
    }
  }
  const e = h.neighbours.get(link.name, sip, now);
  if (e) {
    const state = arp.op === 'reply' && pktType === 'host' ? 'REACHABLE' : 'STALE';
    neighUpdate(
      h,
      e,
      sha,
      state,
      sim,
      arp.op === 'reply' ? `is-at from ${sip}` : `who-has from ${sip}`,
    );
    return;
  }
  drop(
    sim,
    h,
    'arp-ignored',
    arp.op === 'request' ? `who-has ${tip}: not ours` : `unsolicited is-at from ${sip}`,
  );
}

/** arp_ignore (0: any local address; 1: only the receiving device's; 2: and the sender in its subnet). */
export function arpIgnoreAllows(h: Host, link: Link, sip: Ipv4, tip: Ipv4): boolean {
  const mode = h.sysctl.maxConf(link.name, 'arp_ignore');
  if (mode === 0) return true;
  const own = h.addressesOf(link.name);
  if (mode === 1) return own.some((a) => a.local === tip);
  if (mode === 2) {
    return own.some(
      (a) =>
        a.local === tip &&
        ((u32(a.local) ^ u32(sip)) &
          (a.prefix === 0 ? 0 : (0xffffffff << (32 - a.prefix)) >>> 0)) ===
          0,
    );
  }
  return false;
}

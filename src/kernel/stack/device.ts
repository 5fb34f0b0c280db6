/**
 * Devices on the packet path: dev_queue_xmit per device kind (loopback,
 * veth, bridge, ether onto its wire, a driver's ndo_start_xmit), and the
 * `DeviceContext` a driver or tunnel socket is handed.
 */
import { describePacket } from '../../wire/packet.js';
import { describeFrame, type Frame } from '../frame.js';
import { FRESH_META, type SkbMeta } from '../hooks.js';
import type { Host } from '../host.js';
import { type DeviceContext, type Link } from '../link.js';
import { drop, step, upcalls, type Sim } from './path.js';
import { routeOutput } from './route.js';

export function deviceContext(h: Host, link: Link | undefined, sim: Sim): DeviceContext {
  return {
    getLink: (name) => h.getLink(name),
    sysctl: h.sysctl,
    routeOutput: (q) => routeOutput(h, q),
    ...(link ? { link } : {}),
    rec: sim.rec,
    chooser: sim.chooser,
    now: () => sim.now(),
    send: (packet, opts = {}) =>
      upcalls.localSend(h, packet, { socket: false, anySource: true, ...opts }, sim),
    receive: (dev, frame, meta = FRESH_META) => sim.enqueue({ host: h.name, dev, frame, meta }),
    step: (kind, summary, extra = {}) => step(sim, h, kind, summary, extra),
    drop: (reason, detail, packet) => drop(sim, h, reason, detail, packet),
  };
}

/** dev_queue_xmit on `link`. */
export function devXmit(h: Host, link: Link, frame: Frame, meta: SkbMeta, sim: Sim): void {
  const pkt = frame.payload.kind === 'ipv4' ? frame.payload.packet : undefined;
  if (!link.adminUp) {
    drop(sim, h, 'link-down', `${link.name} is down`, pkt);
    return;
  }
  if (link.kind !== 'bridge' && link.kind !== 'loopback') {
    step(
      sim,
      h,
      'transmit',
      `${link.name}: tx ${pkt ? `${describePacket(pkt)} (${frame.src} > ${frame.dst})` : describeFrame(frame)}`,
      {
        ...(pkt ? { packet: pkt } : {}),
        detail: { dev: link.name, src: frame.src, dst: frame.dst },
      },
    );
  }
  switch (link.kind) {
    case 'loopback':
      sim.enqueue({ host: h.name, dev: link.name, frame, meta });
      return;
    case 'veth': {
      const ph = link.peer && sim.host(link.peer.host);
      const peer = link.peer && ph?.getLink(link.peer.name);
      if (!ph || !peer || !peer.adminUp) {
        drop(
          sim,
          h,
          'link-down',
          `${link.name}: peer ${link.peer?.name ?? '?'} is down (no carrier)`,
          pkt,
        );
        return;
      }
      // veth_forward_skb → skb_scrub_packet: conntrack is dropped; the mark too across namespaces.
      sim.enqueue({
        host: ph.name,
        dev: peer.name,
        frame,
        meta: { mark: ph === h ? meta.mark : 0 },
      });
      return;
    }
    case 'bridge':
      upcalls.bridgeXmit(h, link, frame, meta, sim);
      return;
    case 'dummy':
      drop(sim, h, 'device-discard', `${link.name} is a dummy device`, pkt);
      return;
    case 'ether':
      sim.wire(h, link, frame, meta);
      return;
    default:
      if (link.driver?.xmit) {
        link.driver.xmit(deviceContext(h, link, sim), frame, meta);
        return;
      }
      drop(
        sim,
        h,
        'unsupported',
        `transmit on ${link.kind} device ${link.name} is not modelled yet`,
        pkt,
      );
  }
}

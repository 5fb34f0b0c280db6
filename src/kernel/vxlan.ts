/**
 * The VXLAN device (drivers/net/vxlan/vxlan_core.c), plugged into the stack
 * through `DeviceDriver` (transmit) and a UDP tunnel socket (receive):
 *
 *   ip link add flannel.1 type vxlan id 1 dstport 8472 local 10.0.0.11 dev eth0 nolearning
 *   bridge fdb append <vtep mac> dev flannel.1 dst 10.0.0.12 self permanent
 *
 * Transmit (vxlan_xmit → vxlan_xmit_one): the inner Ethernet frame's
 * destination MAC is looked up in the device's own FDB (not a bridge's); no
 * entry and no all-zeros default entry ⇒ the frame is dropped (with learning
 * off and no l2miss nothing asks anybody). The outer packet is a UDP datagram
 * from `local` to the entry's `dst` port `dstport`, sent through the host's
 * own routing (udp_tunnel_xmit_skb → iptunnel_xmit → ip_local_out: the
 * OUTPUT and POSTROUTING hooks see it, the neighbour code gives it its outer
 * Ethernet header on the underlay device). Outer header fields, as Linux sets
 * them for a device created without ttl/tos/df options (flannel's):
 *
 *   TTL  ip4_dst_hoplimit = net.ipv4.ip_default_ttl (64)
 *   TOS  0 plus the inner ECN bits (ip_tunnel_ecn_encap)
 *   DF   clear (cfg.df is VXLAN_DF_UNSET)
 *   UDP  checksum computed (no VXLAN_F_UDP_ZERO_CSUM_TX unless `noudpcsum`)
 *   sport udp_flow_src_port: ((hash × (max − min)) >> 32) + min over
 *        ip_local_port_range [32768, 61000). The kernel's hash is the skb
 *        flow hash, keyed with a random boot-time seed, so a real kernel's
 *        port cannot be predicted; the twin uses FNV-1a of the inner flow.
 *   id   ip_select_ident: a keyed hash, unpredictable too; the twin uses
 *        FNV-1a of the outer addresses and the sport.
 *
 * The skb keeps its mark (skb_scrub_packet within one namespace) and loses
 * its conntrack reference (nf_reset_ct): the outer packet is a new flow.
 *
 * Receive (vxlan_rcv): a datagram to the socket's port whose VNI belongs to a
 * device of this host is decapsulated and the inner frame handed to that
 * device's rx, as if it arrived on it. An unknown VNI is dropped.
 *
 * MTU: the device's MTU is the lower device's minus 50 (VXLAN_HEADROOM, IPv4)
 * when no mtu is given (vxlan_config_apply); ip_finish_output enforces it on
 * the inner packet like on any device, so a DF packet that does not fit gets
 * ICMP fragmentation-needed with mtu 1450 from the node.
 *
 * Not modelled: learning (`learning`), l2miss/l3miss, proxy ARP
 * (`proxy`), multicast groups, GBP/GPE, IPv6 underlay, external
 * (collect_metadata) mode. They are refused at creation, never guessed.
 */
import type { Ipv4 } from '../wire/addr.js';
import { isIpv4 } from '../wire/addr.js';
import { normalizeMac, ZERO_MAC, type Mac } from '../wire/ethernet.js';
import { describePacket, type Ipv4Packet, type UdpDatagram } from '../wire/packet.js';
import { packetLength } from '../wire/index.js';
import { VXLAN_HEADER_LEN } from '../wire/vxlan.js';
import { kernelError } from './errors.js';
import { ipv4Frame, type Frame } from './frame.js';
import { FRESH_META, type SkbMeta } from './hooks.js';
import type { Host } from './host.js';
import type { DeviceContext, DeviceDriver, Link } from './link.js';
import { ecnEncap, fnv1a, outerIpHeader, tunnelStep, type OuterIpHeader } from './tunnel.js';

/** Outer IPv4 + UDP + VXLAN + inner Ethernet (VXLAN_HEADROOM). */
export const VXLAN_HEADROOM = 50;
const ETH_HLEN = 14;

export interface VxlanOptions {
  /** `id`: the VNI. */
  readonly vni: number;
  /** `dstport` (Linux's default when not given is 8472, IANA's is 4789). */
  readonly dstport?: number;
  /** `local`: the outer source address. */
  readonly local?: Ipv4;
  /** `dev`: the lower device (its MTU sets ours). */
  readonly dev?: string;
  /** `learning` (default on in iproute2; flannel and Calico turn it off). Only false is modelled. */
  readonly learning?: boolean;
  /** `udpcsum` / `noudpcsum` (default: checksum computed). */
  readonly udpCsum?: boolean;
  readonly mtu?: number;
  readonly mac?: Mac;
}

/** One entry of a VXLAN device's FDB (`bridge fdb … dev flannel.1 dst IP self permanent`). */
export interface VxlanFdbEntry {
  readonly mac: Mac;
  readonly dst: Ipv4;
  readonly permanent: boolean;
}

/** The JSON detail of ENCAP and DECAP steps: every outer header field and the inner frame. */
export interface VxlanHeaders {
  readonly device: string;
  readonly outer: {
    readonly ip: OuterIpHeader<17>;
    readonly udp: { readonly sport: number; readonly dport: number; readonly checksum: boolean };
    readonly vxlan: { readonly flags: 0x08; readonly vni: number };
  };
  readonly inner: {
    readonly src: Mac;
    readonly dst: Mac;
    readonly packet: string;
    readonly ip: {
      readonly src: Ipv4;
      readonly dst: Ipv4;
      readonly ttl: number;
      readonly totalLength: number;
    };
  };
  /** Where the outer destination came from. */
  readonly fdb?: string;
}

export class VxlanDriver implements DeviceDriver {
  readonly kind = 'vxlan';
  readonly needsArp = true;
  readonly vni: number;
  readonly dstport: number;
  readonly local: Ipv4 | undefined;
  readonly dev: string | undefined;
  readonly udpCsum: boolean;
  /** The device's own FDB, keyed by MAC (vxlan_find_mac). */
  readonly fdb = new Map<Mac, VxlanFdbEntry>();

  constructor(
    readonly name: string,
    opts: VxlanOptions,
  ) {
    this.vni = opts.vni;
    this.dstport = opts.dstport ?? 8472;
    this.local = opts.local;
    this.dev = opts.dev;
    this.udpCsum = opts.udpCsum ?? true;
  }

  /** vxlan_xmit: FDB lookup, then vxlan_xmit_one. */
  xmit(ctx: DeviceContext, frame: Frame, meta: SkbMeta): void {
    const p = frame.payload;
    if (p.kind === 'arp') {
      ctx.drop(
        'vxlan-no-fdb',
        `${this.name}: ARP ${p.op} for ${p.targetIp} has no FDB entry for ${frame.dst} (nolearning, no proxy, no default destination)`,
      );
      return;
    }
    const inner = p.packet;
    const entry = this.fdb.get(frame.dst) ?? this.fdb.get(ZERO_MAC);
    if (!entry) {
      ctx.drop(
        'vxlan-no-fdb',
        `${this.name}: no FDB entry for ${frame.dst} and no default destination (vxlan_xmit: tx_dropped)`,
        inner,
      );
      return;
    }
    const local = this.local ?? '0.0.0.0';
    const sport = udpFlowSrcPort(inner);
    const outer: Ipv4Packet = {
      ip: {
        src: local,
        dst: entry.dst,
        ttl: ctx.sysctl.number('net.ipv4.ip_default_ttl') || 64,
        id: fnv1a(`${local}>${entry.dst}/${sport}/${describePacket(inner)}`) & 0xffff,
        df: false,
        tos: ecnEncap(inner.ip.tos),
      },
      l4: {
        kind: 'udp',
        sport,
        dport: this.dstport,
        ...(this.udpCsum ? {} : { noChecksum: true }),
        vxlan: { vni: this.vni, inner: { src: frame.src, dst: frame.dst, packet: inner } },
      },
      payloadLength: VXLAN_HEADER_LEN + ETH_HLEN + packetLength(inner),
    };
    const fdb = `${entry.mac} dst ${entry.dst} self${entry.permanent ? ' permanent' : ''}`;
    tunnelStep(
      ctx,
      'encap',
      `${this.name}: vxlan encap vni ${this.vni}: fdb ${fdb} → outer ${local}:${sport} > ${entry.dst}:${this.dstport} udp, inner ${frame.src} > ${frame.dst} ${describePacket(inner)}`,
      outer,
      inner,
      {
        hook: 'ndo_start_xmit',
        from: `${inner.ip.src} > ${inner.ip.dst}`,
        to: `${outer.ip.src}:${sport} > ${outer.ip.dst}:${this.dstport}`,
        by: `${this.name} vxlan vni ${this.vni}`,
      },
      vxlanHeaders(this.name, outer, fdb),
    );
    ctx.send(outer, { meta: { mark: meta.mark } });
  }
}

/** The structured view of a VXLAN packet (outer headers + inner frame) for step details. */
export function vxlanHeaders(device: string, outer: Ipv4Packet, fdb?: string): VxlanHeaders {
  const u = outer.l4 as UdpDatagram;
  const v = u.vxlan!;
  const inner = v.inner.packet;
  return {
    device,
    outer: {
      ip: outerIpHeader(outer, 17),
      udp: { sport: u.sport, dport: u.dport, checksum: u.noChecksum !== true },
      vxlan: { flags: 0x08, vni: v.vni },
    },
    inner: {
      src: v.inner.src,
      dst: v.inner.dst,
      packet: describePacket(inner),
      ip: {
        src: inner.ip.src,
        dst: inner.ip.dst,
        ttl: inner.ip.ttl,
        totalLength: packetLength(inner),
      },
    },
    ...(fdb !== undefined ? { fdb } : {}),
  };
}

/** udp_flow_src_port over ip_local_port_range 32768–60999, with FNV-1a of the inner flow as the hash. */
export function udpFlowSrcPort(inner: Ipv4Packet, min = 32768, max = 61000): number {
  const l4 = inner.l4;
  const ports =
    l4.kind === 'icmp' ? `${l4.id ?? 0}` : l4.kind === 'ipip' ? '' : `${l4.sport}/${l4.dport}`;
  const hash = fnv1a(`${inner.ip.src}>${inner.ip.dst}/${l4.kind}/${ports}`);
  return Number((BigInt(hash) * BigInt(max - min)) >> 32n) + min;
}

/** The VXLAN devices listening on each UDP port of a host (vxlan_vs_find_vni). */
const byPort = new WeakMap<Host, Map<number, Map<number, string>>>();

/**
 * `ip link add NAME type vxlan id VNI dstport PORT local IP dev DEV nolearning`.
 * Registers the device's UDP tunnel socket on PORT (shared by every VXLAN
 * device of the host with that port, told apart by VNI).
 */
export function addVxlan(h: Host, name: string, opts: VxlanOptions): Link {
  if (!Number.isInteger(opts.vni) || opts.vni < 0 || opts.vni > 0xffffff)
    throw kernelError('EINVAL', `Error: argument "${opts.vni}" is wrong: invalid id`);
  if (opts.learning === true)
    throw kernelError(
      'EOPNOTSUPP',
      `${name}: VXLAN learning is not modelled (flannel and Calico use nolearning)`,
    );
  if (opts.local !== undefined && !isIpv4(opts.local))
    throw kernelError('EINVAL', `Error: inet address is expected rather than "${opts.local}".`);
  const lower = opts.dev !== undefined ? h.requireLink(opts.dev) : undefined;
  const driver = new VxlanDriver(name, opts);
  let ports = byPort.get(h);
  if (!ports) byPort.set(h, (ports = new Map()));
  let vnis = ports.get(driver.dstport);
  if (vnis?.has(driver.vni))
    throw kernelError('EEXIST', 'Error: A VXLAN device with the specified VNI already exists.');
  const mtu = opts.mtu ?? (lower ? lower.mtu - VXLAN_HEADROOM : 1500);
  const link = h.link.addDevice(name, driver, {
    mtu,
    ...(opts.mac !== undefined ? { mac: normalizeMac(opts.mac) } : {}),
  });
  if (!vnis) {
    const table = (vnis = new Map());
    ports.set(driver.dstport, table);
    h.sockets.addTunnel({
      port: driver.dstport,
      label: 'vxlan',
      rcv: (ctx, packet, meta) => vxlanRcv(ctx, table, packet, meta),
    });
  }
  vnis.set(driver.vni, name);
  return link;
}

/** vxlan_rcv: find the device by VNI, strip the outer headers, hand the inner frame to the device. */
function vxlanRcv(
  ctx: DeviceContext,
  vnis: ReadonlyMap<number, string>,
  packet: Ipv4Packet,
  meta: SkbMeta,
): void {
  const u = packet.l4;
  if (u.kind !== 'udp' || u.vxlan === undefined) {
    ctx.drop(
      'unsupported',
      `udp ${packet.ip.dst}:${u.kind === 'udp' ? u.dport : '?'}: not a VXLAN datagram (no VXLAN header)`,
      packet,
    );
    return;
  }
  const v = u.vxlan;
  const dev = vnis.get(v.vni);
  const link = dev !== undefined ? ctx.getLink(dev) : undefined;
  if (!dev || !link) {
    ctx.drop(
      'vxlan-unknown-vni',
      `vni ${v.vni} on port ${u.dport}: no VXLAN device (vxlan_vs_find_vni)`,
      packet,
    );
    return;
  }
  tunnelStep(
    ctx,
    'decap',
    `${dev}: vxlan decap vni ${v.vni}: outer ${packet.ip.src}:${u.sport} > ${packet.ip.dst}:${u.dport} removed, inner ${v.inner.src} > ${v.inner.dst} ${describePacket(v.inner.packet)}`,
    v.inner.packet,
    packet,
    {
      hook: 'encap_rcv',
      from: `${packet.ip.src}:${u.sport} > ${packet.ip.dst}:${u.dport}`,
      to: `${v.inner.packet.ip.src} > ${v.inner.packet.ip.dst}`,
      by: `${dev} vxlan vni ${v.vni}`,
    },
    vxlanHeaders(dev, packet),
  );
  // skb_scrub_packet: conntrack dropped, mark kept within the namespace.
  ctx.receive(dev, ipv4Frame(v.inner.src, v.inner.dst, v.inner.packet), {
    ...FRESH_META,
    mark: meta.mark,
  });
}

export function vxlanDriverOf(link: Link | undefined): VxlanDriver | undefined {
  return link?.driver instanceof VxlanDriver ? link.driver : undefined;
}

/** `bridge fdb append MAC dev DEV dst IP self permanent` on a VXLAN device. */
export function vxlanFdbAppend(
  h: Host,
  dev: string,
  mac: Mac,
  dst: Ipv4,
  permanent = true,
): VxlanFdbEntry {
  const d = vxlanDriverOf(h.requireLink(dev));
  if (!d) throw kernelError('EOPNOTSUPP', `${dev} is not a VXLAN device`);
  if (!isIpv4(dst))
    throw kernelError('EINVAL', `Error: inet address is expected rather than "${dst}".`);
  const e: VxlanFdbEntry = { mac: normalizeMac(mac), dst, permanent };
  d.fdb.set(e.mac, e);
  return e;
}

/** `bridge fdb show dev DEV` lines for a VXLAN device (vxlan_fdb_info order: insertion here). */
export function vxlanFdbLines(link: Link): string[] {
  const d = vxlanDriverOf(link);
  if (!d) return [];
  return [...d.fdb.values()].map((e) =>
    `${e.mac} dev ${link.name} dst ${e.dst} self ${e.permanent ? 'permanent' : ''}`.trimEnd(),
  );
}

/** `ip -d link show` details: `vxlan id 1 local 10.0.0.11 dev eth0 srcport 0 0 dstport 8472 nolearning …`. */
export function vxlanDetails(link: Link): string | undefined {
  const d = vxlanDriverOf(link);
  if (!d) return undefined;
  return `vxlan id ${d.vni}${d.local ? ` local ${d.local}` : ''}${d.dev ? ` dev ${d.dev}` : ''} srcport 0 0 dstport ${d.dstport} nolearning ttl auto ageing 300${d.udpCsum ? ' udpcsum' : ' noudpcsum'}`;
}

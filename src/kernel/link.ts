/**
 * Network devices of one namespace: loopback, veth (a pair whose ends may
 * live in two namespaces), Linux bridges with their ports and forwarding
 * database, dummy, and `ether` (a NIC whose wire the fabric layer attaches:
 * a shared segment or the outside world). Later device kinds (vxlan, ipip)
 * plug in through `DeviceDriver`.
 */
import type { Ipv4 } from '../wire/addr.js';
import type { Mac } from '../wire/ethernet.js';
import type { Frame } from './frame.js';
import type { SkbMeta } from './hooks.js';
import type { Ipv4Packet } from '../wire/packet.js';
import type { DropReason } from './drop.js';
import type { OutputFlow, OutputRouteResult } from './fib.js';
import type { Chooser } from './random.js';
import type { Recorder, StepKind, StepOf } from './step.js';
import type { Sysctls, SysctlTable } from './sysctl.js';

export type LinkKind = 'loopback' | 'veth' | 'bridge' | 'dummy' | 'ether' | (string & {});

/** Per-port flags of a bridge port (`bridge link set dev X hairpin on learning on flood on`). */
export interface BridgePortFlags {
  hairpin: boolean;
  learning: boolean;
  flood: boolean;
}

/** One FDB entry (net/bridge/br_fdb.c `struct net_bridge_fdb_entry`). */
export interface FdbEntry {
  readonly mac: Mac;
  /** The port; undefined = the bridge device itself. */
  port: string | undefined;
  /** BR_FDB_LOCAL: one of our own addresses (frames to it are passed up). */
  readonly local: boolean;
  readonly permanent: boolean;
  /** Simulated seconds of the last update (learned entries age out after ageing_time). */
  updated: number;
  /** Insertion counter; `bridge fdb show` lists newest first (hlist_add_head). */
  seq: number;
}

export interface BridgeState {
  readonly fdb: Map<Mac, FdbEntry>;
  /** ageing_time in seconds (default 300). */
  ageingTime: number;
  /** Per-bridge `nf_call_iptables` (ip link set br0 type bridge nf_call_iptables 1). */
  nfCallIptables: boolean;
  fdbSeq: number;
  /**
   * A bridge that never had a port keeps the carrier it was created with
   * (operstate UNKNOWN); once ports come and go, its carrier follows them.
   */
  hadPort: boolean;
}

/**
 * What a device does when the stack transmits on it. The built-in kinds are
 * handled by the stack itself; a driver lets later kinds (vxlan, ipip,
 * wireguard) encapsulate and send through the host's own routing.
 */
export interface DeviceDriver {
  readonly kind: string;
  /** True when the stack must resolve a neighbour (ARP) before transmitting. */
  readonly needsArp: boolean;
  /**
   * ndo_start_xmit: what the device does with a frame the stack hands it
   * (a vxlan device encapsulates and sends a UDP packet through the host's
   * own routing with `ctx.send`). Without it, transmitting is `unsupported`.
   */
  xmit?(ctx: DeviceContext, frame: Frame, meta: SkbMeta): void;
}

export interface SendOptions {
  /** Bound device (SO_BINDTODEVICE / `ip route get … oif`). */
  readonly oif?: string;
  readonly mark?: number;
  readonly meta?: SkbMeta;
  /** IP_TRANSPARENT / raw socket: the source need not be local. */
  readonly anySource?: boolean;
  /** Register the sending socket so replies find it (default: true for SYN, UDP and echo requests). */
  readonly socket?: boolean;
  readonly label?: string;
}

/**
 * What a device driver or tunnel socket may do: send an IP packet through
 * the host's own routing (encapsulation), hand a frame to a device of the
 * host (decapsulation), write steps, and end a packet with a named reason.
 */
export interface DeviceContext {
  /** The host's devices (the tunnel's own, a decapsulated frame's next one). */
  getLink(name: string): Link | undefined;
  /** The host's sysctls. */
  readonly sysctl: Sysctls;
  /** ip_route_output in the host's routing (an encapsulation's inner and outer routes). */
  routeOutput(q: OutputFlow): OutputRouteResult;
  readonly link?: Link;
  readonly rec: Recorder;
  readonly chooser: Chooser;
  now(): number;
  send(packet: Ipv4Packet, opts?: SendOptions): void;
  receive(dev: string, frame: Frame, meta?: SkbMeta): void;
  step<K extends StepKind>(
    kind: K,
    summary: string,
    extra?: Omit<StepOf<K>, 'kind' | 'host' | 'summary'>,
  ): void;
  drop(reason: DropReason, detail: string, packet?: Ipv4Packet): void;
}

/** Where an `ether` device's wire goes. */
export type Wire =
  | { readonly kind: 'none' }
  | { readonly kind: 'world'; readonly endpoint: string }
  | { readonly kind: 'segment'; readonly segment: string };

export class Link {
  adminUp = false;
  promisc = false;
  master: string | undefined;
  port: BridgePortFlags | undefined;
  mtu: number;
  /** True when the address was set explicitly (a bridge then keeps it: NET_ADDR_SET). */
  macSet: boolean;
  /** veth: the other end. */
  peer: { host: string; name: string } | undefined;
  bridge: BridgeState | undefined;
  wire: Wire = { kind: 'none' };
  driver: DeviceDriver | undefined;
  /** Per-device IPv4 sysctls (net.ipv4.conf.<dev>.*), copied from `default` at creation. */
  readonly conf: SysctlTable;

  constructor(
    readonly host: string,
    readonly name: string,
    readonly ifindex: number,
    readonly kind: LinkKind,
    public mac: Mac,
    mtu: number,
    conf: SysctlTable,
    macSet: boolean,
  ) {
    this.mtu = mtu;
    this.conf = conf;
    this.macSet = macSet;
  }

  get isLoopback(): boolean {
    return this.kind === 'loopback';
  }

  /** IFF_NOARP devices need no neighbour resolution. */
  get noArp(): boolean {
    if (this.driver) return !this.driver.needsArp;
    return this.kind === 'loopback' || this.kind === 'dummy';
  }
}

/** The addresses of one device, in the kernel's list order. */
export interface InetAddress {
  readonly dev: string;
  readonly local: Ipv4;
  readonly prefix: number;
  /** Explicit broadcast (`brd`), or undefined. */
  readonly broadcast: Ipv4 | undefined;
  /** RT_SCOPE_*: 0 global, 200 site, 253 link, 254 host. */
  readonly scope: number;
  readonly secondary: boolean;
  readonly noprefixroute: boolean;
  /** `metric` on the address: the prefix route's priority. */
  readonly metric: number;
}

export { RT_SCOPE, scopeName, parseScope } from './fib.js';

/**
 * A deterministic locally administered unicast MAC for a device, standing in
 * for the kernel's eth_random_addr (which clears the multicast bit and sets
 * the locally-administered bit): FNV-1a of `host/name`.
 */
export function deriveMac(host: string, name: string): Mac {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  const s = `${host}/${name}`;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c ^ (h1 >>> 7), 0x01000193) >>> 0;
  }
  const bytes = [
    (h1 >>> 24) & 0xff,
    (h1 >>> 16) & 0xff,
    (h1 >>> 8) & 0xff,
    h1 & 0xff,
    (h2 >>> 8) & 0xff,
    h2 & 0xff,
  ];
  bytes[0] = (bytes[0]! & 0xfe) | 0x02;
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function compareMac(a: Mac, b: Mac): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A Host is one network namespace: its devices, addresses, routing tables and
 * policy rules, neighbour table, sysctls, sockets and netfilter hooks.
 *
 * Compilers (CNI plugins, kube-proxy, the cloud) build hosts through a small
 * API that mirrors the `ip` commands the real components run, and that keeps
 * the kernel's side effects (an address brings its local, broadcast and
 * prefix routes; a device going down takes its routes with it):
 *
 *   host.link.addBridge('cni0')                       ip link add cni0 type bridge
 *   host.link.addVeth('veth1', { peer: 'eth0', peerHost: pod })
 *   host.link.set('veth1', { master: 'cni0', up: true })
 *   host.addr.add('10.244.1.1/24', 'cni0')            ip addr add 10.244.1.1/24 dev cni0
 *   pod.route.add({ dst: 'default', via: '10.244.1.1' })
 *   host.sysctl.set('net.ipv4.ip_forward', 1)
 *
 * The `ip` commands live in kernel/ip/ (link.ts, addr.ts, route.ts, rule.ts,
 * neigh.ts), one file per command.
 *
 * What the kernel refuses (a gateway that is not on-link, a duplicate route)
 * throws `KernelError` with iproute2's message.
 */
import { broadcastOf, intToIp, maskOf, type Cidr, type Ipv4 } from '../wire/addr.js';
import { type Mac } from '../wire/ethernet.js';
import type { Ipv4Packet, L4Proto } from '../wire/packet.js';
import { DEFAULT_CONNTRACK_SYSCTLS, type ConntrackSysctls } from './conntrack/core.js';
import { kernelError } from './errors.js';
import type { Fate } from './fate.js';
import {
  DEFAULT_RULES,
  fibLookup,
  formatDst,
  reversePath,
  RouteTable,
  RT_TABLE,
  u32,
  type FibResult,
  type Flow,
  type PolicyRule,
  type Route,
  type RouteType,
} from './fib.js';
import { ACCEPT_ALL, type NetfilterHooks, type SkbMeta } from './hooks.js';
import { AddrApi } from './ip/addr.js';
import { LinkApi } from './ip/link.js';
import { NeighApi } from './ip/neigh.js';
import { RouteApi } from './ip/route.js';
import { RuleApi } from './ip/rule.js';
import {
  deriveMac,
  Link,
  RT_SCOPE,
  type FdbEntry,
  type InetAddress,
  type SendOptions,
} from './link.js';
import { NeighTable } from './neigh.js';
import { putBack } from './put-back.js';
import type { NetfilterEnv } from './netfilter/env.js';
import type { AddrType } from './netfilter/types.js';
import type { Chooser } from './random.js';
import { SocketTable, type Listener } from './socket.js';
import type { Recorder } from './step.js';
import { Sysctls } from './sysctl.js';

export interface RunOptions {
  readonly recorder?: Recorder;
  readonly chooser?: Chooser;
  /** Frame budget for one run (a broadcast storm stops here with `loop-limit`). */
  readonly maxFrames?: number;
}

export interface RunResult {
  readonly fates: readonly Fate[];
  /** The fate that answers "what happened" (see primaryFate). */
  readonly outcome: Fate | undefined;
}

/** What the stack needs from the network the host lives in. */
export interface HostNetwork {
  host(name: string): Host | undefined;
  /** Simulated time, seconds. */
  now(): number;
  /** Runs a locally generated packet from `host` until the network is quiet. */
  send(host: string, packet: Ipv4Packet, opts?: SendOptions & RunOptions): RunResult;
}

export interface RouteSpec {
  /** `default`, `10.244.2.0/24`, or a bare address (a /32). */
  readonly dst: string;
  readonly via?: Ipv4;
  readonly dev?: string;
  readonly src?: Ipv4;
  readonly onlink?: boolean;
  readonly scope?: 'global' | 'link' | 'host' | 'site' | number;
  readonly metric?: number;
  readonly proto?: string | number;
  readonly table?: string | number;
  readonly type?: RouteType;
  readonly tos?: number;
}

export interface AddrOptions {
  readonly scope?: 'global' | 'link' | 'host' | 'site' | number;
  /** `brd +` or an address. */
  readonly brd?: '+' | Ipv4;
  readonly noprefixroute?: boolean;
  readonly metric?: number;
}

export interface LinkSettings {
  readonly up?: boolean;
  /** A bridge name to enslave to, or null for `nomaster`. */
  readonly master?: string | null;
  readonly mtu?: number;
  readonly mac?: Mac;
  readonly promisc?: boolean;
}

export interface RuleSpec {
  readonly priority?: number;
  readonly from?: string;
  readonly to?: string;
  readonly iif?: string;
  readonly oif?: string;
  readonly fwmark?: number | { value: number; mask: number };
  readonly not?: boolean;
  readonly table?: string | number;
  readonly action?: 'blackhole' | 'unreachable' | 'prohibit';
}

export const RESERVED_TABLES = [RT_TABLE.local, RT_TABLE.main, RT_TABLE.default];

export class Host implements NetfilterEnv {
  readonly links = new Map<string, Link>();
  private nextIfindex = 1;
  /** Addresses per device, in the kernel's list order (primaries by scope, then secondaries). */
  readonly addresses = new Map<string, InetAddress[]>();
  /** Every configured address → its device (inet_lookup_ifaddr / __ip_dev_find). */
  private readonly localIndex = new Map<Ipv4, string>();
  readonly tables = new Map<number, RouteTable>();
  rules: PolicyRule[] = [...DEFAULT_RULES];
  private routeSeq = 0;
  /** fib_has_custom_local_routes: a `local` route not added by the kernel exists (fib_validate_source then does the full check). */
  customLocalRoutes = false;
  readonly neighbours = new NeighTable();
  readonly sysctl: Sysctls;
  readonly sockets = new SocketTable();
  netfilter: NetfilterHooks = ACCEPT_ALL;

  private net: HostNetwork;
  readonly link: LinkApi;
  readonly addr: AddrApi;
  readonly route: RouteApi;
  readonly rule: RuleApi;
  readonly neigh: NeighApi;

  constructor(
    readonly name: string,
    network: HostNetwork,
  ) {
    this.net = network;
    for (const id of RESERVED_TABLES) this.tables.set(id, new RouteTable(id));
    this.sysctl = new Sysctls({
      devConf: (dev) => this.links.get(dev)?.conf,
      allDevConfs: () => [...this.links.values()].map((l) => l.conf),
    });
    this.link = new LinkApi(this);
    this.addr = new AddrApi(this);
    this.route = new RouteApi(this);
    this.rule = new RuleApi(this);
    this.neigh = new NeighApi(this);
    // Every namespace starts with lo, down and without addresses (net/core/dev.c loopback_net_init).
    this.createLink('lo', 'loopback', '00:00:00:00:00:00', 65536, true);
  }

  /** The network the namespace lives in (Network.adopt moves it to another). */
  get network(): HostNetwork {
    return this.net;
  }

  /** Network.adopt: from now on the namespace's peers, clock and sends are `network`'s. */
  moveTo(network: HostNetwork): void {
    this.net = network;
  }

  // ---------------------------------------------------------------- lookups

  /** NetfilterEnv: the namespace's name. */
  get host(): string {
    return this.name;
  }

  now(): number {
    return this.network.now();
  }

  getLink(name: string): Link | undefined {
    return this.links.get(name);
  }

  requireLink(name: string): Link {
    const l = this.links.get(name);
    if (!l) throw kernelError('ENODEV', `Cannot find device "${name}"`);
    return l;
  }

  /** Devices in ifindex order. */
  linkList(): Link[] {
    // Insertion order is ifindex order: indexes only grow and deletion keeps the rest in place.
    return [...this.links.values()];
  }

  addressesOf(dev: string): readonly InetAddress[] {
    return this.addresses.get(dev) ?? [];
  }

  /** The device holding `ip` as a configured address, if any (__ip_dev_find). */
  addressOwner(ip: Ipv4): string | undefined {
    return this.localIndex.get(ip);
  }

  table(id: number): RouteTable {
    let t = this.tables.get(id);
    if (!t) this.tables.set(id, (t = new RouteTable(id)));
    return t;
  }

  hasCustomLocalRoutes(): boolean {
    return this.customLocalRoutes;
  }

  fib(flow: Flow): FibResult {
    return fibLookup(this.rules, this.tables, flow);
  }

  /** xt_rpfilter's reverse-path lookup (fib.ts reversePath). */
  reverseRoute(
    src: Ipv4,
    dst: Ipv4,
    mark: number,
  ): { type: string; devs: readonly string[] } | null {
    return reversePath(this.rules, this.tables, src, dst, mark);
  }

  /** Admin up and carrier (IFF_UP and IFF_LOWER_UP). */
  carrier(l: Link): boolean {
    if (!l.adminUp) return false;
    switch (l.kind) {
      case 'veth': {
        const p = l.peer && this.network.host(l.peer.host)?.getLink(l.peer.name);
        return p !== undefined && p.adminUp;
      }
      case 'bridge':
        if (!l.bridge?.hadPort) return true;
        for (const port of this.links.values())
          if (port.master === l.name && this.carrier(port)) return true;
        return false;
      case 'ether':
        return l.wire.kind !== 'none';
      default:
        return true;
    }
  }

  /** IPv4 multicast groups joined per device (IP_ADD_MEMBERSHIP, `ip addr add … autojoin`). */
  private readonly mcGroups = new Map<string, Set<Ipv4>>();

  /** A socket on this host joins `group` on `dev` (ip_mc_join_group). */
  joinGroup(dev: string, group: Ipv4): void {
    this.requireLink(dev);
    if (u32(group) >>> 28 !== 0xe)
      throw kernelError('EINVAL', `${group} is not a multicast address`);
    let g = this.mcGroups.get(dev);
    if (!g) this.mcGroups.set(dev, (g = new Set()));
    g.add(group);
  }

  /**
   * ip_check_mc_rcu: `dev` is a member of `group` — a group joined on it, or
   * 224.0.0.1 (all hosts), which ip_mc_up joins on every device that is up.
   */
  isGroupMember(dev: string, group: Ipv4): boolean {
    if (group === '224.0.0.1') return this.links.get(dev)?.adminUp === true;
    return this.mcGroups.get(dev)?.has(group) === true;
  }

  // ------------------------------------------------------- NetfilterEnv

  /** The namespace's conntrack sysctls (net.netfilter.nf_conntrack_*), read live. */
  get sysctls(): ConntrackSysctls {
    const flag = (key: string, dflt: boolean): boolean => {
      const v = this.sysctl.get(key);
      return v === undefined ? dflt : Number(v) !== 0;
    };
    return {
      ...DEFAULT_CONNTRACK_SYSCTLS,
      tcpLoose: flag('net.netfilter.nf_conntrack_tcp_loose', DEFAULT_CONNTRACK_SYSCTLS.tcpLoose),
      tcpBeLiberal: flag(
        'net.netfilter.nf_conntrack_tcp_be_liberal',
        DEFAULT_CONNTRACK_SYSCTLS.tcpBeLiberal,
      ),
    };
  }

  /** __inet_dev_addr_type over the local table (net/ipv4/fib_frontend.c). */
  addrType(ip: Ipv4, dev?: string): AddrType {
    const n = u32(ip);
    if (n === 0 || n === 0xffffffff) return 'BROADCAST';
    if (n >>> 28 === 0xe) return 'MULTICAST';
    const r = this.table(RT_TABLE.local).lookup({ dst: n, scope: 0, tos: 0 });
    if (r.kind === 'route' || r.kind === 'error') {
      if (dev === undefined || r.route.dev === dev) return routeTypeToAddrType(r.route.type);
    }
    return 'UNICAST';
  }

  masqueradeSource(outIface: string, nexthop: Ipv4): Ipv4 | null {
    return this.selectAddress(outIface, nexthop, RT_SCOPE.universe) ?? null;
  }

  primaryAddress(iface: string): Ipv4 | null {
    const a = this.addressesOf(iface).find((x) => !x.secondary);
    return a?.local ?? null;
  }

  /**
   * inet_select_addr (net/ipv4/devinet.c): the first primary address of `dev`
   * whose scope fits and whose subnet holds `dst`, else the first fitting
   * primary; failing that, the first non-link-scope primary of any device in
   * ifindex order (lo first).
   */
  selectAddress(dev: string, dst: Ipv4 | undefined, scope: number): Ipv4 | undefined {
    const localnetScope = this.sysctl.routeLocalnet(dev) ? RT_SCOPE.link : RT_SCOPE.host;
    let addr: Ipv4 | undefined;
    for (const a of this.addressesOf(dev)) {
      if (a.secondary) continue;
      if (Math.min(a.scope, localnetScope) > scope) continue;
      if (
        dst === undefined ||
        dst === '0.0.0.0' ||
        ((u32(a.local) ^ u32(dst)) & maskOf(a.prefix)) === 0
      ) {
        return a.local;
      }
      if (addr === undefined) addr = a.local;
    }
    if (addr !== undefined) return addr;
    for (const l of this.linkList()) {
      for (const a of this.addressesOf(l.name)) {
        if (a.secondary) continue;
        if (a.scope !== RT_SCOPE.link && a.scope <= scope) return a.local;
      }
    }
    return undefined;
  }

  // ------------------------------------------------------- sockets

  /** A process listens: `listen('tcp', 80)`, bound to 0.0.0.0 unless `addr` is given. */
  listen(proto: L4Proto, port: number, opts: { addr?: Ipv4; label?: string } = {}): Listener {
    const l: Listener = {
      proto,
      addr: opts.addr ?? '0.0.0.0',
      port,
      ...(opts.label ? { label: opts.label } : {}),
    };
    if (l.addr !== '0.0.0.0' && !this.localIndex.has(l.addr)) {
      throw kernelError('EADDRNOTAVAIL', `bind ${l.addr}:${port}: Cannot assign requested address`);
    }
    this.sockets.listen(l);
    return l;
  }

  /**
   * What packets change in this namespace, as it is now: a function that puts
   * it back — neighbour entries, the bridges' forwarding databases, sockets'
   * connections, and netfilter without conntrack entries or rule state. What
   * `ip`, sysctls and listeners configure is left as it is. Undefined when the
   * installed netfilter cannot be made cold (NetfilterHooks.cold).
   */
  coldSnapshot(): (() => void) | undefined {
    const nf = this.netfilter;
    if (nf.cold === undefined) return undefined;
    const neighbours = this.neighbours.snapshot();
    const connections = this.sockets.snapshotConnections();
    const bridges = [...this.links.values()].flatMap((l) => {
      const b = l.bridge;
      if (!b) return [];
      const fdb = [...b.fdb].map(([mac, e]) => [mac, { ...e }] as const);
      const seq = b.fdbSeq;
      return [
        () => {
          putBack(
            b.fdb,
            fdb,
            (e, s) => e.local === s.local && e.permanent === s.permanent,
            (e, s) => {
              e.port = s.port;
              e.updated = s.updated;
              e.seq = s.seq;
            },
            (s) => ({ ...s }),
          );
          b.fdbSeq = seq;
        },
      ];
    });
    return () => {
      neighbours();
      connections();
      for (const b of bridges) b();
      this.netfilter = nf.cold!();
    };
  }

  /** An ephemeral port from net.ipv4.ip_local_port_range, chosen by the (seeded) chooser. */
  ephemeralPort(chooser: Chooser): number {
    const [lo, hi] = this.sysctl.localPortRange();
    return chooser.integer(lo, hi, `ephemeral port (${this.name})`);
  }

  /**
   * A process here sends `packet` (source 0.0.0.0 = chosen by routing):
   * ip_route_output → OUTPUT → POSTROUTING → neighbour → device, and on
   * through the network until it is delivered, dropped or leaves the world.
   */
  send(packet: Ipv4Packet, opts: SendOptions & RunOptions = {}): RunResult {
    return this.network.send(this.name, packet, opts);
  }

  // ------------------------------------------------------- internals used by the APIs

  createLink(
    name: string,
    kind: Link['kind'],
    mac: Mac | undefined,
    mtu: number,
    macSet = false,
  ): Link {
    if (this.links.has(name)) throw kernelError('EEXIST', 'RTNETLINK answers: File exists');
    if (!/^[^\s/:]{1,15}$/.test(name))
      throw kernelError('EINVAL', `Error: argument "${name}" is wrong: "name" not a valid ifname`);
    const conf = this.sysctl.default.copy();
    const l = new Link(
      this.name,
      name,
      this.nextIfindex++,
      kind,
      mac ?? deriveMac(this.name, name),
      mtu,
      conf,
      macSet || mac !== undefined,
    );
    this.links.set(name, l);
    return l;
  }

  nextRouteSeq(): number {
    return this.routeSeq++;
  }

  indexAddress(a: InetAddress): void {
    if (!this.localIndex.has(a.local)) this.localIndex.set(a.local, a.dev);
  }

  reindexAddresses(): void {
    this.localIndex.clear();
    for (const l of this.linkList()) for (const a of this.addressesOf(l.name)) this.indexAddress(a);
  }

  /** fib_magic: a kernel route, unless an identical one is there (NLM_F_APPEND + exact match). */
  addKernelRoute(
    r: Pick<Route, 'table' | 'type' | 'dst' | 'metric' | 'scope'> & { dev: string; src: Ipv4 },
  ): void {
    const t = this.table(r.table);
    const same = t
      .aliases(r.dst)
      .some(
        (x) =>
          x.type === r.type &&
          x.dev === r.dev &&
          x.src === r.src &&
          x.metric === r.metric &&
          x.via === undefined,
      );
    if (same) return;
    // Written out, not spread: a spread followed by more keys costs microseconds a call in V8,
    // and a node's pods add six of these each.
    t.insert({
      table: r.table,
      type: r.type,
      dst: r.dst,
      metric: r.metric,
      scope: r.scope,
      dev: r.dev,
      src: r.src,
      proto: 'kernel',
      tos: 0,
      onlink: false,
      seq: this.nextRouteSeq(),
    });
  }

  /** fib_add_ifaddr (net/ipv4/fib_frontend.c). */
  fibAddIfaddr(a: InetAddress): void {
    const l = this.requireLink(a.dev);
    const prim = a.secondary
      ? this.addressesOf(a.dev).find(
          (p) => !p.secondary && p.prefix === a.prefix && sameNet(p.local, a.local, a.prefix),
        )
      : a;
    if (!prim) return;
    const src = prim.local;
    this.addKernelRoute({
      table: RT_TABLE.local,
      type: 'local',
      dst: host32(a.local),
      metric: 0,
      scope: RT_SCOPE.host,
      dev: a.dev,
      src,
    });
    if (!l.adminUp) return;
    if (a.broadcast !== undefined && a.broadcast !== '255.255.255.255') {
      this.addKernelRoute({
        table: RT_TABLE.local,
        type: 'broadcast',
        dst: host32(a.broadcast),
        metric: 0,
        scope: RT_SCOPE.link,
        dev: a.dev,
        src,
      });
    }
    const net = maskNet(a.local, a.prefix);
    if (net !== '0.0.0.0' && !a.secondary && (net !== a.local || a.prefix < 32)) {
      if (!a.noprefixroute) {
        const loop = l.isLoopback;
        this.addKernelRoute({
          table: loop ? RT_TABLE.local : RT_TABLE.main,
          type: loop ? 'local' : 'unicast',
          dst: { network: net, prefix: a.prefix },
          metric: a.metric,
          scope: loop ? RT_SCOPE.host : RT_SCOPE.link,
          dev: a.dev,
          src,
        });
      }
      if (a.prefix < 31) {
        const brd = broadcastOf({ network: net, prefix: a.prefix });
        this.addKernelRoute({
          table: RT_TABLE.local,
          type: 'broadcast',
          dst: host32(brd),
          metric: 0,
          scope: RT_SCOPE.link,
          dev: a.dev,
          src,
        });
      }
    }
  }

  /** Rebuilds a device's kernel routes from its addresses (after an address is removed). */
  refreshKernelRoutes(dev: string): void {
    for (const t of this.tables.values())
      t.removeWhere((r) => r.dev === dev && r.proto === 'kernel');
    for (const a of this.addressesOf(dev)) this.fibAddIfaddr(a);
  }

  /** fib_disable_ip on NETDEV_DOWN: routes through the device die, host-scope (local) ones stay. */
  deviceDown(dev: string): void {
    for (const t of this.tables.values())
      t.removeWhere((r) => r.dev === dev && r.scope !== RT_SCOPE.host);
    this.neighbours.flushDev(dev);
  }

  /** NETDEV_UP: lo gets 127.0.0.1/8; every address's routes come back (fib_add_ifaddr). */
  deviceUp(dev: string): void {
    const l = this.requireLink(dev);
    if (l.isLoopback && !this.addressesOf(dev).some((a) => a.local === '127.0.0.1')) {
      this.addr.insert({
        dev,
        local: '127.0.0.1',
        prefix: 8,
        broadcast: undefined,
        scope: RT_SCOPE.host,
        secondary: false,
        noprefixroute: false,
        metric: 0,
      });
    }
    for (const a of this.addressesOf(dev)) this.fibAddIfaddr(a);
  }
}

export function routeTypeToAddrType(t: RouteType): AddrType {
  switch (t) {
    case 'unicast':
      return 'UNICAST';
    case 'local':
      return 'LOCAL';
    case 'broadcast':
      return 'BROADCAST';
    case 'blackhole':
      return 'BLACKHOLE';
    case 'unreachable':
      return 'UNREACHABLE';
    case 'prohibit':
      return 'PROHIBIT';
    case 'throw':
      return 'THROW';
  }
}

export function maskNet(ip: Ipv4, prefix: number): Ipv4 {
  return intToIp((u32(ip) & maskOf(prefix)) >>> 0);
}

export function sameNet(a: Ipv4, b: Ipv4, prefix: number): boolean {
  return maskNet(a, prefix) === maskNet(b, prefix);
}

export function host32(ip: Ipv4): Cidr {
  return { network: ip, prefix: 32 };
}

export { formatDst };
export type { FdbEntry, InetAddress, Ipv4Packet, Link, Route, SkbMeta };

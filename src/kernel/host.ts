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
 * What the kernel refuses (a gateway that is not on-link, a duplicate route)
 * throws `KernelError` with iproute2's message.
 */
import {
  broadcastOf,
  intToIp,
  isIpv4,
  maskOf,
  parseCidr,
  type Cidr,
  type Ipv4,
} from '../wire/addr.js';
import { normalizeMac, type Mac } from '../wire/ethernet.js';
import type { Ipv4Packet, L4Proto } from '../wire/packet.js';
import { kernelError } from './errors.js';
import {
  reversePath,
  DEFAULT_RULES,
  u32,
  fibLookup,
  formatDst,
  parseTable,
  protoName,
  RouteTable,
  RT_TABLE,
  type Flow,
  type FibResult,
  type PolicyRule,
  type Route,
  type RouteType,
  type RuleAction,
} from './fib.js';
import { ACCEPT_ALL, type NetfilterHooks, type SkbMeta } from './hooks.js';
import { DEFAULT_CONNTRACK_SYSCTLS, type ConntrackSysctls } from './conntrack/core.js';
import type { NetfilterEnv } from './netfilter/env.js';
import {
  compareMac,
  deriveMac,
  Link,
  parseScope,
  RT_SCOPE,
  type DeviceDriver,
  type FdbEntry,
  type InetAddress,
  type Wire,
  type SendOptions,
} from './link.js';
import { NeighTable, type NeighEntry, type NudState } from './neigh.js';
import type { AddrType } from './netfilter/types.js';
import { SocketTable, type Listener } from './socket.js';
import { Sysctls } from './sysctl.js';
import type { Chooser } from './random.js';
import type { Fate } from './fate.js';
import type { Recorder } from './step.js';

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

const RESERVED_TABLES = [RT_TABLE.local, RT_TABLE.main, RT_TABLE.default];

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

  readonly link: LinkApi;
  readonly addr: AddrApi;
  readonly route: RouteApi;
  readonly rule: RuleApi;
  readonly neigh: NeighApi;

  constructor(
    readonly name: string,
    readonly network: HostNetwork,
  ) {
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
    const conf = new Map(this.sysctl.default);
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
  addKernelRoute(r: Omit<Route, 'seq' | 'proto' | 'tos' | 'onlink'>): void {
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
    t.insert({ ...r, proto: 'kernel', tos: 0, onlink: false, seq: this.nextRouteSeq() });
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

function routeTypeToAddrType(t: RouteType): AddrType {
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

function sameNet(a: Ipv4, b: Ipv4, prefix: number): boolean {
  return maskNet(a, prefix) === maskNet(b, prefix);
}

function host32(ip: Ipv4): Cidr {
  return { network: ip, prefix: 32 };
}

function parseAddressArg(s: string): { local: Ipv4; prefix: number } {
  const slash = s.indexOf('/');
  const local = slash < 0 ? s : s.slice(0, slash);
  const prefixText = slash < 0 ? '32' : s.slice(slash + 1);
  if (!isIpv4(local) || !/^\d{1,2}$/.test(prefixText) || Number(prefixText) > 32) {
    throw kernelError('EINVAL', `Error: any valid prefix is expected rather than "${s}".`);
  }
  return { local, prefix: Number(prefixText) };
}

/** The default scope iproute2 gives an address: host for 127/8 (ipaddress.c default_scope). */
function defaultAddrScope(local: Ipv4): number {
  return local.startsWith('127.') ? RT_SCOPE.host : RT_SCOPE.universe;
}

// =================================================================== ip link

export class LinkApi {
  constructor(private readonly h: Host) {}

  get(name: string): Link | undefined {
    return this.h.getLink(name);
  }

  list(): Link[] {
    return this.h.linkList();
  }

  /**
   * `ip link add NAME type veth peer name PEER [netns PEERHOST]`. The peer is
   * registered first (veth_newlink), so it takes the lower ifindex when both
   * ends share a namespace.
   */
  addVeth(
    name: string,
    opts: { peer: string; peerHost?: Host; mac?: Mac; peerMac?: Mac; mtu?: number },
  ): Link {
    const ph = opts.peerHost ?? this.h;
    if (this.h.getLink(name) || (ph === this.h && name === opts.peer))
      throw kernelError('EEXIST', 'RTNETLINK answers: File exists');
    if (ph.getLink(opts.peer)) throw kernelError('EEXIST', 'RTNETLINK answers: File exists');
    const mtu = opts.mtu ?? 1500;
    const p = ph.createLink(opts.peer, 'veth', opts.peerMac && normalizeMac(opts.peerMac), mtu);
    const l = this.h.createLink(name, 'veth', opts.mac && normalizeMac(opts.mac), mtu);
    l.peer = { host: ph.name, name: opts.peer };
    p.peer = { host: this.h.name, name };
    return l;
  }

  /** `ip link add NAME type bridge`. */
  addBridge(name: string, opts: { mac?: Mac; mtu?: number; ageingTime?: number } = {}): Link {
    const l = this.h.createLink(
      name,
      'bridge',
      opts.mac && normalizeMac(opts.mac),
      opts.mtu ?? 1500,
    );
    l.bridge = {
      fdb: new Map(),
      ageingTime: opts.ageingTime ?? 300,
      nfCallIptables: false,
      fdbSeq: 0,
      hadPort: false,
    };
    this.addFdbLocal(l, l.mac, undefined);
    return l;
  }

  /** `ip link add NAME type dummy` (IFF_NOARP; transmits go nowhere). */
  addDummy(name: string, opts: { mac?: Mac; mtu?: number } = {}): Link {
    return this.h.createLink(name, 'dummy', opts.mac && normalizeMac(opts.mac), opts.mtu ?? 1500);
  }

  /** A physical NIC (eth0, ens4). Its wire is attached by the network (segment or world). */
  addEther(name: string, opts: { mac?: Mac; mtu?: number } = {}): Link {
    return this.h.createLink(name, 'ether', opts.mac && normalizeMac(opts.mac), opts.mtu ?? 1500);
  }

  /** A device of another kind (vxlan, ipip, …) whose transmit path a driver provides. */
  addDevice(name: string, driver: DeviceDriver, opts: { mac?: Mac; mtu?: number } = {}): Link {
    const l = this.h.createLink(
      name,
      driver.kind,
      opts.mac && normalizeMac(opts.mac),
      opts.mtu ?? 1500,
    );
    l.driver = driver;
    return l;
  }

  setWire(name: string, wire: Wire): void {
    const l = this.h.requireLink(name);
    if (l.kind !== 'ether')
      throw kernelError('EOPNOTSUPP', `${name}: only ether devices take a wire`);
    l.wire = wire;
  }

  /** `ip link set NAME [up|down] [master BR|nomaster] [mtu N] [address MAC] [promisc on|off]`. */
  set(name: string, s: LinkSettings): void {
    const l = this.h.requireLink(name);
    if (s.mac !== undefined) {
      const mac = normalizeMac(s.mac);
      if (l.bridge) {
        const old = l.mac;
        l.mac = mac;
        l.macSet = true;
        this.replaceBridgeOwnEntry(l, old);
      } else {
        const old = l.mac;
        l.mac = mac;
        l.macSet = true;
        if (l.master) {
          const br = this.h.requireLink(l.master);
          br.bridge!.fdb.delete(old);
          this.addFdbLocal(br, mac, l.name);
          this.recalcBridgeMac(br);
        }
      }
    }
    if (s.mtu !== undefined) {
      if (!Number.isInteger(s.mtu) || s.mtu < 68)
        throw kernelError('EINVAL', `Error: mtu less than device minimum.`);
      l.mtu = s.mtu;
    }
    if (s.promisc !== undefined) l.promisc = s.promisc;
    if (s.master !== undefined) {
      if (s.master === null) this.release(l);
      else this.enslave(l, this.h.requireLink(s.master));
    }
    if (s.up !== undefined && s.up !== l.adminUp) {
      l.adminUp = s.up;
      if (s.up) this.h.deviceUp(name);
      else {
        this.h.deviceDown(name);
        if (l.master) this.flushLearned(this.h.requireLink(l.master), name);
      }
    }
  }

  /** `bridge link set dev NAME hairpin on|off learning on|off flood on|off`. */
  setPort(name: string, flags: { hairpin?: boolean; learning?: boolean; flood?: boolean }): void {
    const l = this.h.requireLink(name);
    if (!l.port) throw kernelError('EOPNOTSUPP', `Error: ${name} is not a bridge port.`);
    if (flags.hairpin !== undefined) l.port.hairpin = flags.hairpin;
    if (flags.learning !== undefined) l.port.learning = flags.learning;
    if (flags.flood !== undefined) l.port.flood = flags.flood;
  }

  /** `ip link set BR type bridge nf_call_iptables 1 ageing_time N`. */
  setBridge(name: string, opts: { nfCallIptables?: boolean; ageingTime?: number }): void {
    const l = this.h.requireLink(name);
    if (!l.bridge) throw kernelError('EOPNOTSUPP', `Error: ${name} is not a bridge.`);
    if (opts.nfCallIptables !== undefined) l.bridge.nfCallIptables = opts.nfCallIptables;
    if (opts.ageingTime !== undefined) l.bridge.ageingTime = opts.ageingTime;
  }

  /** `ip link del NAME` (a veth takes its peer with it). */
  del(name: string): void {
    const l = this.h.requireLink(name);
    if (l.isLoopback) throw kernelError('EOPNOTSUPP', 'RTNETLINK answers: Operation not supported');
    this.remove(this.h, l);
    if (l.peer) {
      const ph = this.h.network.host(l.peer.host);
      const p = ph?.getLink(l.peer.name);
      if (ph && p) this.remove(ph, p);
    }
  }

  private remove(h: Host, l: Link): void {
    if (l.adminUp) h.deviceDown(l.name);
    if (l.master) h.link.release(l);
    if (l.bridge)
      for (const port of h.links.values()) if (port.master === l.name) h.link.release(port);
    for (const t of h.tables.values()) t.removeWhere((r) => r.dev === l.name);
    h.addresses.delete(l.name);
    h.links.delete(l.name);
    h.reindexAddresses();
  }

  private enslave(port: Link, br: Link): void {
    if (!br.bridge) throw kernelError('EINVAL', `Error: Device can not be enslaved while up.`);
    if (port === br || port.isLoopback || port.bridge)
      throw kernelError('EINVAL', 'Error: Can not enslave a bridge to itself.');
    if (port.master === br.name) return;
    if (port.master) this.release(port);
    port.master = br.name;
    port.port = { hairpin: false, learning: true, flood: true };
    br.bridge.hadPort = true;
    this.addFdbLocal(br, port.mac, port.name);
    this.recalcBridgeMac(br);
  }

  release(port: Link): void {
    if (!port.master) return;
    const br = this.h.requireLink(port.master);
    for (const [mac, e] of br.bridge!.fdb) if (e.port === port.name) br.bridge!.fdb.delete(mac);
    port.master = undefined;
    port.port = undefined;
    const left = [...this.h.links.values()].some((l) => l.master === br.name);
    if (!left && !br.macSet) {
      // br_stp_recalculate_bridge_id with no port left: the bridge id (and address) becomes zero.
      const e = br.bridge!.fdb.get(br.mac);
      if (e && e.local && e.port === undefined) br.bridge!.fdb.delete(br.mac);
      br.mac = '00:00:00:00:00:00';
      return;
    }
    this.recalcBridgeMac(br);
  }

  private flushLearned(br: Link, port: string): void {
    for (const [mac, e] of br.bridge!.fdb)
      if (e.port === port && !e.local) br.bridge!.fdb.delete(mac);
  }

  private addFdbLocal(br: Link, mac: Mac, port: string | undefined): void {
    const b = br.bridge!;
    const existing = b.fdb.get(mac);
    if (existing && existing.local) return;
    const e: FdbEntry = {
      mac,
      port,
      local: true,
      permanent: true,
      updated: this.h.now(),
      seq: b.fdbSeq++,
    };
    b.fdb.set(mac, e);
  }

  /**
   * br_stp_recalculate_bridge_id: unless its address was set by hand, a
   * bridge takes the lowest MAC among its ports.
   */
  private recalcBridgeMac(br: Link): void {
    if (br.macSet) return;
    let min: Mac | undefined;
    for (const p of this.h.links.values())
      if (p.master === br.name && (min === undefined || compareMac(p.mac, min) < 0)) min = p.mac;
    if (min === undefined || min === br.mac) return;
    const old = br.mac;
    br.mac = min;
    this.replaceBridgeOwnEntry(br, old);
  }

  private replaceBridgeOwnEntry(br: Link, old: Mac): void {
    const b = br.bridge!;
    const e = b.fdb.get(old);
    if (e && e.local && e.port === undefined) b.fdb.delete(old);
    this.addFdbLocal(br, br.mac, undefined);
  }
}

// =================================================================== ip addr

export class AddrApi {
  constructor(private readonly h: Host) {}

  list(dev?: string): InetAddress[] {
    if (dev !== undefined) return [...this.h.addressesOf(dev)];
    return this.h.linkList().flatMap((l) => [...this.h.addressesOf(l.name)]);
  }

  /** `ip addr add ADDR/PLEN dev DEV [brd +|ADDR] [scope S] [noprefixroute] [metric N]`. */
  add(cidr: string, dev: string, opts: AddrOptions = {}): InetAddress {
    this.h.requireLink(dev);
    const { local, prefix } = parseAddressArg(cidr);
    const scope = opts.scope !== undefined ? parseScope(opts.scope) : defaultAddrScope(local);
    let broadcast: Ipv4 | undefined;
    if (opts.brd === '+')
      broadcast =
        prefix < 31 ? broadcastOf({ network: maskNet(local, prefix), prefix }) : undefined;
    else if (opts.brd !== undefined) broadcast = opts.brd;
    return this.insert({
      dev,
      local,
      prefix,
      broadcast,
      scope,
      secondary: false,
      noprefixroute: opts.noprefixroute ?? false,
      metric: opts.metric ?? 0,
    });
  }

  /** __inet_insert_ifa: EEXIST, primary/secondary, list position; then fib_add_ifaddr. */
  insert(a: InetAddress): InetAddress {
    const list = [...this.h.addressesOf(a.dev)];
    let secondary = false;
    let lastPrimary = 0;
    for (let i = 0; i < list.length; i++) {
      const x = list[i]!;
      if (!x.secondary && a.scope <= x.scope) lastPrimary = i + 1;
      if (x.prefix === a.prefix && sameNet(x.local, a.local, a.prefix)) {
        if (x.local === a.local) throw kernelError('EEXIST', 'RTNETLINK answers: File exists');
        if (x.scope !== a.scope) throw kernelError('EINVAL', 'RTNETLINK answers: Invalid argument');
        secondary = true;
      }
    }
    const ifa: InetAddress = { ...a, secondary };
    if (secondary) list.push(ifa);
    else list.splice(lastPrimary, 0, ifa);
    this.h.addresses.set(a.dev, list);
    this.h.indexAddress(ifa);
    this.h.fibAddIfaddr(ifa);
    return ifa;
  }

  /**
   * `ip addr del ADDR/PLEN dev DEV`. Deleting a primary deletes its
   * secondaries unless promote_secondaries is on, which promotes the first.
   */
  del(cidr: string, dev: string): void {
    const { local, prefix } = parseAddressArg(cidr);
    const list = [...this.h.addressesOf(dev)];
    const i = list.findIndex((x) => x.local === local && x.prefix === prefix);
    if (i < 0)
      throw kernelError('EADDRNOTAVAIL', 'RTNETLINK answers: Cannot assign requested address');
    const [gone] = list.splice(i, 1);
    let kept = list;
    if (gone && !gone.secondary) {
      const sameSubnet = (x: InetAddress): boolean =>
        x.secondary && x.prefix === gone.prefix && sameNet(x.local, gone.local, gone.prefix);
      if (this.h.sysctl.orConf(dev, 'promote_secondaries')) {
        const j = kept.findIndex(sameSubnet);
        if (j >= 0) {
          const promoted = { ...kept[j]!, secondary: false };
          kept.splice(j, 1);
          kept.splice(Math.min(i, kept.length), 0, promoted);
        }
      } else {
        kept = kept.filter((x) => !sameSubnet(x));
      }
    }
    this.h.addresses.set(dev, kept);
    this.h.reindexAddresses();
    this.h.refreshKernelRoutes(dev);
  }

  flush(dev: string): void {
    this.h.addresses.set(dev, []);
    this.h.reindexAddresses();
    this.h.refreshKernelRoutes(dev);
  }
}

// =================================================================== ip route

export class RouteApi {
  constructor(private readonly h: Host) {}

  list(table: string | number = 'main'): Route[] {
    return this.h.table(parseTable(table)).list();
  }

  /** `ip route add …` (NLM_F_EXCL: an existing route with the same prefix, TOS and metric is EEXIST). */
  add(spec: RouteSpec): Route {
    const r = this.build(spec);
    const t = this.h.table(r.table);
    if (t.aliases(r.dst).some((x) => x.tos === r.tos && x.metric === r.metric)) {
      throw kernelError('EEXIST', 'RTNETLINK answers: File exists');
    }
    t.insert(r);
    return r;
  }

  /** `ip route append …`: same key allowed, added after the existing ones. */
  append(spec: RouteSpec): Route {
    const r = this.build(spec);
    const t = this.h.table(r.table);
    if (t.aliases(r.dst).some((x) => sameRoute(x, r)))
      throw kernelError('EEXIST', 'RTNETLINK answers: File exists');
    t.insert(r);
    return r;
  }

  /** `ip route replace …`. */
  replace(spec: RouteSpec): Route {
    const r = this.build(spec);
    const t = this.h.table(r.table);
    const old = t.aliases(r.dst).find((x) => x.tos === r.tos && x.metric === r.metric);
    if (old) t.removeWhere((x) => x === old);
    t.insert(old ? { ...r, seq: old.seq } : r);
    return r;
  }

  /** `ip route del DST [via GW] [dev DEV] [metric N] [table T]`: the first route that matches. */
  del(spec: Partial<RouteSpec> & { dst: string }): void {
    const dst = parseRouteDst(spec.dst);
    const t = this.h.table(parseTable(spec.table ?? 'main'));
    const victim = t
      .aliases(dst)
      .find(
        (x) =>
          (spec.via === undefined || x.via === spec.via) &&
          (spec.dev === undefined || x.dev === spec.dev) &&
          (spec.metric === undefined || x.metric === spec.metric) &&
          (spec.type === undefined || x.type === spec.type),
      );
    if (!victim) throw kernelError('ESRCH', 'RTNETLINK answers: No such process');
    t.removeWhere((x) => x === victim);
  }

  /** Route construction with the checks of fib_create_info / fib_check_nh. */
  private build(spec: RouteSpec): Route {
    const h = this.h;
    const dst = parseRouteDst(spec.dst);
    const type: RouteType = spec.type ?? 'unicast';
    const table = parseTable(
      spec.table ?? (type === 'local' || type === 'broadcast' ? 'local' : 'main'),
    );
    const hasNexthop = type === 'unicast' || type === 'local' || type === 'broadcast';
    // iproute2 iproute_modify: default scopes.
    let scope: number;
    if (spec.scope !== undefined) scope = parseScope(spec.scope);
    else if (type === 'local') scope = RT_SCOPE.host;
    else if (type === 'broadcast') scope = RT_SCOPE.link;
    else if (type === 'unicast' && spec.via === undefined) scope = RT_SCOPE.link;
    else scope = RT_SCOPE.universe;

    let dev = spec.dev;
    if (dev !== undefined) h.requireLink(dev);
    if (!hasNexthop) {
      if (spec.via !== undefined)
        throw kernelError('EINVAL', 'Error: Nexthop has invalid gateway.');
    } else if (spec.via !== undefined) {
      if (!isIpv4(spec.via))
        throw kernelError('EINVAL', `Error: inet address is expected rather than "${spec.via}".`);
      if (scope >= RT_SCOPE.host)
        throw kernelError('EINVAL', 'Error: Route with host scope can not have a gateway.');
      if (spec.onlink) {
        if (dev === undefined)
          throw kernelError('EINVAL', 'Error: Nexthop device required for onlink.');
        if (scope >= RT_SCOPE.link)
          throw kernelError('EINVAL', 'Error: Nexthop has invalid scope.');
        if (!h.requireLink(dev).adminUp)
          throw kernelError('ENETDOWN', 'Error: Nexthop device is not up.');
        if (h.addrType(spec.via, dev) !== 'UNICAST')
          throw kernelError('EINVAL', 'Error: Nexthop has invalid gateway.');
      } else {
        // fib_check_nh_v4_gw: the gateway must be reachable by a route of narrower scope.
        const r = h.fib({ dst: spec.via, iif: 'lo', oif: dev, mark: 0, tos: 0, scope: scope + 1 });
        // A unicast or local result will do (Linux accepts one of its own addresses as gateway).
        if (!r.ok || (r.route.type !== 'unicast' && r.route.type !== 'local')) {
          throw kernelError('EINVAL', 'Error: Nexthop has invalid gateway.');
        }
        dev = r.route.dev;
        if (!dev || !h.requireLink(dev).adminUp)
          throw kernelError('ENETDOWN', 'Error: Nexthop device is not up.');
      }
    } else if (hasNexthop) {
      if (dev === undefined) throw kernelError('EINVAL', 'Error: Device for nexthop is not up.');
      if (!h.requireLink(dev).adminUp && type === 'unicast')
        throw kernelError('ENETDOWN', 'Error: Device for nexthop is not up.');
    }
    if (spec.src !== undefined) {
      const isLocal =
        h.addrType(spec.src) === 'LOCAL' || (type === 'local' && spec.src === dst.network);
      if (!isLocal) throw kernelError('EINVAL', 'Error: Invalid prefsrc address.');
    }
    if (type === 'local') h.customLocalRoutes = true;
    return {
      table,
      type,
      dst,
      tos: spec.tos ?? 0,
      metric: spec.metric ?? 0,
      proto: protoName(spec.proto ?? 'boot'),
      scope,
      ...(spec.via !== undefined ? { via: spec.via } : {}),
      ...(dev !== undefined && hasNexthop ? { dev } : {}),
      ...(spec.src !== undefined ? { src: spec.src } : {}),
      onlink: spec.onlink ?? false,
      seq: h.nextRouteSeq(),
    };
  }
}

function sameRoute(a: Route, b: Route): boolean {
  return (
    a.type === b.type &&
    a.tos === b.tos &&
    a.metric === b.metric &&
    a.via === b.via &&
    a.dev === b.dev &&
    a.src === b.src
  );
}

function parseRouteDst(s: string): Cidr {
  if (s === 'default' || s === 'all' || s === 'any') return { network: '0.0.0.0', prefix: 0 };
  const slash = s.indexOf('/');
  const ip = slash < 0 ? s : s.slice(0, slash);
  if (!isIpv4(ip))
    throw kernelError('EINVAL', `Error: any valid prefix is expected rather than "${s}".`);
  const c = parseCidr(s);
  if (c.network !== ip)
    throw kernelError('EINVAL', 'Error: Invalid prefix for given prefix length.');
  return c;
}

// =================================================================== ip rule

export class RuleApi {
  constructor(private readonly h: Host) {}

  list(): readonly PolicyRule[] {
    return this.h.rules;
  }

  /** `ip rule add [not] [from P] [to P] [fwmark V[/M]] [iif D] [oif D] [priority N] lookup T|blackhole|…`. */
  add(spec: RuleSpec): PolicyRule {
    const action: RuleAction = spec.action
      ? { kind: spec.action }
      : { kind: 'lookup', table: parseTable(spec.table ?? 'main') };
    // Without a priority the kernel picks one below the lowest non-zero rule (fib_default_rule_pref).
    let priority = spec.priority;
    if (priority === undefined) {
      const second = this.h.rules.find((r) => r.priority > 0);
      priority = second ? Math.max(second.priority - 1, 0) : 0;
    }
    const fw =
      spec.fwmark === undefined
        ? undefined
        : typeof spec.fwmark === 'number'
          ? { value: spec.fwmark, mask: 0xffffffff }
          : spec.fwmark;
    const rule: PolicyRule = {
      priority,
      ...(spec.from !== undefined && spec.from !== 'all' ? { from: parseCidr(spec.from) } : {}),
      ...(spec.to !== undefined && spec.to !== 'all' ? { to: parseCidr(spec.to) } : {}),
      ...(spec.iif !== undefined ? { iif: spec.iif } : {}),
      ...(spec.oif !== undefined ? { oif: spec.oif } : {}),
      ...(fw ? { fwmark: fw } : {}),
      invert: spec.not ?? false,
      action,
    };
    const rules = [...this.h.rules];
    let i = rules.length;
    while (i > 0 && rules[i - 1]!.priority > priority) i--;
    rules.splice(i, 0, rule);
    this.h.rules = rules;
    return rule;
  }

  del(priority: number): void {
    const i = this.h.rules.findIndex((r) => r.priority === priority);
    if (i < 0) throw kernelError('ENOENT', 'RTNETLINK answers: No such file or directory');
    this.h.rules = this.h.rules.filter((_, j) => j !== i);
  }
}

// =================================================================== ip neigh

export class NeighApi {
  constructor(private readonly h: Host) {}

  list(): NeighEntry[] {
    return this.h.neighbours.list(this.h.now());
  }

  /** `ip neigh add IP lladdr MAC dev DEV [nud permanent|reachable|stale|noarp]` (permanent by default). */
  add(
    ip: Ipv4,
    dev: string,
    opts: {
      lladdr?: Mac;
      nud?: 'permanent' | 'reachable' | 'stale' | 'noarp';
      router?: boolean;
    } = {},
  ): NeighEntry {
    this.h.requireLink(dev);
    if (!isIpv4(ip))
      throw kernelError('EINVAL', `Error: inet address is expected rather than "${ip}".`);
    const state = (opts.nud ?? 'permanent').toUpperCase() as NudState;
    if (opts.lladdr === undefined && state !== 'NOARP')
      throw kernelError('EINVAL', 'Error: No link layer address given.');
    if (this.h.neighbours.get(dev, ip, this.h.now()))
      throw kernelError('EEXIST', 'RTNETLINK answers: File exists');
    const e = this.h.neighbours.create(
      dev,
      ip,
      state,
      this.h.now(),
      opts.lladdr && normalizeMac(opts.lladdr),
    );
    e.router = opts.router ?? false;
    return e;
  }

  /** `ip neigh replace …` */
  replace(
    ip: Ipv4,
    dev: string,
    opts: { lladdr?: Mac; nud?: 'permanent' | 'reachable' | 'stale' | 'noarp' } = {},
  ): NeighEntry {
    this.h.neighbours.delete(dev, ip);
    return this.add(ip, dev, opts);
  }

  del(ip: Ipv4, dev: string): void {
    if (!this.h.neighbours.delete(dev, ip))
      throw kernelError('ENOENT', 'RTNETLINK answers: No such file or directory');
  }

  /** `ip neigh add proxy IP dev DEV`. */
  addProxy(ip: Ipv4, dev: string): void {
    this.h.requireLink(dev);
    this.h.neighbours.addProxy(dev, ip);
  }
}

export type { FdbEntry, InetAddress, Link, SkbMeta, Ipv4Packet, Route };
export { formatDst };

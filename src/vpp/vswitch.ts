/**
 * One VPP instance (a Contiv-VPP vswitch) and a packet's walk through its
 * graph, node by node, recording what each node's trace function would
 * record (`vlib_add_trace`). The nodes and what they do:
 *
 * - `virtio-input` (`src/vnet/devices/virtio/node.c`): a frame from a TAP v2
 *   interface; next `ethernet-input` (VNET_DEVICE_INPUT_NEXT_ETHERNET_INPUT, 4).
 * - `ethernet-input` (`src/vnet/ethernet/node.c`): an L3 interface takes frames
 *   for its own MAC, broadcast or multicast; IPv4 to `ip4-input`, ARP to
 *   `arp-input`.
 * - `ip4-input` (`src/vnet/ip/ip4_input.c`, `ip4_input_check_x1`): version,
 *   header checksum, TTL; then the `ip4-unicast` feature arc of the RX
 *   interface (the ACL plugin's input node, NAT44), ending in `ip4-lookup`.
 * - `ip4-lookup` (`src/vnet/ip/ip4_forward.c`): longest-prefix match in the
 *   interface's FIB; the DPO is an adjacency (`ip4-rewrite`), a receive
 *   (`ip4-local`) or a drop.
 * - `ip4-rewrite` (ip4_forward.c `ip4_rewrite_inline`): TTL − 1 with the
 *   checksum's incremental `+ 0x0100`, TTL 1 or 0 to `ip4-icmp-error`, the
 *   adjacency's rewrite string (the Ethernet header) prepended; then the
 *   `ip4-output` arc (the ACL plugin's output node) and `interface-output`,
 *   whose per-interface node is `<name>-output`.
 * - `arp-input` (`src/vnet/ethernet/arp.c`): requests for an address on the
 *   receiving interface are answered, replies learnt.
 *
 * Next-node indices are what `vlib_node_add_next` hands out: a node's
 * registered nexts first, then one per new arc in the order configuration
 * creates it (the ACL node's arc to `nat44-in2out` exists once the first
 * interface with both features is configured). Adjacency indices are pool
 * indices in creation order.
 */
import type { Ipv4 } from '../wire/addr.js';
import { cidrContains, parseCidr } from '../wire/addr.js';
import { internetChecksum } from '../wire/checksum.js';
import { AclPlugin, type AclTrace } from './acl.js';
import {
  VXLAN_PORT,
  vxlanEncap,
  type BridgeDomain,
  type L2TraceRecord,
  type VxlanTunnel,
} from './l2.js';
import { Nat44, type NatChooser, type NatTrace } from './nat44.js';

export type Mac = string;

export interface SwInterface {
  readonly swIfIndex: number;
  readonly hwIfIndex: number;
  readonly name: string;
  readonly mac: Mac;
  /** `tap` (TAP v2, virtio), `loopback` (the VXLAN BVI), `vxlan`, `dpdk` (a physical NIC). */
  readonly kind: 'tap' | 'loopback' | 'vxlan' | 'dpdk';
  readonly ip4?: string;
  natInside: boolean;
  natOutside: boolean;
}

export interface Adjacency {
  readonly index: number;
  /** `nbr` (a neighbour's rewrite) or `glean` (a connected subnet's: ARP for the destination). */
  readonly kind: 'nbr' | 'glean';
  readonly swIfIndex: number;
  readonly nextHop: Ipv4;
  /** The neighbour's MAC once known (static ARP or learnt); undefined while incomplete. */
  dstMac?: Mac;
  /** Learnt from ARP (`show ip arp` flag D) rather than configured (S). */
  learnt?: boolean;
}

export type Dpo =
  | { readonly kind: 'adj'; readonly adj: number }
  /** A route via a next hop without an interface: resolved through the next hop's own FIB entry. */
  | { readonly kind: 'recursive'; readonly via: Ipv4 }
  | { readonly kind: 'receive'; readonly swIfIndex: number }
  | { readonly kind: 'drop' };

export interface FibEntry {
  readonly prefix: string;
  readonly dpo: Dpo;
  /** The entry's load-balance DPO index (`load_balance_create`, a pool index in creation order). */
  readonly lb: number;
  /** Who installed it (Contiv's function or "connected"), for `show ip fib` views. */
  readonly source: string;
}

/** One node's trace record, as `show trace` prints it (format.ts). */
export type VppTraceRecord =
  | {
      readonly node: 'virtio-input';
      readonly hwIfIndex: number;
      readonly nextIndex: number;
      readonly len: number;
    }
  | { readonly node: 'ethernet-input' | 'arp-input' | 'ip4-input'; readonly data: Uint8Array }
  | AclTrace
  | NatTrace
  | {
      readonly node: 'ip4-lookup' | 'ip4-load-balance';
      readonly fibIndex: number;
      readonly dpoIndex: number;
      /** `vnet_buffer (b)->ip.flow_hash` when the node traced it; 0 unless computed. */
      readonly flowHash?: number;
      readonly data: Uint8Array;
    }
  | {
      readonly node: 'ip4-rewrite';
      readonly txSwIfIndex: number;
      readonly adj: Adjacency & { readonly ifName: string; readonly rewrite: Uint8Array };
      readonly data: Uint8Array;
    }
  | {
      readonly node: 'ip4-local' | 'error-drop';
      readonly data: Uint8Array;
      readonly reason?: string;
    }
  | { readonly node: 'dpdk-input'; readonly ifName: string; readonly frame: Uint8Array }
  | (Omit<AclTrace, 'node'> & { readonly node: 'acl-plugin-in-ip4-l2' })
  | L2TraceRecord
  | { readonly node: `${string}-output`; readonly ifName: string; readonly data: Uint8Array };

export interface VppTraceEntry {
  /** Node visits in order; 0-based, the timestamp column is rendered from it. */
  readonly seq: number;
  readonly record: VppTraceRecord;
}

export type VppFate =
  | {
      readonly kind: 'transmit';
      readonly ifName: string;
      readonly swIfIndex: number;
      readonly frame: Uint8Array;
    }
  | { readonly kind: 'local'; readonly frame: Uint8Array }
  | { readonly kind: 'drop'; readonly node: string; readonly reason: string };

export interface VppPass {
  readonly trace: readonly VppTraceEntry[];
  readonly fate: VppFate;
}

const macBytes = (m: Mac): number[] => m.split(':').map((h) => parseInt(h, 16));
const macAt = (b: Uint8Array, at: number): Mac =>
  Array.from(b.subarray(at, at + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
const hex = (b: Uint8Array | number[]): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** Static next nodes each node registers (`.next_nodes`), before any configuration adds arcs. */
const REGISTERED_NEXTS: Record<string, readonly string[]> = {
  'acl-plugin-in-ip4-fa': ['error-drop'],
  'acl-plugin-out-ip4-fa': ['error-drop'],
};

/**
 * Load-balance pool indices taken before any configuration: the IPv4 table's
 * five special entries (`ip4_fib_table_create_and_lock`: 0.0.0.0/0,
 * 0.0.0.0/32, 224.0.0.0/4, 240.0.0.0/4, 255.255.255.255/32). VPP's IPv6 and
 * MPLS tables take pool slots too and are not counted, so a real vswitch's
 * load-balance indices are higher by a constant.
 */
const LB_BASE = 5;

/** `l2-input-classify`'s arc to the ACL plugin's L2 node, and that node's to `l2-fwd`, as VPP 18.x's traces print them. */
const L2_CLASSIFY_NEXT_ACL = 18;
const L2_ACL_NEXT_FWD = 5;

export class Vswitch {
  readonly interfaces: SwInterface[] = [];
  readonly adjacencies: Adjacency[] = [];
  readonly fib: FibEntry[] = [];
  readonly bridgeDomains: BridgeDomain[] = [];
  readonly vxlanTunnels: VxlanTunnel[] = [];
  private lbNext = LB_BASE;
  private classifyTables = 0;
  private readonly l2Tables = new Map<number, number>();
  readonly acl = new AclPlugin();
  readonly nat: Nat44;
  private readonly nexts = new Map<string, string[]>();

  constructor(
    readonly name: string,
    chooser: NatChooser,
  ) {
    this.nat = new Nat44(chooser);
    // sw_if_index 0 is local0, always there (vnet_main_init).
    this.interfaces.push({
      swIfIndex: 0,
      hwIfIndex: 0,
      name: 'local0',
      mac: '00:00:00:00:00:00',
      kind: 'dpdk',
      natInside: false,
      natOutside: false,
    });
  }

  /** `vnet_register_interface`: the next sw_if_index (and hw_if_index). */
  addInterface(spec: {
    name: string;
    mac: Mac;
    kind: SwInterface['kind'];
    ip4?: string;
  }): SwInterface {
    const i = this.interfaces.length;
    const itf: SwInterface = {
      ...spec,
      swIfIndex: i,
      hwIfIndex: i,
      natInside: false,
      natOutside: false,
    };
    this.interfaces.push(itf);
    if (spec.ip4) {
      const c = parseCidr(spec.ip4);
      const addr = spec.ip4.split('/')[0]!;
      this.addRoute(`${addr}/32`, { kind: 'receive', swIfIndex: i }, 'interface address');
      // ip4_add_interface_routes: a connected prefix only below /32, resolved by a glean adjacency.
      if (c.prefix < 32) {
        const glean: Adjacency = {
          index: this.adjacencies.length,
          kind: 'glean',
          swIfIndex: i,
          nextHop: '0.0.0.0',
        };
        this.adjacencies.push(glean);
        this.addRoute(
          `${c.network}/${c.prefix}`,
          { kind: 'adj', adj: glean.index },
          `connected ${spec.name}`,
        );
      }
    }
    return itf;
  }

  byName(name: string): SwInterface | undefined {
    return this.interfaces.find((i) => i.name === name);
  }

  /** `vlib_node_add_next`: the arc's index, appended on first use. */
  nextIndex(from: string, to: string): number {
    const list = this.nexts.get(from) ?? [...(REGISTERED_NEXTS[from] ?? [])];
    this.nexts.set(from, list);
    let i = list.indexOf(to);
    if (i < 0) i = list.push(to) - 1;
    return i;
  }

  /** `adj_nbr_add_or_lock`: one adjacency per (interface, next hop). */
  adjacency(swIfIndex: number, nextHop: Ipv4): Adjacency {
    const found = this.adjacencies.find(
      (a) => a.kind === 'nbr' && a.swIfIndex === swIfIndex && a.nextHop === nextHop,
    );
    if (found) return found;
    const adj: Adjacency = { index: this.adjacencies.length, kind: 'nbr', swIfIndex, nextHop };
    this.adjacencies.push(adj);
    return adj;
  }

  /**
   * A static ARP entry (or a learnt one): completes the adjacency's rewrite
   * and, as arp.c does (`arp_adj_fib_add`), installs the /32 "adj-fib" route
   * through it unless a route for that /32 exists already.
   */
  setNeighbour(swIfIndex: number, ip: Ipv4, mac: Mac, learnt = false): void {
    const adj = this.adjacency(swIfIndex, ip);
    adj.dstMac = mac;
    if (learnt) adj.learnt = true;
    if (!this.fib.some((e) => e.prefix === `${ip}/32`))
      this.addRoute(`${ip}/32`, { kind: 'adj', adj: adj.index }, 'adj-fib (arp)');
  }

  addRoute(prefix: string, dpo: Dpo, source: string): void {
    const i = this.fib.findIndex((e) => e.prefix === prefix);
    // An entry that exists keeps its load balance (the path list changes under it).
    const lb = i >= 0 ? this.fib[i]!.lb : this.lbNext++;
    if (i >= 0) this.fib.splice(i, 1);
    this.fib.push({ prefix, dpo, lb, source });
  }

  /**
   * A route via a next hop alone (`ip route add PREFIX via NH`, no
   * interface): recursive, resolved through the next hop's own FIB entry, so
   * `ip4-lookup` hands the packet to that entry's load balance
   * (`ip4-load-balance`) before its adjacency's `ip4-rewrite`.
   */
  addRouteRecursive(prefix: string, via: Ipv4, source: string): void {
    this.addRoute(prefix, { kind: 'recursive', via }, source);
  }

  /** `bd_add_del` (l2_bd.c): bridge domain `id`; its `bd_index` follows the default domain 0. */
  addBridgeDomain(id: number, learn: boolean): BridgeDomain {
    const bd: BridgeDomain = {
      id,
      index: this.bridgeDomains.length + 1,
      learn,
      members: [],
      fib: new Map(),
    };
    this.bridgeDomains.push(bd);
    return bd;
  }

  /** `set interface l2 bridge IF ID [bvi]`. */
  addToBridgeDomain(bd: BridgeDomain, swIfIndex: number, bvi = false): void {
    bd.members.push(swIfIndex);
    if (bvi) bd.bvi = swIfIndex;
  }

  bridgeDomainOf(swIfIndex: number): BridgeDomain | undefined {
    return this.bridgeDomains.find((bd) => bd.members.includes(swIfIndex));
  }

  /**
   * `vxlan_add_del_tunnel` (vxlan.c): the tunnel interface `vxlan_tunnelN`,
   * N its pool index.
   */
  addVxlanTunnel(src: Ipv4, dst: Ipv4, vni: number): VxlanTunnel {
    const index = this.vxlanTunnels.length;
    const itf = this.addInterface({ name: `vxlan_tunnel${index}`, mac: '', kind: 'vxlan' });
    const t: VxlanTunnel = { index, swIfIndex: itf.swIfIndex, src, dst, vni };
    this.vxlanTunnels.push(t);
    return t;
  }

  /**
   * The classifier table the ACL plugin steers the interface's L2 input
   * through (`acl_hook_l2_input_classify` creates one per interface and
   * address family, IPv6 first): here the IPv4 one, numbered in order of
   * first use.
   */
  l2InputTable(swIfIndex: number): number {
    let t = this.l2Tables.get(swIfIndex);
    if (t === undefined) {
      t = 2 * this.classifyTables++ + 1;
      this.l2Tables.set(swIfIndex, t);
    }
    return t;
  }

  /** A route via a next hop on an interface (`ip route add PREFIX via NH IF`). */
  addRouteVia(prefix: string, nextHop: Ipv4, ifName: string, source: string): Adjacency {
    const itf = this.byName(ifName);
    if (!itf) throw new Error(`vswitch ${this.name}: no interface ${ifName}`);
    const adj = this.adjacency(itf.swIfIndex, nextHop);
    this.addRoute(prefix, { kind: 'adj', adj: adj.index }, source);
    return adj;
  }

  /** `ip4_fib_table_lookup`: longest prefix first. */
  lookup(dst: Ipv4): FibEntry | undefined {
    let best: FibEntry | undefined;
    let bestLen = -1;
    for (const e of this.fib) {
      const c = parseCidr(e.prefix);
      if (c.prefix > bestLen && cidrContains(c, dst)) {
        best = e;
        bestLen = c.prefix;
      }
    }
    return best;
  }

  /** The `ip4-unicast` features enabled on an interface, in the arc's order. */
  unicastFeatures(itf: SwInterface): string[] {
    const f: string[] = [];
    if (this.acl.enabled(itf.swIfIndex, true)) f.push('acl-plugin-in-ip4-fa');
    if (itf.natInside && itf.natOutside) f.push('nat44-classify');
    else if (itf.natInside) f.push('nat44-in2out');
    else if (itf.natOutside) f.push('nat44-out2in');
    f.push('ip4-lookup');
    return f;
  }

  /**
   * Enable the interface's feature arcs as configured so far (`vnet_feature_enable_disable`
   * builds the feature config and, with it, the next arcs between consecutive features).
   */
  configureFeatures(itf: SwInterface): void {
    const f = this.unicastFeatures(itf);
    for (let i = 0; i + 1 < f.length; i++) this.nextIndex(f[i]!, f[i + 1]!);
    if (this.acl.enabled(itf.swIfIndex, false))
      this.nextIndex('acl-plugin-out-ip4-fa', 'interface-output');
  }

  /** A frame arriving on `ifName` from its other side (a pod's or the host's TAP end). */
  receive(ifName: string, frame: Uint8Array): VppPass {
    return new Walk(this).run(ifName, frame);
  }

  /** A frame arriving from the wire on a DPDK NIC (`dpdk-input`). */
  receiveNic(ifName: string, frame: Uint8Array): VppPass {
    return new Walk(this).runNic(ifName, frame);
  }

  ifByIndex(i: number): SwInterface {
    return this.interfaces[i]!;
  }
}

/** One buffer's walk through the graph. */
class Walk {
  private readonly trace: VppTraceEntry[] = [];
  constructor(private readonly vs: Vswitch) {}

  private add(record: VppTraceRecord): void {
    this.trace.push({ seq: this.trace.length, record });
  }

  private done(fate: VppFate): VppPass {
    return { trace: this.trace, fate };
  }

  private drop(node: string, reason: string, data: Uint8Array): VppPass {
    this.add({ node: 'error-drop', data: data.slice(0, 60), reason: `${node}: ${reason}` });
    return this.done({ kind: 'drop', node, reason });
  }

  run(ifName: string, frame: Uint8Array): VppPass {
    const itf = this.vs.byName(ifName);
    if (!itf) throw new Error(`vswitch ${this.vs.name}: no interface ${ifName}`);
    const b = Uint8Array.from(frame);
    this.add({ node: 'virtio-input', hwIfIndex: itf.hwIfIndex, nextIndex: 4, len: b.length });
    this.add({ node: 'ethernet-input', data: b.slice(0, 32) });
    const dstMac = hex(b.subarray(0, 6));
    const own = hex(macBytes(itf.mac));
    const group = (b[0]! & 1) === 1;
    if (dstMac !== own && !group) return this.drop('ethernet-input', 'l3 mac mismatch', b);
    const type = (b[12]! << 8) | b[13]!;
    if (type === 0x0806) return this.arp(itf, b);
    if (type !== 0x0800) return this.drop('ethernet-input', 'unknown ethernet type', b);
    return this.ip4Input(itf, b.subarray(14));
  }

  private arp(itf: SwInterface, b: Uint8Array): VppPass {
    this.add({ node: 'arp-input', data: b.slice(14, 14 + 28) });
    const op = (b[20]! << 8) | b[21]!;
    const sip = `${b[28]}.${b[29]}.${b[30]}.${b[31]}`;
    const tip = `${b[38]}.${b[39]}.${b[40]}.${b[41]}`;
    const smac = Array.from(b.subarray(22, 28), (x) => x.toString(16).padStart(2, '0')).join(':');
    const mine = itf.ip4?.split('/')[0];
    // arp.c learns the sender when the target is ours (or it is a reply); answers requests for us.
    if (tip !== mine)
      return this.drop('arp-input', 'IP4 destination address not local to subnet', b);
    this.vs.setNeighbour(itf.swIfIndex, sip, smac, true);
    if (op !== 1) return this.done({ kind: 'local', frame: b });
    const reply = Uint8Array.from(b);
    reply.set(b.subarray(6, 12), 0);
    reply.set(macBytes(itf.mac), 6);
    reply[21] = 2;
    reply.set(macBytes(itf.mac), 22);
    reply.set(b.subarray(38, 42), 28);
    reply.set(b.subarray(22, 28), 32);
    reply.set(b.subarray(28, 32), 38);
    this.add({ node: `${itf.name}-output`, ifName: itf.name, data: reply.slice(0, 124) });
    return this.done({
      kind: 'transmit',
      ifName: itf.name,
      swIfIndex: itf.swIfIndex,
      frame: reply,
    });
  }

  private ip4Input(itf: SwInterface, ip: Uint8Array): VppPass {
    this.add({ node: 'ip4-input', data: ip.slice(0, 60) });
    const ihl = (ip[0]! & 0x0f) * 4;
    if (ip[0]! >> 4 !== 4 || ihl < 20)
      return this.drop('ip4-input', 'ip4 header version/length', ip);
    if (internetChecksum(ip.subarray(0, ihl)) !== 0)
      return this.drop('ip4-input', 'ip4 checksum errors', ip);
    if (ip[8]! === 0) return this.drop('ip4-input', 'ip4 ttl <= 1', ip);
    let current = 'ip4-input';
    for (const feature of this.vs.unicastFeatures(itf)) {
      if (feature === 'acl-plugin-in-ip4-fa') {
        const feats = this.vs.unicastFeatures(itf);
        const next = feats[feats.indexOf(feature) + 1]!;
        const t = this.vs.acl.run(ip, 0, itf.swIfIndex, true, this.vs.nextIndex(feature, next));
        this.add(t);
        if (t.action === 0) return this.drop(feature, 'ACL deny packets', ip);
      } else if (feature === 'nat44-out2in') {
        const t = this.vs.nat.out2in(ip, 0, itf.swIfIndex);
        this.add(t);
        if (t.nextIndex === 0) return this.drop(feature, 'No translation', ip);
      } else if (feature === 'nat44-in2out') {
        if (!this.in2out(itf, ip)) return this.drop('nat44-in2out-slowpath', 'No translation', ip);
      } else if (feature === 'nat44-classify') {
        if (this.vs.nat.classify(ip, 0) === 'nat44-out2in') {
          const t = this.vs.nat.out2in(ip, 0, itf.swIfIndex);
          this.add(t);
          if (t.nextIndex === 0) return this.drop('nat44-out2in', 'No translation', ip);
        } else if (!this.in2out(itf, ip))
          return this.drop('nat44-in2out-slowpath', 'No translation', ip);
      } else if (feature === 'ip4-lookup') {
        return this.ip4Lookup(ip);
      }
      current = feature;
    }
    return this.drop(current, 'end of feature arc', ip);
  }

  /** nat44-in2out and its slow path; false when the slow path drops the packet (SNAT_IN2OUT_NEXT_DROP). */
  private in2out(itf: SwInterface, ip: Uint8Array): boolean {
    const ts = this.vs.nat.in2out(ip, 0, itf.swIfIndex);
    for (const t of ts) this.add(t);
    return ts[ts.length - 1]!.nextIndex !== 1;
  }

  private ip4Lookup(ip: Uint8Array): VppPass {
    const dst = `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}`;
    const e = this.vs.lookup(dst);
    let dpo: Dpo = e?.dpo ?? { kind: 'drop' };
    // A recursive route's bucket is the next hop's entry's load balance (ip4-load-balance).
    const via = dpo.kind === 'recursive' ? this.vs.lookup(dpo.via) : undefined;
    if (dpo.kind === 'recursive') dpo = via?.dpo.kind === 'adj' ? via.dpo : { kind: 'drop' };
    const dpoIndex = via ? via.lb : dpo.kind === 'adj' ? dpo.adj : 0;
    this.add({ node: 'ip4-lookup', fibIndex: 0, dpoIndex, data: ip.slice(0, 60) });
    if (dpo.kind === 'drop') return this.drop('ip4-lookup', `no route to ${dst}`, ip);
    if (via) this.add({ node: 'ip4-load-balance', fibIndex: 0, dpoIndex, data: ip.slice(0, 60) });
    if (dpo.kind === 'receive') {
      this.add({ node: 'ip4-local', data: ip.slice(0, 60) });
      if (ip[9] === 17 && ((ip[22]! << 8) | ip[23]!) === VXLAN_PORT) return this.vxlanInput(ip);
      return this.done({ kind: 'local', frame: ip });
    }
    if (dpo.kind !== 'adj') return this.drop('ip4-lookup', `no route to ${dst}`, ip);
    return this.ip4Rewrite(ip, this.vs.adjacencies[dpo.adj]!);
  }

  /** A frame from the wire: `dpdk-input` classifies it and hands IPv4 straight to `ip4-input`. */
  runNic(ifName: string, frame: Uint8Array): VppPass {
    const itf = this.vs.byName(ifName);
    if (!itf) throw new Error(`vswitch ${this.vs.name}: no interface ${ifName}`);
    const b = Uint8Array.from(frame);
    this.add({ node: 'dpdk-input', ifName, frame: b.slice(0, 124) });
    if (((b[12]! << 8) | b[13]!) !== 0x0800)
      return this.drop('dpdk-input', 'not IPv4: ethernet-input is not modelled on the NIC', b);
    return this.ip4Input(itf, b.subarray(14));
  }

  /** `ip4-udp-lookup` → `vxlan4-input`: the tunnel by (outer source, VNI), then into its bridge domain. */
  private vxlanInput(ip: Uint8Array): VppPass {
    const ihl = (ip[0]! & 0x0f) * 4;
    const u = ip.subarray(ihl);
    this.add({ node: 'ip4-udp-lookup', sport: (u[0]! << 8) | u[1]!, dport: (u[2]! << 8) | u[3]! });
    const src = `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
    const vni = (u[12]! << 16) | (u[13]! << 8) | u[14]!;
    const t = this.vs.vxlanTunnels.find((x) => x.dst === src && x.vni === vni);
    const bd = t ? this.vs.bridgeDomainOf(t.swIfIndex) : undefined;
    if (!t || !bd) {
      this.add({ node: 'vxlan4-input', tunnelIndex: -1, vni, nextIndex: 0, error: 1 });
      return this.drop('vxlan4-input', `no such tunnel packets (from ${src} vni ${vni})`, ip);
    }
    this.add({ node: 'vxlan4-input', tunnelIndex: t.index, vni, nextIndex: 1, error: 0 });
    const frame = Uint8Array.from(u.subarray(16));
    this.add({
      node: 'l2-input',
      swIfIndex: t.swIfIndex,
      dst: macAt(frame, 0),
      src: macAt(frame, 6),
    });
    return this.l2Forward(bd, t.swIfIndex, frame);
  }

  /** The BVI's output enters its bridge domain (`l2-input` with the BVI as RX). */
  private fromBvi(bvi: SwInterface, bd: BridgeDomain, frame: Uint8Array): VppPass {
    const sw = bvi.swIfIndex;
    this.add({ node: 'l2-input', swIfIndex: sw, dst: macAt(frame, 0), src: macAt(frame, 6) });
    if (this.vs.acl.enabled(sw, true)) {
      const table = this.vs.l2InputTable(sw);
      this.add({
        node: 'l2-input-classify',
        swIfIndex: sw,
        table,
        nextIndex: L2_CLASSIFY_NEXT_ACL,
      });
      const t = this.vs.acl.run(frame, 14, sw, true, L2_ACL_NEXT_FWD);
      this.add({ ...t, node: 'acl-plugin-in-ip4-l2' });
      if (t.action === 0) return this.drop('acl-plugin-in-ip4-l2', 'ACL deny packets', frame);
    }
    return this.l2Forward(bd, sw, frame);
  }

  /** `l2-fwd`: the static L2 FIB (learning is off); the BVI → `ip4-input`, a tunnel → `vxlan4-encap`. */
  private l2Forward(bd: BridgeDomain, rx: number, frame: Uint8Array): VppPass {
    const dst = macAt(frame, 0);
    const src = macAt(frame, 6);
    this.add({ node: 'l2-fwd', swIfIndex: rx, dst, src, bdIndex: bd.index });
    const tx = bd.fib.get(dst);
    if (tx === undefined)
      return this.drop(
        'l2-fwd',
        `no L2 FIB entry for ${dst} in bridge domain ${bd.id} (flooding is not modelled)`,
        frame,
      );
    if (tx === bd.bvi) return this.ip4Input(this.vs.ifByIndex(tx), frame.subarray(14));
    this.add({ node: 'l2-output', swIfIndex: tx, dst, src, data: frame.slice(12, 24) });
    const t = this.vs.vxlanTunnels.find((x) => x.swIfIndex === tx);
    if (!t)
      return this.drop(
        'l2-output',
        `${this.vs.ifByIndex(tx).name} is not a VXLAN tunnel (not modelled)`,
        frame,
      );
    this.add({ node: 'vxlan4-encap', tunnelIndex: t.index, vni: t.vni });
    const outer = vxlanEncap(t, frame);
    const e = this.vs.lookup(t.dst);
    if (e?.dpo.kind !== 'adj')
      return this.drop('vxlan4-encap', `no adjacency towards ${t.dst}`, outer);
    // The tunnel's stacked DPO is the remote VTEP's load balance; TX is still the tunnel.
    this.add({ node: 'ip4-load-balance', fibIndex: tx, dpoIndex: e.lb, data: outer.slice(0, 60) });
    return this.ip4Rewrite(outer, this.vs.adjacencies[e.dpo.adj]!);
  }

  private ip4Rewrite(ip: Uint8Array, adj: Adjacency): VppPass {
    const out = this.vs.ifByIndex(adj.swIfIndex);
    if (adj.kind === 'glean') {
      const dst = `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}`;
      return this.drop(
        'ip4-glean',
        `${dst} on ${out.name} has no ARP entry: VPP sends an ARP request and drops this packet`,
        ip,
      );
    }
    if (adj.dstMac === undefined) {
      return this.drop(
        'ip4-rewrite',
        `adjacency ${adj.index} via ${adj.nextHop} ${out.name} is incomplete (no ARP entry): ip4-arp would send a request and drop this packet`,
        ip,
      );
    }
    if (ip[8]! <= 1) return this.drop('ip4-rewrite', 'ip4 ttl <= 1 (ICMP time exceeded)', ip);
    // ip4_rewrite_inline: checksum0 = ip0->checksum + clib_host_to_net_u16 (0x0100); += (>= 0xffff)
    const stored = ip[10]! | (ip[11]! << 8); // as the CPU loads it
    let c = stored + 0x0001; // host_to_net_u16(0x0100) on little-endian is 0x0001
    c += c >= 0xffff ? 1 : 0;
    ip[10] = c & 0xff;
    ip[11] = (c >> 8) & 0xff;
    ip[8] = ip[8]! - 1;
    const rewrite = Uint8Array.from([...macBytes(adj.dstMac), ...macBytes(out.mac), 0x08, 0x00]);
    const frame = new Uint8Array(rewrite.length + ip.length);
    frame.set(rewrite, 0);
    frame.set(ip, rewrite.length);
    this.add({
      node: 'ip4-rewrite',
      txSwIfIndex: out.swIfIndex,
      adj: { ...adj, ifName: out.name, rewrite },
      data: frame.slice(0, 60),
    });
    if (this.vs.acl.enabled(out.swIfIndex, false)) {
      const t = this.vs.acl.run(
        frame,
        14,
        out.swIfIndex,
        false,
        this.vs.nextIndex('acl-plugin-out-ip4-fa', 'interface-output'),
      );
      this.add(t);
      if (t.action === 0) return this.drop('acl-plugin-out-ip4-fa', 'ACL deny packets', ip);
    }
    this.add({ node: `${out.name}-output`, ifName: out.name, data: frame.slice(0, 124) });
    const bd = this.vs.bridgeDomainOf(out.swIfIndex);
    if (bd && bd.bvi === out.swIfIndex) return this.fromBvi(out, bd, frame);
    return this.done({ kind: 'transmit', ifName: out.name, swIfIndex: out.swIfIndex, frame });
  }
}

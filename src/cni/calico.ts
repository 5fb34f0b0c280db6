/**
 * Calico (projectcalico/calico; reference §6) as a compiler into kernel
 * state: the calico CNI plugin's pod plumbing, calico-ipam's blocks, the
 * routes BIRD (BGP, node-to-node mesh) and Felix program, and Felix's
 * natOutgoing (calico-nat.ts).
 *
 * Pod (cni-plugin `pkg/dataplane/linux/dataplane_linux.go`):
 *   host side `cali` + the first 11 hex digits of sha1("<namespace>.<pod>")
 *   (libcalico-go `VethNameForWorkload`, FELIX_INTERFACEPREFIX "cali") — the
 *   real name, not an invention; MAC ee:ee:ee:ee:ee:ee; sysctls
 *   proxy_arp=1, neigh proxy_delay=0, forwarding=1, route_localnet=1.
 *   In the pod: eth0 with the IP as /32, `169.254.1.1 dev eth0 scope link`,
 *   `default via 169.254.1.1 dev eth0`. 169.254.1.1 exists nowhere: the host
 *   veth answers ARP for it by proxy ARP (the host routes it elsewhere).
 *   On the host: `<podIP> dev caliXXXXXXXXXXX scope link`.
 *
 * IPAM (libcalico-go `ipam`): the pool (the Cluster's clusterCIDR, as
 * CALICO_IPV4POOL_CIDR) is cut into /26 blocks; a block is affine to the node
 * that claimed it. The twin derives the affinities from the pods' addresses
 * (the model's, given or defaulted): the first node with a pod in a block
 * owns it, in node-name order; a pod whose block another node owns has a
 * borrowed address (diagnostic `calico-borrowed-ip`), which its node
 * advertises as a /32. A node's tunnel address (IPIP/VXLAN) is the first free
 * address of its first block, claiming a fresh block when it has none, as
 * calico-node's allocateTunnelAddrs does at start (before any pod).
 *
 * Routes on each node:
 *   own blocks      blackhole 10.244.1.0/26 proto bird
 *   None            10.244.2.0/26 via <nodeIP> dev eth0 proto bird
 *   IPIP            10.244.2.0/26 via <nodeIP> dev tunl0 proto bird onlink
 *   VXLAN (Felix)   10.244.2.0/26 via <vtep ip> dev vxlan.calico onlink
 *                   + neigh <vtep ip> lladdr <vtep mac> PERMANENT,
 *                     fdb <vtep mac> dst <nodeIP> self permanent
 * vxlan.calico: VNI 4096, port 4789, local = node IP, dev eth0, nolearning,
 * MTU eth0 − 50; tunl0: MTU eth0 − 20. The VTEP MAC is random in Calico
 * (calico-node writes it to the Node's `projectcalico.org/IPv4VXLANTunnelMACAddr`
 * annotation, read here when present); otherwise derived (kernel deriveMac).
 *
 * Not modelled: Felix's policy chains (src/policy does NetworkPolicy),
 * CrossSubnet modes, BGP peering beyond the full mesh, IPv6, eBPF mode.
 * IP-in-IP is carried by kernel/ipip.ts (tunl0 encapsulates to the route's
 * `via`, the far node's tunl0 decapsulates).
 */
import { createHash } from 'node:crypto';
import type { Diagnostic } from '../diag.js';
import type { CniSpec } from '../k8s/types.js';
import { nodeInternalIP, nsName, type ClusterModel } from '../k8s/model.js';
import { deriveMac } from '../kernel/link.js';
import { addIpipFallback } from '../kernel/ipip.js';
import { addVxlan, vxlanFdbAppend } from '../kernel/vxlan.js';
import { cidrContains, intToIp, ipToInt, isCidr, parseCidr, type Cidr } from '../wire/addr.js';
import { isMac, normalizeMac } from '../wire/ethernet.js';
import { compileCalicoNat } from './calico-nat.js';
import type { IptablesFragment } from '../iptables/merge.js';
import type { CniDefault, CniPlugin, NodeContext, PodContext } from './types.js';

type CalicoSpec = Extract<CniSpec, { plugin: 'calico' }>;
export type CalicoEncapsulation = 'None' | 'IPIP' | 'VXLAN';

export const CALICO_VXLAN_DEVICE = 'vxlan.calico';
export const CALICO_VXLAN_VNI = 4096;
export const CALICO_VXLAN_PORT = 4789;
export const CALICO_BLOCK_SIZE = 26;
/** The host side of every workload veth (dataplane_linux.go). */
export const CALICO_HOST_MAC = 'ee:ee:ee:ee:ee:ee';
export const CALICO_GATEWAY = '169.254.1.1';
export const CALICO_VXLAN_MAC_ANNOTATION = 'projectcalico.org/IPv4VXLANTunnelMACAddr';
export const CODE_CALICO_BORROWED = 'calico-borrowed-ip';
export const CODE_CALICO_OUTSIDE_POOL = 'calico-ip-outside-pool';
export const CODE_CALICO_NO_NODE_IP = 'calico-no-node-ip';
export const CODE_CALICO_POOL_FULL = 'calico-pool-exhausted';

/** libcalico-go VethNameForWorkload: `cali` + sha1("<ns>.<pod>")[:11]. */
export function caliName(namespace: string, pod: string): string {
  return `cali${createHash('sha1').update(`${namespace}.${pod}`).digest('hex').slice(0, 11)}`;
}

export interface CalicoNodeState {
  readonly node: string;
  readonly ip: string;
  /** Blocks affine to the node, in claim order. */
  readonly blocks: string[];
  /** Borrowed pod addresses (in other nodes' blocks), advertised as /32. */
  readonly borrowed: string[];
  tunnelIP?: string;
  vtepMac?: string;
}

/** calico-ipam's view of the cluster: block affinities and tunnel addresses. */
export interface CalicoIpam {
  readonly pool: string;
  readonly nodes: ReadonlyMap<string, CalicoNodeState>;
  /** Block → node. */
  readonly affinity: ReadonlyMap<string, string>;
}

function blockOf(ip: string, size: number): string {
  const c = parseCidr(`${ip}/${size}`);
  return `${c.network}/${size}`;
}

export class CalicoPlugin implements CniPlugin {
  readonly name = 'calico';
  readonly diagnostics: Diagnostic[] = [];
  readonly defaults: CniDefault[] = [];
  readonly encapsulation: CalicoEncapsulation;
  readonly natOutgoing: boolean;
  private ipam: CalicoIpam | undefined;
  private readonly rules = new Map<string, IptablesFragment>();

  constructor(spec: CalicoSpec) {
    this.encapsulation = spec.encapsulation ?? 'IPIP';
    this.natOutgoing = spec.natOutgoing ?? true;
    if (spec.encapsulation === undefined) {
      this.defaults.push({
        object: 'Cluster',
        field: 'spec.cni.encapsulation',
        value: 'IPIP',
        reason: 'manifests/calico.yaml: CALICO_IPV4POOL_IPIP Always',
      });
    }
    if (spec.natOutgoing === undefined) {
      this.defaults.push({
        object: 'Cluster',
        field: 'spec.cni.natOutgoing',
        value: 'true',
        reason: 'CALICO_IPV4POOL_NAT_OUTGOING defaults to true for the pool calico-node creates',
      });
    }
  }

  /** The block affinities and tunnel addresses, computed once for the whole cluster. */
  prepare(model: ClusterModel): void {
    this.ipamFor({ model });
  }

  ipamFor(ctx: { readonly model: ClusterModel }): CalicoIpam {
    if (this.ipam) return this.ipam;
    const model = ctx.model;
    const poolText = model.cluster.clusterCIDR;
    const pool: Cidr = parseCidr(isCidr(poolText) ? poolText : '192.168.0.0/16');
    const nodes = new Map<string, CalicoNodeState>();
    const affinity = new Map<string, string>();
    const used = new Set<string>();
    for (const node of model.nodes.values()) {
      const name = node.metadata.name;
      const ip = nodeInternalIP(node);
      if (ip === undefined) {
        this.diagnostics.push({
          code: CODE_CALICO_NO_NODE_IP,
          severity: 'error',
          message: `calico-node on ${name} has no IPv4 address to peer with (no InternalIP)`,
          object: `Node ${name}`,
          field: 'status.addresses',
        });
        continue;
      }
      nodes.set(name, { node: name, ip, blocks: [], borrowed: [] });
    }
    // Pods claim blocks in node-name order, then pod order.
    for (const [name, st] of nodes) {
      for (const pod of model.podsByNode.get(name) ?? []) {
        if (pod.spec.hostNetwork) continue;
        const podIP = pod.status.podIP;
        if (!podIP) continue;
        used.add(podIP);
        if (!cidrContains(pool, podIP)) {
          this.diagnostics.push({
            code: CODE_CALICO_OUTSIDE_POOL,
            severity: 'error',
            message: `pod IP ${podIP} is outside the IP pool ${pool.network}/${pool.prefix}; calico-ipam would not hand it out and no node advertises it`,
            object: `Pod ${nsName(pod)}`,
            field: 'status.podIP',
          });
          continue;
        }
        const block = blockOf(podIP, CALICO_BLOCK_SIZE);
        const owner = affinity.get(block);
        if (owner === undefined) {
          affinity.set(block, name);
          st.blocks.push(block);
        } else if (owner !== name) {
          st.borrowed.push(podIP);
          this.diagnostics.push({
            code: CODE_CALICO_BORROWED,
            severity: 'warning',
            message: `pod IP ${podIP} is in block ${block}, affine to ${owner}: ${name} borrows it and advertises ${podIP}/32`,
            object: `Pod ${nsName(pod)}`,
            field: 'status.podIP',
          });
        }
      }
    }
    if (this.encapsulation !== 'None') {
      const blockCount = 2 ** (CALICO_BLOCK_SIZE - pool.prefix);
      let next = 0;
      for (const st of nodes.values()) {
        let addr: string | undefined;
        for (const b of st.blocks) {
          addr = firstFree(parseCidr(b), used);
          if (addr) break;
        }
        while (addr === undefined && next < blockCount) {
          const b = `${intToIp((ipToInt(pool.network) + next * 2 ** (32 - CALICO_BLOCK_SIZE)) >>> 0)}/${CALICO_BLOCK_SIZE}`;
          next++;
          if (affinity.has(b)) continue;
          affinity.set(b, st.node);
          st.blocks.push(b);
          addr = firstFree(parseCidr(b), used);
        }
        if (addr === undefined) {
          this.diagnostics.push({
            code: CODE_CALICO_POOL_FULL,
            severity: 'error',
            message: `no free address in the pool for ${st.node}'s ${this.encapsulation === 'IPIP' ? 'tunl0' : CALICO_VXLAN_DEVICE}`,
            object: `Node ${st.node}`,
          });
          continue;
        }
        used.add(addr);
        st.tunnelIP = addr;
        this.defaults.push({
          object: `Node ${st.node}`,
          field: this.encapsulation === 'IPIP' ? 'tunl0 address' : `${CALICO_VXLAN_DEVICE} address`,
          value: addr,
          reason:
            "calico-node allocates the tunnel address from the node's block before any pod (allocateTunnelAddrs)",
        });
      }
    }
    for (const node of model.nodes.values()) {
      const st = nodes.get(node.metadata.name);
      if (!st || this.encapsulation !== 'VXLAN') continue;
      const ann = node.metadata.annotations?.[CALICO_VXLAN_MAC_ANNOTATION];
      if (ann !== undefined && isMac(ann)) st.vtepMac = normalizeMac(ann);
      else {
        st.vtepMac = deriveMac(st.node, CALICO_VXLAN_DEVICE);
        this.defaults.push({
          object: `Node ${st.node}`,
          field: `${CALICO_VXLAN_DEVICE} MAC`,
          value: st.vtepMac,
          reason:
            'calico-node picks a random MAC for the VTEP; the twin derives it from the node name',
        });
      }
    }
    for (const st of nodes.values()) {
      this.defaults.push({
        object: `Node ${st.node}`,
        field: 'IPAM block affinity',
        value: st.blocks.join(' ') || '(none)',
        reason: `calico-ipam /${CALICO_BLOCK_SIZE} blocks of the pool ${pool.network}/${pool.prefix}, derived from the pods' addresses`,
      });
    }
    this.ipam = { pool: `${pool.network}/${pool.prefix}`, nodes, affinity };
    return this.ipam;
  }

  setupNode(ctx: NodeContext): void {
    const { host: h, node } = ctx;
    const name = node.metadata.name;
    const ipam = this.ipamFor(ctx);
    const own = ipam.nodes.get(name);
    if (!own) return;
    const lowerMtu = h.getLink('eth0')?.mtu ?? ctx.model.cluster.underlay.mtu;
    h.sysctl.set('net.ipv4.ip_forward', 1);
    if (this.encapsulation === 'IPIP') {
      addIpipFallback(h, { lowerMtu });
      if (own.tunnelIP) h.addr.add(`${own.tunnelIP}/32`, 'tunl0');
      h.link.set('tunl0', { up: true });
    } else if (this.encapsulation === 'VXLAN') {
      addVxlan(h, CALICO_VXLAN_DEVICE, {
        vni: CALICO_VXLAN_VNI,
        dstport: CALICO_VXLAN_PORT,
        local: own.ip,
        dev: 'eth0',
        learning: false,
        ...(own.vtepMac ? { mac: own.vtepMac } : {}),
      });
      if (own.tunnelIP) h.addr.add(`${own.tunnelIP}/32`, CALICO_VXLAN_DEVICE);
      h.link.set(CALICO_VXLAN_DEVICE, { up: true });
    }
    // BIRD: a blackhole for each own block (and Felix's, the same route).
    for (const b of own.blocks) h.route.replace({ dst: b, type: 'blackhole', proto: 'bird' });
    for (const st of ipam.nodes.values()) {
      if (st.node === name) continue;
      const dsts = [...st.blocks, ...st.borrowed.map((ip) => `${ip}/32`)];
      if (this.encapsulation === 'VXLAN') {
        if (!st.tunnelIP || !st.vtepMac) continue;
        // Felix vxlan_mgr: ARP and FDB for the remote VTEP, then the routes.
        h.neigh.replace(st.tunnelIP, CALICO_VXLAN_DEVICE, { lladdr: st.vtepMac, nud: 'permanent' });
        vxlanFdbAppend(h, CALICO_VXLAN_DEVICE, st.vtepMac, st.ip);
        for (const d of dsts)
          h.route.replace({
            dst: d,
            via: st.tunnelIP,
            dev: CALICO_VXLAN_DEVICE,
            onlink: true,
            proto: 80,
          });
      } else if (this.encapsulation === 'IPIP') {
        for (const d of dsts)
          h.route.replace({ dst: d, via: st.ip, dev: 'tunl0', onlink: true, proto: 'bird' });
      } else {
        for (const d of dsts) h.route.replace({ dst: d, via: st.ip, dev: 'eth0', proto: 'bird' });
      }
    }
    this.rules.set(
      name,
      compileCalicoNat({
        pools: [{ cidr: ipam.pool, natOutgoing: this.natOutgoing }],
        ...(this.encapsulation === 'IPIP' && own.tunnelIP
          ? { ipipTunnelAddress: own.tunnelIP }
          : {}),
        ...(this.encapsulation === 'VXLAN' && own.tunnelIP
          ? { vxlanTunnelAddress: own.tunnelIP }
          : {}),
        object: `Node ${name}`,
      }),
    );
  }

  setupPod(ctx: PodContext): { hostIface: string } {
    const { host: h, podHost, pod } = ctx;
    const ns = pod.metadata.namespace ?? 'default';
    const iface = caliName(ns, pod.metadata.name);
    const lowerMtu = h.getLink('eth0')?.mtu ?? ctx.model.cluster.underlay.mtu;
    const mtu =
      this.encapsulation === 'VXLAN'
        ? lowerMtu - 50
        : this.encapsulation === 'IPIP'
          ? lowerMtu - 20
          : lowerMtu;
    podHost.link.set('lo', { up: true });
    h.link.addVeth(iface, { peer: 'eth0', peerHost: podHost, mtu, mac: CALICO_HOST_MAC });
    for (const [k, v] of [
      ['proxy_arp', 1],
      ['forwarding', 1],
      ['route_localnet', 1],
    ] as const) {
      h.sysctl.set(`net.ipv4.conf.${iface}.${k}`, v);
    }
    h.link.set(iface, { up: true });
    const ip = pod.status.podIP;
    podHost.addr.add(`${ip}/32`, 'eth0');
    podHost.link.set('eth0', { up: true });
    podHost.route.add({ dst: CALICO_GATEWAY, dev: 'eth0', scope: 'link' });
    podHost.route.add({ dst: 'default', via: CALICO_GATEWAY, dev: 'eth0' });
    h.route.add({ dst: `${ip}/32`, dev: iface, scope: 'link' });
    return { hostIface: iface };
  }

  rulesFor(node: string): IptablesFragment | undefined {
    return this.rules.get(node);
  }
}

/** The first address of `block` nobody uses (Calico hands out ordinal 0 too: blocks have no network address). */
function firstFree(block: Cidr, used: ReadonlySet<string>): string | undefined {
  const base = ipToInt(block.network);
  const n = 2 ** (32 - block.prefix);
  for (let i = 0; i < n; i++) {
    const a = intToIp((base + i) >>> 0);
    if (!used.has(a)) return a;
  }
  return undefined;
}

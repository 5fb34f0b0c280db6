/**
 * flannel (flannel-io/flannel + flannel-io/cni-plugin; reference §5) as a
 * compiler into kernel state, with `--kube-subnet-mgr --ip-masq` as
 * kube-flannel.yml runs it: each node's lease is its `spec.podCIDR`,
 * `FLANNEL_NETWORK` is the Cluster's clusterCIDR.
 *
 * flanneld, vxlan backend (`pkg/backend/vxlan/vxlan.go`, `device.go`,
 * `vxlan_network.go`), per node N:
 *
 *   ip link add flannel.1 type vxlan id 1 dstport 8472 local <nodeIP> dev eth0 nolearning
 *   ip link set flannel.1 mtu <eth0 mtu − 50> address <VtepMAC> up
 *   ip addr add 10.244.N.0/32 dev flannel.1               (lease network address, /32)
 *   per remote node M (handleSubnetEvents, no L2/L3-miss handling):
 *     ip neigh replace 10.244.M.0 lladdr <VtepMAC(M)> dev flannel.1 nud permanent
 *     bridge fdb append <VtepMAC(M)> dev flannel.1 dst <nodeIP(M)> self permanent
 *     ip route replace 10.244.M.0/24 via 10.244.M.0 dev flannel.1 onlink
 *
 * The VtepMAC: flanneld generates a random locally administered unicast MAC
 * (pkg/mac NewHardwareAddr) when it first creates the device and publishes
 * it in the node annotation `flannel.alpha.coreos.com/backend-data`
 * (`{"VNIVtepMAC"…}`); remote nodes read it from there. The twin uses the
 * annotation's `VtepMAC` when the Node carries one, and otherwise derives
 * one deterministically with kernel/link.ts deriveMac(node, "flannel.1")
 * (FNV-1a, locally administered, unicast) and lists it among the defaults.
 *
 * host-gw backend (`pkg/backend/hostgw`): per remote node M
 * `ip route replace 10.244.M.0/24 via <nodeIP(M)> dev eth0`. The kernel
 * refuses a gateway that is not on a connected subnet of eth0 (ENETUNREACH:
 * "Nexthop has invalid gateway"), flanneld logs the error and carries on:
 * the twin reports `flannel-host-gw-not-l2` and installs no route.
 *
 * The CNI side (cni-plugin `flannel_linux.go`): delegate to `bridge` with
 * name cni0, `hairpinMode: true`, `isDefaultGateway: true`,
 * `ipMasq: !FLANNEL_IPMASQ` (= false), `mtu: FLANNEL_MTU`, IPAM host-local
 * over the lease with routes `[{dst: FLANNEL_NETWORK}]`; bridge.ts does the
 * bridge part, this file adds the FLANNEL_NETWORK route in the pod.
 * flanneld's own iptables rules come from flannel-masq.ts.
 */
import type { Diagnostic } from '../diag.js';
import type { CniSpec } from '../k8s/types.js';
import { nodeInternalIP, type ClusterModel, type ModelNode } from '../k8s/model.js';
import { deriveMac } from '../kernel/link.js';
import { addVxlan, vxlanFdbAppend } from '../kernel/vxlan.js';
import { cidrContains, isCidr, nthAddress, parseCidr } from '../wire/addr.js';
import { isMac, normalizeMac } from '../wire/ethernet.js';
import { BridgePlugin } from './bridge.js';
import { compileFlannelMasq } from './flannel-masq.js';
import type { IptablesFragment } from '../iptables/merge.js';
import type { CniDefault, CniPlugin, NodeContext, PodContext } from './types.js';

type FlannelSpec = Extract<CniSpec, { plugin: 'flannel' }>;

export const FLANNEL_VXLAN_DEVICE = 'flannel.1';
export const FLANNEL_VNI = 1;
/** The Linux kernel's default VXLAN port, which flannel keeps on Linux. */
export const FLANNEL_VXLAN_PORT = 8472;
export const FLANNEL_BACKEND_DATA = 'flannel.alpha.coreos.com/backend-data';
export const CODE_FLANNEL_NO_LEASE = 'flannel-no-lease';
export const CODE_FLANNEL_HOST_GW_NOT_L2 = 'flannel-host-gw-not-l2';
export const CODE_FLANNEL_BAD_BACKEND_DATA = 'flannel-bad-backend-data';

/** What flanneld knows about one node (its lease and public IP, the backend data). */
interface Lease {
  readonly node: string;
  readonly subnet: string;
  /** The lease's network address, flannel.1's /32 and the remote nodes' onlink gateway. */
  readonly network: string;
  readonly publicIP: string;
  readonly vtepMac: string;
}

export class FlannelPlugin implements CniPlugin {
  readonly name = 'flannel';
  readonly diagnostics: Diagnostic[] = [];
  private readonly own: CniDefault[] = [];
  readonly backend: 'vxlan' | 'host-gw';
  private readonly bridges = new Map<number, BridgePlugin>();
  private readonly rules = new Map<string, IptablesFragment>();
  private leases: Map<string, Lease> | undefined;

  constructor(spec: FlannelSpec) {
    this.backend = spec.backend ?? 'vxlan';
    if (spec.backend === undefined) {
      this.own.push({
        object: 'Cluster',
        field: 'spec.cni.backend',
        value: 'vxlan',
        reason: "kube-flannel.yml's net-conf.json Backend.Type",
      });
    }
  }

  /** flanneld's defaults, then the bridge delegate's (veth names). */
  get defaults(): CniDefault[] {
    return [...this.own, ...[...this.bridges.values()].flatMap((b) => b.defaults)];
  }

  /** FLANNEL_MTU: the external interface's MTU, minus 50 for vxlan. */
  private flannelMtu(underlayMtu: number): number {
    return this.backend === 'vxlan' ? underlayMtu - 50 : underlayMtu;
  }

  private bridgeFor(mtu: number): BridgePlugin {
    let b = this.bridges.get(mtu);
    if (!b) {
      b = new BridgePlugin(
        { plugin: 'bridge', bridge: 'cni0', hairpinMode: true, ipMasq: false },
        { mtu },
      );
      this.bridges.set(mtu, b);
    }
    return b;
  }

  /** Every node's lease, as the subnet manager (kube-subnet-mgr) lists them. */
  prepare(model: ClusterModel): void {
    this.leasesOf({ model });
  }

  private leasesOf(ctx: { readonly model: ClusterModel }): Map<string, Lease> {
    if (this.leases) return this.leases;
    const out = new Map<string, Lease>();
    for (const node of ctx.model.nodes.values()) {
      const l = this.leaseOf(node);
      if (l) out.set(node.metadata.name, l);
    }
    this.leases = out;
    return out;
  }

  private leaseOf(node: ModelNode): Lease | undefined {
    const name = node.metadata.name;
    const ip = nodeInternalIP(node);
    const cidr = node.spec.podCIDR;
    if (!cidr || !isCidr(cidr) || ip === undefined) {
      this.diagnostics.push({
        code: CODE_FLANNEL_NO_LEASE,
        severity: 'error',
        message: `flanneld on ${name} has no ${ip === undefined ? 'public IP (no InternalIP)' : 'lease (no IPv4 spec.podCIDR; kube-subnet-mgr needs one)'}; the node gets no overlay`,
        object: `Node ${name}`,
        field: ip === undefined ? 'status.addresses' : 'spec.podCIDR',
      });
      return undefined;
    }
    const subnet = parseCidr(cidr);
    return {
      node: name,
      subnet: `${subnet.network}/${subnet.prefix}`,
      network: subnet.network,
      publicIP: ip,
      vtepMac: this.vtepMacOf(node),
    };
  }

  private vtepMacOf(node: ModelNode): string {
    const name = node.metadata.name;
    const raw = node.metadata.annotations?.[FLANNEL_BACKEND_DATA];
    if (raw !== undefined) {
      try {
        const data = JSON.parse(raw) as { VtepMAC?: unknown };
        if (typeof data.VtepMAC === 'string' && isMac(data.VtepMAC))
          return normalizeMac(data.VtepMAC);
      } catch {
        // reported below
      }
      this.diagnostics.push({
        code: CODE_FLANNEL_BAD_BACKEND_DATA,
        severity: 'warning',
        message: `annotation ${FLANNEL_BACKEND_DATA} has no valid VtepMAC; the twin derives one`,
        object: `Node ${name}`,
        field: `metadata.annotations["${FLANNEL_BACKEND_DATA}"]`,
      });
    }
    const mac = deriveMac(name, FLANNEL_VXLAN_DEVICE);
    if (this.backend === 'vxlan') {
      this.own.push({
        object: `Node ${name}`,
        field: `${FLANNEL_VXLAN_DEVICE} VtepMAC`,
        value: mac,
        reason: `flanneld picks a random locally administered MAC and publishes it in ${FLANNEL_BACKEND_DATA}; the twin derives it from the node name`,
      });
    }
    return mac;
  }

  setupNode(ctx: NodeContext): void {
    const { host: h, node } = ctx;
    const name = node.metadata.name;
    const leases = this.leasesOf(ctx);
    const own = leases.get(name);
    if (!own) return;
    const eth0 = h.getLink('eth0');
    const underlayMtu = eth0?.mtu ?? ctx.model.cluster.underlay.mtu;
    const network = ctx.model.cluster.clusterCIDR;
    this.own.push({
      object: `Node ${name}`,
      field: '/run/flannel/subnet.env',
      value: `FLANNEL_NETWORK=${network} FLANNEL_SUBNET=${nthAddress(parseCidr(own.subnet), 1)}/${parseCidr(own.subnet).prefix} FLANNEL_MTU=${this.flannelMtu(underlayMtu)} FLANNEL_IPMASQ=true`,
      reason:
        'flanneld --kube-subnet-mgr --ip-masq (kube-flannel.yml): the lease is the node podCIDR',
    });
    h.sysctl.set('net.ipv4.ip_forward', 1);
    if (this.backend === 'vxlan') this.setupVxlan(ctx, own, leases);
    else this.setupHostGw(ctx, own, leases);
    this.rules.set(
      name,
      compileFlannelMasq({ network, subnet: own.subnet, object: `Node ${name}` }),
    );
  }

  private setupVxlan(ctx: NodeContext, own: Lease, leases: ReadonlyMap<string, Lease>): void {
    const h = ctx.host;
    addVxlan(h, FLANNEL_VXLAN_DEVICE, {
      vni: FLANNEL_VNI,
      dstport: FLANNEL_VXLAN_PORT,
      local: own.publicIP,
      dev: 'eth0',
      learning: false,
      mac: own.vtepMac,
    });
    h.addr.add(`${own.network}/32`, FLANNEL_VXLAN_DEVICE);
    h.link.set(FLANNEL_VXLAN_DEVICE, { up: true });
    for (const l of leases.values()) {
      if (l.node === own.node) continue;
      // vxlan_network.go handleSubnetEvents: ARP, then FDB, then the route.
      h.neigh.replace(l.network, FLANNEL_VXLAN_DEVICE, { lladdr: l.vtepMac, nud: 'permanent' });
      vxlanFdbAppend(h, FLANNEL_VXLAN_DEVICE, l.vtepMac, l.publicIP);
      h.route.replace({ dst: l.subnet, via: l.network, dev: FLANNEL_VXLAN_DEVICE, onlink: true });
    }
  }

  private setupHostGw(ctx: NodeContext, own: Lease, leases: ReadonlyMap<string, Lease>): void {
    const h = ctx.host;
    const connected = h.addressesOf('eth0').map((a) => parseCidr(`${a.local}/${a.prefix}`));
    for (const l of leases.values()) {
      if (l.node === own.node) continue;
      if (!connected.some((c) => cidrContains(c, l.publicIP))) {
        this.diagnostics.push({
          code: CODE_FLANNEL_HOST_GW_NOT_L2,
          severity: 'error',
          message: `host-gw needs the nodes on one L2 segment: ${l.node}'s ${l.publicIP} is not on ${own.node}'s eth0 subnet (${connected.map((c) => `${c.network}/${c.prefix}`).join(', ') || 'none'}); "ip route replace ${l.subnet} via ${l.publicIP} dev eth0" fails (Nexthop has invalid gateway) and flanneld installs no route`,
          object: `Node ${own.node}`,
          field: 'status.addresses',
          hint: 'use the vxlan backend (or DirectRouting with vxlan) when nodes are on different subnets',
        });
        continue;
      }
      h.route.replace({ dst: l.subnet, via: l.publicIP, dev: 'eth0' });
    }
  }

  setupPod(ctx: PodContext): { hostIface: string } {
    const underlayMtu = ctx.host.getLink('eth0')?.mtu ?? ctx.model.cluster.underlay.mtu;
    const res = this.bridgeFor(this.flannelMtu(underlayMtu)).setupPod(ctx);
    // host-local's route {dst: FLANNEL_NETWORK} via the gateway (the bridge plugin's isDefaultGateway gave the default).
    const subnet = parseCidr(ctx.node.spec.podCIDR);
    ctx.podHost.route.add({
      dst: ctx.model.cluster.clusterCIDR,
      via: nthAddress(subnet, 1),
      dev: 'eth0',
    });
    return res;
  }

  rulesFor(node: string): IptablesFragment | undefined {
    return this.rules.get(node);
  }
}

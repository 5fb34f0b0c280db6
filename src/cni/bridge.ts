/**
 * The reference `bridge` plugin with `host-local` IPAM, chained after
 * `loopback` (containernetworking/plugins plugins/main/bridge/bridge.go,
 * plugins/ipam/host-local, plugins/main/loopback; reference §4.2–4.5):
 *
 *   node:  cni0 (bridge, the gateway = .1 of the node's podCIDR, with the
 *          subnet mask; isGateway) · net.ipv4.ip_forward=1
 *   pod:   veth pair: host end `veth` + 8 hex on cni0 (hairpin per config),
 *          `eth0` in the pod's namespace with the pod IP and the IPAM mask,
 *          lo up (loopback), default route via the gateway; the subnet
 *          route comes with the address (fib_add_ifaddr)
 *   ipMasq: nat chain CNI-<sha512(net+cid)[:24]>: -d <subnet> ACCEPT,
 *          ! -d 224.0.0.0/4 MASQUERADE; POSTROUTING -s <podIP> -j CNI-…
 *
 * The pod's IP is the model's (status.podIP, or what host-local would have
 * handed out, decided by k8s/model.ts): the plugin does not allocate again.
 */
import type { Diagnostic } from '../diag.js';
import { cidrContains, formatCidr, nthAddress, parseCidr } from '../wire/addr.js';
import type { CniSpec } from '../k8s/types.js';
import { nsName } from '../k8s/model.js';
import { FragmentBuilder, type IptablesFragment } from '../iptables/merge.js';
import type { CniDefault, CniPlugin, NodeContext, PodContext } from './types.js';
import { cniChainName, containerId, vethName } from './names.js';

type BridgeSpec = Extract<CniSpec, { plugin: 'bridge' }>;

/** The network name in the twin's CNI config (the conflist's `name`). */
export const BRIDGE_NETWORK_NAME = 'cbr0';

export class BridgePlugin implements CniPlugin {
  readonly name = 'bridge';
  readonly diagnostics: Diagnostic[] = [];
  readonly defaults: CniDefault[] = [];
  private readonly bridgeName: string;
  private readonly hairpin: boolean;
  private readonly ipMasq: boolean;
  private readonly rules = new Map<string, FragmentBuilder>();

  /** The delegate's `mtu` (flannel passes FLANNEL_MTU); default the underlay's. */
  private readonly mtu: number | undefined;

  constructor(spec: BridgeSpec, delegate: { mtu?: number } = {}) {
    this.mtu = delegate.mtu;
    this.bridgeName = spec.bridge ?? 'cni0';
    this.hairpin = spec.hairpinMode ?? false;
    this.ipMasq = spec.ipMasq ?? false;
    if (spec.bridge === undefined)
      this.defaults.push({
        object: 'Cluster',
        field: 'spec.cni.bridge',
        value: 'cni0',
        reason: "the bridge plugin's default bridge name",
      });
    if (spec.hairpinMode === undefined) {
      this.defaults.push({
        object: 'Cluster',
        field: 'spec.cni.hairpinMode',
        value: 'false',
        reason: 'the bridge plugin sets hairpin_mode from hairpinMode, default false',
      });
    }
  }

  setupNode(_ctx: NodeContext): void {
    // The bridge plugin creates cni0 on the first ADD; a node without pod-network pods has none.
  }

  private ensureBridge(ctx: NodeContext): { gateway: string; prefix: number } {
    const h = ctx.host;
    const subnet = parseCidr(ctx.node.spec.podCIDR);
    const gateway = nthAddress(subnet, 1);
    if (!h.getLink(this.bridgeName)) {
      h.link.addBridge(this.bridgeName, { mtu: this.mtu ?? ctx.model.cluster.underlay.mtu });
      h.addr.add(`${gateway}/${subnet.prefix}`, this.bridgeName);
      h.link.set(this.bridgeName, { up: true });
      // bridge.go enableIPForward for isGateway.
      h.sysctl.set('net.ipv4.ip_forward', 1);
    }
    return { gateway, prefix: subnet.prefix };
  }

  setupPod(ctx: PodContext): { hostIface: string } {
    const { host, podHost, pod } = ctx;
    const key = nsName(pod);
    const { gateway, prefix } = this.ensureBridge(ctx);
    // loopback plugin: lo up (127.0.0.1/8 comes with NETDEV_UP).
    podHost.link.set('lo', { up: true });
    const veth = vethName(key);
    const mtu = this.mtu ?? ctx.model.cluster.underlay.mtu;
    host.link.addVeth(veth, { peer: 'eth0', peerHost: podHost, mtu });
    host.link.set(veth, { master: this.bridgeName, up: true });
    host.link.setPort(veth, { hairpin: this.hairpin });
    podHost.link.set('eth0', { up: true });
    if (cidrContains(parseCidr(ctx.node.spec.podCIDR), pod.status.podIP)) {
      podHost.addr.add(`${pod.status.podIP}/${prefix}`, 'eth0');
      podHost.route.add({ dst: 'default', via: gateway, dev: 'eth0' });
    } else this.wireOutsidePodCidr(ctx, gateway);
    this.defaults.push({
      object: `Pod ${key}`,
      field: 'veth',
      value: veth,
      reason:
        'the bridge plugin names the host end veth + 8 random hex chars; the twin derives them from the pod name',
    });
    if (this.ipMasq) this.addIpMasq(ctx, key, prefix);
    return { hostIface: veth };
  }

  /**
   * A pod address outside the node's podCIDR (AWS VPC CNI, Azure CNI and
   * other IPAMs that are not per node), which host-local never hands out:
   * the stand-in wires it as a routed /32, the way ptp-style plugins do (the
   * pod's default route via the gateway, on-link; the node's `IP dev cni0`),
   * so the pod reaches its node and the node's Services, and says what that
   * does not model.
   */
  private wireOutsidePodCidr(ctx: PodContext, gateway: string): void {
    const { host, podHost, pod } = ctx;
    const ip = pod.status.podIP;
    podHost.addr.add(`${ip}/32`, 'eth0');
    podHost.route.add({ dst: gateway, dev: 'eth0', scope: 'link' });
    podHost.route.add({ dst: 'default', via: gateway, dev: 'eth0' });
    host.route.add({ dst: ip, dev: this.bridgeName, scope: 'link' });
    this.diagnostics.push({
      code: 'cni-pod-outside-podcidr',
      severity: 'warning',
      object: `Pod ${nsName(pod)}`,
      message: `pod IP ${ip} is outside node ${ctx.node.metadata.name}'s podCIDR ${ctx.node.spec.podCIDR}; the bridge stand-in wires it as a /32 on ${this.bridgeName} (pod default via ${gateway} on-link, node route ${ip} dev ${this.bridgeName}): paths within the node and kube-proxy's rules can be trusted, paths to it from other nodes and its addressing in the VPC cannot`,
    });
  }

  private addIpMasq(ctx: PodContext, key: string, prefix: number): void {
    const id = containerId(key);
    const chain = cniChainName(BRIDGE_NETWORK_NAME, id);
    const comment = `"name: \\"${BRIDGE_NETWORK_NAME}\\" id: \\"${id}\\""`;
    const podIP = ctx.pod.status.podIP;
    const subnet = formatCidr(parseCidr(`${podIP}/${prefix}`));
    let b = this.rules.get(ctx.node.metadata.name);
    if (!b) this.rules.set(ctx.node.metadata.name, (b = new FragmentBuilder()));
    // pkg/ip/ipmasq_iptables_linux.go SetupIPMasq: NewChain, then AppendUnique in this order.
    b.chain('nat', chain);
    b.append('nat', chain, `-d ${subnet} -m comment --comment ${comment} -j ACCEPT`);
    b.append('nat', chain, `! -d 224.0.0.0/4 -m comment --comment ${comment} -j MASQUERADE`);
    b.append('nat', 'POSTROUTING', `-s ${podIP}/32 -m comment --comment ${comment} -j ${chain}`);
    this.defaults.push({
      object: `Pod ${key}`,
      field: 'containerID',
      value: id,
      reason:
        'the ipMasq chain name hashes the container id; the twin has none and uses sha256(namespace/name)',
    });
  }

  rulesFor(node: string): IptablesFragment | undefined {
    return this.rules.get(node)?.fragment([]);
  }
}

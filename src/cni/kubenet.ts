/**
 * kubenet, the kubelet's own network plugin (AKS's `kubenet` network plugin,
 * older GKE; kubernetes pkg/kubelet/dockershim/network/kubenet/kubenet_linux.go):
 * the reference `bridge` plugin on `cbr0` with `host-local` over the node's
 * podCIDR (NET_CONFIG_TEMPLATE: isGateway true, ipMasq false, mtu = the
 * smallest interface MTU, hairpinMode true only for `--hairpin-mode=hairpin-veth`),
 * plus the kubelet's masquerade rule (ensureMasqRule, unless
 * `--non-masquerade-cidr` is 0.0.0.0/0):
 *
 *   -A POSTROUTING -m comment --comment "kubenet: SNAT for outbound traffic from cluster"
 *      -m addrtype ! --dst-type LOCAL ! -d <nonMasqueradeCIDR> -j MASQUERADE
 *
 * Traffic between nodes goes through the cloud's routes for each podCIDR
 * (the underlay gateway's per-node routes in the twin).
 *
 * With the kubelet's default `--hairpin-mode=promiscuous-bridge` kubenet puts
 * cbr0 in promiscuous mode so that a pod reaching itself through a Service
 * gets its packet back (the frame goes up through the bridge device and back
 * down); the twin's bridge does not take that path, so it gives the same
 * outcome by setting hairpin on the ports, and says so.
 */
import type { Diagnostic } from '../diag.js';
import type { CniSpec } from '../k8s/types.js';
import { FragmentBuilder, type IptablesFragment } from '../iptables/merge.js';
import { BridgePlugin } from './bridge.js';
import type { CniDefault, CniPlugin, NodeContext, PodContext } from './types.js';

type KubenetSpec = Extract<CniSpec, { plugin: 'kubenet' }>;

/** kubenet's bridge (`kubenet.BridgeName`). */
export const KUBENET_BRIDGE = 'cbr0';

export class KubenetPlugin implements CniPlugin {
  readonly name = 'kubenet';
  readonly diagnostics: Diagnostic[] = [];
  readonly defaults: CniDefault[] = [];
  private readonly bridge: BridgePlugin;
  private readonly hairpinMode: 'promiscuous-bridge' | 'hairpin-veth' | 'none';
  private readonly nonMasqueradeCIDR: string;
  private readonly rules = new Map<string, FragmentBuilder>();

  constructor(spec: KubenetSpec) {
    this.hairpinMode = spec.hairpinMode ?? 'promiscuous-bridge';
    this.nonMasqueradeCIDR = spec.nonMasqueradeCIDR ?? '10.0.0.0/8';
    this.bridge = new BridgePlugin({
      plugin: 'bridge',
      bridge: KUBENET_BRIDGE,
      hairpinMode: this.hairpinMode !== 'none',
      ipMasq: false,
    });
    if (spec.hairpinMode === undefined)
      this.defaults.push({
        object: 'Cluster',
        field: 'spec.cni.hairpinMode',
        value: 'promiscuous-bridge',
        reason:
          "the kubelet's default --hairpin-mode; the twin lets hairpin traffic through with hairpin on cbr0's ports (kubenet makes cbr0 promiscuous instead; the outcome is the same)",
      });
    if (spec.nonMasqueradeCIDR === undefined)
      this.defaults.push({
        object: 'Cluster',
        field: 'spec.cni.nonMasqueradeCIDR',
        value: '10.0.0.0/8',
        reason: "the kubelet's default --non-masquerade-cidr",
      });
  }

  setupNode(ctx: NodeContext): void {
    this.bridge.setupNode(ctx);
    const b = new FragmentBuilder();
    if (this.nonMasqueradeCIDR !== '0.0.0.0/0') {
      b.append(
        'nat',
        'POSTROUTING',
        `-m comment --comment "kubenet: SNAT for outbound traffic from cluster" -m addrtype ! --dst-type LOCAL ! -d ${this.nonMasqueradeCIDR} -j MASQUERADE`,
      );
    }
    this.rules.set(ctx.node.metadata.name, b);
  }

  setupPod(ctx: PodContext): { hostIface: string } {
    const out = this.bridge.setupPod(ctx);
    // kubenet setup(): promiscuous cbr0 for the promiscuous-bridge hairpin mode.
    if (this.hairpinMode === 'promiscuous-bridge')
      ctx.host.link.set(KUBENET_BRIDGE, { promisc: true });
    for (const d of this.bridge.defaults.splice(0)) this.defaults.push(d);
    return out;
  }

  rulesFor(node: string): IptablesFragment | undefined {
    const b = this.rules.get(node);
    return b && !b.isEmpty() ? b.fragment([]) : undefined;
  }
}

/**
 * kindnet, kind's default CNI (kubernetes-sigs/kind images/kindnetd): a
 * daemon that writes a `ptp` + `host-local` conflist for the node's podCIDR,
 * routes every other node's podCIDR via that node's InternalIP, and keeps an
 * ip-masq-agent-like nat chain.
 *
 *   node (kindnetd main.go, routes.go syncRoute):
 *          `<podCIDR of node N> via <N's InternalIP>` for every other node
 *   node (masq.go SyncRules; POD_SUBNET = the cluster's pod subnet):
 *          POSTROUTING -m comment --comment "kind-masq-agent: ensure nat POSTROUTING
 *            directs all non-LOCAL destination traffic to our custom KIND-MASQ-AGENT
 *            chain" -m addrtype ! --dst-type LOCAL -j KIND-MASQ-AGENT
 *          KIND-MASQ-AGENT -d <POD_SUBNET> "kind-masq-agent: local traffic is not subject
 *            to MASQUERADE" -j RETURN; then "ip-masq-agent: outbound traffic is subject
 *            to MASQUERADE (must be last in chain)" -j MASQUERADE
 *   pod (cni.go template: ptp with `ipMasq: false`, host-local over the
 *        podCIDR with route 0.0.0.0/0, mtu = the node's eth0 MTU;
 *        containernetworking/plugins plugins/main/ptp/ptp.go; reference §4.6):
 *          veth pair, no bridge; eth0 gets podIP with the subnet mask, the
 *          subnet route is deleted, then `gw/32 dev eth0 scope link src podIP`,
 *          `subnet via gw src podIP`, and the IPAM route `default via gw`.
 *          The host end gets the gateway (.1) as /32 — the same address on
 *          every host veth — and `podIP dev vethX scope host`
 *          (pkg/ip AddHostRoute); ip_forward=1 (EnableForward).
 *
 * The pod-to-pod and hostPort behaviour of this wiring is checked against
 * the real kernel in edge.kernel.test.ts (the ptp-wired pods there).
 */
import type { Diagnostic } from '../diag.js';
import { formatCidr, nthAddress, parseCidr } from '../wire/addr.js';
import type { CniSpec } from '../k8s/types.js';
import { nodeInternalIP, nsName } from '../k8s/model.js';
import { FragmentBuilder, type IptablesFragment } from '../iptables/merge.js';
import type { CniDefault, CniPlugin, NodeContext, PodContext } from './types.js';
import { vethName } from './names.js';

type KindnetSpec = Extract<CniSpec, { plugin: 'kindnet' }>;

export const KIND_MASQ_CHAIN = 'KIND-MASQ-AGENT';

export class KindnetPlugin implements CniPlugin {
  readonly name = 'kindnet';
  readonly diagnostics: Diagnostic[] = [];
  readonly defaults: CniDefault[] = [];
  private readonly rules = new Map<string, FragmentBuilder>();

  constructor(_spec: KindnetSpec) {}

  setupNode(ctx: NodeContext): void {
    const { host, node, model } = ctx;
    const self = node.metadata.name;
    for (const other of model.nodes.values()) {
      if (other.metadata.name === self) continue;
      const ip = nodeInternalIP(other);
      if (!ip) continue;
      host.route.add({ dst: other.spec.podCIDR, via: ip });
    }
    const podSubnet = model.cluster.clusterCIDR;
    const b = new FragmentBuilder();
    b.chain('nat', KIND_MASQ_CHAIN);
    b.append(
      'nat',
      'POSTROUTING',
      `-m comment --comment "kind-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom ${KIND_MASQ_CHAIN} chain" -m addrtype ! --dst-type LOCAL -j ${KIND_MASQ_CHAIN}`,
    );
    b.append(
      'nat',
      KIND_MASQ_CHAIN,
      `-d ${podSubnet} -m comment --comment "kind-masq-agent: local traffic is not subject to MASQUERADE" -j RETURN`,
    );
    b.append(
      'nat',
      KIND_MASQ_CHAIN,
      '-m comment --comment "ip-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE',
    );
    this.rules.set(self, b);
    this.defaults.push({
      object: `Node ${self}`,
      field: 'kindnetd POD_SUBNET',
      value: podSubnet,
      reason: "kind sets kindnetd's POD_SUBNET to the cluster's pod subnet (spec.clusterCIDR)",
    });
  }

  setupPod(ctx: PodContext): { hostIface: string } {
    const { host, podHost, pod, node } = ctx;
    const key = nsName(pod);
    const subnet = parseCidr(node.spec.podCIDR);
    const gw = nthAddress(subnet, 1);
    const podIP = pod.status.podIP;
    const mtu = ctx.model.cluster.underlay.mtu;
    podHost.link.set('lo', { up: true });
    const veth = vethName(key);
    host.link.addVeth(veth, { peer: 'eth0', peerHost: podHost, mtu });
    host.link.set(veth, { up: true });
    // Container side: ipam.ConfigureIface (address, IPAM routes), then ptp's route surgery.
    podHost.addr.add(`${podIP}/${subnet.prefix}`, 'eth0');
    podHost.link.set('eth0', { up: true });
    podHost.route.add({ dst: 'default', via: gw, dev: 'eth0' });
    podHost.route.del({ dst: formatCidr(subnet), dev: 'eth0' });
    podHost.route.add({ dst: `${gw}/32`, dev: 'eth0', scope: 'link', src: podIP });
    podHost.route.add({ dst: formatCidr(subnet), via: gw, dev: 'eth0', src: podIP });
    // Host side: setupHostVeth.
    host.addr.add(`${gw}/32`, veth);
    host.route.add({ dst: `${podIP}/32`, dev: veth, scope: 'host' });
    host.sysctl.set('net.ipv4.ip_forward', 1);
    this.defaults.push({
      object: `Pod ${key}`,
      field: 'veth',
      value: veth,
      reason:
        'the ptp plugin names the host end veth + 8 random hex chars; the twin derives them from the pod name',
    });
    return { hostIface: veth };
  }

  rulesFor(node: string): IptablesFragment | undefined {
    return this.rules.get(node)?.fragment([]);
  }
}

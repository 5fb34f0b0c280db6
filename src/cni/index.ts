/**
 * cni/: CNI plugins as compilers from the Kubernetes model into kernel state
 * (reference §4). Each plugin implements `CniPlugin`: `setupNode` once per
 * node, `setupPod` once per pod-network pod (CNI ADD), `rulesFor(node)` the
 * iptables rules it added. The reference `bridge` plugin with `host-local`
 * IPAM and `loopback` is here; flannel (flannel.ts: vxlan over the kernel's
 * VXLAN device, host-gw; it delegates to bridge) and Calico (calico.ts:
 * cali veths with proxy ARP, /26 IPAM blocks, BIRD's routes, None / IPIP /
 * VXLAN) and kind's kindnet (kindnet.ts: ptp veths, routes to the other
 * nodes' podCIDRs, KIND-MASQ-AGENT) and the kubelet's kubenet (kubenet.ts:
 * bridge cbr0, the kubelet's masquerade rule) plug in behind the same interface, and all of them pass one
 * conformance suite (test/integration/cni-conformance.test.ts).
 */
import type { Diagnostic } from '../diag.js';
import type { CniSpec } from '../k8s/types.js';
import { BridgePlugin } from './bridge.js';
import { CalicoPlugin } from './calico.js';
import { FlannelPlugin } from './flannel.js';
import { KindnetPlugin } from './kindnet.js';
import { KubenetPlugin } from './kubenet.js';
import type { CniPlugin } from './types.js';

export { BridgePlugin, BRIDGE_NETWORK_NAME } from './bridge.js';
export { FlannelPlugin, FLANNEL_VXLAN_DEVICE, FLANNEL_VNI, FLANNEL_VXLAN_PORT } from './flannel.js';
export {
  CalicoPlugin,
  caliName,
  CALICO_VXLAN_DEVICE,
  CALICO_VXLAN_VNI,
  CALICO_VXLAN_PORT,
} from './calico.js';
export { KindnetPlugin, KIND_MASQ_CHAIN } from './kindnet.js';
export { KubenetPlugin, KUBENET_BRIDGE } from './kubenet.js';
export {
  planContiv,
  CONTIV_DEFAULTS,
  type ContivNode,
  type ContivPlan,
  type ContivPod,
} from './contiv-vpp.js';
export { vethName, containerId, cniChainName, fnv1a32 } from './names.js';
export type { CniPlugin, CniDefault, NodeContext, PodContext } from './types.js';

/** The plugin for the Cluster's `spec.cni`, or a diagnostic saying it is not modelled yet. */
export function pluginFor(
  spec: CniSpec,
): { plugin: CniPlugin } | { plugin: undefined; diagnostic: Diagnostic } {
  switch (spec.plugin) {
    case 'bridge':
      return { plugin: new BridgePlugin(spec) };
    case 'flannel':
      return { plugin: new FlannelPlugin(spec) };
    case 'calico':
      return { plugin: new CalicoPlugin(spec) };
    case 'kindnet':
      return { plugin: new KindnetPlugin(spec) };
    case 'kubenet':
      return { plugin: new KubenetPlugin(spec) };
    case 'contiv-vpp':
      // Not a Linux data plane: cni/contiv-vpp.ts plans the VPP vswitches, `trace -o vpp` walks them.
      return {
        plugin: undefined,
        diagnostic: {
          severity: 'warning',
          code: 'cni-contiv-vpp-linux-twin',
          message:
            "Contiv-VPP's data plane is VPP, not the Linux kernel: the Linux twin holds no pod networking for it; trace it with -o vpp",
        },
      };
  }
}

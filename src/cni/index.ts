/**
 * cni/: CNI plugins as compilers from the Kubernetes model into kernel state
 * (reference §4). Each plugin implements `CniPlugin`: `setupNode` once per
 * node, `setupPod` once per pod-network pod (CNI ADD), `rulesFor(node)` the
 * iptables rules it added. The reference `bridge` plugin with `host-local`
 * IPAM and `loopback` is here; flannel and calico plug in behind the same
 * interface (`pluginFor` reports them as not modelled until then).
 */
import type { Diagnostic } from '../diag.js';
import type { CniSpec } from '../k8s/types.js';
import { BridgePlugin } from './bridge.js';
import { CalicoPlugin } from './calico.js';
import { FlannelPlugin } from './flannel.js';
import type { CniPlugin } from './types.js';

export { BridgePlugin, BRIDGE_NETWORK_NAME } from './bridge.js';
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
  }
}

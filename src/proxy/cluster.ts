/**
 * kube-proxy's flags on one node of a modelled cluster: the Cluster's
 * `spec.kubeProxy` (or what detection read from the kube-proxy ConfigMap), as
 * the flags `generateIptablesRules` takes. The local-traffic detector is the
 * configured `detectLocalMode` with its parameter: ClusterCIDR with
 * kube-proxy's `--cluster-cidr` (the cluster's unless configured otherwise),
 * NodeCIDR with the node's podCIDR, BridgeInterface, InterfaceNamePrefix.
 */

import type { ClusterConfig, ModelNode } from '../k8s/model/types.js';
import type { LocalDetector, ProxyInput } from './proxier.js';

/** `%#08x` of `1 << bit`, as kube-proxy prints the masquerade mark. */
export function masqueradeMarkOf(bit: number): string {
  return `0x${(2 ** bit).toString(16).padStart(6, '0')}`;
}

/** The local-traffic detector kube-proxy on `node` builds. */
export function localDetectorFor(c: ClusterConfig, node: ModelNode): LocalDetector {
  const d = c.kubeProxy.detectLocal;
  switch (d.mode) {
    case 'ClusterCIDR': {
      // kube-proxy without --cluster-cidr builds no detector (a no-op one).
      const cidr = c.kubeProxy.clusterCIDR ?? c.clusterCIDR;
      return cidr === '' ? { mode: 'NoOp' } : { mode: 'ClusterCIDR', cidr };
    }
    case 'NodeCIDR':
      return { mode: 'NodeCIDR', cidr: node.spec.podCIDR };
    case 'BridgeInterface':
      return { mode: 'BridgeInterface', interfaceName: d.bridgeInterface };
    case 'InterfaceNamePrefix':
      return { mode: 'InterfaceNamePrefix', prefix: d.interfaceNamePrefix };
  }
}

/** Everything of ProxyInput that the cluster configuration decides for `node`. */
export function proxierFlagsFor(
  c: ClusterConfig,
  node: ModelNode,
): Omit<ProxyInput, 'nodeName' | 'nodeIPs' | 'services' | 'endpointSlices'> {
  const k = c.kubeProxy;
  return {
    version: k.version,
    localDetector: localDetectorFor(c, node),
    masqueradeMark: masqueradeMarkOf(k.masqueradeBit),
    masqueradeAll: k.masqueradeAll,
    localhostNodePorts: k.localhostNodePorts,
    ...(k.nodePortAddresses ? { nodePortAddresses: k.nodePortAddresses } : {}),
    randomFully: k.randomFully,
    ...(k.noExternalMasquerade.length > 0 ? { noExternalMasquerade: k.noExternalMasquerade } : {}),
  };
}

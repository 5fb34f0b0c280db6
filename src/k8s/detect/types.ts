/**
 * What detection returns: each value with the evidence it was read from, so
 * that the cluster model can list it as a default ("detected from ConfigMap
 * kube-system/kube-flannel-cfg net-conf.json"), and the warnings for what is
 * detected but not modelled.
 */

import type { Diagnostic } from '../../diag.js';

/** A detected value and where it was read. */
export interface Detected<T> {
  readonly value: T;
  /** `ConfigMap kube-system/kube-proxy config.conf mode`, `Node n1 spec.providerID`, … */
  readonly evidence: string;
}

/** Container network plugins detection knows by name. */
export type CniName =
  | 'bridge'
  | 'flannel'
  | 'calico'
  | 'canal'
  | 'kindnet'
  | 'kubenet'
  | 'cilium'
  | 'aws-vpc-cni'
  | 'azure-cni'
  | 'weave'
  | 'kube-router'
  | 'antrea'
  | 'ovn-kubernetes'
  | 'openshift-sdn'
  | 'gke-netd';

export type CloudName = 'gce' | 'aws' | 'azure' | 'kind' | 'k3s' | 'other';

export type Distribution =
  'kubeadm' | 'k3s' | 'rke2' | 'kind' | 'minikube' | 'gke' | 'eks' | 'aks' | 'openshift';

/** The data plane's CNI as detected: its name and, for the modelled ones, its mode. */
export interface DetectedCni {
  readonly name: CniName;
  readonly flannelBackend?: string;
  readonly calicoEncapsulation?: 'None' | 'IPIP' | 'VXLAN';
  readonly calicoNatOutgoing?: boolean;
}

/** `--detect-local-mode` and its parameter. */
export type DetectLocal =
  | { readonly mode: 'ClusterCIDR' }
  | { readonly mode: 'NodeCIDR' }
  | { readonly mode: 'BridgeInterface'; readonly bridgeInterface: string }
  | { readonly mode: 'InterfaceNamePrefix'; readonly interfaceNamePrefix: string };

/** kube-proxy's configuration as the objects state it (each field only when stated). */
export interface DetectedKubeProxy {
  readonly mode?: Detected<'iptables' | 'ipvs' | 'nftables' | 'none'>;
  readonly version?: Detected<string>;
  readonly clusterCIDR?: Detected<string>;
  readonly detectLocal?: Detected<DetectLocal>;
  readonly nodePortAddresses?: Detected<string[]>;
  readonly masqueradeBit?: Detected<number>;
  readonly masqueradeAll?: Detected<boolean>;
  readonly localhostNodePorts?: Detected<boolean>;
}

export interface Detection {
  readonly cni?: Detected<DetectedCni>;
  readonly cloud?: Detected<CloudName>;
  readonly distribution?: Detected<Distribution>;
  readonly kubeProxy: DetectedKubeProxy;
  readonly clusterCIDR?: Detected<string>;
  readonly serviceCIDR?: Detected<string>;
  /** What is detected but not modelled, and what the trace can be trusted for. */
  readonly diagnostics: Diagnostic[];
}

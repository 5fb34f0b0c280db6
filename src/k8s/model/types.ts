/**
 * The cluster model's types: the Cluster configuration with every field
 * filled, the defaulted objects (`ModelNode`, `ModelPod`, `ModelService`,
 * `ModelEndpointSlice`), the indexed `ClusterModel`, and the well-known
 * labels and limits the allocators use.
 */

import type {
  AdminNetworkPolicy,
  BaselineAdminNetworkPolicy,
  CniSpec,
  Cluster,
  EndpointSlice,
  ExternalHost,
  Ingress,
  Namespace,
  NetworkPolicy,
  Node,
  NodeAddress,
  ObjectMeta,
  Pod,
  Protocol,
  Service,
  ServicePort,
  ServiceType,
} from '../types.js';
import type { Origin } from '../load.js';
import type { DetectLocal } from '../detect/types.js';
import type { ModelDefault } from './defaults.js';

export type { ModelDefault } from './defaults.js';

/** The Cluster topology with every field filled. */
export interface ClusterConfig {
  readonly name: string;
  readonly clusterCIDR: string;
  readonly serviceCIDR: string;
  readonly clusterDomain: string;
  readonly nodeCIDRMaskSize: number;
  /** kube-apiserver's --service-node-port-range: ports base … base + size - 1. */
  readonly serviceNodePortRange: { readonly base: number; readonly size: number };
  readonly cni: CniSpec;
  readonly kubeProxy: {
    readonly mode: 'iptables' | 'ipvs' | 'nftables';
    /** `MAJOR.MINOR`, e.g. "1.31". */
    readonly version: string;
    readonly masqueradeAll: boolean;
    readonly localhostNodePorts: boolean;
    /** `--cluster-cidr` when kube-proxy's differs from the cluster's; "" = none (no ClusterCIDR detector). */
    readonly clusterCIDR?: string;
    /** `--detect-local-mode` with its parameter (NodeCIDR takes each node's podCIDR). */
    readonly detectLocal: DetectLocal;
    /** `--nodeport-addresses`; absent = every local address. */
    readonly nodePortAddresses?: readonly string[];
    /** `--iptables-masquerade-bit`. */
    readonly masqueradeBit: number;
    readonly randomFully: boolean;
    /** What-if: Services (`ns/name`) whose external traffic is not masqueraded. */
    readonly noExternalMasquerade: readonly string[];
  };
  readonly masquerade?: Cluster['spec']['masquerade'];
  readonly networkPolicy: { readonly enforcer: 'none' | 'calico' | 'kube-router' };
  readonly cloud: { readonly provider: 'none' | 'gce' };
  readonly underlay: { readonly cidr: string; readonly gateway: string; readonly mtu: number };
  /** Cluster DNS as given (Cluster spec.dns) and as the objects show it; apps/dns fills the rest. */
  readonly dns: ClusterDnsConfig;
}

/** What the input says about cluster DNS; every absent value is defaulted (and said) by apps/dns. */
export interface ClusterDnsConfig {
  readonly clusterDNS?: readonly string[];
  readonly libc?: 'glibc' | 'musl';
  readonly nodeResolvConf?: {
    readonly nameservers?: readonly string[];
    readonly searches?: readonly string[];
  };
  /** The kubelet's clusterDNS read from the kubelet-config ConfigMap. */
  readonly kubeletClusterDNS?: { readonly ips: readonly string[]; readonly from: string };
  /** The `coredns` ConfigMap's Corefile. */
  readonly corefile?: { readonly text: string; readonly from: string };
  /** NodeLocal DNSCache: its link-local address and the evidence for it. */
  readonly nodeLocalDNS?: {
    readonly address: string;
    readonly upstream?: string;
    readonly from: string;
  };
}

export type Namespaced<M extends ObjectMeta = ObjectMeta> = M & { namespace: string };

/** A Node with its podCIDR and InternalIP known. */
export type ModelNode = Node & {
  spec: NonNullable<Node['spec']> & { podCIDR: string; podCIDRs: string[] };
  status: { addresses: NodeAddress[] };
};

/**
 * A scheduled, running Pod with its IP known (`spec.hostNetwork` absent:
 * false; a pod the model writes nothing into is the loaded one).
 */
export type ModelPod = Pod & {
  metadata: Namespaced;
  spec: Pod['spec'] & { nodeName: string };
  status: NonNullable<Pod['status']> & { podIP: string; podIPs: { ip: string }[]; hostIP: string };
};

export type ModelServicePort = ServicePort & { protocol: Protocol; targetPort: number | string };

/**
 * A Service with the API server's defaults: `clusterIP` is an address or
 * `None` (headless) for every type but ExternalName, which has none.
 */
export type ModelService = Service & {
  metadata: Namespaced;
  spec: Service['spec'] & {
    type: ServiceType;
    ports: ModelServicePort[];
    sessionAffinity: 'None' | 'ClientIP';
  };
};

export type ModelEndpointSlice = EndpointSlice & { metadata: Namespaced };

export interface ClusterModel {
  readonly cluster: ClusterConfig;
  /** By name, sorted. */
  readonly namespaces: ReadonlyMap<string, Namespace>;
  /** By name, sorted. */
  readonly nodes: ReadonlyMap<string, ModelNode>;
  /** By `ns/name`, sorted. */
  readonly pods: ReadonlyMap<string, ModelPod>;
  /** Pod-network pods by IP (hostNetwork pods share their node's IP and are not here). */
  readonly podsByIP: ReadonlyMap<string, ModelPod>;
  /** Pods (hostNetwork included) by node name, sorted by `ns/name`. */
  readonly podsByNode: ReadonlyMap<string, readonly ModelPod[]>;
  /**
   * Pod-network pods whose address a pod before them (in `ns/name` order)
   * already has (each reported as an error), by that address, in `ns/name`
   * order; `podsByIP` holds the first. Empty in a cluster without such errors.
   */
  readonly podsSharingIP: ReadonlyMap<string, readonly ModelPod[]>;
  /** By `ns/name`, sorted. */
  readonly services: ReadonlyMap<string, ModelService>;
  readonly servicesByClusterIP: ReadonlyMap<string, ModelService>;
  /** Every EndpointSlice, given or derived, sorted by `ns/name`. */
  readonly endpointSlices: readonly ModelEndpointSlice[];
  /** Slices by their Service's `ns/name` (label `kubernetes.io/service-name`). */
  readonly slicesByService: ReadonlyMap<string, readonly ModelEndpointSlice[]>;
  readonly networkPolicies: readonly (NetworkPolicy & { metadata: Namespaced })[];
  readonly networkPoliciesByNamespace: ReadonlyMap<
    string,
    readonly (NetworkPolicy & { metadata: Namespaced })[]
  >;
  /** Sorted by priority, then name. */
  readonly adminNetworkPolicies: readonly AdminNetworkPolicy[];
  readonly baselineAdminNetworkPolicy: BaselineAdminNetworkPolicy | undefined;
  readonly ingresses: readonly (Ingress & { metadata: Namespaced })[];
  /** By name. */
  readonly externalHosts: ReadonlyMap<string, ExternalHost>;
  readonly externalHostsByIP: ReadonlyMap<string, ExternalHost>;
  readonly defaults: readonly ModelDefault[];
  /** Where each object came from, by `objectRef` (`Kind ns/name`); absent for invented objects. */
  readonly origins: ReadonlyMap<string, Origin>;
}

export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const LABEL_METADATA_NAME = 'kubernetes.io/metadata.name';
export const LABEL_ZONE = 'topology.kubernetes.io/zone';
export const DEFAULT_CLIENT_IP_TIMEOUT = 10800;
export const NODE_PORT_RANGE = { base: 30000, size: 2768 } as const;
export const MAX_ENDPOINTS_PER_SLICE = 100;

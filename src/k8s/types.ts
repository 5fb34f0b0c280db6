/**
 * Kubernetes objects as packeteye reads them: the standard API shapes (only
 * the fields networking depends on), plus packeteye's own `Cluster` and
 * `ExternalHost` kinds. Optional fields are optional exactly as in the API;
 * `k8s/model` fills them the way the API server and controllers would.
 */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  /** Set when the object is being deleted (pods: terminating endpoints). */
  deletionTimestamp?: string;
  /** Present on objects read back from an API server (a `kubectl get` dump). */
  resourceVersion?: string;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface NodeAddress {
  type: 'InternalIP' | 'ExternalIP' | 'Hostname' | 'InternalDNS' | 'ExternalDNS';
  address: string;
}

export interface Node {
  apiVersion: 'v1';
  kind: 'Node';
  metadata: ObjectMeta;
  spec?: { podCIDR?: string; podCIDRs?: string[]; providerID?: string };
  status?: { addresses?: NodeAddress[] };
}

export interface Namespace {
  apiVersion: 'v1';
  kind: 'Namespace';
  metadata: ObjectMeta;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: Protocol;
  hostPort?: number;
  hostIP?: string;
}

export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
}

export interface PodCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
}

export type DnsPolicy = 'ClusterFirst' | 'ClusterFirstWithHostNet' | 'Default' | 'None';

/** A pod's `spec.dnsConfig`: merged into what its dnsPolicy gives. */
export interface PodDnsConfig {
  nameservers?: string[];
  searches?: string[];
  options?: { name: string; value?: string }[];
}

export interface Pod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: ObjectMeta;
  spec: {
    nodeName?: string;
    hostNetwork?: boolean;
    containers: Container[];
    /** Init containers; those with restartPolicy Always are sidecars whose ports count. */
    initContainers?: (Container & { restartPolicy?: string })[];
    hostname?: string;
    subdomain?: string;
    /** How the kubelet writes the pod's resolv.conf (default ClusterFirst). */
    dnsPolicy?: DnsPolicy;
    dnsConfig?: PodDnsConfig;
    /** Extra /etc/hosts entries the kubelet writes. */
    hostAliases?: { ip: string; hostnames?: string[] }[];
  };
  status?: {
    podIP?: string;
    podIPs?: { ip: string }[];
    hostIP?: string;
    phase?: string;
    conditions?: PodCondition[];
  };
}

export interface ServicePort {
  name?: string;
  protocol?: Protocol;
  port: number;
  /** Number or the name of a container port. */
  targetPort?: number | string;
  nodePort?: number;
  appProtocol?: string;
}

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';

export interface Service {
  apiVersion: 'v1';
  kind: 'Service';
  metadata: ObjectMeta;
  spec: {
    type?: ServiceType;
    selector?: Record<string, string>;
    clusterIP?: string;
    clusterIPs?: string[];
    ports?: ServicePort[];
    externalIPs?: string[];
    loadBalancerIP?: string;
    loadBalancerSourceRanges?: string[];
    loadBalancerClass?: string;
    externalTrafficPolicy?: 'Cluster' | 'Local';
    internalTrafficPolicy?: 'Cluster' | 'Local';
    healthCheckNodePort?: number;
    sessionAffinity?: 'None' | 'ClientIP';
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
    publishNotReadyAddresses?: boolean;
    externalName?: string;
    ipFamilies?: string[];
    ipFamilyPolicy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
    allocateLoadBalancerNodePorts?: boolean;
  };
  status?: {
    loadBalancer?: { ingress?: { ip?: string; hostname?: string; ipMode?: 'VIP' | 'Proxy' }[] };
  };
}

export interface EndpointConditions {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface Endpoint {
  addresses: string[];
  conditions?: EndpointConditions;
  hostname?: string;
  nodeName?: string;
  zone?: string;
  hints?: { forZones?: { name: string }[] };
  targetRef?: { kind?: string; namespace?: string; name?: string; uid?: string };
}

export interface EndpointPort {
  name?: string;
  protocol?: Protocol;
  port?: number;
  appProtocol?: string;
}

export interface EndpointSlice {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  metadata: ObjectMeta;
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: Endpoint[];
  ports?: EndpointPort[];
}

export interface NetworkPolicyPort {
  protocol?: Protocol;
  port?: number | string;
  endPort?: number;
}

export interface IPBlock {
  cidr: string;
  except?: string[];
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IPBlock;
}

export interface NetworkPolicyIngressRule {
  from?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicyEgressRule {
  to?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicy {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: ObjectMeta;
  spec: {
    podSelector: LabelSelector;
    policyTypes?: ('Ingress' | 'Egress')[];
    ingress?: NetworkPolicyIngressRule[];
    egress?: NetworkPolicyEgressRule[];
  };
}

export interface IngressBackend {
  service?: { name: string; port?: { number?: number; name?: string } };
}

export interface Ingress {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'Ingress';
  metadata: ObjectMeta;
  spec: {
    ingressClassName?: string;
    defaultBackend?: IngressBackend;
    rules?: {
      host?: string;
      http?: { paths: { path?: string; pathType?: string; backend: IngressBackend }[] };
    }[];
  };
}

/**
 * policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy and
 * BaselineAdminNetworkPolicy (sigs.k8s.io/network-policy-api
 * apis/v1alpha1/{adminnetworkpolicy,baselineadminnetworkpolicy}_types.go).
 * Cluster-scoped; only the fields a data plane acts on.
 */
export interface AdminNetworkPolicySubject {
  namespaces?: LabelSelector;
  pods?: { namespaceSelector: LabelSelector; podSelector: LabelSelector };
}

export interface AdminNetworkPolicyPort {
  portNumber?: { protocol: Protocol; port: number };
  namedPort?: string;
  portRange?: { protocol?: Protocol; start: number; end: number };
}

/**
 * An earlier v1alpha1 NamespaceSet form: namespaces relative to the policy
 * subject's own (network-policy-api v0.1.0–v0.1.1).
 */
export type NamespaceRelation =
  | { self: true }
  | { notSelf: true }
  | { related: 'Self' | 'NotSelf' }
  | { sameLabels: string[] }
  | { notSameLabels: string[] };

export interface AdminNetworkPolicyPeer {
  namespaces?: LabelSelector | NamespaceRelation;
  pods?: { namespaceSelector: LabelSelector | NamespaceRelation; podSelector: LabelSelector };
  /** Egress only. */
  nodes?: LabelSelector;
  /** Egress only: CIDR list. */
  networks?: string[];
}

export interface AdminNetworkPolicyRule<A extends string> {
  name?: string;
  action: A;
  ports?: AdminNetworkPolicyPort[];
  /** Ingress rules. */
  from?: AdminNetworkPolicyPeer[];
  /** Egress rules. */
  to?: AdminNetworkPolicyPeer[];
}

export interface AdminNetworkPolicy {
  apiVersion: 'policy.networking.k8s.io/v1alpha1';
  kind: 'AdminNetworkPolicy';
  metadata: ObjectMeta;
  spec: {
    /** 0–1000; lower numbers take precedence. */
    priority: number;
    subject: AdminNetworkPolicySubject;
    ingress?: AdminNetworkPolicyRule<'Allow' | 'Deny' | 'Pass'>[];
    egress?: AdminNetworkPolicyRule<'Allow' | 'Deny' | 'Pass'>[];
  };
}

export interface BaselineAdminNetworkPolicy {
  apiVersion: 'policy.networking.k8s.io/v1alpha1';
  kind: 'BaselineAdminNetworkPolicy';
  /** The only allowed name is `default`. */
  metadata: ObjectMeta;
  spec: {
    subject: AdminNetworkPolicySubject;
    ingress?: AdminNetworkPolicyRule<'Allow' | 'Deny'>[];
    egress?: AdminNetworkPolicyRule<'Allow' | 'Deny'>[];
  };
}

export type CniSpec =
  | { plugin: 'bridge'; hairpinMode?: boolean; ipMasq?: boolean; bridge?: string }
  | { plugin: 'flannel'; backend?: 'vxlan' | 'host-gw' }
  | { plugin: 'calico'; encapsulation?: 'None' | 'IPIP' | 'VXLAN'; natOutgoing?: boolean }
  /** kind's kindnetd: ptp + host-local, routes to other nodes' podCIDRs, KIND-MASQ-AGENT. */
  | { plugin: 'kindnet' }
  /** Contiv-VPP: the data plane is FD.io VPP (vpp/), one vswitch per node, pods on TAPs. */
  | {
      plugin: 'contiv-vpp';
      /** Contiv's NodeConfig `Gateway`: the vswitch's default route through the main NIC. */
      gateway?: string;
    }
  /** The kubelet's kubenet: bridge cbr0 + host-local, cloud routes, the kubelet's masquerade rule. */
  | {
      plugin: 'kubenet';
      hairpinMode?: 'promiscuous-bridge' | 'hairpin-veth' | 'none';
      nonMasqueradeCIDR?: string;
    };

/** kube-proxy's `--detect-local-mode`. */
export type DetectLocalMode =
  'ClusterCIDR' | 'NodeCIDR' | 'BridgeInterface' | 'InterfaceNamePrefix';

/** packeteye.dev/v1alpha1 Cluster: the topology the Kubernetes objects do not say. */
export interface Cluster {
  apiVersion: 'packeteye.dev/v1alpha1';
  kind: 'Cluster';
  metadata: ObjectMeta;
  spec: {
    clusterCIDR?: string;
    serviceCIDR?: string;
    clusterDomain?: string;
    nodeCIDRMaskSize?: number;
    /** kube-apiserver's --service-node-port-range: "30000-32767", "30000+2768" or one port. */
    serviceNodePortRange?: string;
    cni?: CniSpec;
    kubeProxy?: {
      mode?: 'iptables' | 'ipvs' | 'nftables';
      version?: string;
      masqueradeAll?: boolean;
      localhostNodePorts?: boolean;
      /** kube-proxy's own `--cluster-cidr` when it differs from spec.clusterCIDR; "" = none (no local-traffic detector). */
      clusterCIDR?: string;
      /** `--detect-local-mode`: how kube-proxy tells pod traffic (default ClusterCIDR with spec.clusterCIDR). */
      detectLocalMode?: DetectLocalMode;
      /** The BridgeInterface / InterfaceNamePrefix detector's parameter. */
      detectLocal?: { bridgeInterface?: string; interfaceNamePrefix?: string };
      /** `--nodeport-addresses`: CIDRs or `primary`; absent = every local address. */
      nodePortAddresses?: string[];
      /** `--iptables-masquerade-bit` (0–31, default 14: mark 0x4000). */
      masqueradeBit?: number;
      /** iptables supports `MASQUERADE --random-fully` (default true). */
      randomFully?: boolean;
      /** What kube-proxy never does, to see what it prevents. */
      whatIf?: {
        /** Services (`ns/name`) whose external (externalTrafficPolicy Cluster) traffic is not masqueraded. */
        noExternalMasquerade?: string[];
      };
    };
    /** Masquerade of pod egress (ip-masq-agent style). */
    masquerade?: { enabled?: boolean; nonMasqueradeCIDRs?: string[] };
    networkPolicy?: { enforcer?: 'none' | 'calico' | 'kube-router' };
    cloud?: { provider?: 'none' | 'gce' };
    underlay?: { cidr?: string; gateway?: string; mtu?: number };
    /** Cluster DNS as the kubelets and pods see it (apps/dns). */
    dns?: {
      /** The kubelet's `clusterDNS` (default: the kubelet-config ConfigMap, else the kube-dns Service, else the serviceCIDR's tenth address). */
      clusterDNS?: string[];
      /** The C library of pods that do not say (annotation `packeteye.dev/libc`); default glibc. */
      libc?: 'glibc' | 'musl';
      /** The node's /etc/resolv.conf (the kubelet's `--resolv-conf`), for dnsPolicy Default and CoreDNS's `forward . /etc/resolv.conf`. */
      nodeResolvConf?: { nameservers?: string[]; searches?: string[] };
    };
  };
}

/** packeteye.dev/v1alpha1 ExternalHost: a user or an internet server. */
export interface ExternalHost {
  apiVersion: 'packeteye.dev/v1alpha1';
  kind: 'ExternalHost';
  metadata: ObjectMeta;
  spec: {
    address: string;
    listen?: { port: number; protocol?: Protocol }[];
    /** Names the twin's upstream DNS answers with this address (apps/dns internetAnswer). */
    dnsNames?: string[];
  };
}

export type KubeObject =
  | Node
  | Namespace
  | Pod
  | Service
  | EndpointSlice
  | NetworkPolicy
  | Ingress
  | AdminNetworkPolicy
  | BaselineAdminNetworkPolicy
  | Cluster
  | ExternalHost;

export type Kind = KubeObject['kind'];

/** `Kind ns/name` or `Kind name`, the way diagnostics name an object. */
export function objectRef(o: { kind: string; metadata: ObjectMeta }): string {
  const ns = o.metadata.namespace;
  return ns ? `${o.kind} ${ns}/${o.metadata.name}` : `${o.kind} ${o.metadata.name}`;
}

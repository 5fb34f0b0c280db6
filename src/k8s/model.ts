/**
 * The cluster model: loaded objects, defaulted and allocated the way the API
 * server and its controllers would, checked across objects, and indexed.
 *
 * What a real cluster fills in, and where packeteye does the same:
 *
 * | what                     | real component (source)                                              |
 * |--------------------------|----------------------------------------------------------------------|
 * | Service defaults         | `pkg/apis/core/v1/defaults.go` SetDefaults_Service                    |
 * | ClusterIP                | apiserver ipallocator (`pkg/registry/core/service/ipallocator`)       |
 * | NodePort, health port    | apiserver portallocator (`pkg/registry/core/service/portallocator`)   |
 * | node podCIDR             | kube-controller-manager range allocator (`nodeipam/ipam/cidrset`)     |
 * | pod IP                   | CNI host-local IPAM (`plugins/ipam/host-local/backend/allocator`)      |
 * | EndpointSlices           | EndpointSlice controller (`staging/src/k8s.io/endpointslice`)         |
 * | slices from Endpoints    | endpointslicemirroring controller                                     |
 * | `default/kubernetes`     | apiserver's kubernetes service controller and endpoint reconciler     |
 * | namespace label          | apiserver admission: `kubernetes.io/metadata.name`                   |
 *
 * Real allocators pick random free addresses and ports; packeteye picks the
 * lowest free one in sorted `namespace/name` order, so the same input gives
 * the same cluster. Every value invented here is listed in `model.defaults`
 * with its reason, for traces and `packeteye rules` to show.
 */

import type { Diagnostic, Location } from '../diag.js';
import {
  broadcastOf,
  cidrContains,
  cidrSize,
  cidrsOverlap,
  formatCidr,
  intToIp,
  ipToInt,
  maskOf,
  nthAddress,
  parseCidr,
  type Cidr,
} from '../wire/addr.js';
import {
  CLUSTER_SCOPED,
  MIRRORED_ANNOTATION,
  locate,
  type LoadedObject,
  type Origin,
} from './load.js';
import { formatMap, matchesMap } from './selector.js';
import {
  objectRef,
  type AdminNetworkPolicy,
  type BaselineAdminNetworkPolicy,
  type CniSpec,
  type Cluster,
  type Container,
  type Endpoint,
  type EndpointPort,
  type EndpointSlice,
  type ExternalHost,
  type Ingress,
  type KubeObject,
  type Namespace,
  type NetworkPolicy,
  type Node,
  type NodeAddress,
  type ObjectMeta,
  type Pod,
  type Protocol,
  type Service,
  type ServicePort,
  type ServiceType,
} from './types.js';

// ------------------------------------------------------------------ types

/** A value the model invented, and why. */
export interface ModelDefault {
  /** `Kind ns/name` (or `Cluster <name>`). */
  readonly object: string;
  /** Field path, e.g. `spec.clusterIP`. */
  readonly field: string;
  readonly value: string;
  readonly reason: string;
}

/** The Cluster topology with every field filled. */
export interface ClusterConfig {
  readonly name: string;
  readonly clusterCIDR: string;
  readonly serviceCIDR: string;
  readonly clusterDomain: string;
  readonly nodeCIDRMaskSize: number;
  readonly cni: CniSpec;
  readonly kubeProxy: {
    readonly mode: 'iptables' | 'ipvs' | 'nftables';
    /** `MAJOR.MINOR`, e.g. "1.31". */
    readonly version: string;
    readonly masqueradeAll: boolean;
    readonly localhostNodePorts: boolean;
  };
  readonly masquerade?: Cluster['spec']['masquerade'];
  readonly networkPolicy: { readonly enforcer: 'none' | 'calico' | 'kube-router' };
  readonly cloud: { readonly provider: 'none' | 'gce' };
  readonly underlay: { readonly cidr: string; readonly gateway: string; readonly mtu: number };
}

type Namespaced<M extends ObjectMeta = ObjectMeta> = M & { namespace: string };

/** A Node with its podCIDR and InternalIP known. */
export type ModelNode = Node & {
  spec: NonNullable<Node['spec']> & { podCIDR: string; podCIDRs: string[] };
  status: { addresses: NodeAddress[] };
};

/** A scheduled, running Pod with its IP known. */
export type ModelPod = Pod & {
  metadata: Namespaced;
  spec: Pod['spec'] & { nodeName: string; hostNetwork: boolean };
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

// --------------------------------------------------------------- helpers

export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const LABEL_METADATA_NAME = 'kubernetes.io/metadata.name';
export const LABEL_ZONE = 'topology.kubernetes.io/zone';
export const DEFAULT_CLIENT_IP_TIMEOUT = 10800;
export const NODE_PORT_RANGE = { base: 30000, size: 2768 } as const;
export const MAX_ENDPOINTS_PER_SLICE = 100;

/** The node's InternalIP (the model guarantees one). */
export function nodeInternalIP(node: Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

export function nodeExternalIP(node: Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'ExternalIP')?.address;
}

export function nsName(o: { metadata: ObjectMeta }): string {
  return `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
}

/** podutil.IsPodReady, except that a pod with no conditions at all (a manifest) counts as ready. */
export function isPodReady(pod: Pod): boolean {
  const conds = pod.status?.conditions;
  if (conds === undefined || conds.length === 0) return true;
  return conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * podutil.FindPort: a numeric targetPort as is; a named one resolved to the
 * first container port with that name and the Service port's protocol,
 * searching containers and then sidecars (init containers with
 * restartPolicy Always).
 */
export function findPort(
  pod: Pod,
  port: { targetPort?: number | string; port: number; protocol?: Protocol },
): number | undefined {
  const tp = port.targetPort ?? port.port;
  if (typeof tp === 'number') return tp;
  const proto = port.protocol ?? 'TCP';
  const scan = (cs: readonly Container[] | undefined) => {
    for (const c of cs ?? [])
      for (const p of c.ports ?? [])
        if (p.name === tp && (p.protocol ?? 'TCP') === proto) return p.containerPort;
    return undefined;
  };
  return (
    scan(pod.spec.containers) ??
    scan(pod.spec.initContainers?.filter((c) => c.restartPolicy === 'Always'))
  );
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function byKey<T>(m: Map<string, T>): Map<string, T> {
  return new Map([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Smallest prefix containing all `ips`, no longer than `maxPrefix`; undefined when it would be wider than /8. */
function coveringPrefix(ips: readonly string[], maxPrefix: number): string | undefined {
  if (ips.length === 0) return undefined;
  const ints = ips.map(ipToInt);
  let prefix = maxPrefix;
  const first = ints[0]!;
  while (prefix >= 8) {
    const m = maskOf(prefix);
    if (ints.every((n) => (n & m) >>> 0 === (first & m) >>> 0)) break;
    prefix--;
  }
  if (prefix < 8) return undefined;
  return `${intToIp((first & maskOf(prefix)) >>> 0)}/${prefix}`;
}

// ----------------------------------------------------------------- build

interface Entry<T extends KubeObject> {
  /** Undefined for objects the model invents. */
  readonly loaded: LoadedObject | undefined;
  readonly object: T;
}

/** Where a Builder diagnostic stands (`e`'s `field`), its code, message and hint. */
type DiagArgs = [
  e: Entry<KubeObject> | undefined,
  field: string | undefined,
  code: string,
  message: string,
  hint?: string,
];

class Builder {
  readonly diagnostics: Diagnostic[] = [];
  readonly defaults: ModelDefault[] = [];

  note(object: string, field: string, value: string | number | boolean, reason: string): void {
    this.defaults.push({ object, field, value: String(value), reason });
  }

  at(e: Entry<KubeObject> | undefined, field?: string): Location {
    if (e === undefined || e.loaded === undefined) {
      return {
        ...(e ? { object: objectRef(e.object) } : {}),
        ...(field !== undefined ? { field } : {}),
      };
    }
    return { ...locate(e.loaded, field), object: objectRef(e.object) };
  }

  error(...args: DiagArgs): void {
    this.push('error', ...args);
  }

  warn(...args: DiagArgs): void {
    this.push('warning', ...args);
  }

  /** `object` names the object the diagnostic is about when `e` is not the one. */
  info(...args: [...DiagArgs, object?: string]): void {
    this.push('info', ...args);
  }

  private push(
    severity: Diagnostic['severity'],
    e: Entry<KubeObject> | undefined,
    field: string | undefined,
    code: string,
    message: string,
    hint?: string,
    object?: string,
  ): void {
    this.diagnostics.push({
      code,
      severity,
      message,
      ...this.at(e, field),
      ...(object ? { object } : {}),
      ...(hint ? { hint } : {}),
    });
  }
}

function entries<K extends KubeObject['kind']>(
  objects: readonly LoadedObject[],
  kind: K,
): Entry<Extract<KubeObject, { kind: K }>>[] {
  return objects
    .filter((l) => l.object.kind === kind)
    .map((l) => ({ loaded: l, object: clone(l.object) as Extract<KubeObject, { kind: K }> }));
}

const SYSTEM_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

/**
 * Builds the defaulted, indexed cluster. Never throws; objects with errors
 * are left out (or kept with their given values) and reported.
 */
export function buildModel(objects: readonly LoadedObject[]): {
  model: ClusterModel;
  diagnostics: Diagnostic[];
} {
  const b = new Builder();
  const origins = new Map<string, Origin>();
  for (const l of objects) {
    const o = l.object;
    // Keyed as the model names objects: namespaced ones without a namespace are in default.
    const namespaced = !CLUSTER_SCOPED.has(o.kind);
    const ref =
      namespaced && o.metadata.namespace === undefined
        ? `${o.kind} default/${o.metadata.name}`
        : objectRef(o);
    origins.set(ref, l.origin);
  }

  // Namespaced objects without a namespace land in `default`, as kubectl applies them.
  const defaultNamespace = <T extends KubeObject>(e: Entry<T>): Entry<T> => {
    if (e.object.metadata.namespace === undefined) {
      e.object.metadata.namespace = 'default';
      b.note(
        objectRef(e.object),
        'metadata.namespace',
        'default',
        'no namespace given; kubectl puts the object in the default namespace',
      );
    }
    return e;
  };

  const cluster = buildCluster(b, entries(objects, 'Cluster'), objects);
  let nodeEntries = entries(objects, 'Node');
  if (nodeEntries.length === 0) nodeEntries = impliedNodes(b, cluster, objects);
  const nodes = buildNodes(b, cluster, nodeEntries);
  const externalHosts = buildExternalHosts(b, cluster, nodes, entries(objects, 'ExternalHost'));
  const { pods, podsByIP, podsByNode } = buildPods(
    b,
    cluster,
    nodes,
    new Set(nodeEntries.map((e) => e.object.metadata.name)),
    entries(objects, 'Pod').map(defaultNamespace),
  );
  const serviceEntries = entries(objects, 'Service').map(defaultNamespace);
  const services = buildServices(b, cluster, serviceEntries, podsByIP);
  const { endpointSlices, slicesByService } = buildSlices(
    b,
    cluster,
    podsByIP,
    nodes,
    pods,
    services,
    entries(objects, 'EndpointSlice').map(defaultNamespace),
  );

  const networkPolicies = entries(objects, 'NetworkPolicy')
    .map(defaultNamespace)
    .map((e) => e.object as NetworkPolicy & { metadata: Namespaced })
    .sort((x, y) => cmp(nsName(x), nsName(y)));
  const networkPoliciesByNamespace = new Map<
    string,
    (NetworkPolicy & { metadata: Namespaced })[]
  >();
  for (const np of networkPolicies) {
    const l = networkPoliciesByNamespace.get(np.metadata.namespace) ?? [];
    l.push(np);
    networkPoliciesByNamespace.set(np.metadata.namespace, l);
  }

  const anpEntries = entries(objects, 'AdminNetworkPolicy').sort(
    (x, y) =>
      x.object.spec.priority - y.object.spec.priority ||
      cmp(x.object.metadata.name, y.object.metadata.name),
  );
  for (let i = 1; i < anpEntries.length; i++) {
    const prev = anpEntries[i - 1]!.object;
    const cur = anpEntries[i]!;
    if (cur.object.spec.priority === prev.spec.priority) {
      b.warn(
        cur,
        'spec.priority',
        'k8s-anp-priority-tie',
        `priority ${cur.object.spec.priority} is also used by AdminNetworkPolicy ${prev.metadata.name}; their order is undefined`,
        'give each AdminNetworkPolicy a distinct priority (packeteye orders ties by name)',
      );
    }
  }
  const banps = entries(objects, 'BaselineAdminNetworkPolicy');

  const ingresses = entries(objects, 'Ingress').map(defaultNamespace);
  for (const e of ingresses) {
    const ns = e.object.metadata.namespace!;
    const check = (svcName: string | undefined, field: string) => {
      if (svcName !== undefined && !services.has(`${ns}/${svcName}`)) {
        b.warn(
          e,
          field,
          'k8s-ingress-unknown-service',
          `backend Service ${ns}/${svcName} does not exist`,
          'create the Service or fix the name',
        );
      }
    };
    check(e.object.spec.defaultBackend?.service?.name, 'spec.defaultBackend.service.name');
    e.object.spec.rules?.forEach((r, i) =>
      r.http?.paths.forEach((p, j) =>
        check(p.backend.service?.name, `spec.rules[${i}].http.paths[${j}].backend.service.name`),
      ),
    );
  }

  // Namespaces: the given ones, the four every cluster has, and every one referenced.
  const namespaces = new Map<string, Namespace>();
  for (const e of entries(objects, 'Namespace')) namespaces.set(e.object.metadata.name, e.object);
  const referenced = new Set<string>(SYSTEM_NAMESPACES);
  const refs: { metadata: ObjectMeta }[] = [
    ...pods.values(),
    ...services.values(),
    ...endpointSlices,
    ...networkPolicies,
    ...ingresses.map((e) => e.object),
  ];
  for (const o of refs) referenced.add(o.metadata.namespace ?? 'default');
  for (const name of [...referenced].sort()) {
    if (namespaces.has(name)) continue;
    namespaces.set(name, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { [LABEL_METADATA_NAME]: name } },
    });
    b.note(
      `Namespace ${name}`,
      'metadata.name',
      name,
      SYSTEM_NAMESPACES.includes(name)
        ? 'every cluster has this namespace'
        : 'referenced by objects but not defined; the namespace must exist for them to',
    );
  }
  for (const [name, ns] of namespaces) {
    // The API server sets this label on every namespace (NamespaceDefaultLabelName, 1.21+).
    const labels = ns.metadata.labels ?? {};
    if (labels[LABEL_METADATA_NAME] !== name) {
      ns.metadata.labels = { ...labels, [LABEL_METADATA_NAME]: name };
      b.note(
        `Namespace ${name}`,
        `metadata.labels["${LABEL_METADATA_NAME}"]`,
        name,
        'the API server labels every namespace with its name',
      );
    }
  }

  const model: ClusterModel = {
    cluster,
    namespaces: byKey(namespaces),
    nodes,
    pods,
    podsByIP,
    podsByNode,
    services,
    servicesByClusterIP: new Map(
      [...services.values()]
        .filter((s) => s.spec.clusterIP !== undefined && s.spec.clusterIP !== 'None')
        .map((s) => [s.spec.clusterIP!, s] as const),
    ),
    endpointSlices,
    slicesByService,
    networkPolicies,
    networkPoliciesByNamespace,
    adminNetworkPolicies: anpEntries.map((e) => e.object),
    baselineAdminNetworkPolicy: banps[0]?.object,
    ingresses: ingresses.map((e) => e.object as Ingress & { metadata: Namespaced }),
    externalHosts,
    externalHostsByIP: new Map(
      [...externalHosts.values()].map((h) => [h.spec.address, h] as const),
    ),
    defaults: b.defaults,
    origins,
  };
  return { model, diagnostics: b.diagnostics };
}

// --------------------------------------------------------------- cluster

function buildCluster(
  b: Builder,
  clusters: Entry<Cluster>[],
  objects: readonly LoadedObject[],
): ClusterConfig {
  const first = clusters[0];
  for (const extra of clusters.slice(1)) {
    b.error(
      extra,
      undefined,
      'k8s-duplicate-cluster',
      `a second Cluster object; ${objectRef(first!.object)} at ${first!.loaded?.origin.file}:${first!.loaded?.origin.line} is used`,
      'keep exactly one Cluster object across all input files',
    );
  }
  const spec = first?.object.spec ?? {};
  const name = first?.object.metadata.name ?? 'default';
  const ref = `Cluster ${name}`;

  // Addresses the objects already carry: when no Cluster says a range and
  // they fall outside the conventional default, the range is inferred from them.
  const podCIDRs: string[] = [];
  const podIPs: string[] = [];
  const clusterIPs: string[] = [];
  const nodeIPs: string[] = [];
  for (const { object: o } of objects) {
    if (o.kind === 'Node') {
      const c = o.spec?.podCIDR ?? o.spec?.podCIDRs?.[0];
      if (c) podCIDRs.push(c);
      const ip = nodeInternalIP(o);
      if (ip) nodeIPs.push(ip);
    } else if (o.kind === 'Pod') {
      if (!o.spec.hostNetwork && o.status?.podIP) podIPs.push(o.status.podIP);
      // A pod's hostIP is its node's InternalIP: evidence for the underlay too.
      if (o.status?.hostIP) nodeIPs.push(o.status.hostIP);
    } else if (o.kind === 'Service' && o.spec.clusterIP && o.spec.clusterIP !== 'None')
      clusterIPs.push(o.spec.clusterIP);
  }

  const range = (
    field: string,
    given: string | undefined,
    def: string,
    defReason: string,
    evidence: string[],
    what: string,
    maxPrefix: number,
  ): string => {
    if (given !== undefined) return given;
    const d = parseCidr(def);
    if (evidence.every((ip) => cidrContains(d, ip))) {
      b.note(ref, field, def, defReason);
      return def;
    }
    const inferred = coveringPrefix(evidence, maxPrefix);
    if (inferred === undefined) {
      b.note(ref, field, def, defReason);
      return def;
    }
    b.note(
      ref,
      field,
      inferred,
      `no Cluster ${field}, and the ${what} lie outside the default ${def}; the smallest /${maxPrefix} or wider prefix holding them`,
    );
    return inferred;
  };

  const clusterCIDR = range(
    'spec.clusterCIDR',
    spec.clusterCIDR,
    '10.244.0.0/16',
    "no Cluster spec.clusterCIDR; 10.244.0.0/16 is flannel's and the kubeadm guides' pod network",
    [...podCIDRs.map((c) => parseCidr(c).network), ...podIPs],
    'node podCIDRs and pod IPs',
    16,
  );
  const serviceCIDR = range(
    'spec.serviceCIDR',
    spec.serviceCIDR,
    '10.96.0.0/12',
    "no Cluster spec.serviceCIDR; 10.96.0.0/12 is kubeadm's --service-cluster-ip-range",
    clusterIPs,
    "Services' clusterIPs",
    16,
  );
  const underlayCidr = range(
    'spec.underlay.cidr',
    spec.underlay?.cidr,
    '192.168.1.0/24',
    'no Cluster spec.underlay.cidr; the nodes share one 192.168.1.0/24 segment',
    nodeIPs,
    'node InternalIPs',
    24,
  );
  const underlay = parseCidr(underlayCidr);
  let gateway = spec.underlay?.gateway;
  if (gateway === undefined) {
    gateway = nthAddress(underlay, 1);
    b.note(
      ref,
      'spec.underlay.gateway',
      gateway,
      'no Cluster spec.underlay.gateway; the first address of the underlay, as home and cloud routers use',
    );
  }
  let mtu = spec.underlay?.mtu;
  if (mtu === undefined) {
    mtu = 1500;
    b.note(ref, 'spec.underlay.mtu', 1500, 'Ethernet MTU');
  }
  const clusterDomain = spec.clusterDomain ?? 'cluster.local';
  if (spec.clusterDomain === undefined)
    b.note(ref, 'spec.clusterDomain', clusterDomain, "kubeadm's default cluster domain");
  const nodeCIDRMaskSize = spec.nodeCIDRMaskSize ?? 24;
  if (spec.nodeCIDRMaskSize === undefined)
    b.note(
      ref,
      'spec.nodeCIDRMaskSize',
      24,
      "kube-controller-manager's --node-cidr-mask-size for IPv4",
    );
  const cni: CniSpec = spec.cni ?? { plugin: 'bridge' };
  if (spec.cni === undefined)
    b.note(
      ref,
      'spec.cni.plugin',
      'bridge',
      'the reference CNI bridge plugin with host-local IPAM',
    );
  const mode = spec.kubeProxy?.mode ?? 'iptables';
  if (spec.kubeProxy?.mode === undefined)
    b.note(ref, 'spec.kubeProxy.mode', mode, "kube-proxy's default mode on Linux");
  const version = spec.kubeProxy?.version ?? '1.31';
  if (spec.kubeProxy?.version === undefined)
    b.note(ref, 'spec.kubeProxy.version', version, 'a current kube-proxy release');
  const masqueradeAll = spec.kubeProxy?.masqueradeAll ?? false;
  const localhostNodePorts = spec.kubeProxy?.localhostNodePorts ?? true;
  const provider = spec.cloud?.provider ?? 'none';
  if (spec.cloud?.provider === undefined)
    b.note(
      ref,
      'spec.cloud.provider',
      provider,
      'no cloud: the nodes share a plain routed segment',
    );
  const enforcer = spec.networkPolicy?.enforcer ?? 'none';

  // Overlaps between the cluster's ranges make routing ambiguous: errors.
  const ranges: [string, string][] = [
    ['spec.clusterCIDR', clusterCIDR],
    ['spec.serviceCIDR', serviceCIDR],
    ['spec.underlay.cidr', underlayCidr],
  ];
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      const [fa, a] = ranges[i]!;
      const [fb, bb] = ranges[j]!;
      if (cidrsOverlap(parseCidr(a), parseCidr(bb))) {
        b.error(
          first,
          fb,
          'k8s-cidr-overlap',
          `${fb.slice(5)} ${bb} overlaps ${fa.slice(5)} ${a}`,
          'pod, Service and node networks must be disjoint; change one of them',
        );
      }
    }
  }
  if (
    !cidrContains(underlay, gateway) ||
    gateway === underlay.network ||
    gateway === broadcastOf(underlay)
  ) {
    b.error(
      first,
      'spec.underlay.gateway',
      'k8s-ip-out-of-range',
      `gateway ${gateway} is not a host address of the underlay ${underlayCidr}`,
      `use an address inside ${underlayCidr}, e.g. ${nthAddress(underlay, 1)}`,
    );
  }
  if (nodeCIDRMaskSize < parseCidr(clusterCIDR).prefix) {
    b.error(
      first,
      'spec.nodeCIDRMaskSize',
      'k8s-invalid-value',
      `nodeCIDRMaskSize /${nodeCIDRMaskSize} is larger than the clusterCIDR ${clusterCIDR}`,
      'use a longer mask (e.g. 24) or a larger clusterCIDR',
    );
  }
  return {
    name,
    clusterCIDR,
    serviceCIDR,
    clusterDomain,
    nodeCIDRMaskSize,
    cni,
    kubeProxy: { mode, version, masqueradeAll, localhostNodePorts },
    ...(spec.masquerade ? { masquerade: spec.masquerade } : {}),
    networkPolicy: { enforcer },
    cloud: { provider },
    underlay: { cidr: underlayCidr, gateway, mtu },
  };
}

// ----------------------------------------------------------------- nodes

/**
 * `kubectl get all -A -o yaml` has no Node objects, but its pods name their
 * node and carry its address (`status.hostIP`). With no Node at all in the
 * input, those nodes are implied (a warning says so), each with the pods'
 * hostIP as InternalIP and, when the node's pod IPs share one subnet of the
 * node mask size, that subnet as podCIDR. Hand-written pods have no hostIP
 * and still need their Node.
 */
function impliedNodes(
  b: Builder,
  cluster: ClusterConfig,
  objects: readonly LoadedObject[],
): Entry<Node>[] {
  const byNode = new Map<string, { hostIP: string; podIPs: string[]; first: LoadedObject }>();
  for (const l of objects) {
    const o = l.object;
    if (o.kind !== 'Pod' || !o.spec.nodeName || !o.status?.hostIP) continue;
    const n = byNode.get(o.spec.nodeName) ?? { hostIP: o.status.hostIP, podIPs: [], first: l };
    if (!o.spec.hostNetwork && o.status.podIP) n.podIPs.push(o.status.podIP);
    byNode.set(o.spec.nodeName, n);
  }
  const out: Entry<Node>[] = [];
  for (const [name, n] of [...byNode.entries()].sort(([a], [c]) => cmp(a, c))) {
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name },
      status: { addresses: [{ type: 'InternalIP', address: n.hostIP }] },
    };
    const mask = cluster.nodeCIDRMaskSize;
    const subnets = new Set(n.podIPs.map((ip) => formatCidr(parseCidr(`${ip}/${mask}`))));
    const only = subnets.size === 1 ? [...subnets][0] : undefined;
    if (only !== undefined) {
      node.spec = { podCIDR: only };
      b.note(
        `Node ${name}`,
        'spec.podCIDR',
        only,
        `implied node: the /${mask} its pods' IPs lie in`,
      );
    }
    b.note(
      `Node ${name}`,
      'status.addresses[InternalIP]',
      n.hostIP,
      "implied node: its pods' status.hostIP",
    );
    b.diagnostics.push({
      code: 'k8s-node-implied',
      severity: 'warning',
      message: `Node ${name} is not in the input; implied from its pods (InternalIP ${n.hostIP}${only ? `, podCIDR ${only}` : ''})`,
      ...locate(n.first, 'spec.nodeName'),
      hint: 'add the nodes, e.g. from `kubectl get nodes -o yaml`, for their real podCIDRs and addresses',
    });
    out.push({ loaded: undefined, object: node });
  }
  return out;
}

function buildNodes(
  b: Builder,
  cluster: ClusterConfig,
  raw: Entry<Node>[],
): Map<string, ModelNode> {
  const sorted = [...raw].sort((x, y) => cmp(x.object.metadata.name, y.object.metadata.name));
  const clusterNet = parseCidr(cluster.clusterCIDR);
  const serviceNet = parseCidr(cluster.serviceCIDR);
  const underlay = parseCidr(cluster.underlay.cidr);
  const podNodeAddressing = cluster.cni.plugin !== 'calico';
  const nodes = new Map<string, ModelNode>();

  // podCIDRs given: inside the clusterCIDR, not shared.
  const given: {
    cidr: Cidr;
    node: string;
    e: Entry<Node>;
    field: string;
    start: number;
    end: number;
  }[] = [];
  for (const e of sorted) {
    const n = e.object;
    const c = n.spec?.podCIDR ?? n.spec?.podCIDRs?.[0];
    if (c === undefined) continue;
    const field = n.spec?.podCIDR ? 'spec.podCIDR' : 'spec.podCIDRs[0]';
    const cidr = parseCidr(c);
    if (!cidrContains(clusterNet, cidr.network) || cidr.prefix < clusterNet.prefix) {
      const msg = `podCIDR ${c} is outside the clusterCIDR ${cluster.clusterCIDR}`;
      if (podNodeAddressing)
        b.error(
          e,
          field,
          'k8s-ip-out-of-range',
          msg,
          `use a subnet of ${cluster.clusterCIDR}, or set Cluster spec.clusterCIDR to the pod network`,
        );
      else
        b.warn(
          e,
          field,
          'k8s-ip-out-of-range',
          `${msg}; calico allocates pod addresses from its IP pool, not from the node's podCIDR`,
        );
    }
    for (const [what, net] of [
      ['serviceCIDR', serviceNet],
      ['underlay', underlay],
    ] as const) {
      if (cidrsOverlap(cidr, net)) {
        b.error(
          e,
          field,
          'k8s-cidr-overlap',
          `podCIDR ${c} overlaps the ${what} ${formatCidr(net)}`,
          'pod subnets must be disjoint from the Service and node networks',
        );
      }
    }
    const start = ipToInt(cidr.network);
    given.push({ cidr, node: n.metadata.name, e, field, start, end: start + cidrSize(cidr) - 1 });
  }
  // Overlaps between nodes' podCIDRs: one sweep over the ranges by start
  // address (ties by node name), not a comparison of every pair.
  const byStart = [...given].sort((x, y) => x.start - y.start || cmp(x.node, y.node));
  let widest: (typeof given)[number] | undefined;
  for (const g of byStart) {
    if (widest !== undefined && g.start <= widest.end) {
      b.error(
        g.e,
        g.field,
        'k8s-cidr-overlap',
        `podCIDR ${formatCidr(g.cidr)} overlaps Node ${widest.node}'s podCIDR ${formatCidr(widest.cidr)}`,
        'every node needs its own pod subnet',
      );
    }
    if (widest === undefined || g.end > widest.end) widest = g;
  }

  // The range allocator (nodeipam/ipam/cidrset): subnets of clusterCIDR of
  // the mask size, the Service range and the given ones occupied, the first
  // free one for each node without a podCIDR, in node-name order.
  const mask = cluster.nodeCIDRMaskSize;
  const subnetCount = mask >= clusterNet.prefix ? 2 ** (mask - clusterNet.prefix) : 0;
  const base = ipToInt(clusterNet.network);
  const step = 2 ** (32 - mask);
  // Occupied ranges sorted by start; candidates are tried in increasing
  // order, so one cursor walks them.
  const taken = [
    ...byStart.map((g) => [g.start, g.end] as const),
    [ipToInt(serviceNet.network), ipToInt(serviceNet.network) + cidrSize(serviceNet) - 1] as const,
  ].sort((x, y) => x[0] - y[0]);
  let cursor = 0;
  const occupied = (i: number): boolean => {
    const start = base + i * step;
    const end = start + step - 1;
    while (cursor < taken.length && taken[cursor]![1] < start) cursor++;
    // Ranges before the cursor end below `start`; a later one may still start inside.
    for (let k = cursor; k < taken.length && taken[k]![0] <= end; k++)
      if (taken[k]![1] >= start) return true;
    return false;
  };
  let next = 0;

  // InternalIPs given: inside the underlay, unique.
  const ipOwner = new Map<string, string>();
  for (const e of sorted) {
    const ip = nodeInternalIP(e.object);
    if (ip === undefined) continue;
    const i = e.object.status!.addresses!.findIndex((a) => a.type === 'InternalIP');
    const field = `status.addresses[${i}].address`;
    if (!cidrContains(underlay, ip)) {
      b.error(
        e,
        field,
        'k8s-ip-out-of-range',
        `InternalIP ${ip} is outside the underlay ${cluster.underlay.cidr}`,
        "set Cluster spec.underlay.cidr to the nodes' network, or fix the address",
      );
    } else if (ip === cluster.underlay.gateway) {
      b.error(
        e,
        field,
        'k8s-duplicate-ip',
        `InternalIP ${ip} is the underlay gateway's address`,
        'give the node another address',
      );
    }
    const prev = ipOwner.get(ip);
    if (prev !== undefined)
      b.error(
        e,
        field,
        'k8s-duplicate-ip',
        `InternalIP ${ip} is also Node ${prev}'s`,
        'every node needs its own address',
      );
    else ipOwner.set(ip, e.object.metadata.name);
  }
  let nextIP = ipToInt(nthAddress(underlay, 10));
  const lastHost = ipToInt(broadcastOf(underlay)) - 1;

  for (const e of sorted) {
    const n = e.object;
    const name = n.metadata.name;
    const ref = objectRef(n);
    const spec = n.spec ?? {};
    let podCIDR = spec.podCIDR ?? spec.podCIDRs?.[0];
    if (podCIDR === undefined) {
      while (next < subnetCount && occupied(next)) next++;
      if (next >= subnetCount) {
        b.error(
          e,
          'spec.podCIDR',
          'k8s-range-exhausted',
          `no free /${mask} left in the clusterCIDR ${cluster.clusterCIDR} for this node`,
          'set spec.podCIDR, a larger clusterCIDR or a longer nodeCIDRMaskSize',
        );
        continue;
      }
      podCIDR = `${intToIp((base + next * step) >>> 0)}/${mask}`;
      next++;
      b.note(
        ref,
        'spec.podCIDR',
        podCIDR,
        `no spec.podCIDR; kube-controller-manager's range allocator takes the first free /${mask} of ${cluster.clusterCIDR}, nodes in name order`,
      );
    }
    const addresses = [...(n.status?.addresses ?? [])];
    if (!addresses.some((a) => a.type === 'InternalIP')) {
      while (
        nextIP <= lastHost &&
        (ipOwner.has(intToIp(nextIP)) || intToIp(nextIP) === cluster.underlay.gateway)
      )
        nextIP++;
      if (nextIP > lastHost) {
        b.error(
          e,
          'status.addresses',
          'k8s-range-exhausted',
          `no free address left in the underlay ${cluster.underlay.cidr} for this node`,
          'give the node an InternalIP in status.addresses',
        );
        continue;
      }
      const ip = intToIp(nextIP++);
      ipOwner.set(ip, name);
      addresses.unshift({ type: 'InternalIP', address: ip });
      b.note(
        ref,
        'status.addresses[InternalIP]',
        ip,
        `no InternalIP; packeteye gives nodes underlay addresses from .10 upward in name order`,
      );
    }
    const node: ModelNode = {
      ...n,
      spec: { ...spec, podCIDR, podCIDRs: spec.podCIDRs ?? [podCIDR] },
      status: { ...n.status, addresses },
    };
    nodes.set(name, node);
  }
  return nodes;
}

// -------------------------------------------------------- external hosts

function buildExternalHosts(
  b: Builder,
  cluster: ClusterConfig,
  nodes: Map<string, ModelNode>,
  raw: Entry<ExternalHost>[],
): Map<string, ExternalHost> {
  const out = new Map<string, ExternalHost>();
  const byIP = new Map<string, string>();
  const nodeIPs = new Map<string, string>();
  for (const n of nodes.values()) {
    for (const a of n.status.addresses)
      if (a.type === 'InternalIP' || a.type === 'ExternalIP')
        nodeIPs.set(a.address, n.metadata.name);
  }
  for (const e of [...raw].sort((x, y) => cmp(x.object.metadata.name, y.object.metadata.name))) {
    const h = e.object;
    const ip = h.spec.address;
    for (const [what, c] of [
      ['clusterCIDR', cluster.clusterCIDR],
      ['serviceCIDR', cluster.serviceCIDR],
    ] as const) {
      if (cidrContains(parseCidr(c), ip)) {
        b.error(
          e,
          'spec.address',
          'k8s-cidr-overlap',
          `address ${ip} is inside the cluster's ${what} ${c}`,
          'an external host needs an address outside the pod and Service networks',
        );
      }
    }
    const node = nodeIPs.get(ip);
    if (node !== undefined)
      b.error(
        e,
        'spec.address',
        'k8s-duplicate-ip',
        `address ${ip} is Node ${node}'s`,
        'give the external host its own address',
      );
    if (ip === cluster.underlay.gateway)
      b.error(
        e,
        'spec.address',
        'k8s-duplicate-ip',
        `address ${ip} is the underlay gateway's`,
        'give the external host its own address',
      );
    const prev = byIP.get(ip);
    if (prev !== undefined)
      b.error(
        e,
        'spec.address',
        'k8s-duplicate-ip',
        `address ${ip} is also ExternalHost ${prev}'s`,
        'every host needs its own address',
      );
    else byIP.set(ip, h.metadata.name);
    out.set(h.metadata.name, h);
  }
  return out;
}

// ------------------------------------------------------------------ pods

function buildPods(
  b: Builder,
  cluster: ClusterConfig,
  nodes: Map<string, ModelNode>,
  declared: ReadonlySet<string>,
  raw: Entry<Pod>[],
): {
  pods: Map<string, ModelPod>;
  podsByIP: Map<string, ModelPod>;
  podsByNode: Map<string, ModelPod[]>;
} {
  const sorted = [...raw].sort((x, y) => cmp(nsName(x.object), nsName(y.object)));
  const clusterNet = parseCidr(cluster.clusterCIDR);
  const bridgeLike = cluster.cni.plugin !== 'calico';
  const nodeNames = [...nodes.keys()];
  const scheduled: { e: Entry<Pod>; node: ModelNode }[] = [];

  for (const e of sorted) {
    const p = e.object;
    const phase = p.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      b.info(
        e,
        'status.phase',
        'k8s-pod-terminal',
        `pod is in phase ${phase}: its network namespace is gone, so it is left out`,
      );
      continue;
    }
    const nodeName = p.spec.nodeName;
    if (nodeName === undefined) {
      b.error(
        e,
        'spec.nodeName',
        'k8s-pod-unscheduled',
        'pod has no spec.nodeName; packeteye does not run the scheduler',
        nodeNames.length > 0
          ? `set spec.nodeName to one of the nodes: ${nodeNames.slice(0, 5).join(', ')}${nodeNames.length > 5 ? ', …' : ''}`
          : 'add a Node object and set spec.nodeName to its name',
      );
      continue;
    }
    const node = nodes.get(nodeName);
    if (node === undefined && declared.has(nodeName)) {
      b.info(
        e,
        'spec.nodeName',
        'k8s-pod-node-unusable',
        `pod left out: node ${nodeName} could not be modelled (see its error)`,
      );
      continue;
    }
    if (node === undefined) {
      b.error(
        e,
        'spec.nodeName',
        'k8s-pod-unknown-node',
        `pod is on node ${JSON.stringify(nodeName)}, which is not defined`,
        nodeNames.length > 0
          ? `add a Node named ${nodeName}, or use one of: ${nodeNames.slice(0, 5).join(', ')}${nodeNames.length > 5 ? ', …' : ''}`
          : `add a Node object named ${nodeName}`,
      );
      continue;
    }
    scheduled.push({ e, node });
  }

  // Addresses already in use per node subnet, and who has them.
  const owner = new Map<string, Entry<Pod>>();
  const pods = new Map<string, ModelPod>();
  const podsByIP = new Map<string, ModelPod>();
  const podsByNode = new Map<string, ModelPod[]>();
  const needIP: { e: Entry<Pod>; node: ModelNode }[] = [];
  const hostPorts = new Map<string, Entry<Pod>>();

  const finish = (e: Entry<Pod>, node: ModelNode, ip: string) => {
    const p = e.object;
    const hostIP = nodeInternalIP(node)!;
    if (p.status?.hostIP !== undefined && p.status.hostIP !== hostIP) {
      b.warn(
        e,
        'status.hostIP',
        'k8s-ip-mismatch',
        `status.hostIP ${p.status.hostIP} is not node ${node.metadata.name}'s InternalIP ${hostIP}; the node's is used`,
      );
    }
    const pod: ModelPod = {
      ...p,
      metadata: p.metadata as Namespaced,
      spec: { ...p.spec, nodeName: node.metadata.name, hostNetwork: p.spec.hostNetwork ?? false },
      status: { ...p.status, podIP: ip, podIPs: p.status?.podIPs ?? [{ ip }], hostIP },
    };
    pods.set(nsName(pod), pod);
    // hostPort conflicts: the scheduler never puts two such pods on one node.
    pod.spec.containers.forEach((c, ci) =>
      c.ports?.forEach((cp, pi) => {
        if (cp.hostPort === undefined) return;
        const key = `${node.metadata.name}/${cp.hostPort}/${cp.protocol ?? 'TCP'}`;
        const prev = hostPorts.get(key);
        if (prev && prev !== e) {
          b.error(
            e,
            `spec.containers[${ci}].ports[${pi}].hostPort`,
            'k8s-host-port-conflict',
            `hostPort ${cp.hostPort}/${cp.protocol ?? 'TCP'} on node ${node.metadata.name} is also used by Pod ${nsName(prev.object)}`,
            'the scheduler would not place both pods on this node; use another hostPort or node',
          );
        } else hostPorts.set(key, e);
      }),
    );
  };

  for (const { e, node } of scheduled) {
    const p = e.object;
    const nodeIP = nodeInternalIP(node)!;
    if (p.spec.hostNetwork) {
      if (p.status?.podIP !== undefined && p.status.podIP !== nodeIP) {
        b.warn(
          e,
          'status.podIP',
          'k8s-ip-mismatch',
          `a hostNetwork pod has its node's address; status.podIP ${p.status.podIP} is not node ${node.metadata.name}'s InternalIP ${nodeIP}, which is used`,
        );
      } else if (p.status?.podIP === undefined) {
        b.note(
          objectRef(p),
          'status.podIP',
          nodeIP,
          `hostNetwork pod: it shares node ${node.metadata.name}'s network namespace and address`,
        );
      }
      finish(e, node, nodeIP);
      continue;
    }
    const ip = p.status?.podIP;
    if (ip === undefined) {
      needIP.push({ e, node });
      continue;
    }
    const sub = parseCidr(node.spec.podCIDR);
    if (bridgeLike) {
      if (!cidrContains(sub, ip)) {
        b.error(
          e,
          'status.podIP',
          'k8s-ip-out-of-range',
          `pod IP ${ip} is outside node ${node.metadata.name}'s podCIDR ${node.spec.podCIDR}`,
          `${cluster.cni.plugin} gives pods addresses from their node's podCIDR; fix the IP or spec.nodeName`,
        );
      } else if (ip === nthAddress(sub, 1) && cluster.cni.plugin === 'bridge') {
        b.error(
          e,
          'status.podIP',
          'k8s-ip-out-of-range',
          `pod IP ${ip} is the bridge gateway (cni0) address of node ${node.metadata.name}`,
          `host-local never hands out the gateway; use ${nthAddress(sub, 2)} or higher`,
        );
      } else if (ip === sub.network || ip === broadcastOf(sub)) {
        b.error(
          e,
          'status.podIP',
          'k8s-ip-out-of-range',
          `pod IP ${ip} is the network or broadcast address of ${node.spec.podCIDR}`,
          'use a host address of the subnet',
        );
      }
    } else if (!cidrContains(clusterNet, ip)) {
      b.error(
        e,
        'status.podIP',
        'k8s-ip-out-of-range',
        `pod IP ${ip} is outside the clusterCIDR ${cluster.clusterCIDR}`,
        'fix the IP or Cluster spec.clusterCIDR',
      );
    }
    const prev = owner.get(ip);
    if (prev !== undefined) {
      b.error(
        e,
        'status.podIP',
        'k8s-duplicate-pod-ip',
        `pod IP ${ip} is also Pod ${nsName(prev.object)}'s`,
        'every pod needs its own address; change or remove one status.podIP',
      );
      finish(e, node, ip);
      continue;
    }
    owner.set(ip, e);
    finish(e, node, ip);
  }

  // host-local IPAM: per node, addresses from the podCIDR after the gateway
  // (.1, the bridge's), round-robin from the last reserved, skipping used
  // ones; `rangeEnd` is the last address before broadcast.
  const lastByNode = new Map<string, number>();
  for (const { e, node } of needIP) {
    const sub = parseCidr(node.spec.podCIDR);
    const first = ipToInt(sub.network) + 1;
    const last = ipToInt(broadcastOf(sub)) - 1;
    const gateway = first;
    const start = lastByNode.get(node.metadata.name) ?? gateway;
    let found: number | undefined;
    const span = last - first + 1;
    for (let k = 1; k <= span; k++) {
      const cand = first + ((start - first + k) % span);
      if (cand === gateway) continue;
      if (owner.has(intToIp(cand))) continue;
      found = cand;
      break;
    }
    if (found === undefined) {
      b.error(
        e,
        'status.podIP',
        'k8s-range-exhausted',
        `node ${node.metadata.name}'s podCIDR ${node.spec.podCIDR} has no free address for this pod`,
        'give the node a larger podCIDR or move pods to another node',
      );
      continue;
    }
    lastByNode.set(node.metadata.name, found);
    const ip = intToIp(found);
    owner.set(ip, e);
    b.note(
      objectRef(e.object),
      'status.podIP',
      ip,
      cluster.cni.plugin === 'calico'
        ? `no status.podIP; packeteye hands out node ${node.metadata.name}'s podCIDR ${node.spec.podCIDR} in pod name order (calico-ipam would use its own per-node blocks)`
        : `no status.podIP; host-local IPAM hands out ${node.spec.podCIDR} from .2 (.1 is the cni0 gateway), pods in namespace/name order`,
    );
    finish(e, node, ip);
  }

  const sortedPods = byKey(pods);
  for (const pod of sortedPods.values()) {
    if (!pod.spec.hostNetwork && !podsByIP.has(pod.status.podIP))
      podsByIP.set(pod.status.podIP, pod);
    const l = podsByNode.get(pod.spec.nodeName) ?? [];
    l.push(pod);
    podsByNode.set(pod.spec.nodeName, l);
  }
  return { pods: sortedPods, podsByIP, podsByNode };
}

// -------------------------------------------------------------- services

function buildServices(
  b: Builder,
  cluster: ClusterConfig,
  raw: Entry<Service>[],
  podsByIP: Map<string, ModelPod>,
): Map<string, ModelService> {
  const serviceNet = parseCidr(cluster.serviceCIDR);
  const sorted = [...raw].sort((x, y) => cmp(nsName(x.object), nsName(y.object)));

  // The API server creates default/kubernetes itself.
  const invented = !sorted.some((e) => nsName(e.object) === 'default/kubernetes');
  if (invented) {
    const svc: Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'kubernetes',
        namespace: 'default',
        labels: { component: 'apiserver', provider: 'kubernetes' },
      },
      spec: {
        type: 'ClusterIP',
        ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
      },
    };
    b.note(
      'Service default/kubernetes',
      'metadata.name',
      'kubernetes',
      "every cluster has the API server's Service: 443/TCP to the control plane's 6443",
    );
    sorted.unshift({ loaded: undefined, object: svc });
    sorted.sort((x, y) => cmp(nsName(x.object), nsName(y.object)));
  }

  const services = new Map<string, ModelService>();
  const entryOf = new Map<string, Entry<Service>>();
  const ipOwner = new Map<string, string>();

  // Pass 1: API defaults and the addresses and ports users asked for.
  const nodePortOwner = new Map<number, string>();
  for (const e of sorted) {
    const s = e.object;
    const key = nsName(s);
    const ref = objectRef(s);
    const spec = s.spec;
    const type: ServiceType = spec.type ?? 'ClusterIP';
    if (spec.type === undefined)
      b.note(ref, 'spec.type', 'ClusterIP', 'the API server defaults type to ClusterIP');
    const ports: ModelServicePort[] = (spec.ports ?? []).map((p, i) => {
      const protocol = p.protocol ?? 'TCP';
      if (p.protocol === undefined)
        b.note(
          ref,
          `spec.ports[${i}].protocol`,
          'TCP',
          "the API server defaults a port's protocol to TCP",
        );
      let targetPort = p.targetPort;
      if (targetPort === undefined && type !== 'ExternalName') {
        targetPort = p.port;
        b.note(
          ref,
          `spec.ports[${i}].targetPort`,
          p.port,
          'the API server defaults targetPort to port',
        );
      }
      return { ...p, protocol, targetPort: targetPort ?? p.port };
    });
    const sessionAffinity = spec.sessionAffinity ?? 'None';
    if (spec.sessionAffinity === undefined && type !== 'ExternalName')
      b.note(
        ref,
        'spec.sessionAffinity',
        'None',
        'the API server defaults sessionAffinity to None',
      );
    const out: ModelService = {
      ...s,
      metadata: s.metadata as Namespaced,
      spec: { ...spec, type, ports, sessionAffinity },
    };
    const o = out.spec;
    if (sessionAffinity === 'ClientIP') {
      if (o.sessionAffinityConfig?.clientIP?.timeoutSeconds === undefined) {
        o.sessionAffinityConfig = { clientIP: { timeoutSeconds: DEFAULT_CLIENT_IP_TIMEOUT } };
        b.note(
          ref,
          'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
          DEFAULT_CLIENT_IP_TIMEOUT,
          'the API server defaults the ClientIP affinity timeout to 3 hours',
        );
      }
    } else {
      delete o.sessionAffinityConfig;
    }
    if (type !== 'ExternalName' && o.internalTrafficPolicy === undefined) {
      o.internalTrafficPolicy = 'Cluster';
      b.note(
        ref,
        'spec.internalTrafficPolicy',
        'Cluster',
        'the API server defaults internalTrafficPolicy to Cluster',
      );
    }
    if ((type === 'NodePort' || type === 'LoadBalancer') && o.externalTrafficPolicy === undefined) {
      o.externalTrafficPolicy = 'Cluster';
      b.note(
        ref,
        'spec.externalTrafficPolicy',
        'Cluster',
        'the API server defaults externalTrafficPolicy to Cluster for NodePort and LoadBalancer',
      );
    }
    if (type === 'LoadBalancer' && o.allocateLoadBalancerNodePorts === undefined) {
      o.allocateLoadBalancerNodePorts = true;
    }
    if (type === 'ExternalName') {
      delete o.clusterIP;
      delete o.clusterIPs;
    } else {
      if (o.ipFamilies === undefined) o.ipFamilies = ['IPv4'];
      if (o.ipFamilyPolicy === undefined) o.ipFamilyPolicy = 'SingleStack';
      if (!o.ipFamilies.includes('IPv4')) {
        b.warn(
          e,
          'spec.ipFamilies',
          'k8s-ipv6-ignored',
          'an IPv6-only Service is not modelled; packeteye gives it an IPv4 clusterIP',
          'packeteye models IPv4; use ipFamilies: [IPv4]',
        );
      }
      // Dual-stack: the IPv4 family is the one modelled.
      if (o.ipFamilies.length !== 1 || o.ipFamilies[0] !== 'IPv4') o.ipFamilies = ['IPv4'];
    }
    // Requested clusterIPs.
    const ip = o.clusterIP;
    if (ip !== undefined && ip !== 'None') {
      if (
        !cidrContains(serviceNet, ip) ||
        ip === serviceNet.network ||
        ip === broadcastOf(serviceNet)
      ) {
        b.error(
          e,
          'spec.clusterIP',
          'k8s-ip-out-of-range',
          `clusterIP ${ip} is not a usable address of the serviceCIDR ${cluster.serviceCIDR}`,
          `pick an address inside ${cluster.serviceCIDR}, or remove clusterIP to have one allocated`,
        );
      }
      const prev = ipOwner.get(ip);
      if (invented && key !== 'default/kubernetes' && ip === nthAddress(serviceNet, 1)) {
        b.error(
          e,
          'spec.clusterIP',
          'k8s-duplicate-cluster-ip',
          `clusterIP ${ip} is the kubernetes Service's: the API server takes the first address of the serviceCIDR`,
          'pick another address, or remove clusterIP to have one allocated',
        );
      } else if (prev !== undefined) {
        b.error(
          e,
          'spec.clusterIP',
          'k8s-duplicate-cluster-ip',
          `clusterIP ${ip} is also Service ${prev}'s`,
          'remove clusterIP from one of them to have a free one allocated',
        );
      } else ipOwner.set(ip, key);
      const pod = podsByIP.get(ip);
      if (pod)
        b.error(
          e,
          'spec.clusterIP',
          'k8s-duplicate-ip',
          `clusterIP ${ip} is also Pod ${nsName(pod)}'s address`,
          'pod and Service networks must be disjoint',
        );
    }
    // Requested node ports (the allocator's range is 30000–32767).
    ports.forEach((p, i) => {
      if (p.nodePort === undefined) return;
      checkNodePort(
        b,
        e,
        `spec.ports[${i}].nodePort`,
        p.nodePort,
        key,
        nodePortOwner,
        ports.slice(0, i),
      );
    });
    if (o.healthCheckNodePort !== undefined) {
      if (!(type === 'LoadBalancer' && o.externalTrafficPolicy === 'Local')) {
        b.error(
          e,
          'spec.healthCheckNodePort',
          'k8s-invalid-value',
          'healthCheckNodePort is only for LoadBalancer Services with externalTrafficPolicy Local',
          'remove it',
        );
        delete o.healthCheckNodePort;
      } else
        checkNodePort(
          b,
          e,
          'spec.healthCheckNodePort',
          o.healthCheckNodePort,
          key,
          nodePortOwner,
          [],
        );
    }
    services.set(key, out);
    entryOf.set(key, e);
    serviceEntries.set(out, e);
  }

  // Pass 2: ClusterIP allocation. default/kubernetes takes the first
  // address (the apiserver's ServiceIPRange), kube-system/kube-dns the tenth
  // (kubeadm's GetIndexedIP(cidr, 10)); the others the lowest free from the
  // eleventh, in namespace/name order (the real allocator picks at random).
  const usable = cidrSize(serviceNet) - 2;
  const base = ipToInt(serviceNet.network);
  const taken = (n: number) => ipOwner.has(intToIp((base + n) >>> 0));
  const assign = (key: string, n: number, reason: string) => {
    const s = services.get(key)!;
    const ip = intToIp((base + n) >>> 0);
    s.spec.clusterIP = ip;
    s.spec.clusterIPs = [ip];
    ipOwner.set(ip, key);
    b.note(objectRef(s), 'spec.clusterIP', ip, reason);
  };
  const wants = (s: ModelService) =>
    s.spec.type !== 'ExternalName' && s.spec.clusterIP === undefined;
  const k8s = services.get('default/kubernetes');
  if (k8s && wants(k8s) && usable >= 1 && !taken(1))
    assign(
      'default/kubernetes',
      1,
      'the API server gives its kubernetes Service the first address of the serviceCIDR',
    );
  const dns = services.get('kube-system/kube-dns');
  if (dns && wants(dns) && usable >= 10) {
    if (!taken(10))
      assign(
        'kube-system/kube-dns',
        10,
        "kubeadm gives the DNS Service the tenth address of the serviceCIDR (the kubelet's clusterDNS)",
      );
    else {
      b.warn(
        entryOf.get('kube-system/kube-dns')!,
        'spec.clusterIP',
        'k8s-dns-address-taken',
        `the tenth address ${nthAddress(serviceNet, 10)}, which kubeadm reserves for kube-dns and puts in every pod's resolv.conf, is taken by Service ${ipOwner.get(nthAddress(serviceNet, 10))}`,
        `give that Service another clusterIP, or set kube-dns's clusterIP to ${nthAddress(serviceNet, 10)}`,
      );
    }
  }
  let cursor = Math.min(11, usable);
  for (const [key, s] of services) {
    if (!wants(s)) continue;
    let n = cursor;
    let tries = 0;
    while (tries < usable && (n < 1 || n > usable || taken(n))) {
      n = n >= usable ? 1 : n + 1;
      tries++;
    }
    if (tries >= usable) {
      b.error(
        entryOf.get(key)!,
        'spec.clusterIP',
        'k8s-range-exhausted',
        `the serviceCIDR ${cluster.serviceCIDR} has no free address left`,
        'use a larger Cluster spec.serviceCIDR',
      );
      continue;
    }
    assign(
      key,
      n,
      'no clusterIP; the API server picks a free serviceCIDR address at random, packeteye the lowest free one from the eleventh, in namespace/name order',
    );
    cursor = n + 1;
  }
  for (const s of services.values()) {
    if (s.spec.clusterIP !== undefined && s.spec.clusterIPs === undefined)
      s.spec.clusterIPs = [s.spec.clusterIP];
  }

  // Pass 3: node ports and health-check node ports, lowest free from 30000.
  let nextPort = NODE_PORT_RANGE.base;
  const allocPort = (key: string, field: string): number | undefined => {
    const end = NODE_PORT_RANGE.base + NODE_PORT_RANGE.size;
    while (nextPort < end && nodePortOwner.has(nextPort)) nextPort++;
    if (nextPort >= end) {
      b.error(
        entryOf.get(key)!,
        field,
        'k8s-range-exhausted',
        'the node port range 30000–32767 has no free port left',
        'remove some NodePort Services',
      );
      return undefined;
    }
    nodePortOwner.set(nextPort, key);
    return nextPort++;
  };
  for (const [key, s] of services) {
    const t = s.spec.type;
    if (
      t !== 'NodePort' &&
      !(t === 'LoadBalancer' && s.spec.allocateLoadBalancerNodePorts !== false)
    )
      continue;
    s.spec.ports.forEach((p, i) => {
      if (p.nodePort !== undefined) return;
      // The same port number over two protocols shares one node port (service REST initNodePorts).
      const twin = s.spec.ports
        .slice(0, i)
        .find((q) => q.port === p.port && q.nodePort !== undefined && q.protocol !== p.protocol);
      const np = twin?.nodePort ?? allocPort(key, `spec.ports[${i}].nodePort`);
      if (np === undefined) return;
      p.nodePort = np;
      b.note(
        objectRef(s),
        `spec.ports[${i}].nodePort`,
        np,
        'no nodePort; the API server picks a free port in 30000–32767 at random, packeteye the lowest free one, in namespace/name order',
      );
    });
  }
  for (const [key, s] of services) {
    if (
      s.spec.type !== 'LoadBalancer' ||
      s.spec.externalTrafficPolicy !== 'Local' ||
      s.spec.healthCheckNodePort !== undefined
    )
      continue;
    const np = allocPort(key, 'spec.healthCheckNodePort');
    if (np === undefined) continue;
    s.spec.healthCheckNodePort = np;
    b.note(
      objectRef(s),
      'spec.healthCheckNodePort',
      np,
      'LoadBalancer with externalTrafficPolicy Local: the API server allocates a health-check node port',
    );
  }
  return services;
}

function checkNodePort(
  b: Builder,
  e: Entry<Service> | undefined,
  field: string,
  port: number,
  key: string,
  owner: Map<number, string>,
  earlier: readonly ModelServicePort[],
): void {
  if (port < NODE_PORT_RANGE.base || port >= NODE_PORT_RANGE.base + NODE_PORT_RANGE.size) {
    b.error(
      e,
      field,
      'k8s-invalid-port',
      `nodePort ${port} is outside the node port range 30000–32767`,
      'use a port in 30000–32767, or remove nodePort to have one allocated',
    );
    return;
  }
  const prev = owner.get(port);
  if (prev !== undefined && !(prev === key && earlier.some((p) => p.nodePort === port))) {
    b.error(
      e,
      field,
      'k8s-duplicate-node-port',
      `nodePort ${port} is already used by Service ${prev}`,
      'pick another port or remove nodePort to have one allocated',
    );
    return;
  }
  owner.set(port, key);
}

// ---------------------------------------------------------- endpoints

interface SliceInput {
  readonly e: Entry<EndpointSlice>;
  readonly mirroredFrom?: string;
}

function buildSlices(
  b: Builder,
  cluster: ClusterConfig,
  podsByIP: Map<string, ModelPod>,
  nodes: Map<string, ModelNode>,
  pods: Map<string, ModelPod>,
  services: Map<string, ModelService>,
  raw: Entry<EndpointSlice>[],
): { endpointSlices: ModelEndpointSlice[]; slicesByService: Map<string, ModelEndpointSlice[]> } {
  const given = new Map<string, ModelEndpointSlice[]>();
  const mirrored = new Map<string, SliceInput[]>();
  const all: ModelEndpointSlice[] = [];

  for (const e of raw) {
    const s = e.object as ModelEndpointSlice;
    const from = s.metadata.annotations?.[MIRRORED_ANNOTATION];
    const svcName = s.metadata.labels?.[LABEL_SERVICE_NAME];
    if (from !== undefined) {
      const key = `${s.metadata.namespace}/${svcName}`;
      const l = mirrored.get(key) ?? [];
      l.push({ e, mirroredFrom: from });
      mirrored.set(key, l);
      continue;
    }
    if (svcName === undefined) {
      b.warn(
        e,
        `metadata.labels["${LABEL_SERVICE_NAME}"]`,
        'k8s-slice-no-service',
        `EndpointSlice has no ${LABEL_SERVICE_NAME} label, so kube-proxy ignores it`,
        `add the label ${LABEL_SERVICE_NAME}: <service name>`,
      );
      all.push(s);
      continue;
    }
    if (s.addressType !== 'IPv4') {
      b.info(
        e,
        'addressType',
        'k8s-slice-not-ipv4',
        `${s.addressType} EndpointSlice ignored: packeteye models IPv4 (kube-proxy's IPv4 rules read IPv4 slices only)`,
      );
      all.push(s);
      continue;
    }
    const key = `${s.metadata.namespace}/${svcName}`;
    if (!services.has(key)) {
      b.warn(
        e,
        `metadata.labels["${LABEL_SERVICE_NAME}"]`,
        'k8s-slice-unknown-service',
        `EndpointSlice belongs to Service ${key}, which does not exist`,
        'add the Service or fix the label',
      );
    }
    const clusterNet = parseCidr(cluster.clusterCIDR);
    s.endpoints.forEach((ep, i) => {
      ep.addresses.forEach((a, j) => {
        if (cidrContains(clusterNet, a) && !podsByIP.has(a)) {
          b.warn(
            e,
            `endpoints[${i}].addresses[${j}]`,
            'k8s-endpoint-unknown-ip',
            `endpoint ${a} is in the pod network but no pod has that address, so connections to it go nowhere`,
            'add the pod (e.g. from `kubectl get pods -A -o yaml`) or fix the address',
          );
        }
      });
      if (ep.nodeName !== undefined && !nodes.has(ep.nodeName)) {
        b.warn(
          e,
          `endpoints[${i}].nodeName`,
          'k8s-unknown-node',
          `endpoint is on node ${JSON.stringify(ep.nodeName)}, which is not defined`,
          'add the Node or fix nodeName',
        );
      }
    });
    const l = given.get(key) ?? [];
    l.push(s);
    given.set(key, l);
    all.push(s);
  }

  // Pods by namespace and label pair, to find a selector's pods without scanning them all.
  const byLabel = new Map<string, ModelPod[]>();
  const byNamespace = new Map<string, ModelPod[]>();
  for (const p of pods.values()) {
    const ns = p.metadata.namespace;
    (byNamespace.get(ns) ?? byNamespace.set(ns, []).get(ns)!).push(p);
    for (const [k, v] of Object.entries(p.metadata.labels ?? {})) {
      const key = `${ns}\u0000${k}\u0000${v}`;
      (byLabel.get(key) ?? byLabel.set(key, []).get(key)!).push(p);
    }
  }
  const selectPods = (ns: string, sel: Record<string, string>): ModelPod[] => {
    let best: ModelPod[] | undefined;
    for (const [k, v] of Object.entries(sel)) {
      const l = byLabel.get(`${ns}\u0000${k}\u0000${v}`) ?? [];
      if (best === undefined || l.length < best.length) best = l;
    }
    return (best ?? byNamespace.get(ns) ?? []).filter((p) => matchesMap(p.metadata.labels, sel));
  };

  const slicesByService = new Map<string, ModelEndpointSlice[]>();
  for (const [key, svc] of services) {
    const givenSlices = given.get(key);
    const mirroredSlices = mirrored.get(key) ?? [];
    const selector =
      svc.spec.selector && Object.keys(svc.spec.selector).length > 0
        ? svc.spec.selector
        : undefined;
    const svcEntry = serviceEntry(svc);
    if (svc.spec.type === 'ExternalName') {
      for (const m of mirroredSlices)
        b.info(
          m.e,
          undefined,
          'k8s-endpoints-ignored',
          `${m.mirroredFrom} ignored: an ExternalName Service has no endpoints`,
          undefined,
          m.mirroredFrom,
        );
      continue;
    }
    if (selector !== undefined) {
      // Named targetPorts nobody resolves, and selectors that select nothing.
      const selected = selectPods(svc.metadata.namespace, selector);
      if (selected.length === 0) {
        const fromServer = svc.metadata.uid !== undefined;
        const diag = fromServer ? b.warn.bind(b) : b.error.bind(b);
        diag(
          svcEntry,
          'spec.selector',
          'k8s-service-selects-nothing',
          `selector ${formatMap(selector)} matches no pod in namespace ${svc.metadata.namespace}, so the Service has no endpoints and kube-proxy rejects its connections`,
          "fix the selector or the pods' labels; for a Service meant to have no endpoints, remove spec.selector",
        );
      } else {
        svc.spec.ports.forEach((p, i) => {
          if (typeof p.targetPort !== 'string') return;
          if (!selected.some((pod) => findPort(pod, p) !== undefined)) {
            b.warn(
              svcEntry,
              `spec.ports[${i}].targetPort`,
              'k8s-target-port-unresolved',
              `no pod selected by this Service has a ${p.protocol} container port named ${JSON.stringify(p.targetPort)}, so port ${p.port} has no endpoints`,
              `name the container port in the pods (ports: - name: ${p.targetPort}, containerPort: N) or use the port number`,
            );
          }
        });
      }
      for (const m of mirroredSlices) {
        b.info(
          m.e,
          undefined,
          'k8s-endpoints-ignored',
          `${m.mirroredFrom} ignored: kube-proxy reads EndpointSlices only, which packeteye derives from the Service's selector like the EndpointSlice controller`,
          undefined,
          m.mirroredFrom,
        );
      }
      if (givenSlices) {
        slicesByService.set(key, givenSlices);
        continue;
      }
      const derived = deriveSlices(svc, selected, nodes);
      for (const s of derived) {
        b.note(
          `EndpointSlice ${s.metadata.namespace}/${s.metadata.name}`,
          'endpoints',
          s.endpoints.map((ep) => ep.addresses[0]).join(',') || '(none)',
          `no EndpointSlice for Service ${key}; derived from its selector like the EndpointSlice controller`,
        );
      }
      all.push(...derived);
      slicesByService.set(key, derived);
      continue;
    }
    if (givenSlices) {
      for (const m of mirroredSlices)
        b.info(
          m.e,
          undefined,
          'k8s-endpoints-ignored',
          `${m.mirroredFrom} ignored: the Service's EndpointSlices are given`,
          undefined,
          m.mirroredFrom,
        );
      slicesByService.set(key, givenSlices);
      continue;
    }
    if (mirroredSlices.length > 0) {
      const slices = mirroredSlices.map((m) => m.e.object as ModelEndpointSlice);
      for (const m of mirroredSlices) {
        b.note(
          `EndpointSlice ${m.e.object.metadata.namespace}/${m.e.object.metadata.name}`,
          'endpoints',
          m.e.object.endpoints.map((ep) => ep.addresses[0]).join(',') || '(none)',
          `Service ${key} has no selector; mirrored from ${m.mirroredFrom} like the endpointslicemirroring controller`,
        );
      }
      all.push(...slices);
      slicesByService.set(key, slices);
      continue;
    }
    if (key === 'default/kubernetes') {
      const slice = apiserverSlice(b, svc, nodes);
      if (slice) {
        all.push(slice);
        slicesByService.set(key, [slice]);
      }
    }
  }
  for (const [key, l] of mirrored) {
    if (!services.has(key))
      for (const m of l)
        b.info(
          m.e,
          undefined,
          'k8s-endpoints-ignored',
          `${m.mirroredFrom} ignored: Service ${key} does not exist`,
          undefined,
          m.mirroredFrom,
        );
  }
  all.sort((x, y) => cmp(nsName(x), nsName(y)));
  return { endpointSlices: all, slicesByService };
}

// Services are kept by value; their loaded entries are found through this.
const serviceEntries = new WeakMap<object, Entry<Service>>();
function serviceEntry(svc: ModelService): Entry<Service> | undefined {
  return serviceEntries.get(svc);
}

/**
 * The EndpointSlice controller's slices for one Service (reconciler.go,
 * utils.go podToEndpoint / getEndpointPorts): pods grouped by their resolved
 * port set, at most 100 endpoints per slice, a placeholder when there are none.
 */
export function deriveSlices(
  svc: ModelService,
  selected: readonly ModelPod[],
  nodes: ReadonlyMap<string, ModelNode>,
): ModelEndpointSlice[] {
  const ns = svc.metadata.namespace;
  const name = svc.metadata.name;
  const groups = new Map<string, { ports: EndpointPort[]; endpoints: Endpoint[] }>();
  for (const pod of [...selected].sort((x, y) => cmp(nsName(x), nsName(y)))) {
    const phase = pod.status.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const ports: EndpointPort[] = [];
    for (const p of svc.spec.ports) {
      const n = findPort(pod, p);
      if (n === undefined) continue;
      ports.push({
        name: p.name ?? '',
        port: n,
        protocol: p.protocol,
        ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
      });
    }
    const serving = isPodReady(pod);
    const terminating = pod.metadata.deletionTimestamp !== undefined;
    const ready = svc.spec.publishNotReadyAddresses === true || (serving && !terminating);
    const zone = nodes.get(pod.spec.nodeName)?.metadata.labels?.[LABEL_ZONE];
    const ep: Endpoint = {
      addresses: [pod.status.podIP],
      conditions: { ready, serving, terminating },
      ...(pod.spec.hostname && pod.spec.subdomain === name ? { hostname: pod.spec.hostname } : {}),
      nodeName: pod.spec.nodeName,
      ...(zone ? { zone } : {}),
      targetRef: {
        kind: 'Pod',
        namespace: pod.metadata.namespace,
        name: pod.metadata.name,
        ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}),
      },
    };
    const key = JSON.stringify(ports);
    const g = groups.get(key) ?? groups.set(key, { ports, endpoints: [] }).get(key)!;
    g.endpoints.push(ep);
  }
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
  labels[LABEL_SERVICE_NAME] = name;
  labels[LABEL_MANAGED_BY] = 'endpointslice-controller.k8s.io';
  if (svc.spec.clusterIP === 'None') labels['service.kubernetes.io/headless'] = '';
  const slices: ModelEndpointSlice[] = [];
  const mk = (ports: EndpointPort[] | undefined, endpoints: Endpoint[]): ModelEndpointSlice => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-derived-${slices.length}`, namespace: ns, labels: { ...labels } },
    addressType: 'IPv4',
    endpoints,
    ...(ports !== undefined ? { ports } : {}),
  });
  for (const g of groups.values()) {
    for (let i = 0; i < g.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE) {
      slices.push(mk(g.ports, g.endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE)));
    }
  }
  if (slices.length === 0) slices.push(mk(undefined, []));
  return slices;
}

function apiserverSlice(
  b: Builder,
  svc: ModelService,
  nodes: Map<string, ModelNode>,
): ModelEndpointSlice | undefined {
  const all = [...nodes.values()];
  const cp =
    all.find((n) => n.metadata.labels?.['node-role.kubernetes.io/control-plane'] !== undefined) ??
    all.find((n) => n.metadata.labels?.['node-role.kubernetes.io/master'] !== undefined) ??
    all[0];
  if (cp === undefined) return undefined;
  const ip = nodeInternalIP(cp)!;
  const https = svc.spec.ports.find((p) => p.name === 'https') ?? svc.spec.ports[0];
  const target = typeof https?.targetPort === 'number' ? https.targetPort : 6443;
  const slice: ModelEndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { [LABEL_SERVICE_NAME]: 'kubernetes' },
    },
    addressType: 'IPv4',
    endpoints: [
      { addresses: [ip], conditions: { ready: true, serving: true, terminating: false } },
    ],
    ports: [{ name: https?.name ?? 'https', port: target, protocol: 'TCP' }],
  };
  b.note(
    'EndpointSlice default/kubernetes',
    'endpoints',
    `${ip}:${target}`,
    `the API server's endpoint reconciler publishes the API server's address; packeteye takes ${cp.metadata.labels?.['node-role.kubernetes.io/control-plane'] !== undefined ? 'the control-plane node' : 'the first node'} ${cp.metadata.name}`,
  );
  return slice;
}

/** `Service default/web: spec.clusterIP = 10.96.0.11 (no clusterIP; …)`, one line per invented value. */
export function formatDefault(d: ModelDefault): string {
  return `${d.object}: ${d.field} = ${d.value} (${d.reason})`;
}

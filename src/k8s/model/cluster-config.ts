/**
 * The Cluster configuration with every field filled: what the `Cluster`
 * object says, else what the other objects' addresses imply (pod, Service and
 * node ranges), else packeteye's defaults, each recorded in the defaults
 * record with its reason. Then the checks across the ranges (overlaps, the
 * gateway, the node mask).
 *
 * Order of precedence for each field: the Cluster object, then evidence from
 * the objects (`addressEvidence`, `resolveRanges`), then the default. Values
 * read from other objects (a CNI's ConfigMap, kube-proxy's configuration)
 * enter through `fillComponents`, the one place the components are chosen.
 */

import {
  broadcastOf,
  cidrContains,
  cidrsOverlap,
  intToIp,
  ipToInt,
  maskOf,
  nthAddress,
  parseCidr,
} from '../../wire/addr.js';
import {
  detectCluster,
  type DetectLocal,
  type Detected,
  type DetectedCni,
  type DetectedKubeProxy,
  type Detection,
  type EvidenceItem,
} from '../detect/index.js';
import type { LoadedObject } from '../load.js';
import { parsePortRange } from '../decode/packeteye.js';
import { objectRef, type CniSpec, type Cluster } from '../types.js';
import { nodeInternalIP } from './accessors.js';
import type { Builder, Entry } from './builder.js';
import type { ClusterConfig } from './types.js';

/** Addresses the objects already carry, evidence for the cluster's ranges. */
interface AddressEvidence {
  readonly podCIDRs: string[];
  readonly podIPs: string[];
  readonly clusterIPs: string[];
  readonly nodeIPs: string[];
}

export function buildCluster(
  b: Builder,
  clusters: Entry<Cluster>[],
  objects: readonly LoadedObject[],
  evidence: readonly EvidenceItem[] = [],
): ClusterConfig {
  const first = clusters[0];
  for (const extra of clusters.slice(1)) {
    b.error(
      extra,
      undefined,
      'k8s-duplicate-cluster',
      `a second Cluster object (the first is ${objectRef(first!.object)} at ${first!.loaded?.origin.file}:${first!.loaded?.origin.line}); the objects describe more than one cluster`,
      'keep exactly one Cluster object across all input files',
    );
  }
  const spec = first?.object.spec ?? {};
  const name = first?.object.metadata.name ?? 'default';
  const ref = `Cluster ${name}`;
  // Read from every object only when the Cluster leaves a range to infer.
  let read: AddressEvidence | undefined;
  const ev = (): AddressEvidence => (read ??= addressEvidence(objects));
  const detected = detectCluster(evidence);
  b.diagnostics.push(...detected.diagnostics);
  /** The Cluster's value, else the detected one (noted with its evidence). */
  const given = <T>(field: string, v: T | undefined, d: Detected<T> | undefined): T | undefined => {
    if (v !== undefined || d === undefined) return v;
    b.note(ref, field, String(d.value), `detected from ${d.evidence}`);
    return d.value;
  };
  const ranges = resolveRanges(b, ref, spec, ev, {
    clusterCIDR: given(
      'spec.clusterCIDR',
      spec.clusterCIDR,
      detected.clusterCIDR ?? detected.kubeProxy.clusterCIDR,
    ),
    serviceCIDR: given('spec.serviceCIDR', spec.serviceCIDR, detected.serviceCIDR),
    underlay: spec.underlay?.cidr,
  });
  const { clusterCIDR, serviceCIDR, underlay: underlayCidr } = ranges.values;
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
  const components = fillComponents(b, ref, spec, detected, clusterCIDR);
  const serviceNodePortRange = (spec.serviceNodePortRange !== undefined
    ? parsePortRange(spec.serviceNodePortRange)
    : undefined) ?? { base: 30000, size: 2768 };
  const config: ClusterConfig = {
    name,
    clusterCIDR,
    serviceCIDR,
    clusterDomain,
    nodeCIDRMaskSize,
    serviceNodePortRange,
    cni: components.cni,
    kubeProxy: components.kubeProxy,
    ...(spec.masquerade ? { masquerade: spec.masquerade } : {}),
    networkPolicy: components.networkPolicy,
    cloud: components.cloud,
    underlay: { cidr: underlayCidr, gateway, mtu },
    dns: dnsEvidence(spec.dns ?? {}, evidence),
  };
  checkClusterRanges(b, first, config, ranges.given);
  return config;
}

function addressEvidence(objects: readonly LoadedObject[]): AddressEvidence {
  const ev: AddressEvidence = { podCIDRs: [], podIPs: [], clusterIPs: [], nodeIPs: [] };
  for (const { object: o } of objects) {
    if (o.kind === 'Node') {
      const c = o.spec?.podCIDR ?? o.spec?.podCIDRs?.[0];
      if (c) ev.podCIDRs.push(c);
      const ip = nodeInternalIP(o);
      if (ip) ev.nodeIPs.push(ip);
    } else if (o.kind === 'Pod') {
      if (!o.spec.hostNetwork && o.status?.podIP) ev.podIPs.push(o.status.podIP);
      // A pod's hostIP is its node's InternalIP: evidence for the underlay too.
      if (o.status?.hostIP) ev.nodeIPs.push(o.status.hostIP);
    } else if (o.kind === 'Service' && o.spec.clusterIP && o.spec.clusterIP !== 'None')
      ev.clusterIPs.push(o.spec.clusterIP);
    else if (o.kind === 'EndpointSlice' && o.addressType === 'IPv4')
      // An endpoint that names its Pod is a pod address.
      for (const ep of o.endpoints)
        if (ep.targetRef?.kind === 'Pod') ev.podIPs.push(...ep.addresses);
  }
  // hostNetwork pods' endpoints name their Pod but carry the node's address.
  const nodeIPs = new Set(ev.nodeIPs);
  return { ...ev, podIPs: ev.podIPs.filter((ip) => !nodeIPs.has(ip)) };
}

type RangeField = 'clusterCIDR' | 'serviceCIDR' | 'underlay';

/** Each range's default, and the conventional alternatives tried when it would contradict the objects. */
const RANGE_DEFAULTS: Record<
  RangeField,
  { field: string; what: string; maxPrefix: number; candidates: [string, string][] }
> = {
  clusterCIDR: {
    field: 'spec.clusterCIDR',
    what: 'node podCIDRs and pod IPs',
    maxPrefix: 16,
    candidates: [
      ['10.244.0.0/16', "flannel's and the kubeadm guides' pod network"],
      ['10.42.0.0/16', "k3s's pod network"],
      ['192.168.0.0/16', "Calico's default IP pool"],
      ['172.16.0.0/16', 'a private range clear of the other networks'],
    ],
  },
  serviceCIDR: {
    field: 'spec.serviceCIDR',
    what: "Services' clusterIPs",
    maxPrefix: 16,
    candidates: [
      ['10.96.0.0/12', "kubeadm's --service-cluster-ip-range"],
      ['10.43.0.0/16', "k3s's Service range"],
      ['172.20.0.0/16', "EKS's Service range"],
      ['10.0.0.0/16', "AKS's Service range"],
    ],
  },
  underlay: {
    field: 'spec.underlay.cidr',
    what: 'node InternalIPs',
    maxPrefix: 24,
    candidates: [
      ['192.168.1.0/24', 'the nodes share one 192.168.1.0/24 segment'],
      ['172.31.0.0/24', 'the nodes share one segment clear of the other networks'],
      ['10.240.0.0/24', 'the nodes share one segment clear of the other networks'],
    ],
  },
};

/**
 * The pod, Service and node ranges: what the Cluster gives, else what the
 * addresses the objects carry imply (the default when they all lie in it,
 * else the smallest prefix, no longer than the field's maximum, holding
 * them), else the default. A default yields to the others: when it would
 * overlap a range the Cluster gives or the objects imply, the next
 * conventional one clear of them is taken. `given` holds the fields the
 * Cluster object itself sets.
 */
function resolveRanges(
  b: Builder,
  ref: string,
  spec: Cluster['spec'],
  ev: () => AddressEvidence,
  /** The Cluster's value, else the detected one (already noted). */
  known: Record<RangeField, string | undefined>,
): { values: Record<RangeField, string>; given: ReadonlySet<RangeField> } {
  const given = known;
  const stated: Record<RangeField, string | undefined> = {
    clusterCIDR: spec.clusterCIDR,
    serviceCIDR: spec.serviceCIDR,
    underlay: spec.underlay?.cidr,
  };
  const evidenceFor: Record<RangeField, () => string[]> = {
    clusterCIDR: () => [...ev().podCIDRs.map((c) => parseCidr(c).network), ...ev().podIPs],
    serviceCIDR: () => ev().clusterIPs,
    underlay: () => ev().nodeIPs,
  };
  const read: Partial<Record<RangeField, string[]>> = {};
  const evidence = (f: RangeField): string[] => (read[f] ??= evidenceFor[f]());
  const fields: RangeField[] = ['clusterCIDR', 'serviceCIDR', 'underlay'];
  const values = {} as Record<RangeField, string>;
  const reasons = {} as Record<RangeField, string>;
  const defaulted = new Set<RangeField>();
  for (const f of fields) {
    const r = RANGE_DEFAULTS[f];
    const [def, why] = r.candidates[0]!;
    const g = given[f];
    if (g !== undefined) {
      values[f] = g;
      continue;
    }
    const d = parseCidr(def);
    const inferred = evidence(f).every((ip) => cidrContains(d, ip))
      ? undefined
      : coveringPrefix(evidence(f), r.maxPrefix);
    if (inferred !== undefined) {
      values[f] = inferred;
      reasons[f] =
        `no Cluster ${r.field}, and the ${r.what} lie outside the default ${def}; the smallest /${r.maxPrefix} or wider prefix holding them`;
      continue;
    }
    values[f] = def;
    reasons[f] = `no Cluster ${r.field}; ${def} is ${why}`;
    if (f === 'underlay') reasons[f] = `no Cluster ${r.field}; ${why}`;
    defaulted.add(f);
  }
  for (const f of fields) {
    if (!defaulted.has(f)) continue;
    // A default that contradicts what the Cluster or the objects say yields.
    const others = fields
      .filter((o) => o !== f && !defaulted.has(o))
      .map((o) => parseCidr(values[o]));
    const clear = (c: string) =>
      !others.some((o) => cidrsOverlap(o, parseCidr(c))) &&
      evidence(f).every((ip) => cidrContains(parseCidr(c), ip));
    if (clear(values[f])) continue;
    const alt = RANGE_DEFAULTS[f].candidates.slice(1).find(([c]) => clear(c));
    if (alt === undefined) continue;
    reasons[f] =
      `no Cluster ${RANGE_DEFAULTS[f].field}; the default ${values[f]} overlaps the cluster's other networks, so ${alt[0]} (${alt[1]})`;
    values[f] = alt[0];
  }
  for (const f of fields)
    if (given[f] === undefined) b.note(ref, RANGE_DEFAULTS[f].field, values[f], reasons[f]!);
  return { values, given: new Set(fields.filter((f) => stated[f] !== undefined)) };
}

/** Smallest prefix containing all `ips`, no longer than `maxPrefix`; undefined when it would be wider than /8. */
export function coveringPrefix(ips: readonly string[], maxPrefix: number): string | undefined {
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

/** The cluster's components: CNI, kube-proxy, policy enforcer, cloud. */
function fillComponents(
  b: Builder,
  ref: string,
  spec: Cluster['spec'],
  detected: Detection,
  clusterCIDR: string,
): Pick<ClusterConfig, 'cni' | 'kubeProxy' | 'networkPolicy' | 'cloud'> {
  const cni = chooseCni(b, ref, spec.cni, detected.cni);
  const kubeProxy = fillKubeProxy(b, ref, spec.kubeProxy ?? {}, detected.kubeProxy, clusterCIDR);
  let provider = spec.cloud?.provider;
  if (provider === undefined && detected.cloud?.value === 'gce') {
    provider = 'gce';
    b.note(ref, 'spec.cloud.provider', provider, `detected from ${detected.cloud.evidence}`);
  }
  if (provider === undefined) {
    provider = 'none';
    b.note(
      ref,
      'spec.cloud.provider',
      provider,
      detected.cloud?.value === 'kind' || detected.cloud?.value === 'k3s'
        ? `no cloud (${detected.cloud.evidence}): the nodes share a plain routed segment`
        : detected.cloud
          ? `${detected.cloud.evidence} names a cloud packeteye does not model; the nodes share a plain routed segment`
          : 'no cloud: the nodes share a plain routed segment',
    );
  }
  const enforcer = spec.networkPolicy?.enforcer ?? 'none';
  return { cni, kubeProxy, networkPolicy: { enforcer }, cloud: { provider } };
}

/** The Cluster's CNI, else the detected one when packeteye models it, else the bridge plugin. */
function chooseCni(
  b: Builder,
  ref: string,
  given: CniSpec | undefined,
  detected: Detected<DetectedCni> | undefined,
): CniSpec {
  if (given !== undefined) return given;
  const d = detected?.value;
  let cni: CniSpec | undefined;
  if (d?.name === 'flannel')
    cni = { plugin: 'flannel', backend: d.flannelBackend === 'host-gw' ? 'host-gw' : 'vxlan' };
  else if (d?.name === 'calico')
    cni = {
      plugin: 'calico',
      ...(d.calicoEncapsulation ? { encapsulation: d.calicoEncapsulation } : {}),
      ...(d.calicoNatOutgoing !== undefined ? { natOutgoing: d.calicoNatOutgoing } : {}),
    };
  else if (d?.name === 'kindnet') cni = { plugin: 'kindnet' };
  else if (d?.name === 'kubenet') cni = { plugin: 'kubenet' };
  if (cni && detected) {
    b.note(ref, 'spec.cni', cniText(cni), `detected from ${detected.evidence}`);
    return cni;
  }
  b.note(
    ref,
    'spec.cni.plugin',
    'bridge',
    detected
      ? `${detected.value.name} (detected from ${detected.evidence}) is not modelled; the reference CNI bridge plugin stands in`
      : 'the reference CNI bridge plugin with host-local IPAM',
  );
  return { plugin: 'bridge' };
}

function cniText(c: CniSpec): string {
  if (c.plugin === 'flannel') return `flannel ${c.backend ?? 'vxlan'}`;
  if (c.plugin === 'calico')
    return `calico ${c.encapsulation ?? 'IPIP'}${c.natOutgoing === false ? '' : ' natOutgoing'}`;
  return c.plugin;
}

/** kube-proxy: each field from the Cluster, else detected, else kube-proxy's default. */
function fillKubeProxy(
  b: Builder,
  ref: string,
  k: NonNullable<Cluster['spec']['kubeProxy']>,
  det: DetectedKubeProxy,
  clusterCIDR: string,
): ClusterConfig['kubeProxy'] {
  const pick = <T>(
    field: string,
    given: T | undefined,
    d: Detected<T> | undefined,
    def: T,
    defReason?: string,
  ): T => {
    if (given !== undefined) return given;
    if (d !== undefined) {
      b.note(ref, `spec.kubeProxy.${field}`, show(d.value), `detected from ${d.evidence}`);
      return d.value;
    }
    if (defReason) b.note(ref, `spec.kubeProxy.${field}`, show(def), defReason);
    return def;
  };
  let mode = pick<'iptables' | 'ipvs' | 'nftables' | 'none'>(
    'mode',
    k.mode,
    det.mode,
    'iptables',
    "kube-proxy's default mode on Linux",
  );
  if (mode === 'none') mode = 'iptables'; // no kube-proxy: warned by detection; its rules stand in
  const version = pick('version', k.version, det.version, '1.31', 'a current kube-proxy release');
  const masqueradeAll = pick('masqueradeAll', k.masqueradeAll, det.masqueradeAll, false);
  const localhostNodePorts = pick(
    'localhostNodePorts',
    k.localhostNodePorts,
    det.localhostNodePorts,
    true,
  );
  const detectLocal = pick<DetectLocal>('detectLocalMode', givenDetectLocal(k), det.detectLocal, {
    mode: 'ClusterCIDR',
  });
  const nodePortAddresses = pick(
    'nodePortAddresses',
    k.nodePortAddresses,
    det.nodePortAddresses,
    [],
  );
  const masqueradeBit = pick('masqueradeBit', k.masqueradeBit, det.masqueradeBit, 14);
  // kube-proxy's own --cluster-cidr only when it differs from the cluster's.
  let kpCIDR = k.clusterCIDR;
  if (kpCIDR === undefined && det.clusterCIDR && det.clusterCIDR.value !== clusterCIDR) {
    kpCIDR = det.clusterCIDR.value;
    b.note(ref, 'spec.kubeProxy.clusterCIDR', kpCIDR, `detected from ${det.clusterCIDR.evidence}`);
  }
  return {
    mode,
    version,
    masqueradeAll,
    localhostNodePorts,
    ...(kpCIDR !== undefined ? { clusterCIDR: kpCIDR } : {}),
    detectLocal,
    ...(nodePortAddresses.length > 0 ? { nodePortAddresses } : {}),
    masqueradeBit,
    randomFully: k.randomFully ?? true,
    noExternalMasquerade: k.whatIf?.noExternalMasquerade ?? [],
  };
}

function givenDetectLocal(k: NonNullable<Cluster['spec']['kubeProxy']>): DetectLocal | undefined {
  switch (k.detectLocalMode) {
    case undefined:
      return undefined;
    case 'BridgeInterface':
      return { mode: 'BridgeInterface', bridgeInterface: k.detectLocal?.bridgeInterface ?? '' };
    case 'InterfaceNamePrefix':
      return {
        mode: 'InterfaceNamePrefix',
        interfaceNamePrefix: k.detectLocal?.interfaceNamePrefix ?? '',
      };
    default:
      return { mode: k.detectLocalMode };
  }
}

function show(v: unknown): string {
  if (Array.isArray(v)) return v.join(',');
  if (typeof v === 'object' && v !== null) {
    const d = v as DetectLocal;
    return d.mode === 'BridgeInterface'
      ? `BridgeInterface ${d.bridgeInterface}`
      : d.mode === 'InterfaceNamePrefix'
        ? `InterfaceNamePrefix ${d.interfaceNamePrefix}`
        : d.mode;
  }
  return String(v);
}

/**
 * Overlaps between the cluster's ranges: an error when the Cluster object
 * says both (its author contradicts itself); a warning when the objects'
 * own addresses imply it (pods in the nodes' network, as AWS VPC CNI and
 * Azure CNI hand them out), read as the objects say.
 */
function checkClusterRanges(
  b: Builder,
  first: Entry<Cluster> | undefined,
  c: ClusterConfig,
  given: ReadonlySet<RangeField>,
): void {
  const ranges: [string, string, RangeField][] = [
    ['spec.clusterCIDR', c.clusterCIDR, 'clusterCIDR'],
    ['spec.serviceCIDR', c.serviceCIDR, 'serviceCIDR'],
    ['spec.underlay.cidr', c.underlay.cidr, 'underlay'],
  ];
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      const [fa, a, ka] = ranges[i]!;
      const [fb, bb, kb] = ranges[j]!;
      if (!cidrsOverlap(parseCidr(a), parseCidr(bb))) continue;
      if (given.has(ka) && given.has(kb))
        b.error(
          first,
          fb,
          'k8s-cidr-overlap',
          `${fb.slice(5)} ${bb} overlaps ${fa.slice(5)} ${a}`,
          'pod, Service and node networks must be disjoint; change one of them',
        );
      else
        b.warn(
          first,
          fb,
          'k8s-cidr-overlap',
          `the objects' addresses put ${fb.slice(5)} ${bb} over ${fa.slice(5)} ${a}; read as they say (AWS VPC CNI and Azure CNI give pods addresses from the nodes' network), though routing between overlapping networks is ambiguous`,
          "set the ranges in a Cluster object if these are not the cluster's networks",
        );
    }
  }
  const underlay = parseCidr(c.underlay.cidr);
  const gateway = c.underlay.gateway;
  if (
    !cidrContains(underlay, gateway) ||
    gateway === underlay.network ||
    gateway === broadcastOf(underlay)
  ) {
    b.error(
      first,
      'spec.underlay.gateway',
      'k8s-ip-out-of-range',
      `gateway ${gateway} is not a host address of the underlay ${c.underlay.cidr}`,
      `use an address inside ${c.underlay.cidr}, e.g. ${nthAddress(underlay, 1)}`,
    );
  }
  if (c.nodeCIDRMaskSize < parseCidr(c.clusterCIDR).prefix) {
    b.error(
      first,
      'spec.nodeCIDRMaskSize',
      'k8s-invalid-value',
      `nodeCIDRMaskSize /${c.nodeCIDRMaskSize} is larger than the clusterCIDR ${c.clusterCIDR}`,
      'use a longer mask (e.g. 24) or a larger clusterCIDR',
    );
  }
}

/**
 * Cluster DNS as given and as the objects show it: the `coredns` ConfigMap's
 * Corefile, the kubelet-config ConfigMap's `clusterDNS` (kubeadm writes the
 * KubeletConfiguration YAML under the key `kubelet`), and NodeLocal
 * DNSCache's DaemonSet (`node-local-dns`, whose `-localip` lists the
 * link-local address it binds, then the kube-dns ClusterIP it also answers on).
 */
function dnsEvidence(
  given: NonNullable<Cluster['spec']['dns']>,
  evidence: readonly EvidenceItem[],
): ClusterConfig['dns'] {
  const out: {
    -readonly [K in keyof ClusterConfig['dns']]: ClusterConfig['dns'][K];
  } = { ...given };
  for (const e of evidence) {
    if (e.kind === 'ConfigMap' && e.namespace === 'kube-system' && e.name === 'coredns') {
      const text = e.data['Corefile'];
      if (text !== undefined)
        out.corefile = { text, from: 'ConfigMap kube-system/coredns data.Corefile' };
    }
    if (e.kind === 'ConfigMap' && e.namespace === 'kube-system' && e.name === 'kubelet-config') {
      const ips = kubeletClusterDNS(e.data['kubelet'] ?? '');
      if (ips.length > 0)
        out.kubeletClusterDNS = {
          ips,
          from: 'ConfigMap kube-system/kubelet-config data.kubelet clusterDNS',
        };
    }
    if (e.kind === 'DaemonSet' && e.name === 'node-local-dns') {
      const m = /-localip[ =]([0-9.,]+)/.exec(e.args.join(' '));
      const ips = m ? m[1]!.split(',').filter((x) => x !== '') : [];
      out.nodeLocalDNS = {
        address: ips[0] ?? '169.254.20.10',
        ...(ips[1] !== undefined ? { upstream: ips[1] } : {}),
        from: `DaemonSet ${e.namespace}/${e.name}${m ? ` args -localip ${m[1]}` : ''}`,
      };
    }
  }
  return out;
}

/** The `clusterDNS:` list of a KubeletConfiguration in YAML (block or flow list). */
export function kubeletClusterDNS(yaml: string): string[] {
  const flow = /^clusterDNS:\s*\[([^\]]*)\]/m.exec(yaml);
  if (flow)
    return flow[1]!
      .split(',')
      .map((x) => x.trim().replace(/^["']|["']$/g, ''))
      .filter((x) => x !== '');
  const block = /^clusterDNS:\s*\n((?:[ \t]*-[^\n]*\n?)+)/m.exec(yaml);
  if (!block) return [];
  return block[1]!
    .split('\n')
    .map((l) =>
      l
        .replace(/^[ \t]*-\s*/, '')
        .trim()
        .replace(/^["']|["']$/g, ''),
    )
    .filter((x) => x !== '');
}

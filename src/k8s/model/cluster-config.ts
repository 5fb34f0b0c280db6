/**
 * The Cluster configuration with every field filled: what the `Cluster`
 * object says, else what the other objects' addresses imply (pod, Service and
 * node ranges), else packeteye's defaults, each recorded in the defaults
 * record with its reason. Then the checks across the ranges (overlaps, the
 * gateway, the node mask).
 *
 * Order of precedence for each field: the Cluster object, then evidence from
 * the objects (`addressEvidence`, `inferRange`), then the default. Values
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
import type { LoadedObject } from '../load.js';
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
  const ev = addressEvidence(objects);
  const range = (
    field: string,
    given: string | undefined,
    def: string,
    defReason: string,
    evidence: string[],
    what: string,
    maxPrefix: number,
  ) => inferRange(b, ref, { field, given, def, defReason, evidence, what, maxPrefix });

  const clusterCIDR = range(
    'spec.clusterCIDR',
    spec.clusterCIDR,
    '10.244.0.0/16',
    "no Cluster spec.clusterCIDR; 10.244.0.0/16 is flannel's and the kubeadm guides' pod network",
    [...ev.podCIDRs.map((c) => parseCidr(c).network), ...ev.podIPs],
    'node podCIDRs and pod IPs',
    16,
  );
  const serviceCIDR = range(
    'spec.serviceCIDR',
    spec.serviceCIDR,
    '10.96.0.0/12',
    "no Cluster spec.serviceCIDR; 10.96.0.0/12 is kubeadm's --service-cluster-ip-range",
    ev.clusterIPs,
    "Services' clusterIPs",
    16,
  );
  const underlayCidr = range(
    'spec.underlay.cidr',
    spec.underlay?.cidr,
    '192.168.1.0/24',
    'no Cluster spec.underlay.cidr; the nodes share one 192.168.1.0/24 segment',
    ev.nodeIPs,
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
  const components = fillComponents(b, ref, spec);
  const config: ClusterConfig = {
    name,
    clusterCIDR,
    serviceCIDR,
    clusterDomain,
    nodeCIDRMaskSize,
    cni: components.cni,
    kubeProxy: components.kubeProxy,
    ...(spec.masquerade ? { masquerade: spec.masquerade } : {}),
    networkPolicy: components.networkPolicy,
    cloud: components.cloud,
    underlay: { cidr: underlayCidr, gateway, mtu },
  };
  checkClusterRanges(b, first, config);
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
  }
  return ev;
}

/**
 * A range the Cluster gives, else the default when every address the objects
 * carry lies in it, else the smallest prefix (no longer than `maxPrefix`)
 * holding them.
 */
function inferRange(
  b: Builder,
  ref: string,
  r: {
    field: string;
    given: string | undefined;
    def: string;
    defReason: string;
    evidence: string[];
    what: string;
    maxPrefix: number;
  },
): string {
  if (r.given !== undefined) return r.given;
  const d = parseCidr(r.def);
  if (r.evidence.every((ip) => cidrContains(d, ip))) {
    b.note(ref, r.field, r.def, r.defReason);
    return r.def;
  }
  const inferred = coveringPrefix(r.evidence, r.maxPrefix);
  if (inferred === undefined) {
    b.note(ref, r.field, r.def, r.defReason);
    return r.def;
  }
  b.note(
    ref,
    r.field,
    inferred,
    `no Cluster ${r.field}, and the ${r.what} lie outside the default ${r.def}; the smallest /${r.maxPrefix} or wider prefix holding them`,
  );
  return inferred;
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

/** The cluster's components: CNI, kube-proxy, policy enforcer, cloud. */
function fillComponents(
  b: Builder,
  ref: string,
  spec: Cluster['spec'],
): Pick<ClusterConfig, 'cni' | 'kubeProxy' | 'networkPolicy' | 'cloud'> {
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
  return {
    cni,
    kubeProxy: { mode, version, masqueradeAll, localhostNodePorts },
    networkPolicy: { enforcer },
    cloud: { provider },
  };
}

/** Overlaps between the cluster's ranges make routing ambiguous: errors. */
function checkClusterRanges(b: Builder, first: Entry<Cluster> | undefined, c: ClusterConfig): void {
  const ranges: [string, string][] = [
    ['spec.clusterCIDR', c.clusterCIDR],
    ['spec.serviceCIDR', c.serviceCIDR],
    ['spec.underlay.cidr', c.underlay.cidr],
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

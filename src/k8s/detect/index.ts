/**
 * k8s/detect: what a cluster's own objects say about its data plane, read
 * instead of assumed. `evidenceOf` keeps the few facts detection needs from
 * each raw object (`evidence.ts`); `detectCluster` reads them into the CNI
 * and its mode (`cni.ts`), kube-proxy's mode, version and configuration
 * (`kube-proxy.ts`), the cloud, the distribution and the cluster's ranges
 * (`platform.ts`). Every value carries its evidence, for the cluster model to
 * list as a default; what is detected but not modelled comes back as a
 * warning saying what a trace can and cannot be trusted for. Pure: no files,
 * no environment.
 */

import type { Diagnostic } from '../../diag.js';
import { detectCni } from './cni.js';
import type { EvidenceItem } from './evidence.js';
import { detectKubeProxy } from './kube-proxy.js';
import { detectCloud, detectDistribution, detectRanges } from './platform.js';
import type { CniName, Detected, DetectedCni, Detection, Distribution } from './types.js';

export { evidenceOf, evidenceRef, type EvidenceItem } from './evidence.js';
export { minorVersion, readKubeProxyConfiguration } from './kube-proxy.js';
export type * from './types.js';

/** The CNIs packeteye builds a data plane for; the others are warned about. */
export const MODELLED_CNIS: ReadonlySet<CniName> = new Set([
  'bridge',
  'flannel',
  'calico',
  'kindnet',
  'kubenet',
]);

const CNI_TITLE: Record<CniName, string> = {
  bridge: 'the bridge plugin',
  flannel: 'flannel',
  calico: 'Calico',
  canal: 'Canal (flannel networking with Calico policy)',
  kindnet: 'kindnet',
  kubenet: 'kubenet',
  cilium: 'Cilium',
  'aws-vpc-cni': 'the AWS VPC CNI',
  'azure-cni': 'Azure CNI',
  weave: 'Weave Net',
  'kube-router': 'kube-router',
  antrea: 'Antrea',
  'ovn-kubernetes': 'OVN-Kubernetes',
  'openshift-sdn': 'OpenShift SDN',
  'gke-netd': "GKE's netd (ptp) CNI",
};

/** The CNI a distribution installs when the objects name none. */
const DISTRIBUTION_CNI: Partial<Record<Distribution, { cni: DetectedCni; why: string }>> = {
  kind: { cni: { name: 'kindnet' }, why: "kind's default CNI" },
  k3s: { cni: { name: 'flannel', flannelBackend: 'vxlan' }, why: "k3s's embedded flannel (vxlan)" },
  eks: { cni: { name: 'aws-vpc-cni' }, why: "EKS's default CNI" },
};

/** Everything the objects say; see the module comment. */
export function detectCluster(items: readonly EvidenceItem[]): Detection {
  const diagnostics: Diagnostic[] = [];
  const distribution = detectDistribution(items);
  let cni = detectCni(items, diagnostics);
  if (!cni && distribution) {
    const d = DISTRIBUTION_CNI[distribution.value];
    if (d) cni = { value: d.cni, evidence: `${distribution.evidence} (${d.why})` };
  }
  const cloud = detectCloud(items);
  const kubeProxy = detectKubeProxy(items, diagnostics);
  const ranges = detectRanges(items, diagnostics);
  if (cni) diagnostics.push(...cniWarnings(cni));
  if (cloud && (cloud.value === 'aws' || cloud.value === 'azure' || cloud.value === 'other')) {
    const name = cloud.value === 'aws' ? 'AWS' : cloud.value === 'azure' ? 'Azure' : 'this cloud';
    diagnostics.push({
      code: 'detect-cloud-not-modelled',
      severity: 'warning',
      message: `the nodes run on ${name} (${cloud.evidence}), whose network is not modelled: the nodes share a plain routed segment; node-local paths, kube-proxy's rules and NetworkPolicy verdicts can be trusted, the cloud network's routes, firewalls and load balancers are not in the trace`,
    });
  }
  // ipvs and nftables are warned about where the nodes' rules are built (twin); none is ours to say.
  const mode = kubeProxy.mode;
  if (mode?.value === 'none') {
    diagnostics.push({
      code: 'detect-no-kube-proxy',
      severity: 'warning',
      message: `kube-proxy does not run (${mode.evidence}); packeteye writes kube-proxy's iptables rules in its place, so a trace through a Service shows where kube-proxy would send it, not what the replacement does`,
    });
  }
  return {
    ...(cni ? { cni } : {}),
    ...(cloud ? { cloud } : {}),
    ...(distribution ? { distribution } : {}),
    kubeProxy,
    ...ranges,
    diagnostics,
  };
}

function cniWarnings(cni: Detected<DetectedCni>): Diagnostic[] {
  const c = cni.value;
  if (!MODELLED_CNIS.has(c.name)) {
    return [
      {
        code: 'detect-cni-not-modelled',
        severity: 'warning',
        message: `${CNI_TITLE[c.name]} runs the pod network (${cni.evidence}) and is not modelled: pods are wired with the bridge plugin in its place, so kube-proxy's Service rules and NetworkPolicy verdicts in a trace can be trusted, but pod interfaces, routes between nodes, encapsulation and egress masquerade are the bridge plugin's, not ${CNI_TITLE[c.name]}'s`,
        hint: 'give a Cluster object with spec.cni to choose the model explicitly',
      },
    ];
  }
  if (
    c.name === 'flannel' &&
    c.flannelBackend &&
    !['vxlan', 'host-gw'].includes(c.flannelBackend)
  ) {
    return [
      {
        code: 'detect-flannel-backend-not-modelled',
        severity: 'warning',
        message: `flannel's ${c.flannelBackend} backend (${cni.evidence}) is not modelled; the trace uses the vxlan backend, so its encapsulation between nodes is not the cluster's`,
      },
    ];
  }
  return [];
}

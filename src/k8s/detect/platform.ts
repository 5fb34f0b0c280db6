/**
 * The cloud, the distribution and the cluster's address ranges, from what
 * each leaves on the objects:
 *
 * - cloud: the Nodes' `spec.providerID` scheme (`gce://`, `aws://`,
 *   `azure://`; kind's `kind://`, k3s's `k3s://`);
 * - distribution: kind (`kind://` providerID), k3s (`+k3s` kubelet version,
 *   `node.kubernetes.io/instance-type: k3s`), RKE2 (`+rke2`), minikube
 *   (`minikube.k8s.io/*` labels), GKE (`cloud.google.com/gke-nodepool`), EKS
 *   (`eks.amazonaws.com/nodegroup`, `-eks-` versions), AKS
 *   (`kubernetes.azure.com/cluster`), OpenShift (`node.openshift.io/os_id`,
 *   `openshift-*` namespaces), kubeadm (the kubeadm-config ConfigMap or the
 *   `kubeadm.alpha.kubernetes.io/cri-socket` annotation);
 * - pod and service ranges: kubeadm-config's ClusterConfiguration
 *   `networking.podSubnet` / `serviceSubnet`, flannel's `net-conf.json`
 *   `Network`.
 */

import type { Diagnostic } from '../../diag.js';
import { isCidr, isIpv4 } from '../../wire/addr.js';
import { parseFile } from '../parse.js';
import { flannelNetConf } from './cni.js';
import type { EvidenceItem, NodeEvidence } from './evidence.js';
import type { CloudName, Detected, Distribution } from './types.js';

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

const nodesOf = (items: readonly EvidenceItem[]): NodeEvidence[] =>
  items.filter((e): e is NodeEvidence => e.kind === 'Node');

const SCHEMES: Record<string, CloudName> = {
  gce: 'gce',
  aws: 'aws',
  azure: 'azure',
  kind: 'kind',
  k3s: 'k3s',
};

export function detectCloud(items: readonly EvidenceItem[]): Detected<CloudName> | undefined {
  for (const n of nodesOf(items)) {
    const m = n.providerID !== undefined ? /^([a-z0-9-]+):\/\//.exec(n.providerID) : null;
    if (!m) continue;
    return {
      value: SCHEMES[m[1]!] ?? 'other',
      evidence: `Node ${n.name} spec.providerID ${n.providerID}`,
    };
  }
  return undefined;
}

export function detectDistribution(
  items: readonly EvidenceItem[],
): Detected<Distribution> | undefined {
  for (const n of nodesOf(items)) {
    const at = (what: string): string => `Node ${n.name} ${what}`;
    const label = (k: string): string | undefined => n.labels[k];
    const kv = n.kubeletVersion ?? '';
    if (n.providerID?.startsWith('kind://'))
      return { value: 'kind', evidence: at('spec.providerID') };
    if (/\+k3s/.test(kv)) return { value: 'k3s', evidence: at('status.nodeInfo.kubeletVersion') };
    if (label('node.kubernetes.io/instance-type') === 'k3s')
      return { value: 'k3s', evidence: at('label node.kubernetes.io/instance-type=k3s') };
    if (/\+rke2/.test(kv)) return { value: 'rke2', evidence: at('status.nodeInfo.kubeletVersion') };
    const minikube = Object.keys(n.labels).find((k) => k.startsWith('minikube.k8s.io/'));
    if (minikube) return { value: 'minikube', evidence: at(`label ${minikube}`) };
    if (label('cloud.google.com/gke-nodepool') !== undefined)
      return { value: 'gke', evidence: at('label cloud.google.com/gke-nodepool') };
    if (label('eks.amazonaws.com/nodegroup') !== undefined || /-eks-/.test(kv))
      return {
        value: 'eks',
        evidence: /-eks-/.test(kv)
          ? at('status.nodeInfo.kubeletVersion')
          : at('label eks.amazonaws.com/nodegroup'),
      };
    if (label('kubernetes.azure.com/cluster') !== undefined)
      return { value: 'aks', evidence: at('label kubernetes.azure.com/cluster') };
    if (label('node.openshift.io/os_id') !== undefined)
      return { value: 'openshift', evidence: at('label node.openshift.io/os_id') };
  }
  const ns = items.find((e) => e.kind === 'Namespace' && e.name.startsWith('openshift-'));
  if (ns)
    return { value: 'openshift', evidence: `Namespace ${ns.kind === 'Namespace' ? ns.name : ''}` };
  const kubeadm = items.find(
    (e) => e.kind === 'ConfigMap' && e.namespace === 'kube-system' && e.name === 'kubeadm-config',
  );
  if (kubeadm) return { value: 'kubeadm', evidence: 'ConfigMap kube-system/kubeadm-config' };
  for (const n of nodesOf(items)) {
    if (n.annotations['kubeadm.alpha.kubernetes.io/cri-socket'] !== undefined)
      return {
        value: 'kubeadm',
        evidence: `Node ${n.name} annotation kubeadm.alpha.kubernetes.io/cri-socket`,
      };
  }
  return undefined;
}

/** kubeadm-config's ClusterConfiguration `networking`. */
function kubeadmNetworking(
  items: readonly EvidenceItem[],
  diagnostics: Diagnostic[],
): { podSubnet?: string; serviceSubnet?: string } {
  for (const e of items) {
    if (e.kind !== 'ConfigMap' || e.namespace !== 'kube-system' || e.name !== 'kubeadm-config')
      continue;
    const text = e.data['ClusterConfiguration'];
    if (text === undefined) continue;
    const parsed = parseFile('ConfigMap kube-system/kubeadm-config ClusterConfiguration', text);
    const doc = parsed.documents[0]?.value;
    if (!isRec(doc)) {
      diagnostics.push({
        code: 'detect-kubeadm-config',
        severity: 'warning',
        message:
          'ConfigMap kube-system/kubeadm-config ClusterConfiguration is not readable; the cluster ranges are not taken from it',
      });
      continue;
    }
    const net = isRec(doc.networking) ? doc.networking : {};
    const v4 = (field: string, v: unknown): string | undefined => {
      const c =
        typeof v === 'string'
          ? v
              .split(',')
              .find((x) => x !== '' && !x.includes(':'))
              ?.trim()
          : undefined;
      if (c === undefined) return undefined;
      const m = /^([\d.]+)\/(\d{1,2})$/.exec(c);
      if (m && isIpv4(m[1]!) && Number(m[2]) <= 32) return c;
      diagnostics.push({
        code: 'detect-kubeadm-config',
        severity: 'warning',
        message: `ConfigMap kube-system/kubeadm-config ClusterConfiguration networking.${field} ${JSON.stringify(c)} is not an IPv4 CIDR; it is not used`,
      });
      return undefined;
    };
    const podSubnet = v4('podSubnet', net.podSubnet);
    const serviceSubnet = v4('serviceSubnet', net.serviceSubnet);
    return {
      ...(podSubnet ? { podSubnet } : {}),
      ...(serviceSubnet ? { serviceSubnet } : {}),
    };
  }
  return {};
}

export function detectRanges(
  items: readonly EvidenceItem[],
  diagnostics: Diagnostic[],
): { clusterCIDR?: Detected<string>; serviceCIDR?: Detected<string> } {
  const k = kubeadmNetworking(items, diagnostics);
  const kubeadm = 'ConfigMap kube-system/kubeadm-config ClusterConfiguration';
  let clusterCIDR: Detected<string> | undefined = k.podSubnet
    ? { value: k.podSubnet, evidence: `${kubeadm} networking.podSubnet` }
    : undefined;
  if (!clusterCIDR) {
    for (const e of items) {
      if (e.kind !== 'ConfigMap' || e.name !== 'kube-flannel-cfg') continue;
      const conf = flannelNetConf(e);
      if (conf?.network !== undefined && !isCidr(conf.network)) {
        diagnostics.push({
          code: 'detect-flannel-config',
          severity: 'warning',
          message: `ConfigMap ${e.namespace}/${e.name} net-conf.json Network ${JSON.stringify(conf.network)} is not an IPv4 CIDR; it is not used`,
        });
      } else if (conf?.network) {
        clusterCIDR = {
          value: conf.network,
          evidence: `ConfigMap ${e.namespace}/${e.name} net-conf.json Network`,
        };
        break;
      }
    }
  }
  const serviceCIDR: Detected<string> | undefined = k.serviceSubnet
    ? { value: k.serviceSubnet, evidence: `${kubeadm} networking.serviceSubnet` }
    : undefined;
  return {
    ...(clusterCIDR ? { clusterCIDR } : {}),
    ...(serviceCIDR ? { serviceCIDR } : {}),
  };
}

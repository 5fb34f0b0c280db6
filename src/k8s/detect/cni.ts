/**
 * Which CNI runs the pod network, read from what each plugin leaves in the
 * API: its DaemonSet (flannel `kube-flannel-ds`, Calico `calico-node`, Cilium
 * `cilium`, AWS `aws-node`, kind's `kindnet`, `weave-net`, `kube-router`,
 * Antrea `antrea-agent`, OVN-Kubernetes `ovnkube-node`, OpenShift `sdn`,
 * GKE's `anetd` (Dataplane V2, Cilium) and `netd`), its Pods when a dump has
 * no DaemonSets, the Node annotations flannel and Calico write
 * (`flannel.alpha.coreos.com/*`, `projectcalico.org/*`), AKS's
 * `kubernetes.azure.com/network-plugin` label; then its mode: flannel's
 * backend from `net-conf.json` (kube-flannel-cfg) or the Node's
 * `flannel.alpha.coreos.com/backend-type`; Calico's encapsulation and
 * natOutgoing from its enabled IPPools (`ipipMode`, `vxlanMode`), else
 * `calico-config`'s `calico_backend`, else the tunnel-address annotations
 * calico-node writes.
 */

import type { Diagnostic } from '../../diag.js';
import type {
  ConfigMapEvidence,
  DaemonSetEvidence,
  EvidenceItem,
  IPPoolEvidence,
  NodeEvidence,
  PodEvidence,
} from './evidence.js';
import type { CniName, Detected, DetectedCni } from './types.js';

/** DaemonSet (and Pod name prefix) → plugin; the first match in this order wins. */
const DAEMONSETS: readonly [RegExp, CniName][] = [
  [/^canal$/, 'canal'],
  [/^calico-node$/, 'calico'],
  [/^(kube-)?flannel(-ds)?(-amd64|-arm64)?$/, 'flannel'],
  [/^cilium$/, 'cilium'],
  [/^anetd$/, 'cilium'],
  [/^aws-node$/, 'aws-vpc-cni'],
  [/^kindnet$/, 'kindnet'],
  [/^weave-net$/, 'weave'],
  [/^kube-router$/, 'kube-router'],
  [/^antrea-agent$/, 'antrea'],
  [/^ovnkube-node$/, 'ovn-kubernetes'],
  [/^sdn$/, 'openshift-sdn'],
  [/^azure-cns$/, 'azure-cni'],
];

/** A Pod from a DaemonSet is `<ds>-<5 chars>`. */
const podDaemonSet = (name: string): string => name.replace(/-[a-z0-9]{5}$/, '');

function byDaemonSet(
  items: readonly EvidenceItem[],
): { name: CniName; evidence: string } | undefined {
  const ds = items.filter((e): e is DaemonSetEvidence => e.kind === 'DaemonSet');
  for (const [re, name] of DAEMONSETS) {
    const d = ds.find((x) => re.test(x.name));
    if (d) return { name, evidence: `DaemonSet ${d.namespace}/${d.name}` };
  }
  const pods = items.filter((e): e is PodEvidence => e.kind === 'Pod');
  for (const [re, name] of DAEMONSETS) {
    const p = pods.find((x) => re.test(podDaemonSet(x.name)));
    if (p) return { name, evidence: `Pod ${p.namespace}/${p.name}` };
  }
  return undefined;
}

function byNode(nodes: readonly NodeEvidence[]): { name: CniName; evidence: string } | undefined {
  for (const n of nodes) {
    const keys = Object.keys(n.annotations);
    const flannel = keys.find((k) => k.startsWith('flannel.alpha.coreos.com/'));
    if (flannel) return { name: 'flannel', evidence: `Node ${n.name} annotation ${flannel}` };
    const calico = keys.find((k) => k.startsWith('projectcalico.org/'));
    if (calico) return { name: 'calico', evidence: `Node ${n.name} annotation ${calico}` };
    const cilium = keys.find(
      (k) => k.startsWith('network.cilium.io/') || k.startsWith('io.cilium'),
    );
    if (cilium) return { name: 'cilium', evidence: `Node ${n.name} annotation ${cilium}` };
    const aks = n.labels['kubernetes.azure.com/network-plugin'];
    if (aks !== undefined) {
      const name: CniName = aks === 'kubenet' ? 'kubenet' : 'azure-cni';
      return {
        name,
        evidence: `Node ${n.name} label kubernetes.azure.com/network-plugin=${aks}`,
      };
    }
  }
  return undefined;
}

/** `net-conf.json` of kube-flannel-cfg: `{"Network": …, "Backend": {"Type": …}}`. */
export function flannelNetConf(
  cm: ConfigMapEvidence,
): { network?: string; backend?: string; directRouting?: boolean } | undefined {
  const text = cm.data['net-conf.json'];
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as {
      Network?: unknown;
      Backend?: { Type?: unknown; DirectRouting?: unknown };
    };
    return {
      ...(typeof v.Network === 'string' ? { network: v.Network } : {}),
      ...(typeof v.Backend?.Type === 'string' ? { backend: v.Backend.Type } : {}),
      ...(v.Backend?.DirectRouting === true ? { directRouting: true } : {}),
    };
  } catch {
    return undefined;
  }
}

function flannelMode(
  items: readonly EvidenceItem[],
  nodes: readonly NodeEvidence[],
): { backend: string; evidence: string; directRouting?: boolean } | undefined {
  for (const e of items) {
    if (e.kind !== 'ConfigMap' || e.name !== 'kube-flannel-cfg') continue;
    const conf = flannelNetConf(e);
    if (conf?.backend !== undefined) {
      return {
        backend: conf.backend.toLowerCase(),
        evidence: `ConfigMap ${e.namespace}/${e.name} net-conf.json Backend.Type`,
        ...(conf.directRouting ? { directRouting: true } : {}),
      };
    }
  }
  for (const n of nodes) {
    const t = n.annotations['flannel.alpha.coreos.com/backend-type'];
    if (t !== undefined && t !== '') {
      return {
        backend: t.toLowerCase(),
        evidence: `Node ${n.name} annotation flannel.alpha.coreos.com/backend-type`,
      };
    }
  }
  return undefined;
}

/** Calico's encapsulation as one mode for the whole pod network (see the warning for mixed pools). */
function calicoMode(
  items: readonly EvidenceItem[],
  nodes: readonly NodeEvidence[],
  diagnostics: Diagnostic[],
):
  | { encapsulation: 'None' | 'IPIP' | 'VXLAN'; natOutgoing?: boolean; evidence: string }
  | undefined {
  const pools = items.filter(
    (e): e is IPPoolEvidence =>
      e.kind === 'IPPool' && e.disabled !== true && !e.cidr?.includes(':'),
  );
  if (pools.length > 0) {
    const modes = pools.map((p) => poolMode(p));
    const first = pools[0]!;
    const mode = modes[0]!;
    if (modes.some((m) => m !== mode)) {
      diagnostics.push({
        code: 'detect-calico-mixed-pools',
        severity: 'warning',
        message: `Calico IPPools differ in encapsulation (${pools.map((p, i) => `${p.name}: ${modes[i]}`).join(', ')}); packeteye models one mode and uses IPPool ${first.name}'s`,
        object: `IPPool ${first.name}`,
      });
    }
    const cross = [first.ipipMode, first.vxlanMode].includes('CrossSubnet');
    if (cross) {
      diagnostics.push({
        code: 'detect-calico-cross-subnet',
        severity: 'info',
        message: `IPPool ${first.name} encapsulates only between subnets (CrossSubnet); packeteye's nodes share one underlay segment, so pod traffic between them is routed unencapsulated`,
        object: `IPPool ${first.name}`,
      });
    }
    return {
      encapsulation: mode,
      ...(first.natOutgoing !== undefined ? { natOutgoing: first.natOutgoing } : {}),
      evidence: `IPPool ${first.name} spec.ipipMode/vxlanMode${first.natOutgoing !== undefined ? '/natOutgoing' : ''}`,
    };
  }
  for (const e of items) {
    if (e.kind !== 'ConfigMap' || e.name !== 'calico-config') continue;
    const backend = e.data['calico_backend'];
    if (backend === 'vxlan')
      return {
        encapsulation: 'VXLAN',
        evidence: `ConfigMap ${e.namespace}/${e.name} calico_backend`,
      };
    if (backend === 'none')
      return {
        encapsulation: 'None',
        evidence: `ConfigMap ${e.namespace}/${e.name} calico_backend`,
      };
  }
  for (const n of nodes) {
    if (n.annotations['projectcalico.org/IPv4VXLANTunnelAddr'] !== undefined)
      return {
        encapsulation: 'VXLAN',
        evidence: `Node ${n.name} annotation projectcalico.org/IPv4VXLANTunnelAddr`,
      };
    if (n.annotations['projectcalico.org/IPv4IPIPTunnelAddr'] !== undefined)
      return {
        encapsulation: 'IPIP',
        evidence: `Node ${n.name} annotation projectcalico.org/IPv4IPIPTunnelAddr`,
      };
  }
  return undefined;
}

function poolMode(p: IPPoolEvidence): 'None' | 'IPIP' | 'VXLAN' {
  if (p.vxlanMode === 'Always') return 'VXLAN';
  if (p.ipipMode === 'Always') return 'IPIP';
  return 'None';
}

/** The CNI and its mode, or undefined when nothing in the objects names one. */
export function detectCni(
  items: readonly EvidenceItem[],
  diagnostics: Diagnostic[],
): Detected<DetectedCni> | undefined {
  const nodes = items.filter((e): e is NodeEvidence => e.kind === 'Node');
  const found = byDaemonSet(items) ?? byNode(nodes);
  if (!found) return undefined;
  if (found.name === 'flannel' || found.name === 'canal') {
    const m = flannelMode(items, nodes);
    if (m?.directRouting) {
      diagnostics.push({
        code: 'detect-flannel-direct-routing',
        severity: 'warning',
        message: `flannel's vxlan backend routes directly between nodes on one subnet (DirectRouting, ${m.evidence}); packeteye does not model DirectRouting and traces VXLAN between all nodes`,
      });
    }
    return {
      value: { name: found.name, ...(m ? { flannelBackend: m.backend } : {}) },
      evidence: m ? `${found.evidence}; ${m.evidence}` : found.evidence,
    };
  }
  if (found.name === 'calico') {
    const m = calicoMode(items, nodes, diagnostics);
    return {
      value: {
        name: 'calico',
        ...(m ? { calicoEncapsulation: m.encapsulation } : {}),
        ...(m?.natOutgoing !== undefined ? { calicoNatOutgoing: m.natOutgoing } : {}),
      },
      evidence: m ? `${found.evidence}; ${m.evidence}` : found.evidence,
    };
  }
  return { value: { name: found.name }, evidence: found.evidence };
}

/**
 * kube-proxy's mode, version and configuration as the objects state them:
 *
 * - the ConfigMap kube-system/kube-proxy `config.conf` (a
 *   `kubeproxy.config.k8s.io/v1alpha1` KubeProxyConfiguration, as kubeadm
 *   writes it): `mode` ("" is iptables on Linux), `clusterCIDR`,
 *   `detectLocalMode` with `detectLocal.bridgeInterface` /
 *   `interfaceNamePrefix`, `nodePortAddresses`, `iptables.masqueradeAll`,
 *   `iptables.masqueradeBit`, `iptables.localhostNodePorts`;
 * - the kube-proxy DaemonSet's (or static Pod's) flags (`--proxy-mode`,
 *   `--cluster-cidr`, `--masquerade-all`, `--detect-local-mode`, …) and image
 *   tag (`registry.k8s.io/kube-proxy:v1.29.2`);
 * - the Nodes' `status.nodeInfo.kubeProxyVersion`, else their kubelet's
 *   version when kube-proxy runs inside it (k3s, RKE2).
 */

import type { Diagnostic } from '../../diag.js';
import { isCidr } from '../../wire/addr.js';
import { parseFile } from '../parse.js';
import type { DaemonSetEvidence, EvidenceItem, NodeEvidence, PodEvidence } from './evidence.js';
import type { DetectLocal, Detected, DetectedKubeProxy } from './types.js';

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `v1.29.2`, `v1.28.5+k3s1`, `v1.30.1-eks-…` → `1.29`; undefined when it is no Kubernetes version. */
export function minorVersion(v: string): string | undefined {
  const m = /^v?(1)\.(\d+)(?:\.\d+)?(?:[-+].*)?$/.exec(v.trim());
  return m ? `${m[1]}.${m[2]}` : undefined;
}

type Mode = 'iptables' | 'ipvs' | 'nftables' | 'none';
const MODES: readonly string[] = ['iptables', 'ipvs', 'nftables'];

/** The `config.conf` KubeProxyConfiguration fields packeteye reads. */
export function readKubeProxyConfiguration(
  text: string,
  where: string,
  diagnostics: Diagnostic[],
): DetectedKubeProxy {
  const parsed = parseFile(where, text);
  const doc = parsed.documents[0]?.value;
  if (parsed.diagnostics.some((d) => d.severity === 'error') || !isRec(doc)) {
    diagnostics.push({
      code: 'detect-kube-proxy-config',
      severity: 'warning',
      message: `${where} is not a readable KubeProxyConfiguration; kube-proxy's configuration is not taken from it`,
    });
    return {};
  }
  const at = (field: string): string => `${where} ${field}`;
  const out: {
    -readonly [K in keyof DetectedKubeProxy]: DetectedKubeProxy[K];
  } = {};
  if (typeof doc.mode === 'string') {
    const m = doc.mode === '' ? 'iptables' : doc.mode;
    if (MODES.includes(m)) {
      out.mode = {
        value: m === 'iptables' || m === 'ipvs' || m === 'nftables' ? m : 'none',
        evidence: at('mode'),
      };
    }
  }
  if (typeof doc.clusterCIDR === 'string' && doc.clusterCIDR !== '') {
    const v4 = ipv4Cidr(doc.clusterCIDR, at('clusterCIDR'), diagnostics);
    if (v4) out.clusterCIDR = { value: v4, evidence: at('clusterCIDR') };
  }
  const detectLocal = isRec(doc.detectLocal) ? doc.detectLocal : {};
  const dl = readDetectLocal(
    doc.detectLocalMode,
    detectLocal.bridgeInterface,
    detectLocal.interfaceNamePrefix,
  );
  if (dl) out.detectLocal = { value: dl, evidence: at('detectLocalMode') };
  if (Array.isArray(doc.nodePortAddresses) && doc.nodePortAddresses.length > 0) {
    const list = doc.nodePortAddresses.filter((a): a is string => typeof a === 'string');
    out.nodePortAddresses = { value: list, evidence: at('nodePortAddresses') };
  }
  const ipt = isRec(doc.iptables) ? doc.iptables : {};
  if (typeof ipt.masqueradeAll === 'boolean')
    out.masqueradeAll = { value: ipt.masqueradeAll, evidence: at('iptables.masqueradeAll') };
  if (typeof ipt.masqueradeBit === 'number' && Number.isInteger(ipt.masqueradeBit))
    out.masqueradeBit = { value: ipt.masqueradeBit, evidence: at('iptables.masqueradeBit') };
  if (typeof ipt.localhostNodePorts === 'boolean')
    out.localhostNodePorts = {
      value: ipt.localhostNodePorts,
      evidence: at('iptables.localhostNodePorts'),
    };
  return out;
}

/**
 * The IPv4 member of a (dual-stack, comma-separated) CIDR list, or undefined
 * with a warning when it is no IPv4 CIDR (kube-proxy would refuse to start
 * with it; the cluster's range then comes from elsewhere).
 */
function ipv4Cidr(list: string, where: string, diagnostics: Diagnostic[]): string | undefined {
  const v4 = list
    .split(',')
    .map((c) => c.trim())
    .find((c) => c !== '' && !c.includes(':'));
  if (v4 === undefined || isCidr(v4)) return v4;
  diagnostics.push({
    code: 'detect-kube-proxy-config',
    severity: 'warning',
    message: `${where} ${JSON.stringify(v4)} is not an IPv4 CIDR; it is not used`,
  });
  return undefined;
}

function readDetectLocal(mode: unknown, bridge: unknown, prefix: unknown): DetectLocal | undefined {
  switch (mode) {
    case 'ClusterCIDR':
    case 'NodeCIDR':
      return { mode };
    case 'BridgeInterface':
      return typeof bridge === 'string' && bridge !== ''
        ? { mode, bridgeInterface: bridge }
        : undefined;
    case 'InterfaceNamePrefix':
      return typeof prefix === 'string' && prefix !== ''
        ? { mode, interfaceNamePrefix: prefix }
        : undefined;
    default:
      return undefined;
  }
}

/** `--flag=value` / `--flag value` / `--flag` (true) from a command line. */
function flag(args: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|\\s)--${name}(?:[= ]([^\\s]+))?(?=\\s|$)`).exec(args);
  if (!m) return undefined;
  const v = m[1];
  return v === undefined || v.startsWith('--') ? 'true' : v;
}

/** kube-proxy's command-line flags (a DaemonSet or a static Pod without a config file). */
function readFlags(args: string, where: string, diagnostics: Diagnostic[]): DetectedKubeProxy {
  const out: { -readonly [K in keyof DetectedKubeProxy]: DetectedKubeProxy[K] } = {};
  const mode = flag(args, 'proxy-mode');
  if (mode !== undefined && MODES.includes(mode === '' ? 'iptables' : mode)) {
    const m: Mode =
      mode === 'ipvs' || mode === 'nftables' ? mode : mode === 'iptables' ? 'iptables' : 'none';
    out.mode = { value: m, evidence: `${where} --proxy-mode` };
  }
  const cidr = flag(args, 'cluster-cidr');
  if (cidr && cidr !== 'true') {
    const v4 = ipv4Cidr(cidr, `${where} --cluster-cidr`, diagnostics);
    if (v4) out.clusterCIDR = { value: v4, evidence: `${where} --cluster-cidr` };
  }
  const all = flag(args, 'masquerade-all');
  if (all !== undefined)
    out.masqueradeAll = { value: all === 'true', evidence: `${where} --masquerade-all` };
  const bit = flag(args, 'iptables-masquerade-bit');
  if (bit !== undefined && /^\d+$/.test(bit))
    out.masqueradeBit = { value: Number(bit), evidence: `${where} --iptables-masquerade-bit` };
  const dl = readDetectLocal(
    flag(args, 'detect-local-mode'),
    flag(args, 'pod-bridge-interface'),
    flag(args, 'pod-interface-name-prefix'),
  );
  if (dl) out.detectLocal = { value: dl, evidence: `${where} --detect-local-mode` };
  const npa = flag(args, 'nodeport-addresses');
  if (npa && npa !== 'true')
    out.nodePortAddresses = { value: npa.split(','), evidence: `${where} --nodeport-addresses` };
  return out;
}

function imageVersion(images: readonly string[], where: string): Detected<string> | undefined {
  for (const image of images) {
    const m = /(?:^|\/)kube-proxy(?:-[a-z0-9]+)?:(v?[0-9][^@\s]*)/.exec(image);
    const v = m ? minorVersion(m[1]!) : undefined;
    if (v) return { value: v, evidence: `${where} image ${image}` };
  }
  return undefined;
}

/** kube-proxy as the objects state it; absent fields are not stated anywhere. */
export function detectKubeProxy(
  items: readonly EvidenceItem[],
  diagnostics: Diagnostic[],
): DetectedKubeProxy {
  let out: DetectedKubeProxy = {};
  const merge = (more: DetectedKubeProxy): void => {
    // Earlier evidence wins: the ConfigMap kube-proxy reads, then its flags, then versions.
    out = { ...more, ...out };
  };
  for (const e of items) {
    if (e.kind === 'ConfigMap' && e.namespace === 'kube-system' && e.name === 'kube-proxy') {
      const text = e.data['config.conf'];
      if (text !== undefined)
        merge(
          readKubeProxyConfiguration(
            text,
            'ConfigMap kube-system/kube-proxy config.conf',
            diagnostics,
          ),
        );
    }
  }
  const proxies = items.filter(
    (e): e is DaemonSetEvidence | PodEvidence =>
      (e.kind === 'DaemonSet' || e.kind === 'Pod') && /^kube-proxy/.test(e.name),
  );
  for (const p of proxies) {
    const where = `${p.kind} ${p.namespace}/${p.name}`;
    for (const a of p.args) if (/kube-proxy/.test(a)) merge(readFlags(a, where, diagnostics));
    const v = imageVersion(p.images, where);
    if (v) merge({ version: v });
  }
  // Cilium's kube-proxy replacement: no kube-proxy DaemonSet, and cilium-config says so.
  const cilium = items.find(
    (e) => e.kind === 'ConfigMap' && e.namespace === 'kube-system' && e.name === 'cilium-config',
  );
  const kpr = cilium?.kind === 'ConfigMap' ? cilium.data['kube-proxy-replacement'] : undefined;
  if (proxies.length === 0 && (kpr === 'true' || kpr === 'strict'))
    merge({
      mode: {
        value: 'none',
        evidence:
          'ConfigMap kube-system/cilium-config kube-proxy-replacement (no kube-proxy DaemonSet)',
      },
    });
  const nodes = items.filter((e): e is NodeEvidence => e.kind === 'Node');
  for (const n of nodes) {
    const v = n.kubeProxyVersion !== undefined ? minorVersion(n.kubeProxyVersion) : undefined;
    if (v) {
      merge({ version: { value: v, evidence: `Node ${n.name} status.nodeInfo.kubeProxyVersion` } });
      break;
    }
  }
  // k3s and RKE2 run kube-proxy inside their one binary: the kubelet's version is kube-proxy's.
  for (const n of nodes) {
    const kv = n.kubeletVersion;
    if (kv && /\+(k3s|rke2)/.test(kv)) {
      const v = minorVersion(kv);
      if (v)
        merge({
          version: {
            value: v,
            evidence: `Node ${n.name} status.nodeInfo.kubeletVersion (kube-proxy runs in ${/\+k3s/.test(kv) ? 'k3s' : 'RKE2'})`,
          },
        });
      break;
    }
  }
  return out;
}

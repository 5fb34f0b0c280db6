/**
 * What a cluster dump says about its own data plane, kept from objects the
 * model otherwise ignores or reads only in part: the ConfigMaps components
 * configure themselves from (kube-proxy, kubeadm-config, kube-flannel-cfg,
 * calico-config), the DaemonSets that run the CNI and kube-proxy (name and
 * images), Calico IP pools, and each Node's labels, annotations, providerID
 * and `status.nodeInfo`. `evidenceOf` reads one raw object (as parsed, before
 * decoding) into that small typed form; the detectors (`cni.ts`,
 * `kube-proxy.ts`, `platform.ts`) read only these.
 */

/** Which ConfigMaps are evidence (namespace/name); others are not kept. */
export const EVIDENCE_CONFIGMAPS: ReadonlySet<string> = new Set([
  'kube-system/kube-proxy',
  'kube-system/kubeadm-config',
  'kube-system/kube-flannel-cfg',
  'kube-flannel/kube-flannel-cfg',
  'kube-system/calico-config',
  'calico-system/calico-config',
  'kube-system/cilium-config',
  'kube-system/kindnet-cfg',
  // Cluster DNS (apps/dns): CoreDNS's Corefile, the kubelet's clusterDNS, NodeLocal DNSCache's Corefile.
  'kube-system/coredns',
  'kube-system/kubelet-config',
  'kube-system/node-local-dns',
]);

export interface ConfigMapEvidence {
  readonly kind: 'ConfigMap';
  readonly namespace: string;
  readonly name: string;
  readonly data: Readonly<Record<string, string>>;
}

export interface DaemonSetEvidence {
  readonly kind: 'DaemonSet';
  readonly namespace: string;
  readonly name: string;
  /** Container images, init containers included. */
  readonly images: readonly string[];
  /** Container args and commands, joined per container (for `--proxy-mode=…`). */
  readonly args: readonly string[];
}

export interface IPPoolEvidence {
  readonly kind: 'IPPool';
  readonly name: string;
  readonly cidr?: string;
  readonly ipipMode?: string;
  readonly vxlanMode?: string;
  readonly natOutgoing?: boolean;
  readonly disabled?: boolean;
}

export interface NodeEvidence {
  readonly kind: 'Node';
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly providerID?: string;
  readonly podCIDRs: readonly string[];
  readonly kubeletVersion?: string;
  readonly kubeProxyVersion?: string;
  readonly osImage?: string;
}

/** A Pod of the control plane (kube-system and the like): its name and images. */
export interface PodEvidence {
  readonly kind: 'Pod';
  readonly namespace: string;
  readonly name: string;
  readonly images: readonly string[];
  readonly args: readonly string[];
}

/** The `default/kubernetes` Service: its ClusterIP is the first address of the service range. */
export interface ServiceEvidence {
  readonly kind: 'Service';
  readonly namespace: string;
  readonly name: string;
  readonly clusterIP?: string;
}

export type EvidenceItem =
  | ConfigMapEvidence
  | DaemonSetEvidence
  | IPPoolEvidence
  | NodeEvidence
  | PodEvidence
  | ServiceEvidence
  | { readonly kind: 'Namespace'; readonly name: string };

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (isRec(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
};
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Images and args of a pod spec's containers and init containers. */
function containersOf(spec: unknown): { images: string[]; args: string[] } {
  const images: string[] = [];
  const args: string[] = [];
  if (!isRec(spec)) return { images, args };
  for (const c of [...list(spec.initContainers), ...list(spec.containers)]) {
    if (!isRec(c)) continue;
    const image = str(c.image);
    if (image) images.push(image);
    const words = [...list(c.command), ...list(c.args)].filter(
      (w): w is string => typeof w === 'string',
    );
    if (words.length > 0) args.push(words.join(' '));
  }
  return { images, args };
}

/** The evidence one raw object holds, or undefined when it holds none. Never throws. */
export function evidenceOf(raw: Rec, kind: string, apiVersion: string): EvidenceItem | undefined {
  const meta = isRec(raw.metadata) ? raw.metadata : {};
  const name = str(meta.name);
  if (name === undefined) return undefined;
  const namespace = str(meta.namespace) ?? 'default';
  switch (kind) {
    case 'ConfigMap':
      if (!EVIDENCE_CONFIGMAPS.has(`${namespace}/${name}`)) return undefined;
      return { kind, namespace, name, data: strMap(raw.data) };
    case 'DaemonSet': {
      const spec = isRec(raw.spec) ? raw.spec : {};
      const template = isRec(spec.template) ? spec.template : {};
      return { kind, namespace, name, ...containersOf(template.spec) };
    }
    case 'Pod': {
      if (!/^(kube-system|kube-flannel|calico-system|tigera-operator|openshift-)/.test(namespace))
        return undefined;
      return { kind, namespace, name, ...containersOf(raw.spec) };
    }
    case 'IPPool': {
      if (!/^(crd\.)?projectcalico\.org\//.test(apiVersion)) return undefined;
      const spec = isRec(raw.spec) ? raw.spec : {};
      const cidr = str(spec.cidr);
      const ipipMode = str(spec.ipipMode);
      const vxlanMode = str(spec.vxlanMode);
      return {
        kind,
        name,
        ...(cidr !== undefined ? { cidr } : {}),
        ...(ipipMode !== undefined ? { ipipMode } : {}),
        ...(vxlanMode !== undefined ? { vxlanMode } : {}),
        ...(typeof spec.natOutgoing === 'boolean' ? { natOutgoing: spec.natOutgoing } : {}),
        ...(typeof spec.disabled === 'boolean' ? { disabled: spec.disabled } : {}),
      };
    }
    case 'Node': {
      const spec = isRec(raw.spec) ? raw.spec : {};
      const status = isRec(raw.status) ? raw.status : {};
      const info = isRec(status.nodeInfo) ? status.nodeInfo : {};
      const podCIDRs = list(spec.podCIDRs).filter((c): c is string => typeof c === 'string');
      const podCIDR = str(spec.podCIDR);
      if (podCIDRs.length === 0 && podCIDR) podCIDRs.push(podCIDR);
      const providerID = str(spec.providerID);
      const kubeletVersion = str(info.kubeletVersion);
      const kubeProxyVersion = str(info.kubeProxyVersion);
      const osImage = str(info.osImage);
      return {
        kind,
        name,
        labels: strMap(meta.labels),
        annotations: strMap(meta.annotations),
        podCIDRs,
        ...(providerID ? { providerID } : {}),
        ...(kubeletVersion ? { kubeletVersion } : {}),
        ...(kubeProxyVersion ? { kubeProxyVersion } : {}),
        ...(osImage ? { osImage } : {}),
      };
    }
    case 'Service': {
      if (namespace !== 'default' || name !== 'kubernetes') return undefined;
      const spec = isRec(raw.spec) ? raw.spec : {};
      const clusterIP = str(spec.clusterIP);
      return { kind, namespace, name, ...(clusterIP ? { clusterIP } : {}) };
    }
    case 'Namespace':
      return { kind, name };
    default:
      return undefined;
  }
}

/** `Kind ns/name` of an evidence item, as diagnostics and defaults name it. */
export function evidenceRef(e: EvidenceItem): string {
  switch (e.kind) {
    case 'ConfigMap':
    case 'DaemonSet':
    case 'Pod':
    case 'Service':
      return `${e.kind} ${e.namespace}/${e.name}`;
    default:
      return `${e.kind} ${e.name}`;
  }
}

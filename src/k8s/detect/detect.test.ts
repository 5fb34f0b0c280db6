import { describe, expect, it } from 'vitest';
import { parseFile } from '../parse.js';
import { detectCluster, evidenceOf, minorVersion, type EvidenceItem } from './index.js';

/** Raw objects (as a dump holds them) to evidence. */
function evidence(yaml: string): EvidenceItem[] {
  const out: EvidenceItem[] = [];
  for (const d of parseFile('t.yaml', yaml).documents) {
    const raw = d.value as Record<string, unknown>;
    const e = evidenceOf(raw, raw.kind as string, raw.apiVersion as string);
    if (e) out.push(e);
  }
  return out;
}

const kubeProxyCm = (conf: string): string => `
apiVersion: v1
kind: ConfigMap
metadata: {name: kube-proxy, namespace: kube-system}
data:
  config.conf: |
${conf
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
`;

const KUBEADM_FLANNEL = `
apiVersion: v1
kind: ConfigMap
metadata: {name: kube-flannel-cfg, namespace: kube-flannel}
data:
  net-conf.json: |
    {"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan"}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kubeadm-config, namespace: kube-system}
data:
  ClusterConfiguration: |
    apiVersion: kubeadm.k8s.io/v1beta3
    kind: ClusterConfiguration
    networking:
      dnsDomain: cluster.local
      podSubnet: 10.244.0.0/16
      serviceSubnet: 10.96.0.0/12
---
${kubeProxyCm(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clusterCIDR: 10.244.0.0/16
mode: ""
iptables:
  masqueradeAll: false
  masqueradeBit: null`)}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kube-flannel-ds, namespace: kube-flannel}
spec: {template: {spec: {containers: [{name: kube-flannel, image: docker.io/flannel/flannel:v0.24.2}]}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kube-proxy, namespace: kube-system}
spec:
  template:
    spec:
      containers:
      - name: kube-proxy
        image: registry.k8s.io/kube-proxy:v1.29.2
        command: [/usr/local/bin/kube-proxy, --config=/var/lib/kube-proxy/config.conf, --hostname-override=$(NODE_NAME)]
`;

const node = (extra: string): string => `
apiVersion: v1
kind: Node
metadata:
  name: n1
${extra}
`;

interface Case {
  name: string;
  yaml: string;
  expect: Record<string, unknown>;
  codes?: string[];
  /** The input's pod range is unreadable: neither the cluster's nor kube-proxy's is detected. */
  noClusterCIDR?: boolean;
}

const CASES: Case[] = [
  {
    name: 'kubeadm with flannel: every value from the ConfigMaps and DaemonSets',
    yaml: KUBEADM_FLANNEL,
    expect: {
      cni: {
        value: { name: 'flannel', flannelBackend: 'vxlan' },
        evidence:
          'DaemonSet kube-flannel/kube-flannel-ds; ConfigMap kube-flannel/kube-flannel-cfg net-conf.json Backend.Type',
      },
      distribution: { value: 'kubeadm', evidence: 'ConfigMap kube-system/kubeadm-config' },
      clusterCIDR: {
        value: '10.244.0.0/16',
        evidence: 'ConfigMap kube-system/kubeadm-config ClusterConfiguration networking.podSubnet',
      },
      serviceCIDR: {
        value: '10.96.0.0/12',
        evidence:
          'ConfigMap kube-system/kubeadm-config ClusterConfiguration networking.serviceSubnet',
      },
      kubeProxy: {
        mode: { value: 'iptables', evidence: 'ConfigMap kube-system/kube-proxy config.conf mode' },
        clusterCIDR: {
          value: '10.244.0.0/16',
          evidence: 'ConfigMap kube-system/kube-proxy config.conf clusterCIDR',
        },
        version: {
          value: '1.29',
          evidence: 'DaemonSet kube-system/kube-proxy image registry.k8s.io/kube-proxy:v1.29.2',
        },
      },
    },
    codes: [],
  },
  {
    name: 'Calico: encapsulation and natOutgoing from the enabled IPPool',
    yaml: `
apiVersion: crd.projectcalico.org/v1
kind: IPPool
metadata: {name: default-ipv4-ippool}
spec: {cidr: 192.168.0.0/16, ipipMode: Never, vxlanMode: Always, natOutgoing: true}
---
apiVersion: crd.projectcalico.org/v1
kind: IPPool
metadata: {name: old}
spec: {cidr: 10.9.0.0/16, ipipMode: Always, disabled: true}
---
${node(`  annotations: {projectcalico.org/IPv4Address: 10.0.0.4/24, projectcalico.org/IPv4VXLANTunnelAddr: 192.168.5.0}`)}
`,
    expect: {
      cni: {
        value: { name: 'calico', calicoEncapsulation: 'VXLAN', calicoNatOutgoing: true },
        evidence:
          'Node n1 annotation projectcalico.org/IPv4Address; IPPool default-ipv4-ippool spec.ipipMode/vxlanMode/natOutgoing',
      },
    },
    codes: [],
  },
  {
    name: 'Calico CrossSubnet: routed on one segment, said so',
    yaml: `
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: p}
spec: {cidr: 192.168.0.0/16, ipipMode: CrossSubnet, natOutgoing: true}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: calico-node, namespace: calico-system}
spec: {template: {spec: {containers: [{name: calico-node, image: calico/node:v3.27.0}]}}}
`,
    expect: {
      cni: { value: { name: 'calico', calicoEncapsulation: 'None', calicoNatOutgoing: true } },
    },
    codes: ['detect-calico-cross-subnet'],
  },
  {
    name: 'kind: providerID and the kindnet DaemonSet',
    yaml: `
${node(`spec: {providerID: kind://docker/kind/kind-control-plane, podCIDR: 10.244.0.0/24}`)}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kindnet, namespace: kube-system}
spec: {template: {spec: {containers: [{name: kindnet-cni, image: docker.io/kindest/kindnetd:v20240202-8f1494ea}]}}}
`,
    expect: {
      cni: { value: { name: 'kindnet' }, evidence: 'DaemonSet kube-system/kindnet' },
      cloud: { value: 'kind' },
      distribution: { value: 'kind', evidence: 'Node n1 spec.providerID' },
    },
    codes: [],
  },
  {
    name: 'k3s: embedded flannel and kube-proxy, versions from the kubelet',
    yaml: node(`  labels: {node.kubernetes.io/instance-type: k3s}
  annotations: {flannel.alpha.coreos.com/backend-type: vxlan, flannel.alpha.coreos.com/public-ip: 10.0.0.5}
spec: {providerID: k3s://n1}
status: {nodeInfo: {kubeletVersion: v1.28.5+k3s1, kubeProxyVersion: v1.28.5+k3s1}}`),
    expect: {
      cni: { value: { name: 'flannel', flannelBackend: 'vxlan' } },
      distribution: { value: 'k3s' },
      kubeProxy: {
        version: { value: '1.28', evidence: 'Node n1 status.nodeInfo.kubeProxyVersion' },
      },
    },
    codes: [],
  },
  {
    name: 'EKS: the AWS VPC CNI and the cloud, both not modelled, both said',
    yaml: `
${node(`  labels: {eks.amazonaws.com/nodegroup: ng-1}
spec: {providerID: aws:///us-east-1a/i-0abc}
status: {nodeInfo: {kubeletVersion: v1.30.2-eks-1552ad0, kubeProxyVersion: v1.30.2-eks-1552ad0}}`)}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: aws-node, namespace: kube-system}
spec: {template: {spec: {containers: [{name: aws-node, image: 602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni:v1.18.1}]}}}
`,
    expect: {
      cni: { value: { name: 'aws-vpc-cni' } },
      cloud: { value: 'aws' },
      distribution: { value: 'eks' },
      kubeProxy: { version: { value: '1.30' } },
    },
    codes: ['detect-cloud-not-modelled', 'detect-cni-not-modelled'],
  },
  {
    name: 'GKE Dataplane V2 (anetd is Cilium) on gce',
    yaml: `
${node(`  labels: {cloud.google.com/gke-nodepool: default-pool}
spec: {providerID: gce://proj/us-central1-a/gke-n1}`)}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: anetd, namespace: kube-system}
spec: {template: {spec: {containers: [{name: cilium-agent, image: gke.gcr.io/cilium/cilium:v1.14}]}}}
`,
    expect: {
      cni: { value: { name: 'cilium' }, evidence: 'DaemonSet kube-system/anetd' },
      cloud: { value: 'gce' },
      distribution: { value: 'gke' },
    },
    codes: ['detect-cni-not-modelled'],
  },
  {
    name: 'AKS kubenet from the node label',
    yaml: node(`  labels: {kubernetes.azure.com/cluster: MC_rg, kubernetes.azure.com/network-plugin: kubenet}
spec: {providerID: azure:///subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/virtualMachineScaleSets/aks/virtualMachines/0}`),
    expect: {
      cni: {
        value: { name: 'kubenet' },
        evidence: 'Node n1 label kubernetes.azure.com/network-plugin=kubenet',
      },
      cloud: { value: 'azure' },
      distribution: { value: 'aks' },
    },
    codes: ['detect-cloud-not-modelled'],
  },
  {
    name: 'kube-proxy as configured: ipvs, InterfaceNamePrefix, nodePortAddresses, masquerade bit',
    yaml: kubeProxyCm(`kind: KubeProxyConfiguration
mode: ipvs
detectLocalMode: InterfaceNamePrefix
detectLocal: {interfaceNamePrefix: veth}
nodePortAddresses: [primary]
iptables: {masqueradeAll: true, masqueradeBit: 15, localhostNodePorts: false}`),
    expect: {
      kubeProxy: {
        mode: { value: 'ipvs' },
        detectLocal: { value: { mode: 'InterfaceNamePrefix', interfaceNamePrefix: 'veth' } },
        nodePortAddresses: { value: ['primary'] },
        masqueradeAll: { value: true },
        masqueradeBit: { value: 15 },
        localhostNodePorts: { value: false },
      },
    },
    codes: [],
  },
  {
    name: "kube-proxy's flags when there is no config file",
    yaml: `
apiVersion: v1
kind: Pod
metadata: {name: kube-proxy-gke-n1, namespace: kube-system}
spec:
  containers:
  - name: kube-proxy
    image: gke.gcr.io/kube-proxy-amd64:v1.27.8-gke.1067004
    command: [/bin/sh, -c, "exec kube-proxy --master=https://1.2.3.4 --proxy-mode=iptables --cluster-cidr=10.4.0.0/14 --iptables-masquerade-bit=14"]
`,
    expect: {
      kubeProxy: {
        mode: { value: 'iptables', evidence: 'Pod kube-system/kube-proxy-gke-n1 --proxy-mode' },
        clusterCIDR: { value: '10.4.0.0/14' },
        masqueradeBit: { value: 14 },
        version: { value: '1.27' },
      },
    },
    codes: [],
  },
  {
    name: 'an unreadable config.conf is a warning, not a guess',
    yaml: kubeProxyCm('mode: [ipvs'),
    expect: { kubeProxy: {} },
    codes: ['detect-kube-proxy-config'],
  },
  {
    name: 'flannel wireguard: detected, not modelled, said',
    yaml: `
apiVersion: v1
kind: ConfigMap
metadata: {name: kube-flannel-cfg, namespace: kube-system}
data: {net-conf.json: '{"Network": "10.42.0.0/16", "Backend": {"Type": "wireguard"}}'}
${'---'}
${node(`  annotations: {flannel.alpha.coreos.com/backend-type: wireguard}`)}
`,
    expect: {
      cni: { value: { name: 'flannel', flannelBackend: 'wireguard' } },
      clusterCIDR: { value: '10.42.0.0/16' },
    },
    codes: ['detect-flannel-backend-not-modelled'],
  },
  {
    name: 'a clusterCIDR in config.conf that is no IPv4 CIDR is a warning and not used',
    yaml: kubeProxyCm('mode: iptables\nclusterCIDR: 10.244.0'),
    expect: { kubeProxy: { mode: { value: 'iptables' } } },
    codes: ['detect-kube-proxy-config'],
    noClusterCIDR: true,
  },
  {
    name: 'a --cluster-cidr that is no IPv4 CIDR is a warning and not used',
    yaml: `
apiVersion: v1
kind: Pod
metadata: {name: kube-proxy-n1, namespace: kube-system}
spec:
  containers:
  - name: kube-proxy
    command: [kube-proxy, "--proxy-mode=iptables --cluster-cidr=10.4.0.0/33"]
`,
    expect: { kubeProxy: { mode: { value: 'iptables' } } },
    codes: ['detect-kube-proxy-config'],
    noClusterCIDR: true,
  },
  {
    name: 'a flannel Network that is no IPv4 CIDR is a warning and not used',
    yaml: `
apiVersion: v1
kind: ConfigMap
metadata: {name: kube-flannel-cfg, namespace: kube-system}
data: {net-conf.json: '{"Network": "10.42", "Backend": {"Type": "vxlan"}}'}
`,
    expect: { kubeProxy: {} },
    codes: ['detect-flannel-config'],
    noClusterCIDR: true,
  },
  {
    name: 'nothing said: nothing detected',
    yaml: node('spec: {podCIDR: 10.244.1.0/24}'),
    expect: { kubeProxy: {} },
    codes: [],
  },
];

describe('detectCluster', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const d = detectCluster(evidence(c.yaml));
      expect(d).toMatchObject(c.expect);
      if (c.codes) expect(d.diagnostics.map((x) => x.code).sort()).toEqual(c.codes);
      if (!('cni' in c.expect)) expect(d.cni).toBeUndefined();
      if (c.noClusterCIDR)
        expect([d.clusterCIDR, d.kubeProxy.clusterCIDR]).toEqual([undefined, undefined]);
    });
  }

  it('kind without a kindnet DaemonSet in the dump still reads as kindnet, with the reason', () => {
    const d = detectCluster(evidence(node('spec: {providerID: kind://docker/k/k-worker}')));
    expect(d.cni).toEqual({
      value: { name: 'kindnet' },
      evidence: "Node n1 spec.providerID (kind's default CNI)",
    });
  });

  it('keeps only the ConfigMaps that are evidence', () => {
    expect(
      evidence(`apiVersion: v1
kind: ConfigMap
metadata: {name: extension-apiserver-authentication, namespace: kube-system}
data: {client-ca-file: x}`),
    ).toEqual([]);
    // CoreDNS's Corefile is evidence for cluster DNS (apps/dns).
    expect(
      evidence(`apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data: {Corefile: x}`),
    ).toEqual([
      { kind: 'ConfigMap', namespace: 'kube-system', name: 'coredns', data: { Corefile: 'x' } },
    ]);
  });
});

describe('minorVersion', () => {
  it.each([
    ['v1.29.2', '1.29'],
    ['v1.28.5+k3s1', '1.28'],
    ['v1.30.2-eks-1552ad0', '1.30'],
    ['1.31', '1.31'],
    ['latest', undefined],
  ])('%s -> %s', (v, want) => expect(minorVersion(v)).toBe(want));
});

describe("Cilium's kube-proxy replacement", () => {
  it('reads as no kube-proxy, with a warning saying what the trace shows instead', () => {
    const d = detectCluster(
      evidence(`
apiVersion: v1
kind: ConfigMap
metadata: {name: cilium-config, namespace: kube-system}
data: {kube-proxy-replacement: "true"}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: cilium, namespace: kube-system}
spec: {template: {spec: {containers: [{name: cilium-agent, image: quay.io/cilium/cilium:v1.15.1}]}}}
`),
    );
    expect(d.kubeProxy.mode?.value).toBe('none');
    expect(d.diagnostics.map((x) => x.code).sort()).toEqual([
      'detect-cni-not-modelled',
      'detect-no-kube-proxy',
    ]);
  });
});

import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { formatDiagnostic, hasErrors, type Diagnostic } from '../diag.js';
import { loadDocuments } from './load.js';
import { buildModel, formatDefault, nsName as nsNameOf, type ClusterModel } from './model.js';

function build(text: string, path = 'c.yaml') {
  const loaded = loadDocuments([{ path, text }]);
  const { model, diagnostics } = buildModel(loaded.objects);
  return { model, diagnostics: [...loaded.diagnostics, ...diagnostics] };
}

function lines(ds: readonly Diagnostic[]): string[] {
  return ds.map((d) => formatDiagnostic({ ...d, hint: undefined }));
}

function defaultsOf(m: ClusterModel, object: string): Record<string, string> {
  return Object.fromEntries(
    m.defaults.filter((d) => d.object === object).map((d) => [d.field, d.value]),
  );
}

const CLUSTER = `apiVersion: packeteye.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  clusterCIDR: 10.244.0.0/16
  serviceCIDR: 10.96.0.0/12
  underlay: {cidr: 192.168.1.0/24}
---
`;

const node = (name: string, extra = '') => `apiVersion: v1
kind: Node
metadata: {name: ${name}}
${extra}---
`;

const pod = (
  ns: string,
  name: string,
  nodeName: string | undefined,
  labels: string,
  extra = '',
) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}, labels: {${labels}}}
spec:
${nodeName ? `  nodeName: ${nodeName}\n` : ''}  containers:
  - name: c
${extra}---
`;

describe('buildModel: cluster defaults', () => {
  it('fills every Cluster field and says why', () => {
    const { model, diagnostics } = build('apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n');
    expect(diagnostics).toEqual([]);
    expect(model.cluster).toEqual({
      name: 'default',
      clusterCIDR: '10.244.0.0/16',
      serviceCIDR: '10.96.0.0/12',
      clusterDomain: 'cluster.local',
      nodeCIDRMaskSize: 24,
      serviceNodePortRange: { base: 30000, size: 2768 },
      cni: { plugin: 'bridge' },
      kubeProxy: {
        mode: 'iptables',
        version: '1.31',
        masqueradeAll: false,
        localhostNodePorts: true,
        detectLocal: { mode: 'ClusterCIDR' },
        masqueradeBit: 14,
        randomFully: true,
        noExternalMasquerade: [],
      },
      networkPolicy: { enforcer: 'none' },
      cloud: { provider: 'none' },
      underlay: { cidr: '192.168.1.0/24', gateway: '192.168.1.1', mtu: 1500 },
      dns: {},
    });
    expect(defaultsOf(model, 'Cluster default')).toEqual({
      'spec.clusterCIDR': '10.244.0.0/16',
      'spec.serviceCIDR': '10.96.0.0/12',
      'spec.underlay.cidr': '192.168.1.0/24',
      'spec.underlay.gateway': '192.168.1.1',
      'spec.underlay.mtu': '1500',
      'spec.clusterDomain': 'cluster.local',
      'spec.nodeCIDRMaskSize': '24',
      'spec.cni.plugin': 'bridge',
      'spec.kubeProxy.mode': 'iptables',
      'spec.kubeProxy.version': '1.31',
      'spec.cloud.provider': 'none',
    });
    for (const d of model.defaults) expect(d.reason.length).toBeGreaterThan(10);
  });

  it('infers ranges from the objects when no Cluster says them and the defaults do not fit', () => {
    const { model, diagnostics } = build(
      node(
        'n1',
        'spec: {podCIDR: 10.42.0.0/24}\nstatus: {addresses: [{type: InternalIP, address: 10.0.5.7}]}\n',
      ) +
        node(
          'n2',
          'spec: {podCIDR: 10.42.1.0/24}\nstatus: {addresses: [{type: InternalIP, address: 10.0.5.8}]}\n',
        ) +
        'apiVersion: v1\nkind: Service\nmetadata: {name: s, uid: x}\nspec: {clusterIP: 10.43.0.15, ports: [{port: 80}]}\n',
    );
    expect(diagnostics).toEqual([]);
    expect([
      model.cluster.clusterCIDR,
      model.cluster.serviceCIDR,
      model.cluster.underlay.cidr,
      model.cluster.underlay.gateway,
    ]).toEqual(['10.42.0.0/16', '10.43.0.0/16', '10.0.5.0/24', '10.0.5.1']);
    expect(model.defaults.find((d) => d.field === 'spec.clusterCIDR')!.reason).toBe(
      'no Cluster spec.clusterCIDR, and the node podCIDRs and pod IPs lie outside the default 10.244.0.0/16; the smallest /16 or wider prefix holding them',
    );
  });

  it('namespaces: the system ones and every referenced one, each labelled with its name', () => {
    const { model } = build(
      CLUSTER +
        node('n1') +
        pod('shop', 'a', 'n1', 'app: a') +
        'apiVersion: v1\nkind: Namespace\nmetadata: {name: extra, labels: {team: x}}\n',
    );
    expect([...model.namespaces.keys()]).toEqual([
      'default',
      'extra',
      'kube-node-lease',
      'kube-public',
      'kube-system',
      'shop',
    ]);
    expect(model.namespaces.get('shop')!.metadata.labels).toEqual({
      'kubernetes.io/metadata.name': 'shop',
    });
    expect(model.namespaces.get('extra')!.metadata.labels).toEqual({
      team: 'x',
      'kubernetes.io/metadata.name': 'extra',
    });
    expect(defaultsOf(model, 'Namespace shop')).toEqual({ 'metadata.name': 'shop' });
    expect(defaultsOf(model, 'Namespace extra')).toEqual({
      'metadata.labels["kubernetes.io/metadata.name"]': 'extra',
    });
  });

  it('puts namespaced objects without a namespace in default', () => {
    const { model } = build(
      CLUSTER +
        node('n1') +
        'apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {nodeName: n1, containers: [{name: c}]}\n',
    );
    expect([...model.pods.keys()]).toEqual(['default/a']);
    expect(defaultsOf(model, 'Pod default/a')['metadata.namespace']).toBe('default');
    expect(model.origins.get('Pod default/a')).toEqual({ file: 'c.yaml', document: 3, line: 13 });
    expect(model.origins.get('Node n1')).toEqual({ file: 'c.yaml', document: 2, line: 9 });
  });
});

describe('buildModel: nodes', () => {
  it('allocates podCIDRs like the range allocator and InternalIPs from .10', () => {
    const { model, diagnostics } = build(
      CLUSTER +
        node('c') +
        node(
          'b',
          'spec: {podCIDR: 10.244.0.0/24}\nstatus: {addresses: [{type: InternalIP, address: 192.168.1.10}]}\n',
        ) +
        node('a') +
        node('d', 'spec: {podCIDR: 10.244.2.0/24}\n'),
    );
    expect(diagnostics).toEqual([]);
    expect(
      [...model.nodes.values()].map((n) => [
        n.metadata.name,
        n.spec.podCIDR,
        n.status.addresses[0]!.address,
      ]),
    ).toEqual([
      ['a', '10.244.1.0/24', '192.168.1.11'],
      ['b', '10.244.0.0/24', '192.168.1.10'],
      ['c', '10.244.3.0/24', '192.168.1.12'],
      ['d', '10.244.2.0/24', '192.168.1.13'],
    ]);
    expect(model.defaults.filter((d) => d.object === 'Node a')).toEqual([
      {
        object: 'Node a',
        field: 'spec.podCIDR',
        value: '10.244.1.0/24',
        reason:
          "no spec.podCIDR; kube-controller-manager's range allocator takes the first free /24 of 10.244.0.0/16, nodes in name order",
      },
      {
        object: 'Node a',
        field: 'status.addresses[InternalIP]',
        value: '192.168.1.11',
        reason:
          'no InternalIP; packeteye gives nodes underlay addresses from .10 upward in name order',
      },
    ]);
  });

  const cases: [string, string, string[]][] = [
    [
      'podCIDR outside the clusterCIDR',
      node('n1', 'spec: {podCIDR: 10.1.0.0/24}\n'),
      [
        'c.yaml:12: document 2: Node n1: field spec.podCIDR: error: podCIDR 10.1.0.0/24 is outside the clusterCIDR 10.244.0.0/16 [k8s-ip-out-of-range]',
      ],
    ],
    [
      'podCIDR overlapping the serviceCIDR',
      node('n1', 'spec: {podCIDR: 10.96.1.0/24}\n'),
      [
        'c.yaml:12: document 2: Node n1: field spec.podCIDR: error: podCIDR 10.96.1.0/24 is outside the clusterCIDR 10.244.0.0/16 [k8s-ip-out-of-range]',
        'c.yaml:12: document 2: Node n1: field spec.podCIDR: error: podCIDR 10.96.1.0/24 overlaps the serviceCIDR 10.96.0.0/12 [k8s-cidr-overlap]',
      ],
    ],
    [
      'overlapping podCIDRs',
      node('n1', 'spec: {podCIDR: 10.244.0.0/24}\n') +
        node('n2', 'spec: {podCIDR: 10.244.0.0/23}\n'),
      [
        "c.yaml:17: document 3: Node n2: field spec.podCIDR: error: podCIDR 10.244.0.0/23 overlaps Node n1's podCIDR 10.244.0.0/24 [k8s-cidr-overlap]",
      ],
    ],
    [
      'InternalIP outside the underlay',
      node('n1', 'status: {addresses: [{type: InternalIP, address: 10.0.0.5}]}\n'),
      [
        'c.yaml:12: document 2: Node n1: field status.addresses[0].address: error: InternalIP 10.0.0.5 is outside the underlay 192.168.1.0/24 [k8s-ip-out-of-range]',
      ],
    ],
    [
      'duplicate InternalIP',
      node('n1', 'status: {addresses: [{type: InternalIP, address: 192.168.1.5}]}\n') +
        node('n2', 'status: {addresses: [{type: InternalIP, address: 192.168.1.5}]}\n'),
      [
        "c.yaml:17: document 3: Node n2: field status.addresses[0].address: error: InternalIP 192.168.1.5 is also Node n1's [k8s-duplicate-ip]",
      ],
    ],
  ];
  it.each(cases)('%s', (_name, text, want) => {
    expect(lines(build(CLUSTER + text).diagnostics)).toEqual(want);
  });
});

describe('buildModel: pods', () => {
  it('gives pods without status.podIP addresses the way host-local does, in namespace/name order', () => {
    const { model, diagnostics } = build(
      CLUSTER +
        node(
          'n1',
          'spec: {podCIDR: 10.244.1.0/24}\nstatus: {addresses: [{type: InternalIP, address: 192.168.1.20}]}\n',
        ) +
        pod('b', 'x', 'n1', 'app: x') +
        pod('a', 'z', 'n1', 'app: z') +
        pod('a', 'y', 'n1', 'app: y', 'status: {podIP: 10.244.1.3}\n') +
        pod('a', 'host', 'n1', 'app: h', '  hostNetwork: true\n'),
    );
    expect(diagnostics).toEqual([]);
    expect(
      [...model.pods.values()].map((p) => [
        `${p.metadata.namespace}/${p.metadata.name}`,
        p.status.podIP,
        p.status.hostIP,
      ]),
    ).toEqual([
      ['a/host', '192.168.1.20', '192.168.1.20'],
      ['a/y', '10.244.1.3', '192.168.1.20'],
      ['a/z', '10.244.1.2', '192.168.1.20'],
      ['b/x', '10.244.1.4', '192.168.1.20'],
    ]);
    expect([...model.podsByIP.keys()]).toEqual(['10.244.1.3', '10.244.1.2', '10.244.1.4']);
    expect(model.podsByNode.get('n1')!.map((p) => p.metadata.name)).toEqual([
      'host',
      'y',
      'z',
      'x',
    ]);
    expect(
      model.defaults
        .filter((d) => d.field === 'status.podIP')
        .map((d) => [d.object, d.value, d.reason]),
    ).toEqual([
      [
        'Pod a/host',
        '192.168.1.20',
        "hostNetwork pod: it shares node n1's network namespace and address",
      ],
      [
        'Pod a/z',
        '10.244.1.2',
        'no status.podIP; host-local IPAM hands out 10.244.1.0/24 from .2 (.1 is the cni0 gateway), pods in namespace/name order',
      ],
      [
        'Pod b/x',
        '10.244.1.4',
        'no status.podIP; host-local IPAM hands out 10.244.1.0/24 from .2 (.1 is the cni0 gateway), pods in namespace/name order',
      ],
    ]);
  });

  const N1 = node('n1', 'spec: {podCIDR: 10.244.1.0/24}\n');
  const cases: [string, string, string[]][] = [
    [
      'no nodeName',
      pod('default', 'a', undefined, 'app: a') +
        pod('default', 'p', undefined, 'app: p', 'status: {phase: Pending}\n'),
      [
        'c.yaml:24: document 4: Pod default/p: field spec.nodeName: info: pod is Pending (no spec.nodeName): it has no network presence yet, so it is left out [k8s-pod-unscheduled]',
      ],
    ],
    [
      'unknown node',
      pod('default', 'a', 'n9', 'app: a'),
      [
        'c.yaml:18: document 3: Pod default/a: field spec.nodeName: error: pod is on node "n9", which is not defined [k8s-pod-unknown-node]',
      ],
    ],
    [
      'pod IP outside its node podCIDR',
      pod('default', 'a', 'n1', 'app: a', 'status: {podIP: 10.244.2.5}\n'),
      [
        "c.yaml:21: document 3: Pod default/a: field status.podIP: warning: pod IP 10.244.2.5 is outside node n1's podCIDR 10.244.1.0/24; kept as given (an IPAM that is not per node, such as AWS VPC CNI's, hands out addresses this way), but bridge routes pods by their node's podCIDR, so other nodes may not reach it [k8s-ip-out-of-range]",
      ],
    ],
    [
      'pod IP on the bridge gateway',
      pod('default', 'a', 'n1', 'app: a', 'status: {podIP: 10.244.1.1}\n'),
      [
        'c.yaml:21: document 3: Pod default/a: field status.podIP: warning: pod IP 10.244.1.1 is the bridge gateway (cni0) address of node n1; kept as given, though host-local never hands it out [k8s-ip-out-of-range]',
      ],
    ],
    [
      'duplicate pod IPs',
      pod('default', 'a', 'n1', 'app: a', 'status: {podIP: 10.244.1.7}\n') +
        pod('default', 'b', 'n1', 'app: b', 'status: {podIP: 10.244.1.7}\n'),
      [
        "c.yaml:30: document 4: Pod default/b: field status.podIP: error: pod IP 10.244.1.7 is also Pod default/a's [k8s-duplicate-pod-ip]",
      ],
    ],
    [
      'hostPort conflict',
      pod('default', 'a', 'n1', 'app: a', '    ports: [{containerPort: 80, hostPort: 8080}]\n') +
        pod('default', 'b', 'n1', 'app: b', '    ports: [{containerPort: 80, hostPort: 8080}]\n'),
      [
        'c.yaml:30: document 4: Pod default/b: field spec.containers[0].ports[0].hostPort: error: hostPort 8080/TCP on node n1 is also used by Pod default/a [k8s-host-port-conflict]',
      ],
    ],
    [
      'terminal pods are left out',
      pod('default', 'a', 'n1', 'app: a', 'status: {phase: Failed}\n'),
      [
        'c.yaml:21: document 3: Pod default/a: field status.phase: info: pod is in phase Failed: its network namespace is gone, so it is left out [k8s-pod-terminal]',
      ],
    ],
  ];
  it.each(cases)('%s', (_name, text, want) => {
    expect(lines(build(CLUSTER + N1 + text).diagnostics)).toEqual(want);
  });
});

const svc = (ns: string, name: string, spec: string, meta = '') => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}${meta}}
spec:
${spec}---
`;

describe('buildModel: services', () => {
  it('applies SetDefaults_Service', () => {
    const { model } = build(
      CLUSTER +
        svc('default', 'plain', '  ports: [{port: 80}]\n') +
        svc('default', 'np', '  type: NodePort\n  ports: [{port: 80, targetPort: 8080}]\n') +
        svc('default', 'aff', '  sessionAffinity: ClientIP\n  ports: [{port: 80}]\n') +
        svc(
          'default',
          'lb',
          '  type: LoadBalancer\n  externalTrafficPolicy: Local\n  ports: [{port: 443}]\n',
        ) +
        svc('default', 'ext', '  type: ExternalName\n  externalName: db.example.com\n'),
    );
    const plain = model.services.get('default/plain')!;
    expect(plain.spec).toEqual({
      type: 'ClusterIP',
      ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      clusterIP: '10.96.0.14',
      clusterIPs: ['10.96.0.14'],
    });
    expect(defaultsOf(model, 'Service default/plain')).toEqual({
      'spec.type': 'ClusterIP',
      'spec.ports[0].protocol': 'TCP',
      'spec.ports[0].targetPort': '80',
      'spec.sessionAffinity': 'None',
      'spec.internalTrafficPolicy': 'Cluster',
      'spec.clusterIP': '10.96.0.14',
    });
    const np = model.services.get('default/np')!.spec;
    expect([np.externalTrafficPolicy, np.ports[0]!.nodePort, np.ports[0]!.targetPort]).toEqual([
      'Cluster',
      30001,
      8080,
    ]);
    expect(model.services.get('default/aff')!.spec.sessionAffinityConfig).toEqual({
      clientIP: { timeoutSeconds: 10800 },
    });
    const lb = model.services.get('default/lb')!.spec;
    expect([
      lb.ports[0]!.nodePort,
      lb.healthCheckNodePort,
      lb.allocateLoadBalancerNodePorts,
    ]).toEqual([30000, 30002, true]);
    const ext = model.services.get('default/ext')!.spec;
    expect([ext.clusterIP, ext.internalTrafficPolicy]).toEqual([undefined, undefined]);
  });

  it('allocates clusterIPs: kubernetes first, kube-dns tenth, the rest from the eleventh in order, skipping taken', () => {
    const { model, diagnostics } = build(
      CLUSTER +
        svc('b', 'two', '  ports: [{port: 80}]\n') +
        svc('a', 'one', '  ports: [{port: 80}]\n') +
        svc('a', 'fixed', '  clusterIP: 10.96.0.11\n  ports: [{port: 80}]\n') +
        svc(
          'kube-system',
          'kube-dns',
          '  selector: {k8s-app: kube-dns}\n  ports: [{name: dns, port: 53, protocol: UDP}]\n',
          ', uid: u',
        ) +
        svc('c', 'headless', '  clusterIP: None\n  ports: [{port: 80}]\n'),
    );
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(
      [...model.services.values()].map(
        (s) => `${s.metadata.namespace}/${s.metadata.name}=${s.spec.clusterIP}`,
      ),
    ).toEqual([
      'a/fixed=10.96.0.11',
      'a/one=10.96.0.12',
      'b/two=10.96.0.13',
      'c/headless=None',
      'default/kubernetes=10.96.0.1',
      'kube-system/kube-dns=10.96.0.10',
    ]);
    expect([...model.servicesByClusterIP.keys()].sort()).toEqual([
      '10.96.0.1',
      '10.96.0.10',
      '10.96.0.11',
      '10.96.0.12',
      '10.96.0.13',
    ]);
    expect(
      model.defaults.find(
        (d) => d.object === 'Service kube-system/kube-dns' && d.field === 'spec.clusterIP',
      )!.reason,
    ).toBe(
      "kubeadm gives the DNS Service the tenth address of the serviceCIDR (the kubelet's clusterDNS)",
    );
  });

  it('allocates node ports from 30000 in order, skipping taken ones, one per port number across protocols', () => {
    const { model, diagnostics } = build(
      CLUSTER +
        svc(
          'default',
          'b',
          '  type: NodePort\n  ports: [{name: a, port: 53, protocol: UDP}, {name: b, port: 53, protocol: TCP}]\n',
        ) +
        svc(
          'default',
          'a',
          '  type: NodePort\n  ports: [{name: a, port: 80}, {name: b, port: 443, nodePort: 30001}]\n',
        ),
    );
    expect(diagnostics).toEqual([]);
    expect(model.services.get('default/a')!.spec.ports.map((p) => p.nodePort)).toEqual([
      30000, 30001,
    ]);
    expect(model.services.get('default/b')!.spec.ports.map((p) => p.nodePort)).toEqual([
      30002, 30002,
    ]);
  });

  it('creates default/kubernetes, with its endpoint on the control-plane node', () => {
    const { model } = build(
      CLUSTER +
        node('a') +
        'apiVersion: v1\nkind: Node\nmetadata: {name: cp, labels: {node-role.kubernetes.io/control-plane: ""}}\n',
    );
    const k = model.services.get('default/kubernetes')!;
    expect(k.spec.ports).toEqual([{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }]);
    expect(k.spec.clusterIP).toBe('10.96.0.1');
    expect(model.slicesByService.get('default/kubernetes')).toEqual([
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: 'kubernetes',
          namespace: 'default',
          labels: { 'kubernetes.io/service-name': 'kubernetes' },
        },
        addressType: 'IPv4',
        endpoints: [
          {
            addresses: ['192.168.1.11'],
            conditions: { ready: true, serving: true, terminating: false },
          },
        ],
        ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
      },
    ]);
    expect(defaultsOf(model, 'EndpointSlice default/kubernetes')).toEqual({
      endpoints: '192.168.1.11:6443',
    });
  });

  const cases: [string, string, string[]][] = [
    [
      'clusterIP outside the serviceCIDR',
      svc('default', 's', '  clusterIP: 10.0.0.10\n  ports: [{port: 80}]\n'),
      [
        'c.yaml:13: document 2: Service default/s: field spec.clusterIP: error: clusterIP 10.0.0.10 is not a usable address of the serviceCIDR 10.96.0.0/12 [k8s-ip-out-of-range]',
      ],
    ],
    [
      'duplicate clusterIPs',
      svc('default', 'a', '  clusterIP: 10.96.5.5\n  ports: [{port: 80}]\n') +
        svc('default', 'b', '  clusterIP: 10.96.5.5\n  ports: [{port: 80}]\n'),
      [
        "c.yaml:20: document 3: Service default/b: field spec.clusterIP: error: clusterIP 10.96.5.5 is also Service default/a's [k8s-duplicate-cluster-ip]",
      ],
    ],
    [
      'the first service address belongs to the kubernetes Service',
      svc('default', 's', '  clusterIP: 10.96.0.1\n  ports: [{port: 80}]\n'),
      [
        "c.yaml:13: document 2: Service default/s: field spec.clusterIP: error: clusterIP 10.96.0.1 is the kubernetes Service's: the API server takes the first address of the serviceCIDR [k8s-duplicate-cluster-ip]",
      ],
    ],
    [
      'the tenth address taken from kube-dns',
      svc('default', 's', '  clusterIP: 10.96.0.10\n  ports: [{port: 80}]\n') +
        svc('kube-system', 'kube-dns', '  ports: [{port: 53, protocol: UDP}]\n'),
      [
        "c.yaml:19: document 3: Service kube-system/kube-dns: field spec.clusterIP: warning: the tenth address 10.96.0.10, which kubeadm reserves for kube-dns and puts in every pod's resolv.conf, is taken by Service default/s [k8s-dns-address-taken]",
      ],
    ],
    [
      'nodePort outside the range',
      svc('default', 's', '  type: NodePort\n  ports: [{port: 80, nodePort: 8080}]\n'),
      [
        'c.yaml:14: document 2: Service default/s: field spec.ports[0].nodePort: warning: nodePort 8080 is outside the node port range 30000–32767; kept as given (the API server that accepted it ran with another --service-node-port-range) [k8s-node-port-range]',
      ],
    ],
    [
      'duplicate nodePort',
      svc('default', 'a', '  type: NodePort\n  ports: [{port: 80, nodePort: 30080}]\n') +
        svc('default', 'b', '  type: NodePort\n  ports: [{port: 80, nodePort: 30080}]\n'),
      [
        'c.yaml:21: document 3: Service default/b: field spec.ports[0].nodePort: error: nodePort 30080 is already used by Service default/a [k8s-duplicate-node-port]',
      ],
    ],
    [
      'selector matching nothing (hand-written)',
      svc('default', 's', '  selector: {app: nope}\n  ports: [{port: 80}]\n'),
      [
        'c.yaml:13: document 2: Service default/s: field spec.selector: warning: selector app=nope matches no pod in namespace default, so the Service has no endpoints and kube-proxy rejects its connections [k8s-service-selects-nothing]',
      ],
    ],
    [
      'selector matching nothing (from a cluster dump)',
      svc('default', 's', '  selector: {app: nope}\n  ports: [{port: 80}]\n', ', uid: "1234"'),
      [
        'c.yaml:13: document 2: Service default/s: field spec.selector: warning: selector app=nope matches no pod in namespace default, so the Service has no endpoints and kube-proxy rejects its connections [k8s-service-selects-nothing]',
      ],
    ],
  ];
  it.each(cases)('%s', (_name, text, want) => {
    expect(lines(build(CLUSTER + text).diagnostics)).toEqual(want);
  });
});

describe('buildModel: EndpointSlices', () => {
  const base =
    CLUSTER +
    node(
      'n1',
      'spec: {podCIDR: 10.244.1.0/24}\nmetadata: {name: n1, labels: {topology.kubernetes.io/zone: z1}}\n'.replace(
        'metadata: {name: n1, labels: {topology.kubernetes.io/zone: z1}}\n',
        '',
      ),
    );
  it('derives slices like the EndpointSlice controller: named ports per pod, conditions, split by port mapping', () => {
    const { model, diagnostics } = build(
      base +
        pod(
          'shop',
          'a',
          'n1',
          'app: web',
          '    ports: [{name: http, containerPort: 8080}]\nstatus: {podIP: 10.244.1.10}\n',
        ) +
        pod(
          'shop',
          'b',
          'n1',
          'app: web',
          '    ports: [{name: http, containerPort: 9090}]\nstatus: {podIP: 10.244.1.11, conditions: [{type: Ready, status: "False"}]}\n',
        ) +
        pod(
          'shop',
          'c',
          'n1',
          'app: web',
          '    ports: [{name: http, containerPort: 8080}]\nstatus: {podIP: 10.244.1.12}\n',
        ).replace(
          'metadata: {name: c, namespace: shop,',
          'metadata: {deletionTimestamp: "2026-01-01T00:00:00Z", name: c, namespace: shop,',
        ) +
        pod(
          'shop',
          'd',
          'n1',
          'app: web',
          '    ports: [{name: http, containerPort: 8080, protocol: UDP}]\nstatus: {podIP: 10.244.1.13}\n',
        ) +
        pod(
          'shop',
          'other',
          'n1',
          'app: db',
          '    ports: [{name: http, containerPort: 8080}]\nstatus: {podIP: 10.244.1.14}\n',
        ) +
        svc(
          'shop',
          'web',
          '  selector: {app: web}\n  ports: [{name: web, port: 80, targetPort: http}]\n',
          ', labels: {tier: front}',
        ),
    );
    expect(diagnostics).toEqual([]);
    const ep = (
      name: string,
      ip: string,
      ready: boolean,
      serving: boolean,
      terminating: boolean,
    ) => ({
      addresses: [ip],
      conditions: { ready, serving, terminating },
      nodeName: 'n1',
      targetRef: { kind: 'Pod', namespace: 'shop', name },
    });
    const meta = (i: number) => ({
      name: `web-derived-${i}`,
      namespace: 'shop',
      labels: {
        tier: 'front',
        'kubernetes.io/service-name': 'web',
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
      },
    });
    expect(model.slicesByService.get('shop/web')).toEqual([
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: meta(0),
        addressType: 'IPv4',
        endpoints: [
          ep('a', '10.244.1.10', true, true, false),
          ep('c', '10.244.1.12', false, true, true),
        ],
        ports: [{ name: 'web', port: 8080, protocol: 'TCP' }],
      },
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: meta(1),
        addressType: 'IPv4',
        endpoints: [ep('b', '10.244.1.11', false, false, false)],
        ports: [{ name: 'web', port: 9090, protocol: 'TCP' }],
      },
      {
        // d names its port http but for UDP: findPort needs the protocol too, so no port.
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: meta(2),
        addressType: 'IPv4',
        endpoints: [ep('d', '10.244.1.13', true, true, false)],
        ports: [],
      },
    ]);
  });

  it('publishNotReadyAddresses makes every endpoint ready; more than 100 endpoints split', () => {
    let text =
      CLUSTER +
      node('n1', 'spec: {podCIDR: 10.244.0.0/16}\n').replace('10.244.0.0/16}', '10.244.0.0/16}');
    text =
      CLUSTER.replace('nodeCIDRMaskSize', 'x') +
      'apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nspec: {podCIDR: 10.244.0.0/23}\n---\n';
    for (let i = 0; i < 150; i++)
      text += pod(
        'default',
        `p${String(i).padStart(3, '0')}`,
        'n1',
        'app: x',
        'status: {conditions: [{type: Ready, status: "False"}]}\n',
      );
    text += svc(
      'default',
      'x',
      '  publishNotReadyAddresses: true\n  selector: {app: x}\n  ports: [{port: 80}]\n',
    );
    const { model, diagnostics } = build(text);
    expect(diagnostics).toEqual([]);
    const slices = model.slicesByService.get('default/x')!;
    expect(slices.map((s) => s.endpoints.length)).toEqual([100, 50]);
    expect(
      slices
        .flatMap((s) => s.endpoints)
        .every((e) => e.conditions?.ready === true && e.conditions.serving === false),
    ).toBe(true);
  });

  it('warns when no selected pod has the named targetPort', () => {
    const { diagnostics } = build(
      base +
        pod('default', 'a', 'n1', 'app: a', '    ports: [{containerPort: 80}]\n') +
        svc('default', 's', '  selector: {app: a}\n  ports: [{port: 80, targetPort: http}]\n'),
    );
    expect(lines(diagnostics)).toEqual([
      'c.yaml:28: document 4: Service default/s: field spec.ports[0].targetPort: warning: no pod selected by this Service has a TCP container port named "http", so port 80 has no endpoints [k8s-target-port-unresolved]',
    ]);
  });

  it('stands a pod in for given endpoints that no pod has, and warns about unknown nodes', () => {
    const { model, diagnostics } = build(
      base +
        svc('default', 'ext', '  ports: [{port: 80}]\n') +
        'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ext-1, namespace: default, labels: {kubernetes.io/service-name: ext}}\naddressType: IPv4\nendpoints:\n- addresses: [10.244.9.9]\n  nodeName: gone\n- addresses: [192.0.2.1]\nports: [{port: 80}]\n',
    );
    expect(lines(diagnostics)).toEqual([
      'c.yaml:26: document 4: EndpointSlice default/ext-1: field endpoints[0].nodeName: warning: endpoint is on node "gone", which is not defined [k8s-unknown-node]',
    ]);
    // 10.244.9.9 (pod network) gets a stand-in on the first node; 192.0.2.1 (outside) does not.
    const stand = model.podsByIP.get('10.244.9.9')!;
    expect([nsNameOf(stand), stand.spec.nodeName, stand.spec.containers[0]!.ports]).toEqual([
      'default/endpoint-10-244-9-9',
      'n1',
      [{ containerPort: 80, protocol: 'TCP' }],
    ]);
    expect(model.podsByIP.has('192.0.2.1')).toBe(false);
    expect(model.defaults.find((d) => d.object === 'Pod default/endpoint-10-244-9-9')!.reason).toBe(
      "stand-in: EndpointSlice default/ext-1 lists endpoint 10.244.9.9 and no Pod in the input has it; a pod at that address on the first node, n1 (the endpoint's node gone is not in the input), listening on the slice's ports",
    );
  });

  it('uses given slices and does not derive; mirrors Endpoints only for selector-less Services', () => {
    const { model, diagnostics } = build(
      base +
        pod('default', 'a', 'n1', 'app: a', 'status: {podIP: 10.244.1.5}\n') +
        svc('default', 'given', '  selector: {app: a}\n  ports: [{port: 80}]\n') +
        'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: given-abc, namespace: default, labels: {kubernetes.io/service-name: given}}\naddressType: IPv4\nendpoints: [{addresses: [10.244.1.99]}]\nports: [{port: 80}]\n---\n' +
        svc('default', 'ext', '  ports: [{port: 5432}]\n') +
        'apiVersion: v1\nkind: Endpoints\nmetadata: {name: ext, namespace: default}\nsubsets: [{addresses: [{ip: 192.0.2.10}], ports: [{port: 5432}]}]\n---\n' +
        'apiVersion: v1\nkind: Endpoints\nmetadata: {name: given, namespace: default}\nsubsets: [{addresses: [{ip: 10.244.1.5}], ports: [{port: 80}]}]\n',
    );
    expect(model.slicesByService.get('default/given')!.map((s) => s.metadata.name)).toEqual([
      'given-abc',
    ]);
    expect(
      model.slicesByService
        .get('default/ext')!
        .map((s) => [s.metadata.name, s.endpoints[0]!.addresses[0]]),
    ).toEqual([['ext-mirrored-0', '192.0.2.10']]);
    expect(lines(diagnostics)).toEqual([
      "c.yaml:48: document 8: Endpoints default/given: info: Endpoints default/given ignored: kube-proxy reads EndpointSlices only, which packeteye derives from the Service's selector like the EndpointSlice controller [k8s-endpoints-ignored]",
    ]);
  });
});

describe('buildModel: cross-object checks', () => {
  const cases: [string, string, string[]][] = [
    [
      'overlapping cluster ranges',
      'apiVersion: packeteye.dev/v1alpha1\nkind: Cluster\nmetadata: {name: t}\nspec:\n  clusterCIDR: 10.0.0.0/8\n  serviceCIDR: 10.96.0.0/12\n',
      [
        'c.yaml:6: document 1: Cluster t: field spec.serviceCIDR: error: serviceCIDR 10.96.0.0/12 overlaps clusterCIDR 10.0.0.0/8 [k8s-cidr-overlap]',
      ],
    ],
    [
      'underlay overlapping pods',
      'apiVersion: packeteye.dev/v1alpha1\nkind: Cluster\nmetadata: {name: t}\nspec:\n  clusterCIDR: 10.244.0.0/16\n  underlay: {cidr: 10.244.0.0/24}\n',
      [
        'c.yaml:6: document 1: Cluster t: field spec.underlay.cidr: error: underlay.cidr 10.244.0.0/24 overlaps clusterCIDR 10.244.0.0/16 [k8s-cidr-overlap]',
      ],
    ],
    [
      'two Cluster objects',
      CLUSTER +
        'apiVersion: packeteye.dev/v1alpha1\nkind: Cluster\nmetadata: {name: u}\nspec: {}\n',
      [
        'c.yaml:9: document 2: Cluster u: error: a second Cluster object (the first is Cluster t at c.yaml:1); the objects describe more than one cluster [k8s-duplicate-cluster]',
      ],
    ],
    [
      'external host inside the pod network',
      CLUSTER +
        'apiVersion: packeteye.dev/v1alpha1\nkind: ExternalHost\nmetadata: {name: u}\nspec: {address: 10.244.3.3}\n',
      [
        "c.yaml:12: document 2: ExternalHost u: field spec.address: error: address 10.244.3.3 is inside the cluster's clusterCIDR 10.244.0.0/16 [k8s-cidr-overlap]",
      ],
    ],
  ];
  it.each(cases)('%s', (_name, text, want) => {
    expect(lines(build(text).diagnostics)).toEqual(want);
  });
});

describe('examples', () => {
  it('same-node.yaml (seed 002) loads with no errors', () => {
    const { model, diagnostics } = build(
      readFileSync('examples/same-node.yaml', 'utf8'),
      'examples/same-node.yaml',
    );
    expect(diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
    expect([...model.pods.values()].map((p) => [p.metadata.name, p.status.podIP])).toEqual([
      ['pod-a', '10.244.4.2'],
      ['pod-b', '10.244.4.40'],
    ]);
    expect(model.services.get('default/web')!.spec.clusterIP).toBe('10.96.0.11');
    expect(
      model.slicesByService.get('default/web')![0]!.endpoints.map((e) => e.addresses[0]),
    ).toEqual(['10.244.4.40']);
    expect(model.slicesByService.get('default/web')![0]!.ports).toEqual([
      { name: 'http', port: 80, protocol: 'TCP' },
    ]);
  });

  it('two-nodes.yaml (seed 003) loads with no errors', () => {
    const { model, diagnostics } = build(
      readFileSync('examples/two-nodes.yaml', 'utf8'),
      'examples/two-nodes.yaml',
    );
    expect(hasErrors(diagnostics)).toBe(false);
    expect(diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
    expect(model.cluster.cloud.provider).toBe('gce');
    const storeBe = model.slicesByService.get('default/store-be')!;
    expect(
      storeBe.flatMap((s) => s.endpoints.map((e) => `${e.addresses[0]}@${e.nodeName}/${e.zone}`)),
    ).toEqual([
      '10.11.0.9@node-1/europe-west1-b',
      '10.11.5.3@node-1/europe-west1-b',
      '10.11.8.67@node-2/europe-west1-b',
    ]);
    expect(model.services.get('default/store-be')!.spec.clusterIP).toBe('10.9.3.76');
    expect(model.services.get('kube-system/kube-dns')!.spec.clusterIP).toBe('10.9.0.10');
    const dns = model.slicesByService.get('kube-system/kube-dns')!;
    expect(dns.map((s) => [s.endpoints.map((e) => e.addresses[0]), s.ports])).toEqual([
      [
        ['10.11.0.3', '10.11.8.3'],
        [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          { name: 'metrics', port: 9153, protocol: 'TCP' },
        ],
      ],
    ]);
    expect([...model.externalHosts.keys()]).toEqual(['client', 'internet']);
    expect(model.pods.get('default/frontend')!.status.podIP).toBe('10.11.0.2');
  });

  it('the kubectl dump fixture builds with no errors', () => {
    const { model, diagnostics } = build(
      readFileSync('test/fixtures/k8s/kubectl-get-all.yaml', 'utf8'),
      'dump.yaml',
    );
    expect(hasErrors(diagnostics)).toBe(false);
    expect(model.cluster.underlay).toEqual({
      cidr: '172.18.0.0/24',
      gateway: '172.18.0.1',
      mtu: 1500,
    });
    expect(model.pods.get('kube-system/kube-proxy-4hx2m')!.status.podIP).toBe('172.18.0.2');
    expect(model.pods.has('shop/migrate-db-x7d2k')).toBe(false);
    expect(model.slicesByService.get('kube-system/kube-dns')!.map((s) => s.metadata.name)).toEqual([
      'kube-dns-5m8qh',
    ]);
    const web = model.slicesByService.get('shop/web')![0]!;
    expect(web.endpoints.map((e) => [e.addresses[0], e.conditions])).toEqual([
      ['10.244.1.5', { ready: true, serving: true, terminating: false }],
      ['10.244.1.6', { ready: false, serving: false, terminating: true }],
    ]);
    expect(web.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
  });
});

describe('scale', () => {
  it('5,000 pods, 50 nodes, 500 services build in well under the time a user waits', () => {
    const docs: unknown[] = [];
    for (let n = 0; n < 50; n++)
      docs.push({ apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${n}` } });
    for (let i = 0; i < 5000; i++) {
      docs.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `p-${i}`, namespace: `ns-${i % 10}`, labels: { app: `app-${i % 500}` } },
        spec: {
          nodeName: `node-${i % 50}`,
          containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }],
        },
      });
    }
    for (let s = 0; s < 500; s++) {
      docs.push({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `svc-${s}`, namespace: `ns-${s % 10}` },
        spec: { selector: { app: `app-${s}` }, ports: [{ port: 80, targetPort: 'http' }] },
      });
    }
    const text = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs });
    const { model, diagnostics } = build(text, 'big.json');
    expect(hasErrors(diagnostics)).toBe(false);
    expect(model.pods.size).toBe(5000);
    expect(model.podsByIP.size).toBe(5000);
    expect(
      [...model.slicesByService.values()].reduce(
        (n, l) => n + l.reduce((m, s) => m + s.endpoints.length, 0),
        0,
      ),
    ).toBe(5001);
  });
});

describe('buildModel never throws', () => {
  it('on random clusters drawn from small pools of colliding values', () => {
    const cidr = fc.constantFrom(
      '10.244.0.0/16',
      '10.96.0.0/12',
      '10.244.1.0/24',
      '10.0.0.0/8',
      '192.168.1.0/24',
      '10.1.0.0/31',
      '10.2.0.0/32',
      '10.3.0.0/30',
      '0.0.0.0/0',
    );
    const ip = fc.constantFrom(
      '10.244.1.2',
      '10.244.1.1',
      '10.96.0.1',
      '10.96.0.10',
      '192.168.1.1',
      '192.168.1.10',
      '10.1.0.1',
      '8.8.8.8',
      '10.244.1.255',
    );
    const name = fc.constantFrom('a', 'b', 'c', 'kubernetes', 'kube-dns');
    const ns = fc.constantFrom('default', 'kube-system', 'x');
    const labels = fc.dictionary(fc.constantFrom('app', 'role'), fc.constantFrom('a', 'b'), {
      maxKeys: 2,
    });
    const port = fc.constantFrom(53, 80, 8080, 30000, 32767);
    const target = fc.oneof(port, fc.constantFrom('http', 'dns'));
    const cluster = fc.record(
      {
        apiVersion: fc.constant('packeteye.dev/v1alpha1'),
        kind: fc.constant('Cluster'),
        metadata: fc.record({ name }),
        spec: fc.record(
          {
            clusterCIDR: cidr,
            serviceCIDR: cidr,
            nodeCIDRMaskSize: fc.integer({ min: 8, max: 30 }),
            underlay: fc.record({ cidr, gateway: ip }, { requiredKeys: [] }),
            cni: fc.record({ plugin: fc.constantFrom('bridge', 'calico', 'flannel') }),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ['apiVersion', 'kind', 'metadata'] },
    );
    const nodeObj = fc.record({
      apiVersion: fc.constant('v1'),
      kind: fc.constant('Node'),
      metadata: fc.record({ name }),
      spec: fc.record({ podCIDR: cidr }, { requiredKeys: [] }),
      status: fc.record({
        addresses: fc.array(
          fc.record({ type: fc.constantFrom('InternalIP', 'ExternalIP'), address: ip }),
          { maxLength: 2 },
        ),
      }),
    });
    const podObj = fc.record({
      apiVersion: fc.constant('v1'),
      kind: fc.constant('Pod'),
      metadata: fc.record({ name, namespace: ns, labels }),
      spec: fc.record(
        {
          nodeName: name,
          hostNetwork: fc.boolean(),
          containers: fc.constant([
            {
              name: 'c',
              ports: [
                { name: 'http', containerPort: 8080 },
                { name: 'dns', containerPort: 53, protocol: 'UDP', hostPort: 53 },
              ],
            },
          ]),
        },
        { requiredKeys: ['containers'] },
      ),
      status: fc.record(
        { podIP: ip, phase: fc.constantFrom('Running', 'Succeeded') },
        { requiredKeys: [] },
      ),
    });
    const svcObj = fc.record({
      apiVersion: fc.constant('v1'),
      kind: fc.constant('Service'),
      metadata: fc.record({ name, namespace: ns }),
      spec: fc.record(
        {
          type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'),
          externalName: fc.constant('x.example.com'),
          clusterIP: fc.oneof(ip, fc.constant('None')),
          selector: labels,
          externalTrafficPolicy: fc.constantFrom('Cluster', 'Local'),
          ports: fc.array(
            fc.record(
              {
                name: fc.constantFrom('p', 'q', 'r'),
                port,
                targetPort: target,
                protocol: fc.constantFrom('TCP', 'UDP'),
                nodePort: fc.constantFrom(30000, 30001, 32767),
              },
              { requiredKeys: ['port'] },
            ),
            { minLength: 1, maxLength: 3 },
          ),
        },
        { requiredKeys: ['ports'] },
      ),
    });
    const obj = fc.oneof(cluster, nodeObj, nodeObj, podObj, podObj, podObj, svcObj, svcObj);
    fc.assert(
      fc.property(fc.array(obj, { maxLength: 14 }), (objs) => {
        const { model, diagnostics } = build(
          JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs }),
          'f.json',
        );
        for (const d of diagnostics) expect(typeof d.message).toBe('string');
        // Whatever the input, allocated addresses are never shared.
        const ips = [...model.pods.values()]
          .filter((p) => !p.spec.hostNetwork)
          .map((p) => p.status.podIP);
        if (!hasErrors(diagnostics)) expect(new Set(ips).size).toBe(ips.length);
      }),
      { numRuns: 400, seed: 11 },
    );
  });
});

describe('buildModel: more', () => {
  it('implies nodes from a dump without Node objects (kubectl get all), with a warning', () => {
    const text = readFileSync('test/fixtures/k8s/kubectl-get-all.yaml', 'utf8').replace(
      /kind: Node\n/g,
      'kind: NodeGone\n',
    );
    const { model, diagnostics } = build(text, 'dump.yaml');
    expect(hasErrors(diagnostics)).toBe(false);
    expect(lines(diagnostics.filter((d) => d.code === 'k8s-node-implied'))).toEqual([
      'dump.yaml:277: document 1: Pod kube-system/coredns-6f6b679f8f-7xkqz: field spec.nodeName: warning: Node kind-control-plane is not in the input; implied from its pods (InternalIP 172.18.0.3, podCIDR 10.244.0.0/24) [k8s-node-implied]',
      'dump.yaml:394: document 1: Pod kube-system/kube-proxy-4hx2m: field spec.nodeName: warning: Node kind-worker is not in the input; implied from its pods (InternalIP 172.18.0.2, podCIDR 10.244.1.0/24) [k8s-node-implied]',
    ]);
    expect(
      [...model.nodes.values()].map((n) => [
        n.metadata.name,
        n.spec.podCIDR,
        n.status.addresses[0]!.address,
      ]),
    ).toEqual([
      ['kind-control-plane', '10.244.0.0/24', '172.18.0.3'],
      ['kind-worker', '10.244.1.0/24', '172.18.0.2'],
    ]);
  });

  it('hand-written pods on a node the Nodes given do not include are an error', () => {
    const { diagnostics } = build(CLUSTER + node('n2') + pod('default', 'a', 'n1', 'app: a'));
    expect(diagnostics.map((d) => d.code)).toEqual(['k8s-pod-unknown-node']);
  });

  it('with no Node at all, the nodes pods name are implied (a hostNetwork pod gives its address)', () => {
    const { model, diagnostics } = build(
      CLUSTER +
        pod('default', 'a', 'n1', 'app: a') +
        pod('default', 'h', 'n1', 'app: h', 'status: {podIP: 192.168.1.30}\n').replace(
          'spec:\n',
          'spec:\n  hostNetwork: true\n',
        ),
    );
    expect(diagnostics.map((d) => d.code)).toEqual(['k8s-node-implied']);
    expect(model.nodes.get('n1')!.status.addresses).toEqual([
      { type: 'InternalIP', address: '192.168.1.30' },
    ]);
    expect(model.pods.get('default/h')!.status.podIP).toBe('192.168.1.30');
  });

  const cases: [string, string, string[]][] = [
    [
      'calico pod IPs need only be in the clusterCIDR',
      CLUSTER.replace('spec:\n', 'spec:\n  cni: {plugin: calico}\n') +
        node('n1', 'spec: {podCIDR: 10.244.1.0/24}\n') +
        pod('default', 'a', 'n1', 'app: a', 'status: {podIP: 10.244.7.2}\n') +
        pod('default', 'b', 'n1', 'app: b', 'status: {podIP: 10.9.0.1}\n'),
      [
        'c.yaml:31: document 4: Pod default/b: field status.podIP: warning: pod IP 10.9.0.1 is outside the clusterCIDR 10.244.0.0/16; kept as given, but no node routes it as a pod address [k8s-ip-out-of-range]',
      ],
    ],
    [
      'AdminNetworkPolicy priority ties',
      'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: b}\nspec: {priority: 5, subject: {namespaces: {}}}\n---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec: {priority: 5, subject: {namespaces: {}}}\n',
      [
        'c.yaml:4: document 1: AdminNetworkPolicy b: field spec.priority: warning: priority 5 is also used by AdminNetworkPolicy a; their order is undefined [k8s-anp-priority-tie]',
      ],
    ],
    [
      'Ingress backend Service missing',
      'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec:\n  rules:\n  - http:\n      paths:\n      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n',
      [
        'c.yaml:8: document 1: Ingress default/i: field spec.rules[0].http.paths[0].backend.service.name: warning: backend Service default/web does not exist [k8s-ingress-unknown-service]',
      ],
    ],
    [
      'healthCheckNodePort without ETP Local',
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: LoadBalancer, healthCheckNodePort: 30500, ports: [{port: 80}]}\n',
      [
        'c.yaml:4: document 1: Service default/s: field spec.healthCheckNodePort: warning: healthCheckNodePort is only for LoadBalancer Services with externalTrafficPolicy Local; ignored, as kube-proxy ignores it [k8s-invalid-value]',
      ],
    ],
    [
      'underlay gateway outside the underlay',
      'apiVersion: packeteye.dev/v1alpha1\nkind: Cluster\nmetadata: {name: t}\nspec:\n  underlay: {cidr: 192.168.1.0/24, gateway: 192.168.2.1}\n',
      [
        'c.yaml:5: document 1: Cluster t: field spec.underlay.gateway: error: gateway 192.168.2.1 is not a host address of the underlay 192.168.1.0/24 [k8s-ip-out-of-range]',
      ],
    ],
    [
      'podCIDR range exhausted',
      'apiVersion: packeteye.dev/v1alpha1\nkind: Cluster\nmetadata: {name: t}\nspec: {clusterCIDR: 10.244.0.0/24}\n---\n' +
        node('a') +
        node('b'),
      [
        'c.yaml:10: document 3: Node b: field spec.podCIDR: error: no free /24 left in the clusterCIDR 10.244.0.0/24 for this node [k8s-range-exhausted]',
      ],
    ],
    [
      'pods of a node that could not be modelled',
      'apiVersion: packeteye.dev/v1alpha1\nkind: Cluster\nmetadata: {name: t}\nspec: {clusterCIDR: 10.244.0.0/24}\n---\n' +
        node('a') +
        node('b') +
        pod('default', 'p', 'b', 'app: p'),
      [
        'c.yaml:10: document 3: Node b: field spec.podCIDR: error: no free /24 left in the clusterCIDR 10.244.0.0/24 for this node [k8s-range-exhausted]',
        'c.yaml:18: document 4: Pod default/p: field spec.nodeName: info: pod left out: node b could not be modelled (see its error) [k8s-pod-node-unusable]',
      ],
    ],
  ];
  it.each(cases)('%s', (_name, text, want) => {
    expect(lines(build(text).diagnostics)).toEqual(want);
  });

  it('LoadBalancer with allocateLoadBalancerNodePorts false gets no node ports', () => {
    const { model } = build(
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: LoadBalancer, allocateLoadBalancerNodePorts: false, ports: [{port: 80}]}\n',
    );
    expect(model.services.get('default/s')!.spec.ports[0]!.nodePort).toBeUndefined();
  });
});

describe('formatDefault', () => {
  it('prints one line per invented value', () => {
    const { model } = build(readFileSync('examples/same-node.yaml', 'utf8'));
    expect(model.defaults.map(formatDefault)).toContain(
      'Service default/web: spec.clusterIP = 10.96.0.11 (no clusterIP; the API server picks a free serviceCIDR address at random, packeteye the lowest free one from the eleventh, in namespace/name order)',
    );
  });
});

describe('scale: nodes', () => {
  it('3,000 nodes, every other one with a podCIDR, get distinct /24s quickly', () => {
    const items: unknown[] = [
      {
        apiVersion: 'packeteye.dev/v1alpha1',
        kind: 'Cluster',
        metadata: { name: 'big' },
        spec: {
          clusterCIDR: '10.0.0.0/8',
          serviceCIDR: '172.20.0.0/16',
          underlay: { cidr: '172.16.0.0/16' },
        },
      },
    ];
    for (let n = 0; n < 3000; n++) {
      const name = `node-${String(n).padStart(4, '0')}`;
      items.push({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name },
        ...(n % 2 === 0 ? { spec: { podCIDR: `10.${(n * 7) >> 8}.${(n * 7) & 255}.0/24` } } : {}),
      });
    }
    const { model, diagnostics } = build(
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
      'nodes.json',
    );
    expect(diagnostics).toEqual([]);
    const cidrs = [...model.nodes.values()].map((n) => n.spec.podCIDR);
    expect(new Set(cidrs).size).toBe(3000);
    expect(model.nodes.get('node-0001')!.spec.podCIDR).toBe('10.0.1.0/24');
  });
});

import { describe, expect, it } from 'vitest';
import { loadCluster } from '../k8s/index.js';
import { generateIptablesRules } from './iptables.js';
import { proxierFlagsFor } from './cluster.js';
import { proxyNodeKeys } from './node-key.js';

/** Three nodes (two in zone a), each with one endpoint of Service `svc` of the given spec. */
function cluster(svcSpec: string, opts: { annotations?: string; cluster?: string } = {}): string {
  const nodes = [1, 2, 3]
    .map(
      (n) => `---
apiVersion: v1
kind: Node
metadata: {name: n${n}, labels: {topology.kubernetes.io/zone: ${n === 3 ? 'b' : 'a'}}}
spec: {podCIDR: 10.244.${n}.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.${n}}]}
`,
    )
    .join('');
  return `${nodes}---
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: default${opts.annotations ? `, annotations: ${opts.annotations}` : ''}}
spec: ${svcSpec}
---
apiVersion: v1
kind: Service
metadata: {name: plain, namespace: default}
spec: {clusterIP: 10.96.0.20, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc-1, namespace: default, labels: {kubernetes.io/service-name: svc}}
addressType: IPv4
ports: [{port: 8080}]
endpoints:
- {addresses: [10.244.1.5], nodeName: n1, hints: {forZones: [{name: a}]}}
- {addresses: [10.244.2.5], nodeName: n2, hints: {forZones: [{name: a}]}}
- {addresses: [10.244.3.5], nodeName: n3, hints: {forZones: [{name: b}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: plain-1, namespace: default, labels: {kubernetes.io/service-name: plain}}
addressType: IPv4
ports: [{port: 8080}]
endpoints:
- {addresses: [10.244.1.6], nodeName: n1}
- {addresses: [10.244.2.6], nodeName: n2}
- {addresses: [10.244.3.6], nodeName: n3}
${opts.cluster ? `---\napiVersion: packeteye.dev/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: ${opts.cluster}\n` : ''}`;
}

/** Per node: its key and its rules. */
function perNode(text: string): { node: string; key: string; rules: string }[] {
  const { model } = loadCluster([{ path: 'c.yaml', text }]);
  const services = [...model.services.values()];
  const keyOf = proxyNodeKeys(services, model.endpointSlices);
  return [...model.nodes.values()].map((node) => {
    const input = {
      ...proxierFlagsFor(model.cluster, node),
      nodeName: node.metadata.name,
      nodeIPs: node.status.addresses.filter((a) => a.type === 'InternalIP').map((a) => a.address),
      ...(node.metadata.labels ? { nodeLabels: node.metadata.labels } : {}),
    };
    const rules = generateIptablesRules({
      ...input,
      services,
      endpointSlices: model.endpointSlices,
    }).text;
    return { node: node.metadata.name, key: keyOf(input), rules };
  });
}

describe('proxyNodeKeys: nodes with one key get the same rules', () => {
  const cases: { name: string; text: string; groups: string[][] }[] = [
    {
      name: 'Cluster traffic policies and NodePorts on every address: the node IPs are not read',
      text: cluster(
        '{type: NodePort, clusterIP: 10.96.0.10, ports: [{port: 80, targetPort: 8080, nodePort: 30080}]}',
      ),
      groups: [['n1', 'n2', 'n3']],
    },
    {
      name: '--nodeport-addresses primary: each node its own node port rules',
      text: cluster(
        '{type: NodePort, clusterIP: 10.96.0.10, ports: [{port: 80, targetPort: 8080, nodePort: 30080}]}',
        { cluster: '{kubeProxy: {nodePortAddresses: [primary]}}' },
      ),
      groups: [['n1'], ['n2'], ['n3']],
    },
    {
      name: 'loadBalancerSourceRanges holding one node IP: that node apart',
      text: cluster(
        '{type: LoadBalancer, clusterIP: 10.96.0.10, loadBalancerSourceRanges: [192.168.1.1/32], ports: [{port: 80, targetPort: 8080, nodePort: 30080}]}',
      ),
      groups: [['n1'], ['n2'], ['n3']],
    },
    {
      name: 'externalTrafficPolicy Local: each node its own local endpoint',
      text: cluster(
        '{type: NodePort, externalTrafficPolicy: Local, clusterIP: 10.96.0.10, ports: [{port: 80, targetPort: 8080, nodePort: 30080}]}',
      ),
      groups: [['n1'], ['n2'], ['n3']],
    },
    {
      name: 'internalTrafficPolicy Local',
      text: cluster(
        '{internalTrafficPolicy: Local, clusterIP: 10.96.0.10, ports: [{port: 80, targetPort: 8080}]}',
      ),
      groups: [['n1'], ['n2'], ['n3']],
    },
    {
      name: 'topology hints: the zone is read, nodes of a zone share a key',
      text: cluster('{clusterIP: 10.96.0.10, ports: [{port: 80, targetPort: 8080}]}', {
        annotations: '{service.kubernetes.io/topology-mode: Auto}',
      }),
      groups: [['n1', 'n2'], ['n3']],
    },
    {
      name: 'externalTrafficPolicy Local, one node IP: every node its own key still',
      text: cluster(
        '{type: NodePort, externalTrafficPolicy: Local, clusterIP: 10.96.0.10, ports: [{port: 80, targetPort: 8080, nodePort: 30080}]}',
      ).replace(/address: 192\.168\.1\.\d/g, 'address: 192.168.1.9'),
      groups: [['n1'], ['n2'], ['n3']],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const rows = perNode(c.text);
      for (const a of rows)
        for (const b of rows)
          if (a.key === b.key) expect(a.rules, `${a.node}/${b.node}`).toBe(b.rules);
      const groups = new Map<string, string[]>();
      for (const r of rows) groups.set(r.key, [...(groups.get(r.key) ?? []), r.node]);
      expect([...groups.values()]).toEqual(c.groups);
    });
  }

  it('nodes that differ only in what kube-proxy does not read share a key', () => {
    // NodePort-free Services with Cluster policies, and a --nodeport-addresses range that
    // leaves the node IPs out of the rules: the nodes' names, zones and endpoints do not matter.
    const rows = perNode(
      cluster('{clusterIP: 10.96.0.10, ports: [{port: 80, targetPort: 8080}]}').replace(
        /address: 192\.168\.1\.\d/g,
        'address: 192.168.1.9',
      ),
    );
    expect(new Set(rows.map((r) => r.key)).size).toBe(1);
    expect(new Set(rows.map((r) => r.rules)).size).toBe(1);
  });

  it('a node key differs from another whenever the rules differ (NodeCIDR local detection)', () => {
    const rows = perNode(
      cluster('{clusterIP: 10.96.0.10, ports: [{port: 80, targetPort: 8080}]}', {
        cluster: '{kubeProxy: {detectLocalMode: NodeCIDR}}',
      }).replace(/address: 192\.168\.1\.\d/g, 'address: 192.168.1.9'),
    );
    expect(new Set(rows.map((r) => r.rules)).size).toBe(3);
    expect(new Set(rows.map((r) => r.key)).size).toBe(3);
  });
});

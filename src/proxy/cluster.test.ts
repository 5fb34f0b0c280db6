import { describe, expect, it } from 'vitest';
import { loadCluster } from '../k8s/index.js';
import { generateIptablesRules } from './iptables.js';
import { masqueradeMarkOf, proxierFlagsFor } from './cluster.js';

const BASE = `
apiVersion: v1
kind: Node
metadata: {name: n1}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.10}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: NodePort
  clusterIP: 10.96.0.10
  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: 8080}]
endpoints: [{addresses: [10.244.1.5], nodeName: n1}]
`;

/** kube-proxy's rules on n1 for BASE under a Cluster with this `spec.kubeProxy` (YAML flow map). */
function rules(kubeProxy: string): { text: string; errors: string[] } {
  const cluster = `---
apiVersion: packeteye.dev/v1alpha1
kind: Cluster
metadata: {name: c}
spec: {kubeProxy: ${kubeProxy}}
`;
  const { model, diagnostics } = loadCluster([{ path: 'c.yaml', text: BASE + cluster }]);
  const errors = diagnostics.filter((d) => d.severity === 'error').map((d) => d.code);
  const node = model.nodes.get('n1')!;
  const out = generateIptablesRules({
    ...proxierFlagsFor(model.cluster, node),
    nodeName: 'n1',
    nodeIPs: ['192.168.1.10'],
    services: [...model.services.values()],
    endpointSlices: model.endpointSlices,
  });
  return { text: out.text, errors };
}

const SVC_MASQ =
  '-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 80';

describe('Cluster spec.kubeProxy as kube-proxy applies it', () => {
  const cases: { name: string; kubeProxy: string; has: string[]; hasNot: string[] }[] = [
    {
      name: 'default: ClusterCIDR detector with the cluster CIDR, mark 0x4000, --random-fully',
      kubeProxy: '{}',
      has: [
        `${SVC_MASQ} ! -s 10.244.0.0/16`,
        '-A KUBE-MARK-MASQ -j MARK --or-mark 0x004000',
        '-j MASQUERADE --random-fully',
        '-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
      ],
      hasNot: [],
    },
    {
      name: 'kube-proxy without --cluster-cidr: no local-traffic detector',
      kubeProxy: '{clusterCIDR: ""}',
      has: [],
      hasNot: [`${SVC_MASQ} ! -s`],
    },
    {
      name: "kube-proxy's own --cluster-cidr",
      kubeProxy: '{clusterCIDR: 10.244.0.0/17}',
      has: [`${SVC_MASQ} ! -s 10.244.0.0/17`],
      hasNot: [],
    },
    {
      name: 'NodeCIDR: the node podCIDR',
      kubeProxy: '{detectLocalMode: NodeCIDR}',
      has: [`${SVC_MASQ} ! -s 10.244.1.0/24`],
      hasNot: ['! -s 10.244.0.0/16'],
    },
    {
      name: 'BridgeInterface',
      kubeProxy: '{detectLocalMode: BridgeInterface, detectLocal: {bridgeInterface: cbr0}}',
      has: [`${SVC_MASQ} ! -i cbr0`],
      hasNot: ['! -s 10.244.0.0/16'],
    },
    {
      name: 'InterfaceNamePrefix',
      kubeProxy: '{detectLocalMode: InterfaceNamePrefix, detectLocal: {interfaceNamePrefix: veth}}',
      has: [`${SVC_MASQ} ! -i veth+`],
      hasNot: [],
    },
    {
      name: 'masqueradeBit 15, no --random-fully, masqueradeAll',
      kubeProxy: '{masqueradeBit: 15, randomFully: false, masqueradeAll: true}',
      has: [
        '-A KUBE-MARK-MASQ -j MARK --or-mark 0x008000',
        '-A KUBE-POSTROUTING -m mark ! --mark 0x008000/0x008000 -j RETURN',
        `${SVC_MASQ} -j KUBE-MARK-MASQ`,
      ],
      hasNot: ['--random-fully'],
    },
    {
      name: 'nodePortAddresses: only the primary address',
      kubeProxy: '{nodePortAddresses: [primary]}',
      has: ['-d 192.168.1.10 -j KUBE-NODEPORTS'],
      hasNot: ['--dst-type LOCAL -j KUBE-NODEPORTS'],
    },
    {
      name: 'what-if: no masquerade for the Service external traffic',
      kubeProxy: '{whatIf: {noExternalMasquerade: [default/web]}}',
      has: ['-A KUBE-EXT-LOLE4ISW44XBNF3G -j KUBE-SVC-LOLE4ISW44XBNF3G'],
      hasNot: ['masquerade traffic for default/web external destinations'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { text, errors } = rules(c.kubeProxy);
      expect(errors).toEqual([]);
      for (const s of c.has) expect(text).toContain(s);
      for (const s of c.hasNot) expect(text).not.toContain(s);
    });
  }

  it.each([
    ['{detectLocalMode: BridgeInterface}', 'k8s-required'],
    ['{detectLocalMode: Foo}', 'k8s-invalid-value'],
    ['{masqueradeBit: 32}', 'k8s-invalid-value'],
    ['{nodePortAddresses: [10.0.0.300/8]}', 'k8s-invalid-cidr'],
    ['{whatIf: {noExternalMasquerade: [web]}}', 'k8s-invalid-value'],
  ])('%s is an error (%s)', (kp, code) => {
    expect(rules(kp).errors).toContain(code);
  });

  it.each([
    [14, '0x004000'],
    [15, '0x008000'],
    [0, '0x000001'],
    [31, '0x80000000'],
  ])('masquerade bit %i prints as %s', (bit, mark) => expect(masqueradeMarkOf(bit)).toBe(mark));
});

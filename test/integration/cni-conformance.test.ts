/**
 * One conformance suite for every CNI plugin behind `CniPlugin`: whatever
 * the plugin builds, a pod reaches a pod on its node and on the other node
 * without NAT, and a Service's reply comes back un-DNATed from the Service
 * address. Each configuration is a small two-node cluster traced end to end.
 */
import { describe, expect, it } from 'vitest';
import { loadDocuments } from '../../src/k8s/load.js';
import { buildModel } from '../../src/k8s/model.js';
import { traceConnection } from '../../src/trace/connection.js';
import { planTwin, type TwinPlan } from '../../src/twin/index.js';

const CONFIGS = [
  '{plugin: bridge}',
  '{plugin: bridge, hairpinMode: true}',
  '{plugin: flannel, backend: vxlan}',
  '{plugin: flannel, backend: host-gw}',
  '{plugin: calico, encapsulation: None}',
  '{plugin: calico, encapsulation: IPIP}',
  '{plugin: calico, encapsulation: VXLAN}',
  '{plugin: kindnet}',
  '{plugin: kubenet}',
  '{plugin: kubenet, hairpinMode: none, nonMasqueradeCIDR: 0.0.0.0/0}',
];

/**
 * Cross-node walks the model declares it cannot carry yet (none today; Calico IPIP was one until tunl0 carried IP-in-IP) (an explicit
 * `unsupported` outcome, never a guess). When one gets modelled, its entry
 * here fails and goes.
 */
const NOT_MODELLED_CROSS_NODE: Readonly<Record<string, RegExp>> = {};

function cluster(cni: string): string {
  return `
apiVersion: packeteye.dev/v1alpha1
kind: Cluster
metadata: {name: conformance}
spec:
  clusterCIDR: 10.244.0.0/16
  serviceCIDR: 10.96.0.0/12
  cni: ${cni}
  cloud: {provider: none}
  underlay: {cidr: 192.168.1.0/24, gateway: 192.168.1.1}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.10}]}
---
apiVersion: v1
kind: Node
metadata: {name: n2}
spec: {podCIDR: 10.244.2.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.11}]}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: default}
spec: {nodeName: n1, containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: default, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: web, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: default, labels: {app: far}}
spec: {nodeName: n2, containers: [{name: web, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: far, namespace: default}
spec: {selector: {app: far}, ports: [{port: 80, targetPort: http}]}
`;
}

function planOf(cni: string): TwinPlan {
  const loaded = loadDocuments([{ path: 'conformance.yaml', text: cluster(cni) }]);
  const built = buildModel(loaded.objects);
  expect(
    [...loaded.diagnostics, ...built.diagnostics].filter((d) => d.severity === 'error'),
  ).toEqual([]);
  return planTwin(built.model);
}

describe.each(CONFIGS)('CNI %s', (cni) => {
  const plan = planOf(cni);
  const ip = (key: string) => plan.model.pods.get(key)!.status.podIP;

  it('builds without errors', () => {
    expect(plan.instantiate().diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it.each([
    ['same node', 'default/b:8080'],
    ['other node', 'default/c:8080'],
  ])('pod → pod on the %s: delivered, no NAT either way', (where, to) => {
    const t = traceConnection(plan, { from: 'default/a', to });
    const gap = NOT_MODELLED_CROSS_NODE[cni];
    if (gap && where === 'other node') {
      expect(t.request.disposition).toBe('unsupported');
      expect(t.request.detail).toMatch(gap);
      return;
    }
    expect(t.request.disposition).toBe('delivered');
    expect(t.request.received?.src).toBe(ip('default/a'));
    expect(t.reply?.disposition).toBe('delivered');
    expect(t.reply?.received?.src).toBe(t.request.received?.dst);
    expect(
      t.rewrites.filter((r) => !r.kind.startsWith('ENCAP') && !r.kind.startsWith('DECAP')),
    ).toEqual([]);
  });

  it('pod → ClusterIP with the endpoint on the other node: DNAT there, un-DNAT back', () => {
    const t = traceConnection(plan, { from: 'default/a', to: 'svc/default/far:80' });
    const gap = NOT_MODELLED_CROSS_NODE[cni];
    if (gap) {
      expect(t.request.disposition).toBe('unsupported');
      expect(t.request.detail).toMatch(gap);
      return;
    }
    expect(t.request.disposition).toBe('delivered');
    expect(t.request.at).toBe('default/c');
    expect(t.request.received).toMatchObject({
      src: ip('default/a'),
      dst: ip('default/c'),
      dport: 8080,
    });
    expect(t.reply?.disposition).toBe('delivered');
    expect(t.reply?.received).toMatchObject({ src: t.to.ip, sport: 80, dst: ip('default/a') });
  });
});

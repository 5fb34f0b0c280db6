import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import { relevantNodes, traceConnectionWithTwin } from '../trace/connection.js';
import { resolveRef } from '../trace/refs.js';
import { ipRouteShow } from '../render/ip.js';
import { planTwin } from './index.js';

function planOf(example: string) {
  const path = `examples/${example}.yaml`;
  const loaded = loadDocuments([{ path, text: readFileSync(path, 'utf8') }]);
  return planTwin(buildModel(loaded.objects).model);
}

describe('twin assembly', () => {
  it('gives every node eth0 on the underlay, the default route, the kubeadm sysctls and kube-proxy in netfilter', () => {
    const t = planOf('two-nodes').instantiate();
    expect(t.nodes).toEqual(['node-1', 'node-2']);
    for (const [name, ip] of [
      ['node-1', '10.128.0.2'],
      ['node-2', '10.128.0.3'],
    ] as const) {
      const h = t.host(name);
      expect(h.addressesOf('eth0').map((a) => `${a.local}/${a.prefix}`)).toEqual([`${ip}/20`]);
      expect(ipRouteShow(h)).toMatch(/^default via 10\.128\.0\.1 dev eth0 $/m);
      expect(h.sysctl.get('net.ipv4.ip_forward')).toBe(1);
      expect(h.sysctl.get('net.bridge.bridge-nf-call-iptables')).toBe(1);
      expect(h.getLink('eth0')?.mtu).toBe(1460);
      expect(t.nodeRules.get(name)?.text).toMatch(
        /-A KUBE-SERVICES .*default\/store-be:http cluster IP/,
      );
    }
    // The VPC routes each node's podCIDR to that node.
    expect(ipRouteShow(t.host('vpc'))).toMatch(
      /^10\.11\.0\.0\/21 via 10\.128\.0\.2 dev eth0 proto static $/m,
    );
    expect(ipRouteShow(t.host('vpc'))).toMatch(
      /^10\.11\.8\.0\/21 via 10\.128\.0\.3 dev eth0 proto static $/m,
    );
  });

  it('each instance is cold: no conntrack, neighbour or learned FDB state carries over', () => {
    const plan = planOf('same-node');
    const a = plan.instantiate();
    a.host('node-a').neigh.add('10.244.4.2', 'cni0', { lladdr: '02:00:00:00:00:01' });
    const b = plan.instantiate();
    expect(b.host('node-a').neighbours.pending()).toEqual([]);
    expect(b.host('node-a').neigh.list()).toEqual([]);
  });

  it('builds only the nodes asked for, with all their pods', () => {
    const t = planOf('two-nodes').instantiate({ nodes: ['node-2'] });
    expect(t.nodes).toEqual(['node-2']);
    expect(t.network.host('node-1')).toBeUndefined();
    expect(t.network.host('default/store-be-3')).toBeDefined();
    expect(t.network.host('default/frontend')).toBeUndefined();
  });
});

describe('relevantNodes', () => {
  const plan = planOf('two-nodes');
  const m = plan.model;
  it.each([
    ['default/frontend', 'default/store-be-1:80', ['node-1']],
    ['default/frontend', 'default/store-be-3:80', ['node-1', 'node-2']],
    ['default/frontend', 'svc/default/store-be:80', ['node-1', 'node-2']],
    ['host/client', 'default/store-be-3:80', ['node-2']],
    ['default/frontend', '1.2.3.4:80', undefined],
  ])('%s → %s', (from, to, want) => {
    expect(relevantNodes(m, resolveRef(m, from, '--from'), resolveRef(m, to, '--to'))).toEqual(
      want,
    );
  });
});

describe('a connection that reaches past the nodes relevantNodes predicts', () => {
  it('is traced again on every node (a svclb pod DNATs on to the ClusterIP, whose endpoint is elsewhere)', () => {
    const plan = planOf('gke-akrobateo');
    const m = plan.model;
    const from = 'default/whoami';
    const to = 'kube-system/svclb-traefik-node-2';
    // Both pods are on node-2; Traefik, behind the svclb pod's DNAT, is on node-1.
    expect(relevantNodes(m, resolveRef(m, from, '--from'), resolveRef(m, to, '--to'))).toEqual([
      'node-2',
    ]);
    const { trace, twin } = traceConnectionWithTwin(plan, { from, to });
    expect(twin.nodes).toEqual(['node-1', 'node-2']);
    expect(trace.request).toMatchObject({ disposition: 'delivered', at: 'kube-system/traefik' });
    expect(trace.reply?.disposition).toBe('delivered');
  });
});

describe('portmap (hostPort) rules are merged into the node', () => {
  const yaml = `
apiVersion: packeteye.dev/v1alpha1
kind: Cluster
metadata: {name: hp}
spec:
  clusterCIDR: 10.244.0.0/16
  serviceCIDR: 10.96.0.0/12
  cni: {plugin: bridge}
  underlay: {cidr: 192.168.1.0/24, gateway: 192.168.1.1}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.10}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec: {nodeName: n1, containers: [{name: nginx, ports: [{containerPort: 80, hostPort: 8081}]}]}
---
apiVersion: packeteye.dev/v1alpha1
kind: ExternalHost
metadata: {name: user}
spec: {address: 198.51.100.7}
`;
  it('a user reaches the pod through node:hostPort (CNI-HOSTPORT-DNAT) and gets the reply from node:hostPort', async () => {
    const { traceConnection } = await import('../trace/connection.js');
    const loaded = loadDocuments([{ path: 'hp.yaml', text: yaml }]);
    const plan = planTwin(buildModel(loaded.objects).model);
    const t = traceConnection(plan, { from: 'host/user', to: 'node/n1:8081' });
    expect(t.request.disposition).toBe('delivered');
    expect(t.request.at).toBe('default/web');
    expect(t.rewrites[0]).toMatchObject({
      kind: 'DNAT',
      host: 'n1',
      hook: 'PREROUTING',
      to: '10.244.1.2:80',
    });
    expect(t.rewrites[0]?.rule?.chain).toMatch(/^CNI-DN-/);
    expect(t.reply?.received).toMatchObject({
      src: '192.168.1.10',
      sport: 8081,
      dst: '198.51.100.7',
    });
  });
});

describe('a Service without endpoints', () => {
  it("is REJECTed by kube-proxy's filter rule; the client gets ICMP port unreachable (ECONNREFUSED)", async () => {
    const { traceConnection } = await import('../trace/connection.js');
    // A Service without a selector and without EndpointSlices: no endpoints (a selector matching nothing is an input error).
    const yaml = readFileSync('examples/same-node.yaml', 'utf8').replace(
      '  selector:\n    app: web\n  ports:',
      '  ports:',
    );
    const loaded = loadDocuments([{ path: 'x.yaml', text: yaml }]);
    const built = buildModel(loaded.objects);
    expect(built.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(built.model.services.get('default/web')?.spec.selector).toBeUndefined();
    const t = traceConnection(planTwin(built.model), {
      from: 'default/pod-a',
      to: 'svc/default/web:80',
    });
    expect(t.request.disposition).toBe('rejected');
    expect(t.request.reason).toBe('netfilter-reject');
    expect(t.request.at).toBe('node-a');
    expect(t.reply?.what).toBe('ICMP type 3 code 3');
    expect(t.reply?.socket).toContain('ECONNREFUSED');
  });
});

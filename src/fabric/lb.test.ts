import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadDocuments } from '../k8s/load.js';
import { buildModel, type ClusterModel } from '../k8s/model.js';
import { planTwin } from '../twin/index.js';
import { planGceVpc, GceVpcHooks } from './gce.js';
import {
  lbBackends,
  lbControllerOf,
  metallbL2Speaker,
  resolveLoadBalancers,
  GCE_LB_RANGE,
  type LbFrontend,
} from './lb.js';

function model(yaml: string): ClusterModel {
  const loaded = loadDocuments([{ path: 'm.yaml', text: yaml }]);
  const built = buildModel(loaded.objects);
  expect(
    [...loaded.diagnostics, ...built.diagnostics].filter((d) => d.severity === 'error'),
  ).toEqual([]);
  return built.model;
}

const cluster = (provider: string) => `
apiVersion: packeteye.dev/v1alpha1
kind: Cluster
metadata: {name: c}
spec:
  clusterCIDR: 10.244.0.0/16
  serviceCIDR: 10.96.0.0/12
  cni: {plugin: bridge}
  cloud: {provider: ${provider}}
  underlay: {cidr: 10.0.0.0/24, gateway: 10.0.0.1}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 10.0.0.11}, {type: ExternalIP, address: 34.1.1.11}]}
---
apiVersion: v1
kind: Node
metadata: {name: n2, labels: {node.kubernetes.io/exclude-from-external-load-balancers: ""}}
spec: {podCIDR: 10.244.2.0/24}
status: {addresses: [{type: InternalIP, address: 10.0.0.12}]}
---
apiVersion: v1
kind: Node
metadata: {name: n3}
spec: {podCIDR: 10.244.3.0/24}
status: {addresses: [{type: InternalIP, address: 10.0.0.13}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {app: web}}
spec: {nodeName: n3, containers: [{name: w, image: nginx, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: b-local, namespace: default}
spec:
  type: LoadBalancer
  selector: {app: web}
  externalTrafficPolicy: Local
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: a-cluster, namespace: default}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: np, namespace: default}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 80, nodePort: 30007}]
`;

describe('who writes status.loadBalancer', () => {
  it('no controller: a diagnostic per LoadBalancer Service, no address invented', () => {
    const m = model(cluster('none'));
    expect(lbControllerOf(m)).toBe('none');
    const r = resolveLoadBalancers(m);
    expect(r.frontends.size).toBe(0);
    expect(r.diagnostics.map((d) => `${d.code} ${d.object}`)).toEqual([
      'lb-status-pending Service default/a-cluster',
      'lb-status-pending Service default/b-local',
    ]);
    // …and the twin surfaces it.
    const twin = planTwin(m).instantiate();
    expect(twin.diagnostics.filter((d) => d.code === 'lb-status-pending').length).toBe(2);
  });

  it('GCE: addresses allocated in ns/name order from the documented range, recorded as defaults', () => {
    const m = model(cluster('gce'));
    const r = resolveLoadBalancers(m);
    expect([...r.frontends.keys()]).toEqual(['203.0.113.10', '203.0.113.11']);
    expect(r.frontends.get('203.0.113.10')?.service).toBe('default/a-cluster');
    expect(r.defaults.map((d) => d.value)).toEqual(['203.0.113.10', '203.0.113.11']);
    expect(GCE_LB_RANGE).toBe('203.0.113.0/24');
    const svc = r.services.find((s) => s.metadata.name === 'b-local');
    expect(svc?.status?.loadBalancer?.ingress).toEqual([{ ip: '203.0.113.11' }]);
  });

  it('backends: excluded nodes left out; Local health checks pass only where a ready endpoint runs', () => {
    const m = model(cluster('gce'));
    const local = lbBackends(m, m.services.get('default/b-local')!);
    expect(local.map((b) => [b.node, b.healthy])).toEqual([
      ['n1', false],
      ['n3', true],
    ]);
    const cl = lbBackends(m, m.services.get('default/a-cluster')!);
    expect(cl.map((b) => [b.node, b.healthy])).toEqual([
      ['n1', true],
      ['n3', true],
    ]);
  });
});

describe('MetalLB layer-2 election', () => {
  const m = model(cluster('none'));
  const front = (ip: string, etp: 'Cluster' | 'Local'): LbFrontend => ({
    ip,
    service: 'default/b-local',
    ports: [{ proto: 'tcp', port: 80 }],
    externalTrafficPolicy: etp,
    sourceRanges: ['0.0.0.0/0'],
    backends: [],
    origin: 'status',
  });
  it.each(['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'])(
    '%s: the smallest sha256(node#ip) wins',
    (ip) => {
      const nodes = ['n1', 'n2', 'n3'];
      const want = [...nodes].sort((a, b) => {
        const ha = createHash('sha256').update(`${a}#${ip}`).digest('hex');
        const hb = createHash('sha256').update(`${b}#${ip}`).digest('hex');
        return ha < hb ? -1 : 1;
      })[0];
      expect(metallbL2Speaker(m, front(ip, 'Cluster'), nodes)).toBe(want);
      // Local: only n3 holds an endpoint.
      expect(metallbL2Speaker(m, front(ip, 'Local'), nodes)).toBe('n3');
      expect(metallbL2Speaker(m, front(ip, 'Local'), ['n1', 'n2'])).toBeUndefined();
    },
  );
});

describe('GCE VPC firewall', () => {
  const m = model(cluster('gce'));
  const lb = resolveLoadBalancers(m);
  const { vpc } = planGceVpc(m, lb.frontends);
  const hooks = new GceVpcHooks(vpc);
  const pkt = (dst: string, dport: number) => ({
    ip: { src: '198.51.100.9', dst, ttl: 64, id: 0, df: true, tos: 0 },
    l4: {
      kind: 'tcp' as const,
      sport: 40000,
      dport,
      seq: 1,
      ack: 0,
      flags: {
        syn: true,
        ack: false,
        fin: false,
        rst: false,
        psh: false,
        urg: false,
        ece: false,
        cwr: false,
      },
      window: 1000,
    },
    payloadLength: 0,
  });
  it.each([
    ['203.0.113.10', 80, 'k8s-fw-default-a-cluster'],
    ['203.0.113.10', 81, undefined],
    ['34.1.1.11', 30007, 'nodeport-default-np'],
    ['34.1.1.11', 22, 'default-allow-ssh'],
    ['34.1.1.11', 80, undefined],
  ] as const)('%s:%s → %s', (dst, port, rule) => {
    expect(hooks.firewallAllows(pkt(dst, port) as never)?.name).toBe(rule);
  });
});

describe('hostPort clash on a node', () => {
  it('is a diagnostic (the model rejects it as the scheduler would; portmap reports it too), not a guess', () => {
    const yaml = `${cluster('none')}
---
apiVersion: v1
kind: Pod
metadata: {name: hp1, namespace: default}
spec: {nodeName: n1, containers: [{name: a, image: a, ports: [{containerPort: 80, hostPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: hp2, namespace: default}
spec: {nodeName: n1, containers: [{name: a, image: a, ports: [{containerPort: 80, hostPort: 8080}]}]}
`;
    const loaded = loadDocuments([{ path: 'm.yaml', text: yaml }]);
    const built = buildModel(loaded.objects);
    const diags = [...built.diagnostics, ...planTwin(built.model).instantiate().diagnostics];
    expect(
      diags.some((d) => /hostport/i.test(`${d.code} ${d.message}`) && d.severity !== 'info'),
    ).toBe(true);
  });
});

describe('GCE passthrough NLB stage', () => {
  const m = model(cluster('gce'));
  const lb = resolveLoadBalancers(m);
  const call = { hook: 'PREROUTING' as const, inIface: 'ext0' };
  const svcs = { host: 'vpc' } as never;
  const pkt = (dst: string, dport: number) =>
    ({
      ip: { src: '198.51.100.9', dst, ttl: 64, id: 0, df: true, tos: 0 },
      l4: { kind: 'tcp', sport: 40000, dport, seq: 1, ack: 0, flags: { syn: true }, window: 1000 },
      payloadLength: 0,
    }) as never;
  const rec = {
    steps: [] as unknown[],
    record(s: unknown) {
      this.steps.push(s);
    },
  };
  const scripted = (answers: boolean[]) => ({
    labels: [] as string[],
    chance(_p: number, label: string) {
      this.labels.push(label);
      return answers.shift() ?? false;
    },
    integer: (a: number) => a,
  });

  it('a port without a forwarding rule is dropped before any firewall or backend', () => {
    const hooks = new GceVpcHooks(planGceVpc(m, lb.frontends).vpc);
    const r = hooks.hook(call, pkt('203.0.113.10', 81), { mark: 0 }, svcs, rec, scripted([]));
    expect(r).toMatchObject({ verdict: 'DROP', reason: 'lb-no-forwarding-rule' });
  });

  it('Local with a healthy node: only it is a candidate (no chance taken)', () => {
    const hooks = new GceVpcHooks(planGceVpc(m, lb.frontends).vpc);
    const ch = scripted([]);
    const r = hooks.hook(call, pkt('203.0.113.11', 80), { mark: 0 }, svcs, rec, ch);
    expect(r.verdict).toBe('ACCEPT');
    expect(ch.labels).toEqual([]);
    const vpc = planGceVpc(m, lb.frontends).vpc;
    expect(r.meta.mark - 0x4c420000).toBe(vpc.backendIndex.get('n3'));
  });

  it('no healthy backend: GCE spreads over all backends', () => {
    const fronts = new Map(lb.frontends);
    const f = fronts.get('203.0.113.11')!;
    fronts.set(f.ip, { ...f, backends: f.backends.map((b) => ({ ...b, healthy: false })) });
    const vpc = planGceVpc(m, fronts).vpc;
    const ch = scripted([true]);
    const r = new GceVpcHooks(vpc).hook(call, pkt('203.0.113.11', 80), { mark: 0 }, svcs, rec, ch);
    expect(ch.labels).toEqual(['NLB 203.0.113.11 → n1']);
    expect(r.meta.mark - 0x4c420000).toBe(vpc.backendIndex.get('n1'));
  });
});

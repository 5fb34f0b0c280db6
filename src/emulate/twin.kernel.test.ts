/**
 * The real kernel is the oracle: build the twin of a two-node cluster in
 * real network namespaces — derived from the twin's own kernel state
 * (emulate/twin.ts walks its hosts, links, addresses, routes, sysctls and
 * iptables rulesets) — make a real TCP connection from a pod on node-a to a
 * ClusterIP whose only endpoint is on node-b, and check that the server sees
 * the source the twin predicts and the client gets its reply from the
 * address the twin predicts. Root only; namespaces `pe-twin-<pid>-…`, always
 * deleted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDocuments } from '../k8s/load.js';
import { buildModel } from '../k8s/model.js';
import { traceConnectionWithTwin } from '../trace/connection.js';
import { planTwin, type TwinPlan } from '../twin/index.js';
import { canEmulate, Lab } from './netns.js';
import { runClient, startServer } from './traffic.js';
import { buildRealTwin, type RealTwin } from './twin.js';

const CLUSTER = `
apiVersion: packeteye.dev/v1alpha1
kind: Cluster
metadata: {name: kernel-e2e}
spec:
  clusterCIDR: 10.244.0.0/16
  serviceCIDR: 10.96.0.0/12
  cni: {plugin: bridge}
  kubeProxy: {mode: iptables}
  cloud: {provider: none}
  underlay: {cidr: 192.168.77.0/24, gateway: 192.168.77.1}
---
apiVersion: v1
kind: Node
metadata: {name: node-a}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.77.10}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
spec: {podCIDR: 10.244.2.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.77.11}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default}
spec:
  nodeName: node-a
  containers: [{name: curl, image: curl}]
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: default, labels: {app: server}}
spec:
  nodeName: node-b
  containers: [{name: http, image: nginx, ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: server, namespace: default}
spec:
  selector: {app: server}
  ports: [{name: http, port: 80, targetPort: http}]
`;

const can = canEmulate(['ip', 'iptables-restore', 'bridge', 'sysctl']);

describe.skipIf(!can)('the twin in real namespaces (real kernel)', () => {
  let plan: TwinPlan;
  let real: RealTwin | undefined;
  const lab = new Lab();

  beforeAll(() => {
    const loaded = loadDocuments([{ path: 'kernel-e2e.yaml', text: CLUSTER }]);
    const built = buildModel(loaded.objects);
    expect([...loaded.diagnostics, ...built.diagnostics].filter((d) => d.severity === 'error')).toEqual([]);
    plan = planTwin(built.model);
  });

  afterAll(() => {
    try {
      lab.destroy();
    } finally {
      real?.destroy();
    }
  });

  it('pod → ClusterIP with the endpoint on the other node: the server and the client see what the twin predicts', async () => {
    const { trace: t, twin } = traceConnectionWithTwin(plan, { from: 'default/client', to: 'svc/default/server:80' });
    expect(t.request.disposition).toBe('delivered');
    expect(t.request.at).toBe('default/server');
    expect(t.reply?.disposition).toBe('delivered');
    const seenBySrv = t.request.received!;
    const seenByClient = t.reply!.received!;

    // Build from a fresh (cold) instance of the same twin: the state the trace started from.
    real = buildRealTwin(plan.instantiate(), { hosts: (h) => !h.name.startsWith('host/') });
    expect(twin.pods.get('default/server')?.node).toBe('node-b');
    const server = await startServer(lab, real.ns.get('default/server')!, { proto: 'tcp', listen: [{ host: '0.0.0.0', port: 8080 }] });
    const results = await runClient(lab, real.ns.get('default/client')!, { proto: 'tcp', dst: t.to.ip, port: t.to.port!, sport: t.sport, attemptTimeoutMs: 2000 });
    const saw = await server.stop();

    expect(results[0]?.kind).toBe('connected');
    const r = results[0] as Extract<(typeof results)[number], { kind: 'connected' }>;
    // The client's socket is connected to the address the SYN-ACK came from, as the twin's reply predicts.
    expect(r.remote).toBe(`${seenByClient.src}:${seenByClient.sport}`);
    expect(r.local).toBe(`${seenByClient.dst}:${seenByClient.dport}`);
    // The server saw the source (and arrival address) the twin's request predicts.
    expect(saw[0]?.peer).toBe(`${seenBySrv.src}:${seenBySrv.sport}`);
    expect(saw[0]?.local).toBe(`${seenBySrv.dst}:${seenBySrv.dport}`);
  }, 20_000);
});

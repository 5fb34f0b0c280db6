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
import { runClient, startServer, type ClientResult, type ServerSaw } from './traffic.js';
import { buildRealTwin, type RealTwin } from './twin.js';

const CLUSTER = `
apiVersion: packeteye.dev/v1alpha1
kind: Cluster
metadata: {name: kernel-e2e}
spec:
  clusterCIDR: 10.244.0.0/16
  serviceCIDR: 10.96.0.0/12
  cni: {plugin: bridge, hairpinMode: true}
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
metadata: {name: client, namespace: default, labels: {app: client}}
spec:
  nodeName: node-a
  containers: [{name: app, image: app, ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: local, namespace: default, labels: {app: local}}
spec:
  nodeName: node-a
  containers: [{name: http, image: nginx, ports: [{name: http, containerPort: 8080}]}]
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
---
apiVersion: v1
kind: Service
metadata: {name: local, namespace: default}
spec:
  selector: {app: local}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: default}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: client, namespace: default}
spec:
  selector: {app: client}
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
    expect(
      [...loaded.diagnostics, ...built.diagnostics].filter((d) => d.severity === 'error'),
    ).toEqual([]);
    plan = planTwin(built.model);
  });

  afterAll(() => {
    try {
      lab.destroy();
    } finally {
      real?.destroy();
    }
  });

  /**
   * Each case: a connection the twin traces, then the same connection in the
   * real namespaces. `ports` says whether the source port is comparable
   * (MASQUERADE --random-fully picks a random one in both worlds).
   */
  const CASES = [
    {
      name: 'pod → ClusterIP, endpoint on the other node (routed, VPC/gateway route)',
      from: 'default/client',
      to: 'svc/default/server:80',
      server: 'default/server',
      sport: 41001,
      ports: true,
    },
    {
      name: 'pod → ClusterIP, endpoint on the same bridge (bridged DNAT, br_netfilter un-DNAT)',
      from: 'default/client',
      to: 'svc/default/local:80',
      server: 'default/local',
      sport: 41002,
      ports: true,
    },
    {
      name: 'pod → itself via its ClusterIP (hairpin, MASQUERADE to cni0)',
      from: 'default/client',
      to: 'svc/default/client:80',
      server: 'default/client',
      sport: 41003,
      ports: false,
    },
  ] as const;

  it.each(CASES)(
    '$name: the server and the client see what the twin predicts',
    async (c) => {
      const { trace: t } = traceConnectionWithTwin(plan, {
        from: c.from,
        to: c.to,
        sport: c.sport,
      });
      expect(t.request.disposition).toBe('delivered');
      expect(t.request.at).toBe(c.server);
      expect(t.reply?.disposition).toBe('delivered');
      const seenBySrv = t.request.received!;
      const seenByClient = t.reply!.received!;

      // Built once, from a fresh (cold) instance of the same twin: the state every trace starts from.
      real ??= buildRealTwin(plan.instantiate(), { hosts: (h) => !h.name.startsWith('host/') });
      const server = await startServer(lab, real.ns.get(c.server)!, {
        proto: 'tcp',
        listen: [{ host: '0.0.0.0', port: 8080 }],
      });
      let results: ClientResult[] = [];
      let saw: ServerSaw[] = [];
      try {
        results = await runClient(lab, real.ns.get(c.from)!, {
          proto: 'tcp',
          dst: t.to.ip,
          port: t.to.port!,
          sport: c.sport,
          attemptTimeoutMs: 2000,
        });
      } finally {
        saw = await server.stop();
      }
      expect(results[0]?.kind).toBe('connected');
      const r = results[0] as Extract<(typeof results)[number], { kind: 'connected' }>;
      // The client's socket is connected to the address the SYN-ACK came from, as the twin's reply predicts.
      expect(r.remote).toBe(`${seenByClient.src}:${seenByClient.sport}`);
      expect(r.local).toBe(`${seenByClient.dst}:${seenByClient.dport}`);
      // The server saw the source (and arrival address) the twin's request predicts.
      const [peerIp, peerPort] = saw[0]!.peer.split(':');
      expect(peerIp).toBe(seenBySrv.src);
      if (c.ports) expect(Number(peerPort)).toBe(seenBySrv.sport);
      expect(saw[0]?.local).toBe(`${seenBySrv.dst}:${seenBySrv.dport}`);
    },
    20_000,
  );

  it('pod → ClusterIP without endpoints: REJECTed in FORWARD, the client is refused by the address the twin predicts', async () => {
    const { trace: t } = traceConnectionWithTwin(plan, {
      from: 'default/client',
      to: 'svc/default/empty:80',
      sport: 41004,
    });
    expect(t.request.disposition).toBe('rejected');
    expect(t.reply?.socket).toContain('ECONNREFUSED');
    real ??= buildRealTwin(plan.instantiate(), { hosts: (h) => !h.name.startsWith('host/') });
    const results = await runClient(lab, real.ns.get('default/client')!, {
      proto: 'tcp',
      dst: t.to.ip,
      port: t.to.port!,
      sport: 41004,
      attemptTimeoutMs: 2000,
    });
    expect(results[0]).toEqual({ kind: 'refused', code: 'ECONNREFUSED' });
  }, 20_000);
});

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
import { describe, expect, it } from 'vitest';
import { traceConnectionWithTwin } from '../trace/connection.js';
import { canEmulate } from './netns.js';
import { runClient } from './traffic.js';
import { connectForReal, realTwinSuite, twoNodeCluster } from './testing/real-twin.js';

const CLUSTER = `${twoNodeCluster('kernel-e2e', '{plugin: bridge, hairpinMode: true}', '192.168.77')}---
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
  const suite = realTwinSuite('kernel-e2e.yaml', CLUSTER, {
    hosts: (h) => !h.name.startsWith('host/'),
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
      const { trace: t } = traceConnectionWithTwin(suite.plan(), {
        from: c.from,
        to: c.to,
        sport: c.sport,
      });
      expect(t.request.disposition).toBe('delivered');
      expect(t.request.at).toBe(c.server);
      expect(t.reply?.disposition).toBe('delivered');
      const seenBySrv = t.request.received!;
      const seenByClient = t.reply!.received!;

      const { results, saw } = await connectForReal(suite, {
        server: c.server,
        listen: 8080,
        from: c.from,
        dst: t.to.ip,
        port: t.to.port!,
        sport: c.sport,
      });
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
    const { trace: t } = traceConnectionWithTwin(suite.plan(), {
      from: 'default/client',
      to: 'svc/default/empty:80',
      sport: 41004,
    });
    expect(t.request.disposition).toBe('rejected');
    expect(t.reply?.socket).toContain('ECONNREFUSED');
    const results = await runClient(suite.lab, suite.real().ns.get('default/client')!, {
      proto: 'tcp',
      dst: t.to.ip,
      port: t.to.port!,
      sport: 41004,
      attemptTimeoutMs: 2000,
    });
    expect(results[0]).toEqual({ kind: 'refused', code: 'ECONNREFUSED' });
  }, 20_000);
});

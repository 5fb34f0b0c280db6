/**
 * The real kernel is the oracle for the cluster's edge: a two-node cluster
 * behind a gateway, with a user on the far side, built in real network
 * namespaces from the twin's own state (emulate/twin.ts). A real TCP
 * connection from the user to
 *   - a NodePort with externalTrafficPolicy Cluster whose endpoint is on the
 *     other node (SNAT to the node: the pod sees the node's address),
 *   - a NodePort with externalTrafficPolicy Local on the endpoint's node (the
 *     pod sees the user's address),
 *   - a pod's hostPort (portmap's CNI-DN DNAT: the pod sees the user),
 * and the address the pod's socket reports must equal the twin's
 * prediction. Root only; namespaces `pe-np-<pid>-…`, always deleted.
 */
import { describe, expect, it } from 'vitest';
import { traceConnectionWithTwin } from '../trace/connection.js';
import { canEmulate } from './netns.js';
import type { ClientResult } from './traffic.js';
import { connectForReal, realTwinSuite, twoNodeCluster } from './testing/real-twin.js';

const CLUSTER = `${twoNodeCluster('kernel-nodeport', '{plugin: bridge}', '192.168.78')}---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  nodeName: node-b
  containers: [{name: http, image: nginx, ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: hp, namespace: default, labels: {app: hp}}
spec:
  nodeName: node-a
  containers: [{name: http, image: nginx, ports: [{name: http, containerPort: 8081, hostPort: 9081}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web-cluster, namespace: default}
spec:
  type: NodePort
  selector: {app: web}
  externalTrafficPolicy: Cluster
  ports: [{name: http, port: 80, targetPort: http, nodePort: 30080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-local, namespace: default}
spec:
  type: NodePort
  selector: {app: web}
  externalTrafficPolicy: Local
  ports: [{name: http, port: 80, targetPort: http, nodePort: 30081}]
---
apiVersion: packeteye.dev/v1alpha1
kind: ExternalHost
metadata: {name: user}
spec: {address: 203.0.113.50}
`;

const can = canEmulate(['ip', 'iptables-restore', 'bridge', 'sysctl']);

describe.skipIf(!can)(
  'NodePort and hostPort from outside, in real namespaces (real kernel)',
  () => {
    const suite = realTwinSuite('kernel-nodeport.yaml', CLUSTER, { prefix: 'pe-np' });

    const CASES = [
      {
        name: 'NodePort, externalTrafficPolicy Cluster, endpoint on the other node: SNAT to the node',
        to: 'node/node-a:30080',
        server: 'default/web',
        port: 8080,
        sport: 42001,
        clientKept: false,
      },
      {
        name: 'NodePort, externalTrafficPolicy Local, endpoint on this node: the client address is kept',
        to: 'node/node-b:30081',
        server: 'default/web',
        port: 8080,
        sport: 42002,
        clientKept: true,
      },
      {
        name: 'hostPort: portmap DNATs to the pod, the client address is kept',
        to: 'node/node-a:9081',
        server: 'default/hp',
        port: 8081,
        sport: 42003,
        clientKept: true,
      },
    ] as const;

    it.each(CASES)(
      '$name',
      async (c) => {
        const { trace: t } = traceConnectionWithTwin(suite.plan(), {
          from: 'host/user',
          to: c.to,
          sport: c.sport,
        });
        expect(t.request.disposition).toBe('delivered');
        expect(t.request.at).toBe(c.server);
        expect(t.reply?.disposition).toBe('delivered');
        const seenBySrv = t.request.received!;
        const seenByClient = t.reply!.received!;
        expect(seenBySrv.src === '203.0.113.50').toBe(c.clientKept);

        const { results, saw } = await connectForReal(suite, {
          server: c.server,
          listen: c.port,
          from: 'host/user',
          dst: t.to.ip,
          port: t.to.port!,
          sport: c.sport,
        });
        expect(results[0]?.kind).toBe('connected');
        const r = results[0] as Extract<ClientResult, { kind: 'connected' }>;
        expect(r.remote).toBe(`${seenByClient.src}:${seenByClient.sport}`);
        // The pod's real view of the client address equals the twin's.
        const [peerIp, peerPort] = saw[0]!.peer.split(':');
        expect(peerIp).toBe(seenBySrv.src);
        if (c.clientKept) expect(Number(peerPort)).toBe(seenBySrv.sport);
        expect(saw[0]?.local).toBe(`${seenBySrv.dst}:${seenBySrv.dport}`);
      },
      20_000,
    );
  },
);
